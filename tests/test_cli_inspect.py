"""`grandirenhlm inspect`: human, `--json` and `--jsonl` output over real media, and bad files."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import Result

from grandirenhlm.media import probe, to_json
from tests.support import make_mp3, make_mp4, make_wav, run_cli

TITLE = "Témoignage n° 2 : l’été « au square » ☀️"


@pytest.fixture
def media(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cover_bytes: bytes) -> Path:
    """A folder of real media, made the working directory so paths show as typed."""
    folder = tmp_path / "media-in"
    folder.mkdir()
    make_mp3(
        folder / "ep2.mp3", 1.0, title=TITLE, comment="Souvenirs d’été 🍦", track="2/6", cover=cover_bytes
    )
    make_mp4(folder / "ep3.m4a", 1.0, video=False)
    make_wav(folder / "master.wav", 0.5)
    (folder / "notes.mp3").write_text("Ceci n’est pas un MP3.\n" * 40, encoding="utf-8")
    monkeypatch.chdir(folder)
    return folder


def inspect(*args: str) -> Result:
    return run_cli(None, "inspect", *args)


def assert_no_traceback(result: Result) -> None:
    assert "Traceback" not in result.stdout and "Traceback" not in result.stderr


# ---------------------------------------------------------------- human output


def test_inspect_human_output_for_one_mp3(media: Path) -> None:
    path = media / "ep2.mp3"

    result = inspect("ep2.mp3")

    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == "ep2.mp3"
    for expected in (
        "  mime_type         audio/mpeg",
        "  container         mpeg",
        "  codec             mp3 (layer 3)",
        "  bitrate           64000",
        "  sample_rate       44100",
        "  channels          1",
        f"  size              {path.stat().st_size}",
        f"  sha256            {hashlib.sha256(path.read_bytes()).hexdigest()}",
        f"  tag title         {TITLE}",
        "  tag comment       Souvenirs d’été 🍦",
        "  tag track         2/6",
        "  cover             image/jpeg 1400x1400",
        "  publishable       yes",
    ):
        assert expected in lines, (expected, lines)
    duration = next(line for line in lines if line.startswith("  duration_seconds"))
    assert abs(float(duration.split()[-1]) - 1.0) < 0.1, duration
    # tags that are absent are not printed
    assert not any(line.startswith("  tag disc") for line in lines), lines
    assert_no_traceback(result)


def test_inspect_human_output_for_a_master_warns_on_stderr(media: Path) -> None:
    result = inspect("master.wav")

    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "  publishable       no (a master: encode it first)" in result.stdout.splitlines()
    assert "  cover             none" in result.stdout.splitlines()
    warnings = result.stderr.splitlines()
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith("warning: master.wav: "), warnings
    assert "master" in warnings[0].removeprefix("warning: master.wav: ")


# ---------------------------------------------------------------- --json / --jsonl


def test_inspect_json_one_file_is_an_object(media: Path) -> None:
    result = inspect("--json", "ep2.mp3")

    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert result.stderr == ""
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    assert data == to_json(probe(Path("ep2.mp3")))
    assert data["path"] == "ep2.mp3"
    assert data["tags"]["title"] == TITLE
    assert data["cover"] == {"present": True, "mime": "image/jpeg", "width": 1400, "height": 1400}
    # French and emoji stay readable, not \u escapes
    assert TITLE in result.stdout


def test_inspect_json_two_files_is_an_array_in_order(media: Path) -> None:
    result = inspect("--json", "ep3.m4a", "ep2.mp3")

    assert result.exit_code == 0, (result.stdout, result.stderr)
    data = json.loads(result.stdout)
    assert isinstance(data, list)
    assert [d["path"] for d in data] == ["ep3.m4a", "ep2.mp3"]
    assert [d["mime_type"] for d in data] == ["audio/x-m4a", "audio/mpeg"]
    assert data[0]["sha256"] == hashlib.sha256((media / "ep3.m4a").read_bytes()).hexdigest()


def test_inspect_jsonl_one_object_per_line(media: Path) -> None:
    result = inspect("--jsonl", "ep2.mp3", "ep3.m4a", "master.wav")

    assert result.exit_code == 0, (result.stdout, result.stderr)
    lines = result.stdout.splitlines()
    assert len(lines) == 3, lines
    objects = [json.loads(line) for line in lines]
    assert all(isinstance(o, dict) for o in objects)
    assert [o["path"] for o in objects] == ["ep2.mp3", "ep3.m4a", "master.wav"]
    assert [o["publishable"] for o in objects] == [True, True, False]
    assert objects[0] == to_json(probe(Path("ep2.mp3")))


def test_inspect_json_mp4_video(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_mp4(tmp_path / "clip.mp4", 1.0, video=True)
    monkeypatch.chdir(tmp_path)

    data = json.loads(inspect("--json", "clip.mp4").stdout)

    assert data["mime_type"] == "video/mp4"
    assert data["video"] == {"width": 320, "height": 180}


# ---------------------------------------------------------------- bad files among good ones


@pytest.mark.parametrize("mode", ["human", "--json", "--jsonl"])
def test_inspect_bad_file_among_good_ones(media: Path, mode: str) -> None:
    flags = [] if mode == "human" else [mode]

    result = inspect(*flags, "ep2.mp3", "notes.mp3", "missing.mp3", "ep3.m4a")

    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert_no_traceback(result)
    errors = result.stderr.splitlines()
    assert errors == [
        "error: notes.mp3: unreadable media file: can't sync to MPEG frame",
        "error: missing.mp3: no such file",
    ]
    # the good files are still reported, in order
    if mode == "human":
        headers = [line for line in result.stdout.splitlines() if not line.startswith(" ")]
        assert headers == ["ep2.mp3", "ep3.m4a"]
    elif mode == "--json":
        assert [d["path"] for d in json.loads(result.stdout)] == ["ep2.mp3", "ep3.m4a"]
    else:
        assert [json.loads(line)["path"] for line in result.stdout.splitlines()] == ["ep2.mp3", "ep3.m4a"]


def test_inspect_directory_and_empty_file_are_clean_errors(media: Path) -> None:
    (media / "empty.mp3").write_bytes(b"")
    (media / "sub").mkdir()

    result = inspect("--json", "empty.mp3", "sub")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: empty.mp3: empty file (0 bytes)",
        "error: sub: is a directory, expected a media file",
    ]
    assert_no_traceback(result)


# ---------------------------------------------------------------- as a real process


def test_inspect_json_as_a_real_subprocess(media: Path) -> None:
    path = media / "ep2.mp3"

    proc = subprocess.run(
        [sys.executable, "-m", "grandirenhlm", "inspect", "--json", str(path)],
        capture_output=True,
        cwd=media,
        timeout=60,
        check=False,
    )

    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stderr == b""
    data = json.loads(proc.stdout.decode("utf-8"))
    assert data["path"] == str(path)
    assert data["mime_type"] == "audio/mpeg"
    assert data["bitrate"] == 64000
    assert data["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert data["tags"]["title"] == TITLE
    assert data["tags"]["track"] == "2/6"
