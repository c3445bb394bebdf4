"""Fuzzing records (TOML) and show definitions (issue 20 item 7), like the media fuzz test: any
input gives either a site or one-line problems naming a file of the project, never another
exception (which the CLI would show as a traceback).

Hypothesis writes hostile values into a real demo record or show definition (every TOML type:
texts with any character, non-finite and huge numbers, dates, deep and wide arrays and tables) and
mangles their text (cut, doubled, quotes and brackets inserted). Each input goes through what
`check` and `build` call, `site.check` and `site.render`; the last inputs of each kind are also run
through the real command in its own process."""

from __future__ import annotations

import string
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grandirenhlm import site
from grandirenhlm.errors import GrandirError, ValidationError
from tests.test_records_containment import cli

EPISODE = "episodes/grandir-en-hlm/temoignage-1.toml"
SHOW = "feeds/grandir-en-hlm.toml"
FILES = (EPISODE, SHOW)
AT = datetime(2030, 1, 1, tzinfo=UTC)
PREFIXES = ("episodes/", "feeds/", "grandirenhlm.toml", "media/", "masters/")

TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
SCALAR = st.one_of(
    TEXT,
    st.sampled_from(["", " ", "../../../../etc/passwd", "/etc/passwd", "javascript:alert(1)", "~/.aws/x"]),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.datetimes(timezones=st.none() | st.just(UTC)),
    st.dates(),
    st.times(),
)
KEY = TEXT.filter(bool) | st.sampled_from(["a\nb", "x\ty", "\u2028", "\r", "pub date", "media.file"])
VALUE = st.recursive(
    SCALAR,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT.filter(bool), inner, max_size=4),
    max_leaves=12,
)
TOKENS = ['"', "'", '"""', "[", "]", "[[", "{", "}", "=", "\n", "#", ",", ".", "\\", "\x00", "inf", "nan"]


def _keys(data: dict, prefix: tuple = ()) -> list[tuple]:
    out = []
    for key, value in data.items():
        out.append((*prefix, key))
        if isinstance(value, dict):
            out += _keys(value, (*prefix, key))
    return out


@st.composite
def structured(draw: st.DrawFn, original: str) -> str:
    """The file's TOML with a few keys (existing or new, at any depth) set to hostile values."""
    data = tomllib.loads(original)
    for _ in range(draw(st.integers(1, 4))):
        keys = _keys(data)
        path = draw(st.sampled_from(keys)) if keys and draw(st.booleans()) else (draw(KEY),)
        table = data
        for key in path[:-1]:
            table = table[key]
        table[path[-1]] = draw(VALUE)
    return tomli_w.dumps(data)


@st.composite
def mangled(draw: st.DrawFn, original: str) -> str:
    """The file's text cut, with pieces doubled and TOML tokens inserted or replacing characters."""
    text = original
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "replace", "cut", "double", "truncate"]))
        token = draw(st.sampled_from(TOKENS) | st.text(string.printable, min_size=1, max_size=5))
        if action == "insert":
            text = text[:at] + token + text[at:]
        elif action == "replace":
            text = text[:at] + token + text[at + len(token) :]
        elif action == "cut":
            text = text[:at] + text[at + draw(st.integers(1, 40)) :]
        elif action == "double":
            text = text[:at] + text[at : at + 60] + text[at:]
        else:
            text = text[:at]
    return text


def outcome(root: Path) -> str:
    """What `check` then `build` do with the project: "ok" or "error"; any other exception fails."""
    project = None
    try:
        project = site.open_project(root)
        site.check(project)
        site.render(project, "https://podcasts.exemple.fr/", AT, cache=False)
        return "ok"
    except ValidationError as exc:
        problems = exc.problems
    except GrandirError as exc:
        problems = [str(exc)]
    for problem in problems:
        assert problem and "\n" not in problem and "\r" not in problem, problem
        assert problem.startswith(PREFIXES), problem
    return "error"


@pytest.fixture
def originals(demo_project: Path) -> dict[str, str]:
    return {name: (demo_project / name).read_text(encoding="utf-8") for name in FILES}


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("kind", ["structured", "mangled"])
def test_any_record_or_show_gives_a_site_or_one_line_problems(
    demo_project: Path, originals: dict[str, str], name: str, kind: str
):
    seen: list[str] = []
    outcomes = {"ok": 0, "error": 0}
    strategy = (structured if kind == "structured" else mangled)(originals[name])

    @settings(
        max_examples=60,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(text=strategy)
    def run(text: str) -> None:
        (demo_project / name).write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            outcomes[outcome(demo_project)] += 1
        finally:
            (demo_project / name).write_text(originals[name], encoding="utf-8")
        seen.append(text)

    run()
    assert outcomes["error"] > 0  # the inputs were hostile enough to be refused
    # the same inputs through the real commands, as a user runs them: the last three of the run
    for text in seen[-3:]:
        (demo_project / name).write_text(text, encoding="utf-8", errors="surrogatepass")
        for command in (["check"], ["build", "--output", str(demo_project.parent / "site")]):
            proc = cli(demo_project, *command)
            assert "Traceback" not in proc.stderr, proc.stderr
            assert proc.returncode in (0, 1), (proc.returncode, proc.stderr)
            assert all(line.startswith(("error: ", "warning: ")) for line in proc.stderr.splitlines()), (
                proc.stderr
            )
    (demo_project / name).write_text(originals[name], encoding="utf-8")
