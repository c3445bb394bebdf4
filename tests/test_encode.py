"""Masters in, distribution files out: `grandirenhlm ingest MASTER` encodes, tags, names by hash.

Real masters made by the tests (tests/masters.py), real ffmpeg, files read back by mutagen."""

from __future__ import annotations

import hashlib
import io
import os
import pty
import select
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
import tomli_w
from click.testing import Result
from mutagen.id3 import ID3
from mutagen.mp3 import MP3, BitrateMode
from mutagen.mp4 import MP4
from PIL import Image

from grandirenhlm.chapters import episode_chapters, to_json_chapters
from grandirenhlm.media import probe
from grandirenhlm.records import load_episode
from tests.masters import make_master
from tests.support import REPO, assert_clean_error, make_cover, make_mp3, run_cli

SHOW = "grandir-en-hlm"


def ingest(project: Path, *args: str) -> Result:
    return run_cli(project, "ingest", "--show", SHOW, *args)


def media_files(project: Path) -> list[Path]:
    folder = project / "media" / SHOW
    return sorted(folder.iterdir()) if folder.is_dir() else []


def record_of(project: Path, slug: str) -> dict:
    return tomllib.loads((project / "episodes" / SHOW / f"{slug}.toml").read_text(encoding="utf-8"))


def stored(project: Path, slug: str) -> Path:
    return (project / "episodes" / SHOW / record_of(project, slug)["media"]["file"]).resolve()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def no_temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if ".tmp" in p.name]


def has_info_header(path: Path) -> bool:
    """A Xing ("Xing" or, for CBR, "Info") header in the first MPEG frame after the ID3 tag."""
    mp3 = MP3(path)
    data = path.read_bytes()
    start = mp3.tags.size if mp3.tags else 0
    return b"Info" in data[start : start + 200] or b"Xing" in data[start : start + 200]


@pytest.mark.parametrize(
    ("name", "channels", "bits", "bitrate"),
    [
        ("mono16.wav", 1, 16, 64000),
        ("stereo24.wav", 2, 24, 128000),
        ("mono.flac", 1, 24, 64000),
        ("stereo.aiff", 2, 16, 128000),
    ],
)
def test_master_becomes_a_cbr_mp3_with_an_info_header(
    project: Path, tmp_path: Path, name: str, channels: int, bits: int, bitrate: int
) -> None:
    master = make_master(tmp_path / name, 3.0, channels=channels, bits=bits)
    before = sha256(master)

    result = ingest(project, str(master))

    assert result.exit_code == 0, result.stderr
    slug = Path(name).stem
    assert result.stdout == f"created: episodes/{SHOW}/{slug}.toml <- {master}\n"
    out = stored(project, slug)
    assert out.name == f"{slug}-{sha256(out)[:12]}.mp3"  # named by its final bytes, tags included
    audio = MP3(out)
    # mutagen derives the bitrate from the Info header's byte count: within rounding of the CBR rate
    assert audio.info.bitrate_mode == BitrateMode.CBR and abs(audio.info.bitrate - bitrate) < 100
    assert audio.info.sample_rate == 44100 and audio.info.channels == channels
    assert abs(audio.info.length - 3.0) < 0.06
    assert has_info_header(out)
    record = record_of(project, slug)
    assert record["media"]["mime_type"] == "audio/mpeg" and abs(record["media"]["bitrate"] - bitrate) < 100
    assert record["media"]["sha256"] == sha256(out) and record["media"]["size"] == out.stat().st_size
    assert record["master"] == {"file": os.path.relpath(master, project), "sha256": before}
    assert sha256(master) == before  # the master is never modified
    assert [p.suffix for p in media_files(project)] == [".mp3"]
    assert no_temp_files(project) == []


def test_encoding_settings_m4a_stereo_96k(project: Path, tmp_path: Path) -> None:
    show = project / "feeds" / f"{SHOW}.toml"
    show.write_text(
        show.read_text(encoding="utf-8") + '\n[encoding]\nformat = "m4a"\nbitrate = "96k"\nchannels = 2\n',
        encoding="utf-8",
    )
    master = make_master(tmp_path / "voix.wav", 3.0, channels=1)

    result = ingest(project, "--quiet", str(master))

    assert result.exit_code == 0, result.stderr
    out = stored(project, "voix")
    assert out.suffix == ".m4a" and out.name == f"voix-{sha256(out)[:12]}.m4a"
    info = probe(out)
    assert (info.mime_type, info.channels, info.sample_rate) == ("audio/x-m4a", 2, 44100)
    assert 60_000 < (info.bitrate or 0) <= 110_000  # AAC is ABR: near the 96k asked for
    assert abs(info.duration_seconds - 3.0) < 0.1
    tags = MP4(out).tags
    assert tags["\xa9nam"] == ["voix"] and tags["\xa9ART"] == ["Union sociale pour l’habitat"]
    assert tags["\xa9alb"] == ["Grandir en Hlm"]
    # a JPEG cover within Apple's limits is embedded as it is: no second generation of JPEG loss
    assert bytes(tags["covr"][0]) == (project / "feeds" / "cover.jpg").read_bytes()


