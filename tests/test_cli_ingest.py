"""`grandirenhlm ingest`: real media in, an episode record and a content-addressed copy out."""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import tomli_w
from click.testing import Result
from mutagen.id3 import CHAP, ID3, TIT2

from grandirenhlm.records import load_episode
from tests.support import assert_clean_error, make_mp3, make_mp4, make_wav, run_cli

SHOW = "grandir-en-hlm"
TITLE = "Témoignage n° 1 : l’école"
COMMENT = "Nadia raconte son école « au pied des tours » et ses copines d’enfance 🏫"
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@pytest.fixture
def src(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, project: Path) -> Path:
    """An input folder beside the project; the working directory is their parent."""
    folder = tmp_path / "src"
    folder.mkdir()
    monkeypatch.chdir(tmp_path)
    return folder


def ingest(project: Path, *args: str) -> Result:
    return run_cli(project, "ingest", "--show", SHOW, *args)


def records(project: Path) -> list[Path]:
    return sorted((project / "episodes" / SHOW).glob("*.toml"))


def media_files(project: Path) -> list[Path]:
    folder = project / "media" / SHOW
    return sorted(p for p in folder.iterdir()) if folder.is_dir() else []


def read_record(path: Path) -> dict:
    with path.open("rb") as fh:
        return tomllib.load(fh)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_no_temp_files(project: Path) -> None:
    """Atomic writes leave nothing behind, whatever happened."""
    leftovers = [
        p
        for p in project.rglob("*")
        if p.name.endswith(".tmp") or (p.name.startswith(".") and p.name != ".grandirenhlm")  # the cache
    ]
    assert leftovers == []


