"""`ingest` on batches, run as a user runs it (a subprocess): a failed file leaves nothing in the
media store, a FIFO is named as such, and two different files with the same title are two episodes
(issue 20, item 6)."""

from __future__ import annotations

import os
import signal
import subprocess
import tomllib
from pathlib import Path

from grandirenhlm import ingest
from tests.support import FFMPEG, GRANDIRENHLM_INTERRUPTIBLE, make_mp3, make_wav, run_command, titled_copies

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


# ---------------------------------------------------------------- a big batch, read by worker processes


def _drop_of_mp3s(tmp_path: Path, count: int, folder: str = "drop") -> Path:
    """`count` small real MP3 files, `000.mp3`..., each its own title (and so its own bytes)."""
    drop = tmp_path / folder
    drop.mkdir()
    titled_copies(make_mp3(tmp_path / "one.mp3", seconds=0.3), drop, count, digits=3, prefix="")
    return drop


def test_a_batch_read_by_worker_processes_keeps_its_order_errors_and_slugs(
    project: Path, tmp_path: Path
) -> None:
    from mutagen.id3 import ID3, TIT2, TRCK

    count = ingest._POOL_FROM + 40  # big enough to be read by worker processes
    drop = _drop_of_mp3s(tmp_path, count)
    for i in (7, count - 3):  # two different files, one title: two episodes, in the order given
        tags = ID3(drop / f"{i:03d}.mp3")
        tags.add(TIT2(encoding=3, text="Même titre"))
        tags.add(TRCK(encoding=3, text=str(i)))  # and other bytes
        tags.save()
    (drop / "100.mp3").write_bytes(b"ID3 not audio at all")
    (drop / "120.mp3").unlink()
    os.mkfifo(drop / "120.mp3")

    done = cli(project, "ingest", "--show", SHOW, "--jobs", "2", str(drop))

    assert_one_line_errors(done)
    errors = done.stderr.splitlines()
    assert (
        len(errors) == 3 and "drop/100.mp3" in errors[0] and "drop/120.mp3: not a regular file" in errors[1]
    )
    assert errors[2] == f"error: 2 of {count} file(s) not ingested"
    lines = done.stdout.splitlines()
    sources = [line.split(" <- ")[1].rsplit("/", 1)[1] for line in lines]
    assert sources == [f"{i:03d}.mp3" for i in range(count) if i not in (100, 120)]
    assert all(line.startswith("created: ") for line in lines)
    records = {
        line.split(" <- ")[1].rsplit("/", 1)[1]: line.split(" <- ")[0].rsplit("/", 1)[1] for line in lines
    }
    assert records["007.mp3"] == "meme-titre.toml" and records[f"{count - 3:03d}.mp3"] == "meme-titre-2.toml"
    assert len(record_names(project)) == len(media_store(project)) == count - 2

    again = cli(project, "ingest", "--show", SHOW, "--jobs", "2", str(drop))
    assert again.stderr.splitlines() == errors
    assert [line.split(":")[0] for line in again.stdout.splitlines()] == ["unchanged"] * (count - 2)


def test_ctrl_c_in_a_big_batch_stops_its_workers_and_leaves_nothing_partial(
    project: Path, tmp_path: Path
) -> None:
    """Ctrl-C on a terminal reaches the command and its worker processes: one line, status 130,
    no traceback from any of them, no worker left, every record whole and every stored file used."""
    count = ingest._POOL_FROM + 200
    proc = _big_batch_started(project, tmp_path, count)
    try:
        os.killpg(proc.pid, signal.SIGINT)  # as a terminal does: the whole process group
        rest, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, (proc.returncode, err)
    assert "Traceback" not in err and err.splitlines()[-1].startswith("error: interrupted"), err
    assert _workers_in_group(proc.pid) == []  # no worker outlived the command
    written = 1 + len(rest.splitlines())  # the first line was read by _big_batch_started
    assert len(record_names(project)) > 0 and written <= len(record_names(project)) < count
    used = set()
    for name in record_names(project):
        record = tomllib.loads((project / "episodes" / SHOW / name).read_text(encoding="utf-8"))
        used.add(Path(record["media"]["file"]).name)
    assert set(media_store(project)) == used  # no file without its record, no temporary file


def _big_batch_started(project: Path, tmp_path: Path, count: int) -> subprocess.Popen[str]:
    """`ingest` of `count` files in a process group of its own, with SIGINT as a terminal leaves
    it (whatever the suite's own shell did), once its first record is written and its worker is
    reading. Long lines fill the pipe (64 KiB) before the batch ends: the command waits on the
    test to read, so it is still running when the test acts, however fast the machine."""
    drop = _drop_of_mp3s(tmp_path, count, folder="d" * 200)
    proc = subprocess.Popen(
        [*GRANDIRENHLM_INTERRUPTIBLE, "--project", str(project), "ingest", "--show", SHOW,
         "--jobs", "2", str(drop)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        first = _first_line(proc.stdout.fileno())
        assert first.startswith("created: "), first
        assert _worker_pids(proc.pid), "the batch is read by a worker process"
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return proc


def _first_line(fd: int) -> str:
    """The first line, read from the pipe a byte at a time. A buffered `readline` may take the next
    lines too, and `communicate()` (which reads the pipe, not that buffer) would never see them."""
    line = b""
    while not line.endswith(b"\n") and (byte := os.read(fd, 1)):
        line += byte
    return line.decode()


def _workers_in_group(pgid: int) -> list[str]:
    """The command lines of worker processes (multiprocessing's `spawn_main`) in process group
    `pgid`. Multiprocessing's resource tracker is left out: it ends by itself once its parent has."""
    return [cmdline for _, cmdline in _workers(pgid)]


def _worker_pids(pgid: int) -> list[int]:
    return [pid for pid, _ in _workers(pgid)]


def _workers(pgid: int) -> list[tuple[int, str]]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError):
            continue  # ended meanwhile
        if int(fields[2]) == pgid and fields[0] != "Z" and "spawn_main" in cmdline:
            found.append((int(stat.parent.name), cmdline))
    return found


def test_a_worker_killed_mid_batch_costs_nothing_but_time(project: Path, tmp_path: Path) -> None:
    """The out-of-memory killer (or anyone) ends the worker reading the batch: the files it had
    not answered are read by the command itself, and every file goes in."""
    count = ingest._POOL_FROM + 200
    proc = _big_batch_started(project, tmp_path, count)
    try:
        for pid in _worker_pids(proc.pid):
            os.kill(pid, signal.SIGKILL)
        rest, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0 and "Traceback" not in err, err
    assert len(rest.splitlines()) == count - 1
    assert len(record_names(project)) == len(media_store(project)) == count
