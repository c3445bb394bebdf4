"""Encoding failures: an undecodable master, a missing ffmpeg, a full disk, an interrupted encode.
Each is one line naming the file, a non-zero exit, and nothing partial in the media store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from grandirenhlm.encode import EncodeSettings, encode_cached, read_master
from grandirenhlm.ffmpeg import EncodeInterrupted
from tests.masters import make_master
from tests.support import FFMPEG, GRANDIRENHLM_INTERRUPTIBLE, REPO, assert_clean_error, run_cli

SHOW = "grandir-en-hlm"


def ingest(project: Path, *args: str):
    return run_cli(project, "ingest", "--show", SHOW, "--quiet", *args)


def leftovers(project: Path) -> list[str]:
    """Anything in the media store, and temporary files anywhere in the project."""
    media = project / "media"
    stored = [str(p) for p in media.rglob("*") if p.is_file()] if media.exists() else []
    temps = [str(p) for p in project.rglob("*") if ".tmp" in p.name]
    return stored + temps


def test_text_file_named_wav_is_one_line(project: Path, tmp_path: Path) -> None:
    bad = tmp_path / "master.wav"
    bad.write_text("Ceci n’est pas un enregistrement.\n" * 50, encoding="utf-8")

    result = ingest(project, str(bad))

    assert_clean_error(result, f"error: {bad}: ", "error: 1 of 1 file(s) not ingested")
    assert len(result.stderr.splitlines()) == 2 and result.stdout == ""
    assert leftovers(project) == []


def test_unknown_format_ffmpeg_cannot_decode_keeps_the_clear_message(project: Path, tmp_path: Path) -> None:
    bad = tmp_path / "master.xyz"
    bad.write_bytes(os.urandom(4096))

    result = ingest(project, str(bad))

    assert_clean_error(result, f"error: {bad}: not a media file mutagen recognises")
    assert leftovers(project) == []


def test_truncated_flac_master_names_the_file(project: Path, tmp_path: Path) -> None:
    flac = make_master(tmp_path / "master.flac", 3.0)
    flac.write_bytes(flac.read_bytes()[: flac.stat().st_size // 2])

    result = ingest(project, str(flac))

    assert_clean_error(result, f"error: {flac}: ")
    assert leftovers(project) == []


def test_a_format_only_ffmpeg_reads_is_encoded(project: Path, tmp_path: Path) -> None:
    """ "Any input ffmpeg reads": Core Audio Format, which mutagen does not know."""
    caf = tmp_path / "studio.caf"
    subprocess.run(
        [
            FFMPEG,
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=220:duration=2",
            "-c:a",
            "pcm_s24le",
            str(caf),
        ],
        check=True,
    )
    result = ingest(project, str(caf))
    assert result.exit_code == 0, result.stderr
    (stored,) = (project / "media" / SHOW).iterdir()
    assert stored.suffix == ".mp3" and stored.stat().st_size > 10_000


def test_missing_ffmpeg_is_one_line(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    master = make_master(tmp_path / "m.wav", 1.0)
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(tmp_path / "gone" / "ffmpeg"))  # the wheel's binary is gone

    result = ingest(project, str(master))

    assert_clean_error(
        result, f"error: ffmpeg: cannot run {tmp_path / 'gone' / 'ffmpeg'}: No such file or directory"
    )
    assert leftovers(project) == []


def test_full_disk_is_one_line_and_nothing_partial(project: Path, tmp_path: Path) -> None:
    """A file size limit (RLIMIT_FSIZE) in a child process: every write past 64 KB fails, as on a
    full disk; the encode of a 20-second master needs more."""
    master = make_master(tmp_path / "long.wav", 20.0, channels=2)
    code = (
        "import resource, sys; resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536)); "
        "from grandirenhlm.cli import main; sys.exit(main())"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "--project", str(project), "ingest", "--show", SHOW, "-q", str(master)],
        capture_output=True,
        text=True,
        cwd=project,
        timeout=120,
    )
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [
        f"error: {master}: cannot write the encoded file to .grandirenhlm/encoded: File too large",
        "error: 1 of 1 file(s) not ingested",
    ]
    assert leftovers(project) == []
    assert not (project / ".grandirenhlm" / "encoded").exists() or not list(
        (project / ".grandirenhlm" / "encoded").iterdir()
    )


def test_interrupt_during_encode_stops_ffmpeg_and_leaves_nothing(tmp_path: Path) -> None:
    master = read_master(make_master(tmp_path / "m.wav", 30.0, channels=2))
    settings = EncodeSettings().resolve(2)
    seen: list[float] = []

    def ctrl_c(seconds: float) -> None:  # Ctrl-C arrives while ffmpeg is writing
        seen.append(seconds)
        raise KeyboardInterrupt

    with pytest.raises(
        EncodeInterrupted, match=r"m\.wav: interrupted; nothing was written to the media store"
    ):
        encode_cached(master, settings, tmp_path, ctrl_c)
    assert seen
    folder = tmp_path / ".grandirenhlm" / "encoded"
    assert list(folder.iterdir()) == []  # no temporary file, no cache entry


def paced_ffmpeg(tmp_path: Path, speed: int = 20) -> dict[str, str]:
    """The environment of an ingest whose ffmpeg (the real one, chosen through the documented
    GRANDIRENHLM_FFMPEG) reads its input at most `speed` times faster than real time: an encode
    of N seconds of audio then lasts at least N / speed seconds however fast the machine is, so a
    test that interrupts it at a quarter knows the rest is still to come, even on a busy machine."""
    wrapper = tmp_path / "paced-ffmpeg"
    wrapper.write_text(f'#!/bin/sh\nexec "{FFMPEG}" -readrate {speed} "$@"\n', encoding="utf-8")
    wrapper.chmod(0o755)
    return {**os.environ, "PYTHONPATH": str(REPO / "src"), "GRANDIRENHLM_FFMPEG": str(wrapper)}


def test_sigint_to_the_command_during_a_long_encode(project: Path, tmp_path: Path) -> None:
    # Two passes of 12 s at least (60 s of audio read at 5 times real time), whatever the machine,
    # and the progress lines span both: at the first quarter, 18 s at least are still to come. (240
    # s read at 20 times real time gave the same bounds, but loudnorm's own speed, about 5 times
    # real time here, made the test last a minute.)
    master = make_master(tmp_path / "long.wav", 60.0, channels=2)
    proc = subprocess.Popen(
        [*GRANDIRENHLM_INTERRUPTIBLE, "--project", str(project), "ingest", "--show", SHOW,
         "--normalize", str(master)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=project,
        env=paced_ffmpeg(tmp_path, speed=5),
    )  # fmt: skip
    assert proc.stderr is not None
    first = proc.stderr.readline()  # "encoding ... (1:00)": ffmpeg is starting
    assert first.startswith(f"encoding {master}"), first
    progress = proc.stderr.readline()  # "encoding ...: 0:15 of 1:00": ffmpeg is a quarter through
    assert progress.startswith(f"encoding {master}: "), progress
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, (out, err)
    assert (
        err.strip().splitlines()[-1]
        == f"error: {master}: interrupted; nothing was written to the media store"
    )
    assert "Traceback" not in err and out == ""
    assert leftovers(project) == []
    assert not list((project / ".grandirenhlm" / "encoded").glob("*"))
    assert not (project / "episodes").exists()


def test_sigint_with_two_jobs_stops_both_encodes(project: Path, tmp_path: Path) -> None:
    folder = tmp_path / "masters"
    folder.mkdir()
    for i, name in enumerate(("a", "b")):  # passes of 12 s at least (60 s read at 5 times real time)
        make_master(folder / f"{name}.wav", 60.0, channels=2, seed=i)  # 60 s: progress is reported
    proc = subprocess.Popen(
        [*GRANDIRENHLM_INTERRUPTIBLE, "--project", str(project), "ingest", "--show", SHOW,
         "--jobs", "2", "--normalize", str(folder)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=project,
        env=paced_ffmpeg(tmp_path, speed=5),
    )  # fmt: skip
    assert proc.stderr is not None
    started = {proc.stderr.readline().split(" (")[0] for _ in range(2)}  # both ffmpegs are starting
    assert started == {f"encoding {folder / 'a.wav'}", f"encoding {folder / 'b.wav'}"}
    progressed: set[str] = set()
    while progressed != started:  # each encode reported a quarter: both ffmpegs are working
        line = proc.stderr.readline()
        assert line, "ingest ended before both encodes made progress"
        progressed |= {name for name in started if line.startswith(f"{name}: ")}
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, (out, err)
    assert err.strip().splitlines()[-1] == (
        f"error: {folder / 'a.wav'}, {folder / 'b.wav'}: interrupted; nothing was written to the media store"
    )
    assert "Traceback" not in err and out == ""
    assert leftovers(project) == []
    assert not list((project / ".grandirenhlm" / "encoded").glob("*"))
