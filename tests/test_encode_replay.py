"""The video replay: the MP4 is kept as the video version, its audio-only M4A and a poster are
derived, and the feed's `podcast:alternateEnclosure` lists both with real types and sizes."""

from __future__ import annotations

import hashlib
import subprocess
import tomllib
from pathlib import Path

from lxml import etree
from mutagen.mp4 import MP4
from PIL import Image

from grandirenhlm.media import probe
from tests.support import FFMPEG, make_cover, make_mp4, run_cli

SHOW = "l-emission"
PODCAST = "https://podcastindex.org/namespace/1.0"
VIDEO_SHOW = """\
title = "l’Émission"
description = "Le replay de l’émission de clôture."
language = "fr"
author = "Union sociale pour l’habitat"
category = "Society & Culture"
medium = "video"
image = "emission.jpg"

[owner]
name = "Union sociale pour l’habitat"
email = "podcasts@example.org"
"""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def audio_packets(path: Path) -> bytes:
    """The AAC packets of the first audio track, as ffmpeg demuxes them (no decoding)."""
    return subprocess.run(
        [FFMPEG, "-v", "error", "-i", str(path), "-map", "0:a:0", "-c", "copy", "-f", "data", "-"],
        capture_output=True,
        check=True,
    ).stdout


def test_replay_keeps_the_video_and_derives_its_audio_only_version_and_poster(
    project: Path, tmp_path: Path
) -> None:
    (project / "feeds" / f"{SHOW}.toml").write_text(VIDEO_SHOW, encoding="utf-8")
    make_cover(project / "feeds" / "emission.jpg")
    video = make_mp4(tmp_path / "replay.mp4", seconds=3.0, video=True)

    result = run_cli(project, "ingest", "--show", SHOW, "--quiet", "--title", "Le replay", str(video))

    assert result.exit_code == 0, result.stderr
    record_path = project / "episodes" / SHOW / "le-replay.toml"
    record = tomllib.loads(record_path.read_text(encoding="utf-8"))
    media = (record_path.parent / record["media"]["file"]).resolve()
    assert sha256(media) == sha256(video)  # the video is published bit-for-bit
    assert record["media"]["mime_type"] == "video/mp4" and record["media"]["height"] == 180
    (alt,) = record["alternate"]
    audio = (record_path.parent / alt["file"]).resolve()
    assert audio.name == f"le-replay-audio-{sha256(audio)[:12]}.m4a"
    info = probe(audio)
    assert (alt["mime_type"], info.mime_type, info.has_video) == ("audio/x-m4a", "audio/x-m4a", False)
    assert alt["size"] == audio.stat().st_size and alt["sha256"] == sha256(audio)
    assert abs(alt["duration_seconds"] - record["media"]["duration_seconds"]) < 0.1
    assert alt["bitrate"] == info.bitrate and 30_000 < alt["bitrate"] < 70_000  # the 48k AAC track
    assert audio_packets(video) and audio_packets(audio) == audio_packets(video)  # copied, not re-encoded
    assert MP4(audio).tags["\xa9nam"] == ["Le replay"]
    assert "master" not in record  # nothing was encoded from a master
    poster = (record_path.parent / record["poster"]).resolve()
    assert poster.name == f"le-replay-poster-{sha256(poster)[:12]}.jpg"
    with Image.open(poster) as img:
        assert img.format == "JPEG" and img.size == (320, 180)
        assert img.getpixel((160, 90))[2] > 200  # the blue test picture, not a black frame

    out = tmp_path / "site"
    built = run_cli(project, "build", "--output", str(out), "--base-url", "http://127.0.0.1:8000/")
    assert built.exit_code == 0, built.stderr
    feed = etree.parse(str(out / SHOW / "feed.xml"))
    alternates = feed.findall(f".//{{{PODCAST}}}alternateEnclosure")
    got = [
        (a.get("type"), int(a.get("length")), a.get("bitrate"), a.get("height"), a.get("default"))
        for a in alternates
    ]
    assert got == [
        ("video/mp4", video.stat().st_size, str(record["media"]["bitrate"]), "180", "true"),
        ("audio/x-m4a", audio.stat().st_size, str(alt["bitrate"]), None, None),
    ]
    sources = [a.find(f"{{{PODCAST}}}source").get("uri") for a in alternates]
    assert sources[1].endswith(".m4a")


