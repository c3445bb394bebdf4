"""`grandirenhlm check` and the validation of show definitions, episode records and configuration."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import assert_clean_error, run_cli

SHOW = "feeds/grandir-en-hlm.toml"
EPISODE = "episodes/grandir-en-hlm/temoignage-1.toml"


def edit(root: Path, name: str, old: str, new: str) -> None:
    path = root / name
    text = path.read_text(encoding="utf-8")
    assert old in text, (old, name)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_demo_content_passes(demo_project: Path):
    result = run_cli(demo_project, "check", "--strict")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "ok: no problems found\n"


def test_every_problem_of_a_show_is_reported_at_once(demo_project: Path):
    edit(demo_project, SHOW, 'title = "Grandir en Hlm"\n', "")
    edit(demo_project, SHOW, "explicit = false", 'explicit = "no"')
    edit(demo_project, SHOW, 'type = "serial"', 'type = "series"\ncolour = "blue"')
    edit(demo_project, SHOW, 'email = "podcasts@example.org"', 'email = "nobody"')
    result = run_cli(demo_project, "check")
    assert_clean_error(
        result,
        f"error: {SHOW}: title: missing, expected a text",
        f"error: {SHOW}: explicit: expected true or false, got 'no'",
        f"error: {SHOW}: type: expected one of episodic, serial, got 'series'",
        f"error: {SHOW}: colour: unknown key",
        f"error: {SHOW}: owner.email: not an email address: 'nobody'",
    )
    assert len(result.stderr.strip().splitlines()) == 5


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "pub_date = 2023-06-26 09:01:00+00:00",
            'pub_date = "26/06/2023"',
            "pub_date: expected a date like 2023-06-26 or 2023-06-26T10:00:00+02:00, got '26/06/2023'",
        ),
        (
            "pub_date = 2023-06-26 09:01:00+00:00",
            "pub_date = 2023-06-26T09:01:00",
            "pub_date: needs a UTC offset, like 2023-06-26T09:01:00+02:00",
        ),
        ("episode = 1\n", "", "episode: missing, 'Grandir en Hlm' is a serial"),
        ("episode = 1", "episode = 2", "episode: number 2 is used twice in grandir-en-hlm"),
        (
            'episode_type = "full"',
            'episode_type = "teaser"',
            "episode_type: expected one of full, trailer, bonus",
        ),
        (
            "size = {size}",
            "size = 1234",
            "media.file: {name} is {size} bytes, the record says 1234",
        ),
        (
            'file = "{file}"',
            'file = "../../media/gone.mp3"',
            "media.file: no such file: ../../media/gone.mp3",
        ),
        (
            'mime_type = "audio/mpeg"',
            'mime_type = "audio/wav"',
            "media.mime_type: audio/wav cannot be published",
        ),
    ],
)
def test_episode_record_problems_name_file_and_key(demo_project: Path, old: str, new: str, message: str):
    media = tomllib.loads((demo_project / EPISODE).read_text(encoding="utf-8"))["media"]
    facts = {"size": media["size"], "file": media["file"], "name": Path(media["file"]).name}
    old, message = old.format(**facts), message.format(**facts)
    edit(demo_project, EPISODE, old, new)
    assert_clean_error(run_cli(demo_project, "check"), f"error: {EPISODE}: {message}")


def test_duplicate_guid_is_reported_for_both_episodes(demo_project: Path):
    guid = next(line for line in (demo_project / EPISODE).read_text().splitlines() if line.startswith("guid"))
    other = "episodes/grandir-en-hlm/temoignage-2.toml"
    text = (demo_project / other).read_text()
    old = next(line for line in text.splitlines() if line.startswith("guid"))
    (demo_project / other).write_text(text.replace(old, guid))
    result = run_cli(demo_project, "check")
    assert_clean_error(result, f"{EPISODE}: guid:", f"{other}: guid:", "is used by another episode")


def test_invalid_toml_names_the_file(demo_project: Path):
    (demo_project / SHOW).write_text('title = "unterminated\n', encoding="utf-8")
    assert_clean_error(run_cli(demo_project, "check"), f"error: {SHOW}: invalid TOML:")


def test_category_must_be_apples(demo_project: Path):
    edit(demo_project, SHOW, 'category = "Society & Culture"', 'category = "Society and Culture"')
    assert_clean_error(
        run_cli(demo_project, "check"), "category: 'Society and Culture' is not an Apple Podcasts category"
    )


def test_episode_folder_without_show(demo_project: Path):
    (demo_project / "episodes" / "unknown-show").mkdir()
    assert_clean_error(
        run_cli(demo_project, "check"), "episodes/unknown-show: no show 'unknown-show' in feeds"
    )


def test_warnings_pass_unless_strict(demo_project: Path):
    edit(demo_project, EPISODE, 'description = """', 'summary_draft = """')
    edit(demo_project, EPISODE, "summary_draft", "description")  # same content: no warning yet
    path = demo_project / EPISODE
    text = path.read_text(encoding="utf-8")
    start = text.index('description = """')
    end = text.index('"""', start + 20) + 3
    path.write_text(text[:start] + 'description = ""' + text[end:], encoding="utf-8")
    result = run_cli(demo_project, "check")
    assert result.exit_code == 0
    assert f"warning: {EPISODE}: description: empty" in result.stderr
    assert_clean_error(run_cli(demo_project, "check", "--strict"), f"warning: {EPISODE}: description: empty")


def test_deep_check_finds_media_changed_by_hand(demo_project: Path):
    media = next((demo_project / "media" / "grandir-en-hlm").glob("temoignage-1-*.mp3"))
    data = bytearray(media.read_bytes())
    data[-1] ^= 0xFF  # same size, other content
    media.write_bytes(bytes(data))
    assert run_cli(demo_project, "check").exit_code == 0  # the fast check trusts sizes
    assert_clean_error(run_cli(demo_project, "check", "--deep"), "changed since ingest (sha256 differs)")


def test_publish_refuses_when_check_fails(demo_project: Path):
    edit(demo_project, SHOW, 'language = "fr"\n', "")
    result = run_cli(demo_project, "publish")
    assert_clean_error(result, f"{SHOW}: language: missing")
    assert not (demo_project / "public").exists()


def test_outside_a_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    assert_clean_error(run_cli(None, "check"), "not inside a grandirenhlm project")


def test_console_script_and_module_entry_points(demo_project: Path):
    script = Path(sys.executable).with_name("grandirenhlm")
    for command in ([str(script)], [sys.executable, "-m", "grandirenhlm"]):
        done = subprocess.run(
            [*command, "--project", str(demo_project), "check"], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout == "ok: no problems found\n"
        bad = subprocess.run(
            [*command, "--project", str(demo_project), "ingest", "--show", "nope", "x.mp3"],
            capture_output=True,
            text=True,
        )
        assert bad.returncode == 1
        assert bad.stderr.startswith("error: --show: unknown show 'nope'")
        assert "Traceback" not in bad.stderr