def test_bad_encoding_settings_are_one_line_naming_the_key(project: Path, tmp_path: Path) -> None:
    show = project / "feeds" / f"{SHOW}.toml"
    show.write_text(show.read_text(encoding="utf-8") + '\n[encoding]\nformat = "ogg"\n', encoding="utf-8")
    master = make_master(tmp_path / "a.wav", 1.0)

    result = ingest(project, str(master))

    assert_clean_error(
        result, f"error: feeds/{SHOW}.toml: encoding.format: expected one of mp3, m4a, got 'ogg'"
    )
    assert len(result.stderr.splitlines()) == 1
    assert media_files(project) == [] and not (project / "episodes").exists()


def test_tags_come_from_the_record_and_a_corrected_master_gets_a_new_url_same_guid(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_cover(project / "feeds" / "cover.jpg", size=3500)  # larger than Apple's 3000 px
    master = make_master(tmp_path / "temoignage.wav", 4.0, channels=1)
    assert ingest(project, "--quiet", str(master)).exit_code == 0
    first = record_of(project, "temoignage")
    # The team edits the record: texts, numbers, chapters. Then re-ingests the same master.
    edited = dict(first)
    edited.update(
        title="Témoignage n° 3 : l’école",
        episode=3,
        season=2,
        description="Nadia raconte son école « au pied des tours ».",
        chapters=[
            {"start_seconds": 0.0, "title": "Présentation"},
            {"start_seconds": 1.5, "title": "L’école"},
            {"start_seconds": 3.0, "title": "Conclusion"},
        ],
    )
    path = project / "episodes" / SHOW / "temoignage.toml"
    path.write_text(tomli_w.dumps(edited), encoding="utf-8")
    # Same master + same settings: the tags change, the encode is reused (no ffmpeg needed at all).
    monkeypatch.setenv("GRANDIRENHLM_FFMPEG", str(tmp_path / "no-ffmpeg-here"))

    result = ingest(project, "--force", "--slug", "temoignage", str(master))

    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"updated: episodes/{SHOW}/temoignage.toml")
    second = record_of(project, "temoignage")
    assert second["guid"] == first["guid"] and second["title"] == "Témoignage n° 3 : l’école"
    assert second["media"]["file"] != first["media"]["file"]  # new bytes, new URL
    out = stored(project, "temoignage")
    id3 = ID3(out)
    assert id3.version == (2, 4, 0)
    assert str(id3["TIT2"]) == "Témoignage n° 3 : l’école"
    assert str(id3["TPE1"]) == "Union sociale pour l’habitat" and str(id3["TALB"]) == "Grandir en Hlm"
    assert str(id3["TRCK"]) == "3" and str(id3["TPOS"]) == "2"
    assert str(id3["TDRC"]).replace(" ", "T") == first["pub_date"].strftime("%Y-%m-%dT%H:%M:%S")
    assert id3.getall("COMM")[0].text == ["Nadia raconte son école « au pied des tours »."]
    (apic,) = id3.getall("APIC")
    assert apic.mime == "image/jpeg" and apic.type == 3
    with Image.open(io.BytesIO(apic.data)) as cover:
        assert cover.format == "JPEG" and cover.size == (3000, 3000)
    # The chapters in the file are the ones the feed's JSON chapters carry, ends included.
    episode = load_episode(path, SHOW)
    feed_chapters = episode_chapters(episode)
    (toc,) = id3.getall("CTOC")
    chaps = {c.element_id: c for c in id3.getall("CHAP")}
    in_file = [
        (chaps[i].start_time / 1000, chaps[i].end_time / 1000, str(chaps[i].sub_frames["TIT2"]))
        for i in toc.child_element_ids
    ]
    assert in_file == [(c.start_seconds, round(c.end_seconds, 3), c.title) for c in feed_chapters]
    assert "Conclusion" in to_json_chapters(feed_chapters)
    # mutagen reads them back through the project's own probe too
    assert [c.title for c in probe(out).chapters] == ["Présentation", "L’école", "Conclusion"]