def test_replay_with_encode_makes_an_mp3_audio_version(project: Path, tmp_path: Path) -> None:
    (project / "feeds" / f"{SHOW}.toml").write_text(VIDEO_SHOW, encoding="utf-8")
    make_cover(project / "feeds" / "emission.jpg")
    video = make_mp4(tmp_path / "replay.mp4", seconds=2.0, video=True)

    result = run_cli(project, "ingest", "--show", SHOW, "--quiet", "--encode", str(video))

    assert result.exit_code == 0, result.stderr
    record_path = project / "episodes" / SHOW / "replay.toml"
    record = tomllib.loads(record_path.read_text(encoding="utf-8"))
    assert sha256((record_path.parent / record["media"]["file"]).resolve()) == sha256(video)
    (alt,) = record["alternate"]
    assert alt["mime_type"] == "audio/mpeg" and abs(alt["bitrate"] - 64000) < 100


def test_replay_audio_normalised_to_m4a_within_target(project: Path, tmp_path: Path) -> None:
    from tests.masters import pyloudnorm_lufs, true_peak_dbtp

    show = VIDEO_SHOW + '\n[encoding]\nformat = "m4a"\nnormalize = true\n'
    (project / "feeds" / f"{SHOW}.toml").write_text(show, encoding="utf-8")
    make_cover(project / "feeds" / "emission.jpg")
    video = make_mp4(tmp_path / "replay.mp4", seconds=4.0, video=True)
    before = pyloudnorm_lufs(video)

    result = run_cli(project, "ingest", "--show", SHOW, "--quiet", str(video))

    assert result.exit_code == 0, result.stderr
    record_path = project / "episodes" / SHOW / "replay.toml"
    record = tomllib.loads(record_path.read_text(encoding="utf-8"))
    (alt,) = record["alternate"]
    audio = (record_path.parent / alt["file"]).resolve()
    info = probe(audio)
    assert (info.mime_type, info.channels) == ("audio/x-m4a", 1)
    assert abs(before + 19) > 2  # the test means something: the video's sound is off target
    assert abs(pyloudnorm_lufs(audio) + 19) <= 1.0
    assert true_peak_dbtp(audio) <= -1.0


def test_replay_into_a_taken_slug_is_refused_before_extracting_anything(
    project: Path, tmp_path: Path
) -> None:
    (project / "feeds" / f"{SHOW}.toml").write_text(VIDEO_SHOW, encoding="utf-8")
    make_cover(project / "feeds" / "emission.jpg")
    first = make_mp4(tmp_path / "replay.mp4", seconds=2.0, video=True)
    assert run_cli(project, "ingest", "--show", SHOW, "-q", str(first)).exit_code == 0
    before = sorted((project / "media" / SHOW).iterdir())
    (tmp_path / "other").mkdir()
    other = make_mp4(tmp_path / "other" / "replay.mp4", seconds=3.0, video=True)  # same name, other video
    cached = sorted((project / ".grandirenhlm" / "encoded").iterdir())

    result = run_cli(project, "ingest", "--show", SHOW, "-q", str(other))

    assert result.exit_code == 1
    assert result.stderr.splitlines()[0].startswith(
        f"error: episodes/{SHOW}/replay.toml: already exists with other media"
    )
    assert sorted((project / "media" / SHOW).iterdir()) == before  # no audio, no poster extracted
    assert sorted((project / ".grandirenhlm" / "encoded").iterdir()) == cached
