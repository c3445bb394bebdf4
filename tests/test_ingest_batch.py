"""`ingest` on batches, run as a user runs it (a subprocess): a failed file leaves nothing in the
media store, a FIFO is named as such, and two different files with the same title are two episodes
(issue 20, item 6)."""

from __future__ import annotations

import os
import subprocess
import tomllib
from pathlib import Path

from tests.support import FFMPEG, make_mp3, make_wav, run_command

SHOW = "grandir-en-hlm"


def cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The command in its own process, run from beside the project (paths in messages read so)."""
    return run_command(project, *args, cwd=project.parent)


def media_store(project: Path) -> list[str]:
    folder = project / "media" / SHOW
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def record_names(project: Path) -> list[str]:
    folder = project / "episodes" / SHOW
    return sorted(p.name for p in folder.glob("*.toml")) if folder.is_dir() else []


def assert_one_line_errors(done: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert all(line.startswith("error: ") for line in done.stderr.splitlines()), done.stderr
    for fragment in fragments:
        assert fragment in done.stderr, (fragment, done.stderr)


def test_a_video_whose_poster_fails_leaves_nothing_in_the_media_store(project: Path, tmp_path: Path) -> None:
    """The audio-only version is made and stored, then the poster cannot be taken (the video
    track is 0.4 s long, the poster is taken at 1 s): the audio-only file goes again."""
    video = tmp_path / "replay.mp4"
    subprocess.run(
        [FFMPEG, "-v", "error", "-y", "-f", "lavfi", "-i", "sine=duration=10", "-f", "lavfi", "-i",
         "color=c=blue:size=320x180:duration=0.4:rate=5", "-c:v", "libx264", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-b:a", "48k", str(video)],
        check=True,
    )  # fmt: skip
    done = cli(project, "ingest", "--show", SHOW, "--quiet", str(video))
    assert_one_line_errors(done, "error: replay.mp4: ", "error: 1 of 1 file(s) not ingested")
    assert media_store(project) == []
    assert record_names(project) == []
    assert not list(project.rglob("*.tmp*"))


def test_a_fifo_is_named_as_not_a_regular_file(project: Path, tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    make_mp3(drop / "01-bon.mp3", title="Le bon")
    os.mkfifo(drop / "02-tube.mp3")
    done = cli(project, "ingest", "--show", SHOW, "--quiet", str(drop / "02-tube.mp3"))  # never blocks
    assert_one_line_errors(done, "error: drop/02-tube.mp3: not a regular file")
    done = cli(project, "ingest", "--show", SHOW, "--quiet", str(drop))  # in a folder: named too
    assert_one_line_errors(done, "02-tube.mp3: not a regular file", "error: 1 of 2 file(s) not ingested")
    assert record_names(project) == ["le-bon.toml"]


def test_two_files_with_the_same_title_in_one_batch_are_two_episodes(project: Path, tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    (drop / "a").mkdir(parents=True)
    (drop / "b").mkdir()
    make_mp3(drop / "1.mp3", title="Témoignage", freq=330.0)
    make_mp3(drop / "2.mp3", title="Témoignage", freq=660.0)
    make_wav(drop / "a" / "prise.wav", seconds=1.0)  # masters named alike, no tags: same slug
    make_wav(drop / "b" / "prise.wav", seconds=1.5)
    done = cli(project, "ingest", "--show", SHOW, "--quiet", str(drop))
    assert done.returncode == 0, done.stderr
    assert record_names(project) == ["prise-2.toml", "prise.toml", "temoignage-2.toml", "temoignage.toml"]
    shas = set()
    for name in record_names(project):
        record = tomllib.loads((project / "episodes" / SHOW / name).read_text(encoding="utf-8"))
        shas.add(record["media"]["sha256"])
    assert len(shas) == 4  # four different media files, one per episode
    assert len(media_store(project)) == 4
    again = cli(project, "ingest", "--show", SHOW, "--quiet", str(drop))  # a rerun changes nothing
    assert again.returncode == 0, again.stderr
    assert record_names(project) == ["prise-2.toml", "prise.toml", "temoignage-2.toml", "temoignage.toml"]
    assert len(media_store(project)) == 4