def test_corrected_master_new_url_same_guid(project: Path, tmp_path: Path) -> None:
    master = make_master(tmp_path / "m.wav", 2.0, seed=1)
    assert ingest(project, "--quiet", str(master)).exit_code == 0
    first = record_of(project, "m")
    make_master(master, 2.0, seed=2)  # the studio sends a corrected master under the same name

    refused = ingest(project, "--quiet", str(master))
    assert_clean_error(refused, f"episodes/{SHOW}/m.toml: already exists with other media", "--force")

    result = ingest(project, "--quiet", "--force", str(master))
    assert result.exit_code == 0, result.stderr
    second = record_of(project, "m")
    assert second["guid"] == first["guid"]
    assert second["master"]["sha256"] == sha256(master) != first["master"]["sha256"]
    assert second["media"]["sha256"] != first["media"]["sha256"]
    assert second["media"]["file"] != first["media"]["file"]

    again = ingest(project, "--quiet", str(master))  # nothing changed: nothing to do, nothing said
    assert again.exit_code == 0 and again.stdout == ""
    assert ingest(project, str(master)).stdout.startswith("unchanged:")


def test_same_master_same_settings_is_never_encoded_twice(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    master = make_master(tmp_path / "m.wav", 2.0)
    assert ingest(project, "--quiet", "--title", "Un", str(master)).exit_code == 0
    cached = sorted((project / ".grandirenhlm" / "encoded").iterdir())
    assert [p.name.split(".", 1)[1] for p in cached] == ["mp3", "mp3.mac"]  # the encode and its MAC
    monkeypatch.setenv("GRANDIRENHLM_FFMPEG", str(tmp_path / "absent"))  # any encode would now fail

    result = ingest(project, "--quiet", "--title", "Deux", str(master))

    assert result.exit_code == 0, result.stderr
    assert sorted((project / ".grandirenhlm" / "encoded").iterdir()) == cached
    # other slug, other title tag: other bytes, but the same audio frames
    a, b = stored(project, "un"), stored(project, "deux")
    assert a != b and MP3(a).info.length == MP3(b).info.length
    # and other settings do encode again (here: they fail, ffmpeg being absent, with one line)
    other = ingest(project, "--quiet", "--title", "Trois", "--format", "m4a", str(master))
    assert_clean_error(other, f"error: GRANDIRENHLM_FFMPEG: {tmp_path / 'absent'}: no such executable file")


def test_publishable_mp3_kept_bit_for_bit_unless_encode(project: Path, tmp_path: Path) -> None:
    mp3 = make_mp3(tmp_path / "ready.mp3", 2.0, title="Prêt", bitrate=96)

    assert ingest(project, "--quiet", str(mp3)).exit_code == 0
    assert sha256(stored(project, "pret")) == sha256(mp3)
    assert "master" not in record_of(project, "pret")

    result = ingest(project, "--quiet", "--force", "--encode", str(mp3))
    assert result.exit_code == 0, result.stderr
    out = stored(project, "pret")
    assert sha256(out) != sha256(mp3)
    assert abs(MP3(out).info.bitrate - 64000) < 100  # the show's default for mono (the input was 96k)
    assert record_of(project, "pret")["master"]["sha256"] == sha256(mp3)


def test_jobs_encode_in_parallel_results_in_order_with_progress_lines(project: Path, tmp_path: Path) -> None:
    folder = tmp_path / "masters"
    folder.mkdir()
    for i, name in enumerate(["a", "b", "c"]):
        make_master(folder / f"{name}.wav", 2.0, seed=i)

    result = ingest(project, "--jobs", "2", str(folder))

    assert result.exit_code == 0, result.stderr
    assert [line.split(" <- ")[0] for line in result.stdout.splitlines()] == [
        f"created: episodes/{SHOW}/{n}.toml" for n in "abc"
    ]
    lines = result.stderr.splitlines()  # not a terminal: plain lines, one at start and end of each
    for n in "abc":
        assert f"encoding {folder / n}.wav (0:02)" in lines
        assert f"encoded {folder / n}.wav" in lines
    assert len(media_files(project)) == 3


def test_quiet_prints_nothing_but_errors(project: Path) -> None:
    """-q (issue 19): no progress and no line per file, whether it was created or unchanged."""
    (project / "masters").mkdir()
    make_master(project / "masters" / "q.wav", 1.0)
    result = ingest(project, "-q", "masters/q.wav")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    assert record_of(project, "q")["media"]["mime_type"] == "audio/mpeg"
    again = ingest(project, "-q", "masters/q.wav")
    assert (again.exit_code, again.stdout, again.stderr) == (0, "", "")
    loud = ingest(project, "masters/q.wav")
    assert loud.stdout == f"unchanged: episodes/{SHOW}/q.toml <- masters/q.wav\n"


def test_progress_bar_on_a_terminal(project: Path, tmp_path: Path) -> None:
    """stderr on a real pseudo-terminal: a tqdm bar with the position in the audio, no plain lines."""
    master = make_master(tmp_path / "barre.wav", 20.0)
    parent, child = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "grandirenhlm", "--project", str(project), "ingest", "--show", SHOW, str(master)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=child,
        env={**os.environ, "PYTHONPATH": str(REPO / "src"), "COLUMNS": "100"},
    )  # fmt: skip
    os.close(child)
    chunks = []
    timed_out = False
    deadline = time.monotonic() + 60
    while True:
        if time.monotonic() > deadline:
            timed_out = True  # a hung child must not hang the suite
            proc.kill()
            break
        if not select.select([parent], [], [], 1.0)[0]:
            continue  # nothing yet: look at the clock again
        try:
            data = os.read(parent, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(parent)
    out, _ = proc.communicate(timeout=60)
    screen = b"".join(chunks).decode("utf-8", "replace")
    assert not timed_out, f"ingest still running after 60 s; its terminal showed: {screen}"
    assert proc.returncode == 0, screen
    assert out.startswith(b"created: ")
    assert "barre.wav" in screen and "20/20 s" in screen, screen
    assert "encoding " not in screen and "encoded " not in screen  # bars, not lines


def test_m4a_gets_atoms_and_the_record_chapters_as_a_quicktime_track(project: Path, tmp_path: Path) -> None:
    master = make_master(tmp_path / "chapitres.wav", 4.0, channels=2)
    assert ingest(project, "-q", "--format", "m4a", str(master)).exit_code == 0
    path = project / "episodes" / SHOW / "chapitres.toml"
    record = record_of(project, "chapitres")
    record.update(
        episode=2,
        chapters=[{"start_seconds": 0.0, "title": "Début"}, {"start_seconds": 2.5, "title": "Fin « ici »"}],
    )
    path.write_text(tomli_w.dumps(record), encoding="utf-8")

    result = ingest(project, "-q", "--force", "--format", "m4a", str(master))

    assert result.exit_code == 0, result.stderr
    out = stored(project, "chapitres")
    tags = MP4(out).tags
    assert tags["trkn"] == [(2, 0)] and tags["\xa9ART"] == ["Union sociale pour l’habitat"]
    assert tags["\xa9day"] == [record["pub_date"].strftime("%Y-%m-%dT%H:%M:%S")]
    info = probe(out)
    assert [(c.start_seconds, c.title) for c in info.chapters] == [(0.0, "Début"), (2.5, "Fin « ici »")]
    assert info.mime_type == "audio/x-m4a" and not info.has_video


def test_check_reports_every_encoding_setting_problem(project: Path) -> None:
    show = project / "feeds" / f"{SHOW}.toml"
    show.write_text(
        show.read_text(encoding="utf-8")
        + '\n[encoding]\nformat = "wav"\nbitrate = "999k"\nchannels = 6\ntarget_lufs = -3\nspeed = 2\n',
        encoding="utf-8",
    )

    result = run_cli(project, "check")

    where = f"feeds/{SHOW}.toml"
    speed_line = show.read_text(encoding="utf-8").splitlines().index("speed = 2") + 1
    errors = [line for line in result.stderr.splitlines() if "encoding." in line]
    assert errors == [
        f"error: {where}: encoding.speed: unknown key (line {speed_line})",
        f"error: {where}: encoding.format: expected one of mp3, m4a, got 'wav'",
        f"error: {where}: encoding.bitrate: expected a bitrate like \"128k\" or 128 (kbps), 32 to 320, got '999k'",
        f"error: {where}: encoding.channels: expected 1 (mono) or 2 (stereo), got 6",
        f"error: {where}: encoding.target_lufs: expected a loudness in LUFS from -31 to -9, got -3",
    ]
    assert result.exit_code == 1
