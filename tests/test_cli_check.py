"""`grandirenhlm check` and the validation of show definitions, episode records and configuration."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.support import REAL_ADDRESS, assert_clean_error, run_cli, without_placeholders

SHOW = "feeds/grandir-en-hlm.toml"
EPISODE = "episodes/grandir-en-hlm/temoignage-1.toml"


def edit(root: Path, name: str, old: str, new: str) -> None:
    path = root / name
    text = path.read_text(encoding="utf-8")
    assert old in text, (old, name)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_demo_content_passes_but_for_its_placeholders(demo_project: Path):
    result = run_cli(demo_project, "check")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "ok: 5 warning(s)\n"
    assert result.stderr.splitlines() == [
        *(
            f"warning: feeds/{show}.toml: owner.email: podcasts@example.org is a placeholder (a reserved "
            "domain); put the address the platforms write to (Apple and Spotify send ownership codes there)"
            for show in ("grandir-en-hlm", "l-emission")
        ),
        *(
            f"warning: grandirenhlm.toml: site.{name}.contact: podcasts@example.org is a placeholder "
            "(a reserved domain); put the address listeners may write to"
            for name in ("accessibility", "legal")
        ),
        "warning: grandirenhlm.toml: targets.local.public_base_url: http://127.0.0.1:8000/ is this "
        "machine: feeds and pages built with it work only here; set the address listeners reach the site at",
    ]
    assert run_cli(demo_project, "check", "--strict").exit_code == 1
    without_placeholders(demo_project)
    result = run_cli(demo_project, "check", "--strict")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "ok: no problems found\n"


@pytest.mark.parametrize(
    "address",
    ["a@example.com", "a@example.net", "a@mail.example.org", "a@radio.test", "a@x.invalid", "a@localhost"],
)
def test_every_reserved_domain_is_a_placeholder(demo_project: Path, address: str):
    without_placeholders(demo_project)
    edit(demo_project, SHOW, f'email = "{REAL_ADDRESS}"', f'email = "{address}"')
    result = run_cli(demo_project, "check", "--strict")
    assert_clean_error(result, f"warning: {SHOW}: owner.email: {address} is a placeholder")


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
        # (a date-time without an offset is no longer a problem: it is read in the project's time
        # zone, issue 13 item 8; tests/test_records_timezone.py)
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
    without_placeholders(demo_project)
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


# ---------------------------------------------------------------- the linter: each rule broken once

REPLAY = "episodes/l-emission/replay-2023.toml"
# Rules the records reader applies itself (no page or feed may carry what they refuse)
LOAD_TIME = {"new_feed_url: 'ftp://exemple.fr/feed.xml' is not an http(s) URL"}
SIX = "episodes/grandir-en-hlm/temoignage-6.toml"
VTT = "episodes/grandir-en-hlm/temoignage-1.vtt"
CHAPTERS = """chapters = [
    { start_seconds = 0.0, title = "Présentation" },
    { start_seconds = 4.596, title = "La série" },
    { start_seconds = 20.795, title = "À propos de cet enregistrement" },
]"""
LONG = "Très long texte. " * 250  # 4250 bytes


def set_chapters(starts: list[float]) -> tuple[str, str, str]:
    body = ", ".join(f'{{ start_seconds = {s}, title = "C{i}" }}' for i, s in enumerate(starts))
    return (EPISODE, CHAPTERS, f"chapters = [{body}]")


LINT_RULES = [
    # (file, old, new, level, message)
    (SHOW, 'category = "Society & Culture"', 'category = "Society & Culture"\nsubcategory = "Comedy"', "error",
     "subcategory: 'Comedy' is not a subcategory of 'Society & Culture'"),
    (SHOW, 'language = "fr"', 'language = "français"', "error",
     "language: 'français' is not an RSS language code like fr or fr-FR"),
    (SHOW, 'description = """', f'description = """{LONG}', "error", "description: 4"),
    (SHOW, 'podcast_guid = "3e37be38-ef1c-5ad4-8f56-6990ae707657"', 'podcast_guid = "3e37be38"', "error",
     "podcast_guid: '3e37be38' is not a UUID"),
    (SHOW, 'podcast_guid = "3e37be38-ef1c-5ad4-8f56-6990ae707657"',
     'podcast_guid = "3e37be38-ef1c-4ad4-8f56-6990ae707657"', "error",
     "podcast_guid: a version 5 UUID is required, this one is version 4"),
    (SHOW, 'podcast_guid = "3e37be38-ef1c-5ad4-8f56-6990ae707657"', "", "warning",
     "podcast_guid: missing; compute it once"),
    (SHOW, 'type = "serial"', 'type = "serial"\nwebsite = "https://exemple.fr/émission"', "error",
     "website: 'https://exemple.fr/émission' is not ASCII"),
    (SHOW, 'type = "serial"', 'type = "serial"\nnew_feed_url = "ftp://exemple.fr/feed.xml"', "error",
     "new_feed_url: 'ftp://exemple.fr/feed.xml' is not an http(s) URL"),
    (SHOW, "[owner]", '[[funding]]\nurl = "https://exemple.fr/dons?é"\ntext = "Dons"\n\n[owner]', "error",
     "funding[0].url: 'https://exemple.fr/dons?é' is not ASCII"),
    (SHOW, "[owner]", f'[[txt]]\ntext = "jeton"\npurpose = "{"p" * 129}"\n\n[owner]', "error",
     "txt[0].purpose: 129 characters, the podcast namespace allows 128"),
    (EPISODE, '{ start_seconds = 4.596, title = "La série" }', '{ start_seconds = 4.596, title = "La\\nsérie" }',
     "error", "chapters[1].title: one line only"),
    (SHOW, "[owner]", '[[person]]\nname = "Personne"\ngroup = "orchestre"\n\n[owner]', "error",
     "person[0].group: 'orchestre' is not a Podcast Taxonomy group"),
    (SHOW, 'update_frequency = "Série complète de six témoignages"\n', "", "warning",
     'update_frequency: missing; a complete series says so with podcast:updateFrequency complete="true"'),
    (SHOW, 'type = "serial"', 'type = "serial"\nblock = true\nnew_feed_url = "https://exemple.fr/f.xml"',
     "warning", "block: true while new_feed_url is set"),
    (EPISODE, 'description = """', f'description = """{LONG}', "error",
     "bytes as HTML with its chapter timestamps, Apple allows at most 4000"),
    (EPISODE, 'guid = "urn:uuid:b9f1763b-4210-4c05-8ce7-6f5a78d79594"', 'guid = "mon épisode"', "error",
     "guid: 'mon épisode' must be ASCII without spaces"),
    (EPISODE, "episode = 1", "episode = 1\npublish_at = 2023-01-01T00:00:00+00:00", "warning",
     "publish_at: before pub_date"),
    (*set_chapters([0.0, 20.0, 10.0]), "error", "chapters: start times must strictly increase"),
    (*set_chapters([0.0, 10.0, 99.0]), "error", "chapters[2].start_seconds: 99.0 is past the end (30.824 s)"),
    (*set_chapters([1.0, 10.0, 20.0]), "warning", "chapters: the first must start at 0"),
    (*set_chapters([0.0, 10.0]), "warning", "chapters: 2, at least 3 for Apple and Spotify"),
    (VTT, "00:00:01.607 --> 00:00:03.407", "00:00:03.607 --> 00:00:03.407", "error",
     "transcript: episodes/grandir-en-hlm/temoignage-1.vtt: cue 2 (00:00:03.607): ends at 00:00:03.407"),
    (VTT, "00:00:25.006 --> 00:00:29.582", "00:00:25.006 --> 00:00:59.582", "warning",
     "transcript: its last cue ends at 59.582 s, after the media (30.824 s)"),
    (REPLAY, 'transcript = "replay-2023.vtt"\n', "", "warning",
     "transcript: missing; a video replay should carry captions"),
    (SIX, "episode = 6", "episode = 7", "warning",
     "type: serial, but episode numbers [1, 2, 3, 4, 5, 7] do not run 1, 2, 3… without gaps"),
    (EPISODE, "duration_seconds = 30.824", "duration_seconds = 0", "error",
     "media.duration_seconds: 0; apps need a duration"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "old", "new", "level", "message"), LINT_RULES)
def test_each_linter_rule_is_reported_once(demo_project: Path, name, old, new, level, message):
    edit(demo_project, name, old, new)
    where = {VTT: EPISODE, SIX: SHOW}.get(name, name)  # a transcript's record; the show's numbering
    result = run_cli(demo_project, "check")
    lines = [line for line in result.stderr.splitlines() if message in line]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{level}: {where}: "), lines[0]
    assert "Traceback" not in result.stderr
    if level == "error":
        assert_clean_error(result)
        published = run_cli(demo_project, "publish")
        if message in LOAD_TIME:  # refused when the file is read: build and publish stop there too
            assert_clean_error(published, f"error: {where}: {message}")
        else:
            assert_clean_error(published, "check found errors: nothing published")
        assert not (demo_project / "public").exists()
    else:
        assert result.exit_code == 0, result.stderr
        without_placeholders(demo_project)
        assert_clean_error(run_cli(demo_project, "check", "--strict"), message)


def test_live_item_ended_without_replay_is_a_warning(demo_project: Path):
    text = (demo_project / REPLAY).read_text(encoding="utf-8")
    text = text[: text.index("[media]")] + (
        '[live]\nstatus = "ended"\nstart = 2023-06-23T14:00:00+02:00\nend = 2023-06-23T15:00:00+02:00\n'
    )
    (demo_project / REPLAY).write_text(text.replace('transcript = "replay-2023.vtt"\n', ""), encoding="utf-8")
    result = run_cli(demo_project, "check")
    assert result.exit_code == 0, result.stderr
    assert f"warning: {REPLAY}: live: ended, but no [media] yet; ingest the replay" in result.stderr


def test_a_guid_changed_after_publishing_is_an_error(demo_project: Path):
    assert run_cli(demo_project, "publish").exit_code == 0  # public/ now holds the feeds apps read
    assert run_cli(without_placeholders(demo_project), "check", "--strict").exit_code == 0
    edit(demo_project, EPISODE, "urn:uuid:b9f1763b-4210-4c05-8ce7-6f5a78d79594", "urn:uuid:new")
    result = run_cli(demo_project, "check")
    assert_clean_error(
        result,
        f"error: {EPISODE}: guid: 'urn:uuid:new' differs from 'urn:uuid:b9f1763b-4210-4c05-8ce7-6f5a78d79594' "
        "in the published public/grandir-en-hlm/feed.xml; apps would list the episode twice",
    )
    assert_clean_error(run_cli(demo_project, "publish"), "check found errors: nothing published")
