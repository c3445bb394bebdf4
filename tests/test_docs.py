"""The README documents what the program does: every command and option, and the keys of
`inspect --json` exactly (after simonw/sqlite-utils' tests/test_docs.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
import pytest

from grandirenhlm.cli import main
from tests.support import REPO, make_mp3, run_cli

README = (REPO / "README.md").read_text(encoding="utf-8")
COMMANDS = sorted(main.commands)


def documented(flag: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", README) is not None


def long_flags(command: click.Command) -> list[str]:
    return sorted(
        flag
        for param in command.params
        if isinstance(param, click.Option)
        for flag in param.opts + param.secondary_opts
        if flag.startswith("--")
    )


def test_every_command_has_a_row_in_the_command_table():
    assert len(COMMANDS) >= 7
    for name in COMMANDS:
        assert re.search(rf"^\| `grandirenhlm {name}\b", README, re.MULTILINE), f"no row for {name}"


@pytest.mark.parametrize("name", COMMANDS)
def test_every_option_of_every_command_is_documented(name: str):
    missing = [flag for flag in long_flags(main.commands[name]) if not documented(flag)]
    assert missing == [], f"grandirenhlm {name}: {missing} not in README.md"


def test_the_global_options_are_documented():
    assert [f for f in long_flags(main) if not documented(f)] == []


def readme_inspect_keys() -> set[str]:
    section = README.split("### `inspect --json`", 1)[1].split("\n### ", 1)[0]
    keys: set[str] = set()
    for row in section.splitlines():
        if row.startswith("| `"):
            first_cell = row.split("|")[1]
            keys.update(re.findall(r"`([a-z_0-9]+)`", first_cell))
    return keys


def test_inspect_json_keys_are_the_readme_keys(tmp_path: Path):
    mp3 = make_mp3(tmp_path / "a.mp3", 1.0, title="Titre")
    result = run_cli(None, "inspect", "--json", "--loudness", str(mp3))
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert readme_inspect_keys() == set(data), "README's inspect --json table and the output differ"


def test_the_promised_record_limits_are_the_code_limits():
    """The README's promises state the limits the records reader applies."""
    from grandirenhlm import records

    promises = README.split("## Promises", 1)[1].split("\n## ", 1)[0]
    assert f"at most 1 MiB\n  ({records.MAX_TOML_BYTES} bytes)" in promises
    assert f"nest at most {records.MAX_TOML_DEPTH} deep" in promises
    assert f"at most {records.MAX_SECONDS:,.0f} (115 days)" in promises
    assert records.MAX_INTEGER == 2**53 - 1 and "at most 2^53 - 1" in promises


def test_every_module_is_in_the_architecture_module_map():
    """ARCHITECTURE.md's module map matches the tree: every module of the package is named there."""
    architecture = (REPO / "ARCHITECTURE.md").read_text(encoding="utf-8")
    package = REPO / "src" / "grandirenhlm"
    modules = sorted(p.relative_to(package) for p in package.rglob("*.py") if p.name != "__init__.py")
    missing = [
        str(m) for m in modules if f"`{m.name}`" not in architecture and f"`{m.stem}`" not in architecture
    ]
    assert missing == []
