"""The media store against the records (issue 13, item 6): `check --deep` reports embedded tags
(TIT2, COMM, CHAP) that no longer say what the record says, `retag` writes the record's into a new
copy, and `gc` lists and removes files no record references, never a master. Run as a user runs
them, in subprocesses; the tags are read back with mutagen directly."""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from pathlib import Path

from mutagen.id3 import CHAP, ID3, TIT2

from tests.support import make_mp3, make_wav, run_command

SHOW = "grandir-en-hlm"


cli = run_command  # the command in its own process (tests/support.py)


def with_chapters(path: Path, *titles: str) -> Path:
    tags = ID3(path)
    for i, title in enumerate(titles):
        tags.add(
            CHAP(
                element_id=f"c{i}",
                start_time=i * 1000,
                end_time=(i + 1) * 1000,
                start_offset=0xFFFFFFFF,
                end_offset=0xFFFFFFFF,
                sub_frames=[TIT2(encoding=3, text=[title])],
            )
        )
    tags.save(path, v2_version=4)
    return path


def tag_warnings(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in done.stderr.splitlines() if "differ from the record" in line]


def test_check_deep_reports_stale_tags_and_retag_rewrites_them(project: Path, tmp_path: Path) -> None:
    source = make_mp3(
        tmp_path / "ep.mp3", 2.0, title="Premier titre", comment="Première description", track="1"
    )
    with_chapters(source, "Début", "Suite")
    assert cli(project, "ingest", "--show", SHOW, str(source)).returncode == 0
    record_path = project / "episodes" / SHOW / "premier-titre.toml"
    assert tag_warnings(cli(project, "check", "--deep")) == []  # as ingested, they agree

    text = record_path.read_text(encoding="utf-8")
    text = text.replace('title = "Premier titre"', 'title = "Titre corrigé"')
    text = text.replace("Première description", "Description corrigée").replace('"Suite"', '"Conclusion"')
    record_path.write_text(text, encoding="utf-8")
    old = project / tomllib.loads(text)["media"]["file"].replace("../../", "")

    assert tag_warnings(cli(project, "check")) == []  # only --deep reads the media
    (warning,) = tag_warnings(cli(project, "check", "--deep"))
    assert warning.startswith(
        f"warning: episodes/{SHOW}/premier-titre.toml: media.file: {old.name}: embedded tags differ from the record ("
    )
    assert "title 'Premier titre'" in warning and "comment" in warning and "chapters" in warning
    assert "grandirenhlm retag" in warning

    done = cli(project, "retag")
    assert done.returncode == 0, done.stderr
    record = tomllib.loads(record_path.read_text(encoding="utf-8"))
    new = (record_path.parent / record["media"]["file"]).resolve()
    assert done.stdout.strip().startswith(
        f"retagged episodes/{SHOW}/premier-titre.toml: {old.name} -> {new.name}"
    )
    assert new != old.resolve() and old.is_file()  # the old file stays until gc
    tags = ID3(new)
    assert str(tags["TIT2"]) == "Titre corrigé"
    assert [str(c) for c in tags.getall("COMM")] == ["Description corrigée"]
    assert sorted(str(c.sub_frames["TIT2"]) for c in tags.getall("CHAP")) == ["Conclusion", "Début"]
    assert record["title"] == "Titre corrigé"  # the record's other keys as they were
    assert cli(project, "check", "--deep").returncode == 0
    assert tag_warnings(cli(project, "check", "--deep")) == []
    assert cli(project, "retag").stdout == ""  # nothing left to do

    listed = cli(project, "gc", "--dry-run")
    assert listed.returncode == 0 and listed.stdout.splitlines() == [f"would remove media/{SHOW}/{old.name}"]
    assert old.is_file()
    removed = cli(project, "gc")
    assert removed.stdout.splitlines() == [f"removed media/{SHOW}/{old.name}"]
    assert not old.exists() and new.is_file()
    assert cli(project, "gc").stdout.strip() == "nothing to remove"


def test_an_untagged_file_is_not_reported(project: Path, tmp_path: Path) -> None:
    """A tag the file never had cannot have gone stale: an untagged MP3 is published as it is."""
    assert (
        cli(
            project, "ingest", "--show", SHOW, "--title", "Titre", str(make_mp3(tmp_path / "nu.mp3"))
        ).returncode
        == 0
    )
    assert tag_warnings(cli(project, "check", "--deep")) == []


def test_gc_never_removes_a_master_or_a_file_it_did_not_name(project: Path, tmp_path: Path) -> None:
    show = project / "feeds" / f"{SHOW}.toml"  # episodic: the untagged masters carry no number
    show.write_text(show.read_text(encoding="utf-8").replace('"serial"', '"episodic"'), encoding="utf-8")
    store = project / "media" / SHOW
    store.mkdir(parents=True)
    master = make_wav(store / "prise-0123456789ab.wav", seconds=1.0)  # a master kept in the store
    assert cli(project, "ingest", "--show", SHOW, "--quiet", str(master)).returncode == 0
    (outside := project / "masters").mkdir()
    other_master = shutil.copy(make_wav(tmp_path / "autre.wav", seconds=1.5), outside / "autre.wav")
    assert cli(project, "ingest", "--show", SHOW, "--quiet", str(other_master)).returncode == 0
    notes = store / "notes.txt"
    notes.write_text("à garder", encoding="utf-8")
    stray = store / "ancien-fedcba987654.mp3"
    shutil.copy(make_mp3(tmp_path / "x.mp3"), stray)
    kept = sorted(p.name for p in store.iterdir() if p != stray)

    assert cli(project, "gc").stdout.splitlines() == [f"removed media/{SHOW}/{stray.name}"]
    assert sorted(p.name for p in store.iterdir()) == kept
    assert master.is_file() and Path(other_master).is_file()


def test_gc_refuses_while_a_record_does_not_load(project: Path, tmp_path: Path) -> None:
    assert (
        cli(
            project, "ingest", "--show", SHOW, str(make_mp3(tmp_path / "a.mp3", title="Un", track="1"))
        ).returncode
        == 0
    )
    (project / "episodes" / SHOW / "casse.toml").write_text("title = \n", encoding="utf-8")
    before = sorted((project / "media" / SHOW).iterdir())
    done = cli(project, "gc")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"error: episodes/{SHOW}/casse.toml")
    assert sorted((project / "media" / SHOW).iterdir()) == before