def snapshot(project: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under episodes/ and media/ with its bytes and mtime."""
    out = {}
    for top in ("episodes", "media"):
        for p in sorted((project / top).rglob("*")):
            if p.is_file():
                out[str(p.relative_to(project))] = (p.read_bytes(), p.stat().st_mtime_ns)
    return out


# ---------------------------------------------------------------- a first ingest


def test_ingest_creates_record_and_media_copy(project: Path, src: Path) -> None:
    source = make_mp3(
        src / "ep1.mp3", 2.0, title=TITLE, comment=COMMENT, track="3/6", date="2023-06-26T09:01:00"
    )

    result = ingest(project, "src/ep1.mp3")

    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert result.stderr == ""
    (record_path,) = records(project)
    slug = record_path.stem
    assert SLUG_RE.match(slug), slug
    assert slug.startswith("temoignage-"), slug
    assert result.stdout == f"created: project/episodes/{SHOW}/{slug}.toml <- src/ep1.mp3\n"

    record = read_record(record_path)
    assert record["guid"].startswith("urn:uuid:")
    assert str(uuid.UUID(record["guid"].removeprefix("urn:uuid:"))) == record["guid"][9:]
    assert record["title"] == TITLE
    assert record["pub_date"] == datetime(2023, 6, 26, 9, 1, tzinfo=UTC)
    assert record["episode"] == 3
    assert record["description"] == COMMENT

    digest = sha256(source)
    media = record["media"]
    assert media["file"] == f"../../media/{SHOW}/{slug}-{digest[:12]}.mp3"
    stored = (record_path.parent / media["file"]).resolve()
    assert stored == (project / "media" / SHOW / f"{slug}-{digest[:12]}.mp3").resolve()
    assert stored.read_bytes() == source.read_bytes()
    assert media["sha256"] == digest
    assert media["size"] == source.stat().st_size
    assert media["mime_type"] == "audio/mpeg"
    assert media["bitrate"] == 64000
    assert abs(media["duration_seconds"] - 2.0) < 0.1
    assert media_files(project) == [stored]
    assert_no_temp_files(project)


def test_ingested_record_loads_as_an_episode(project: Path, src: Path) -> None:
    make_mp3(src / "ep1.mp3", 1.0, title=TITLE, comment=COMMENT, track="1", date="2023-06-26T09:01:00")
    assert ingest(project, "src/ep1.mp3").exit_code == 0
    (record_path,) = records(project)

    episode = load_episode(record_path, SHOW)

    assert episode.title == TITLE
    assert episode.number == 1
    assert episode.pub_date == datetime(2023, 6, 26, 9, 1, tzinfo=UTC)
    assert episode.media.sha256 == sha256(src / "ep1.mp3")
    assert episode.media.path.is_file()


def test_ingest_without_tags_uses_file_name_and_now(project: Path, src: Path) -> None:
    make_mp3(src / "Épisode spécial.mp3", 1.0)
    before = datetime.now(UTC).replace(microsecond=0)

    result = ingest(project, "src/Épisode spécial.mp3")

    after = datetime.now(UTC)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert [p.name for p in records(project)] == ["episode-special.toml"]
    record = read_record(records(project)[0])
    assert record["title"] == "Épisode spécial"
    assert before <= record["pub_date"] <= after, (before, record["pub_date"], after)
    assert record["pub_date"].tzinfo is not None
    assert record["description"] == ""
    assert "episode" not in record
    assert "chapters" not in record
    assert media_files(project)[0].name.startswith("episode-special-")


def test_ingest_date_only_tag_is_not_a_publication_moment(project: Path, src: Path) -> None:
    # a bare date cannot order two episodes of the same day: the ingest time is used instead
    make_mp3(src / "ep.mp3", 1.0, title="Sans heure", date="2023-06-26")
    before = datetime.now(UTC).replace(microsecond=0)

    assert ingest(project, "src/ep.mp3").exit_code == 0

    pub_date = read_record(project / "episodes" / SHOW / "sans-heure.toml")["pub_date"]
    assert before <= pub_date <= datetime.now(UTC), (before, pub_date)


def test_ingest_m4a_and_mp4_keep_their_extension_and_video_size(project: Path, src: Path) -> None:
    make_mp4(src / "audio.m4a", 1.0, video=False)
    make_mp4(src / "clip.mp4", 1.0, video=True)

    result = ingest(project, "src/audio.m4a", "src/clip.mp4")

    assert result.exit_code == 0, (result.stdout, result.stderr)
    audio = read_record(project / "episodes" / SHOW / "audio.toml")["media"]
    clip = read_record(project / "episodes" / SHOW / "clip.toml")["media"]
    assert audio["mime_type"] == "audio/x-m4a"
    assert audio["file"] == f"../../media/{SHOW}/audio-{sha256(src / 'audio.m4a')[:12]}.m4a"
    assert "width" not in audio and "height" not in audio
    assert clip["mime_type"] == "video/mp4"
    assert clip["file"] == f"../../media/{SHOW}/clip-{sha256(src / 'clip.mp4')[:12]}.mp4"
    assert (clip["width"], clip["height"]) == (320, 180)


def test_ingest_title_and_slug_options_override_tags(project: Path, src: Path) -> None:
    make_mp3(src / "raw.mp3", 1.0, title=TITLE)

    result = ingest(project, "--slug", "ep-01", "--title", "Bande-annonce « Grandir »", "src/raw.mp3")

    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert [p.name for p in records(project)] == ["ep-01.toml"]
    assert read_record(records(project)[0])["title"] == "Bande-annonce « Grandir »"


def test_ingest_keeps_id3_chapters(project: Path, src: Path) -> None:
    path = make_mp3(src / "chap.mp3", 2.0, title="Chapitres")
    tags = ID3(path)
    for element_id, start, end, title in (("c0", 0, 1000, "Début"), ("c1", 1000, 2000, "L’après « fin »")):
        tags.add(
            CHAP(
                element_id=element_id,
                start_time=start,
                end_time=end,
                start_offset=0xFFFFFFFF,
                end_offset=0xFFFFFFFF,
                sub_frames=[TIT2(encoding=3, text=[title])],
            )
        )
    tags.save(path, v2_version=4)

    assert ingest(project, "src/chap.mp3").exit_code == 0

    record = read_record(project / "episodes" / SHOW / "chapitres.toml")
    assert record["chapters"] == [
        {"start_seconds": 0.0, "title": "Début"},
        {"start_seconds": 1.0, "title": "L’après « fin »"},
    ]


# ---------------------------------------------------------------- reruns, conflicts, --force


def test_ingest_same_file_again_is_unchanged(project: Path, src: Path) -> None:
    make_mp3(src / "ep1.mp3", 1.0, title=TITLE, track="1")
    assert ingest(project, "src/ep1.mp3").exit_code == 0
    (record_path,) = records(project)
    before = snapshot(project)

    result = ingest(project, "src/ep1.mp3")

    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert result.stderr == ""
    assert result.stdout == f"unchanged: project/episodes/{SHOW}/{record_path.name} <- src/ep1.mp3\n"
    assert snapshot(project) == before  # same bytes and same mtimes, for every file
    assert_no_temp_files(project)


def test_ingest_same_file_under_another_name_is_unchanged(project: Path, src: Path) -> None:
    source = make_mp3(src / "ep1.mp3", 1.0, title=TITLE)
    assert ingest(project, "src/ep1.mp3").exit_code == 0
    (src / "copie.mp3").write_bytes(source.read_bytes())
    before = snapshot(project)

    result = ingest(project, "src/copie.mp3")

    assert result.exit_code == 0
    assert result.stdout.startswith("unchanged: ")
    assert snapshot(project) == before


def test_ingest_other_file_same_slug_needs_force(project: Path, src: Path) -> None:
    make_mp3(src / "v1.mp3", 1.0, title="Version un", freq=440.0)
    make_mp3(src / "v2.mp3", 1.0, title="Version deux", freq=660.0)
    assert ingest(project, "--slug", "ep1", "src/v1.mp3").exit_code == 0
    record_path = project / "episodes" / SHOW / "ep1.toml"
    record_bytes, record_mtime = record_path.read_bytes(), record_path.stat().st_mtime_ns

    result = ingest(project, "--slug", "ep1", "src/v2.mp3")

    assert_clean_error(result, f"error: project/episodes/{SHOW}/ep1.toml: already exists", "--force")
    assert result.stdout == ""
    assert record_path.read_bytes() == record_bytes
    assert record_path.stat().st_mtime_ns == record_mtime
    assert records(project) == [record_path]
    assert_no_temp_files(project)


def test_refused_ingest_writes_nothing_to_the_media_store(project: Path, src: Path) -> None:
    # ingest_file's contract: "Raises GrandirError (nothing written) on any problem."
    make_mp3(src / "v1.mp3", 1.0, title="Version un", freq=440.0)
    make_mp3(src / "v2.mp3", 1.0, title="Version deux", freq=660.0)
    assert ingest(project, "--slug", "ep1", "src/v1.mp3").exit_code == 0
    before = snapshot(project)

    result = ingest(project, "--slug", "ep1", "src/v2.mp3")

    assert result.exit_code == 1
    assert snapshot(project) == before, sorted(set(snapshot(project)) - set(before))


def test_ingest_force_replaces_media_and_keeps_guid_and_fields(project: Path, src: Path) -> None:
    v1 = make_mp3(src / "v1.mp3", 1.0, title=TITLE, comment=COMMENT, track="3", date="2023-06-26T09:01:00")
    v2 = make_mp3(src / "v2.mp3", 1.5, title="Un autre titre", comment="Autre", track="9", freq=660.0)
    assert ingest(project, "--slug", "ep1", "src/v1.mp3").exit_code == 0
    record_path = project / "episodes" / SHOW / "ep1.toml"
    # a field the user added by hand must survive the media replacement
    first = read_record(record_path)
    first["season"] = 2
    record_path.write_text(tomli_w.dumps(first), encoding="utf-8")

    result = ingest(project, "--slug", "ep1", "--force", "src/v2.mp3")

    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert result.stdout == f"updated: project/episodes/{SHOW}/ep1.toml <- src/v2.mp3\n"
    second = read_record(record_path)
    assert second["guid"] == first["guid"]
    for key in ("title", "pub_date", "episode", "description", "season"):
        assert second[key] == first[key], key
    assert second["title"] == TITLE and second["episode"] == 3 and second["season"] == 2
    new_sha, old_sha = sha256(v2), sha256(v1)
    assert second["media"]["sha256"] == new_sha
    assert second["media"]["file"] == f"../../media/{SHOW}/ep1-{new_sha[:12]}.mp3"
    assert first["media"]["file"] == f"../../media/{SHOW}/ep1-{old_sha[:12]}.mp3"
    assert second["media"]["size"] == v2.stat().st_size
    assert abs(second["media"]["duration_seconds"] - 1.5) < 0.1
    stored = (record_path.parent / second["media"]["file"]).resolve()
    assert stored.read_bytes() == v2.read_bytes()
    assert records(project) == [record_path]
    assert_no_temp_files(project)


# ---------------------------------------------------------------- folders and bad input


def test_ingest_folder_with_a_bad_file(project: Path, src: Path) -> None:
    folder = src / "saison1"
    folder.mkdir()
    make_mp3(folder / "a.mp3", 1.0, title="Premier épisode", track="1")
    make_mp3(folder / "b.mp3", 1.0, title="Deuxième « épisode »", track="2", freq=550.0)
    (folder / "c.mp3").write_text("Ceci n’est pas un MP3.\n" * 40, encoding="utf-8")

    result = ingest(project, "src/saison1")

    assert_clean_error(result)
    assert result.stderr.splitlines() == [
        "error: src/saison1/c.mp3: unreadable media file: can't sync to MPEG frame",
        "error: 1 of 3 file(s) not ingested",
    ]
    assert result.stdout.splitlines() == [
        f"created: project/episodes/{SHOW}/premier-episode.toml <- src/saison1/a.mp3",
        f"created: project/episodes/{SHOW}/deuxieme-episode.toml <- src/saison1/b.mp3",
    ]
    assert [p.name for p in records(project)] == ["deuxieme-episode.toml", "premier-episode.toml"]
    assert len(media_files(project)) == 2
    guids = {read_record(p)["guid"] for p in records(project)}
    assert len(guids) == 2
    assert_no_temp_files(project)


def test_ingest_unknown_show(project: Path, src: Path) -> None:
    make_mp3(src / "ep1.mp3", 1.0, title=TITLE)

    result = run_cli(project, "ingest", "--show", "nope", "src/ep1.mp3")

    assert_clean_error(result, "error: --show: unknown show 'nope'", "grandir-en-hlm")
    assert len(result.stderr.splitlines()) == 1
    assert result.stdout == ""
    assert not (project / "episodes").exists()
    assert not (project / "media").exists()


def test_ingest_encodes_a_wav_master_instead_of_publishing_it(project: Path, src: Path) -> None:
    # Issue 8: a master is no longer refused; it is encoded (tests/test_encode.py has the details)
    # and the WAV itself never reaches the media store.
    make_wav(src / "master.wav", 0.5)

    result = ingest(project, "src/master.wav")

    assert result.exit_code == 0, result.stderr
    assert f"created: project/episodes/{SHOW}/master.toml <- src/master.wav\n" == result.stdout
    (stored,) = media_files(project)
    assert stored.suffix == ".mp3" and stored.name == f"master-{sha256(stored)[:12]}.mp3"
    record = read_record(records(project)[0])
    assert record["media"]["mime_type"] == "audio/mpeg"
    assert record["master"] == {"file": "../src/master.wav", "sha256": sha256(src / "master.wav")}
    assert_no_temp_files(project)


def test_quiet_ingest_prints_nothing_but_errors(project: Path, src: Path) -> None:
    """Issue 19: `--quiet` (a timer, a CI job) prints no line per file, created or not."""
    make_wav(src / "master.wav", 0.5)
    make_mp3(src / "b.mp3", 1.0, title="B")

    result = ingest(project, "--quiet", "src/master.wav", "src/b.mp3", "src/absent.mp3")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: src/absent.mp3: no such file",
        "error: 1 of 3 file(s) not ingested",
    ]
    assert [p.name for p in records(project)] == ["b.toml", "master.toml"]


def test_ingest_missing_file(project: Path, src: Path) -> None:
    result = ingest(project, "src/absent.mp3")

    assert_clean_error(result, "error: src/absent.mp3: no such file")
    assert records(project) == []


def test_ingest_slug_with_several_files_is_refused(project: Path, src: Path) -> None:
    make_mp3(src / "a.mp3", 1.0, title="A")
    make_mp3(src / "b.mp3", 1.0, title="B", freq=550.0)

    result = ingest(project, "--slug", "same", "src/a.mp3", "src/b.mp3")

    assert_clean_error(result, "error: --slug/--title: give them with a single file only")
    assert records(project) == []


def test_reingest_of_an_unchanged_folder_reads_no_file(project: Path, src: Path) -> None:
    """The cache says a file with the same path, size and mtime is the one already ingested."""
    a = make_mp3(src / "a.mp3", title="Épisode A", freq=300)
    make_mp3(src / "b.mp3", title="Épisode B", freq=400)
    assert ingest(project, str(src)).exit_code == 0
    assert (project / ".grandirenhlm" / "ingest-cache.json").is_file()
    before = snapshot(project)

    # Same size and mtime, other bytes: only a cache hit can call it unchanged (as git would).
    stat = a.stat()
    data = bytearray(a.read_bytes())
    data[-1] ^= 0xFF
    a.write_bytes(bytes(data))
    os.utime(a, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    again = ingest(project, str(src))
    assert again.exit_code == 0, again.stderr
    assert again.stdout.count("unchanged: ") == 2
    assert snapshot(project) == before

    # A new mtime: the file is read again and its new content found.
    os.utime(a, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    changed = ingest(project, str(src))
    assert changed.exit_code == 1  # same slug, other media: needs --force
    assert "already exists with other media" in changed.stderr
    assert changed.stdout.count("unchanged: ") == 1


def test_a_damaged_cache_is_ignored(project: Path, src: Path) -> None:
    make_mp3(src / "a.mp3", title="Épisode A")
    cache = project / ".grandirenhlm" / "ingest-cache.json"
    cache.parent.mkdir()
    cache.write_text("{not json", encoding="utf-8")
    assert ingest(project, str(src)).stdout.startswith("created: ")
    assert ingest(project, str(src)).stdout.startswith("unchanged: ")


def test_real_path_is_resolve_with_one_resolution_per_folder(tmp_path: Path):
    """The ingest cache's key for a file: its real path, through a linked folder or a linked file."""
    from grandirenhlm.files import real_path

    (tmp_path / "vrai").mkdir()
    (tmp_path / "vrai" / "a.mp3").write_bytes(b"a")
    (tmp_path / "lien").symlink_to(tmp_path / "vrai")
    (tmp_path / "vrai" / "b.mp3").symlink_to(tmp_path / "vrai" / "a.mp3")
    for path in (tmp_path / "lien" / "a.mp3", tmp_path / "vrai" / "b.mp3", tmp_path / "vrai" / "a.mp3"):
        assert real_path(path) == str(path.resolve()) == str((tmp_path / "vrai" / "a.mp3").resolve())


def test_hidden_toml_files_are_not_records(project: Path, src: Path) -> None:
    """An editor's or macOS's `._x.toml` (binary, not TOML) is neither a show nor an episode."""
    make_mp3(src / "a.mp3", 0.5, title=TITLE)
    mac = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X"
    (project / "feeds" / "._grandir-en-hlm.toml").write_bytes(mac)
    (project / "episodes" / SHOW).mkdir(parents=True, exist_ok=True)
    (project / "episodes" / SHOW / "._a.toml").write_bytes(mac)
    result = ingest(project, str(src / "a.mp3"))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("created: ")
    unknown = run_cli(project, "ingest", "--show", "inconnue", str(src / "a.mp3"))
    assert unknown.exit_code == 1 and "unknown show 'inconnue'" in unknown.stderr
    assert "._" not in unknown.stderr.split("shows:")[1], unknown.stderr
