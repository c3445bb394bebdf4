"""Limits on hostile media and images (issue 20, item 3): every hostile file, generated here, gives
one `error:` line naming it, in a real subprocess that stays under 10 s and 300 MB of peak RSS.

The bounds are safety limits, not performance figures: a process that decodes a bomb uses gigabytes
and is killed at 10 s; the one that refuses it uses the interpreter's tens of megabytes.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest
from mutagen.id3 import ID3
from PIL import Image

from grandirenhlm.images import MAX_IMAGE_PIXELS
from tests.support import SHOW_TOML, make_mp3, make_mp4, make_wav

SECONDS = 10
PEAK_MIB = 300
SHOW = "grandir-en-hlm"

# A parent process whose only child is the command: RUSAGE_CHILDREN then is the command's own peak
# (ru_maxrss, KiB on Linux); the timeout kills a command that hangs or crawls.
_WRAPPER = """
import json, resource, subprocess, sys
try:
    p = subprocess.run(sys.argv[2:], capture_output=True, text=True, timeout=float(sys.argv[1]))
    out = {"code": p.returncode, "stdout": p.stdout, "stderr": p.stderr}
except subprocess.TimeoutExpired:
    out = {"code": None, "stdout": "", "stderr": "killed after the time limit"}
out["peak_kib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps(out))
"""


@dataclass
class Run:
    code: int | None
    stdout: str
    stderr: str
    peak_kib: int


def run_limited(cwd: Path, *args: str) -> Run:
    """`python -m grandirenhlm ARGS` as a user runs it, with its peak memory."""
    wrapper = subprocess.run(
        [sys.executable, "-c", _WRAPPER, str(SECONDS), sys.executable, "-m", "grandirenhlm", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return Run(**json.loads(wrapper.stdout))


def assert_refused_within_limits(run: Run, *fragments: str) -> None:
    """Exit 1 within the time limit, one `error:` line naming the file, no traceback, under the
    memory limit."""
    assert run.code == 1, (run.code, run.stderr[-2000:])
    assert "Traceback" not in run.stderr, run.stderr[-2000:]
    errors = [line for line in run.stderr.splitlines() if line.startswith("error: ")]
    assert errors, run.stderr
    assert all(line.startswith(("error: ", "warning: ")) for line in run.stderr.splitlines()), run.stderr
    for fragment in fragments:
        assert fragment in run.stderr, (fragment, run.stderr)
    assert run.peak_kib < PEAK_MIB * 1024, f"peak RSS {run.peak_kib // 1024} MiB"


# ---------------------------------------------------------------- hostile inputs, made here


def png_bomb(path: Path, width: int, height: int, rgb: bool = False) -> Path:
    """A real, valid PNG of `width` x `height` black pixels, written row batch by row batch so that
    making it costs the test no memory; zlib makes gigabytes of pixels a few hundred kilobytes."""
    channels = 3 if rgb else 1

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    compressor = zlib.compressobj(9)
    rows = (b"\x00" * (1 + width * channels)) * 64  # filter type 0, then the row's bytes
    with path.open("wb") as out:
        out.write(b"\x89PNG\r\n\x1a\n")
        out.write(chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2 if rgb else 0, 0, 0, 0)))
        idat = bytearray()
        for start in range(0, height, 64):
            block = rows if start + 64 <= height else rows[: (height - start) * (1 + width * channels)]
            idat += compressor.compress(block)
        idat += compressor.flush()
        out.write(chunk(b"IDAT", bytes(idat)))
        out.write(chunk(b"IEND", b""))
    return path


def syncsafe(n: int) -> bytes:
    return bytes([(n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F])


def mp3_with_inflating_title(path: Path, inflated: int = 300 << 20) -> Path:
    """A small MP3 whose ID3v2.4 title frame (TIT2, compressed with zlib, as the standard allows)
    inflates to `inflated` bytes: the file stays a few hundred kilobytes."""
    make_mp3(path, seconds=1)
    audio = path.read_bytes()
    compressor = zlib.compressobj(9)
    body = bytearray(compressor.compress(b"\x03"))  # UTF-8
    block = b"A" * (1 << 20)
    for _ in range(inflated >> 20):
        body += compressor.compress(block)
    body += compressor.flush()
    data = syncsafe(1 + inflated) + bytes(body)  # data length indicator, then the zlib stream
    frame = b"TIT2" + syncsafe(len(data)) + b"\x00\x09" + data  # compressed + data length indicator
    path.write_bytes(b"ID3\x04\x00\x00" + syncsafe(len(frame)) + frame + audio)
    return path


def nested_mp4(path: Path, depth: int = 10_000) -> Path:
    """`ftyp`, then `depth` `moov` boxes each inside the previous one."""
    ftyp = struct.pack(">I4s4sI4s", 20, b"ftyp", b"M4A ", 0, b"isom")
    inner = struct.pack(">I4s", 8, b"free")
    for _ in range(depth):
        inner = struct.pack(">I4s", 8 + len(inner), b"moov") + inner
    path.write_bytes(ftyp + inner)
    return path


def m4a_lasting_centuries(path: Path, tmp: Path) -> Path:
    """A real M4A whose track and movie headers say 2**32-1 seconds (a timescale of 1)."""
    data = bytearray(make_mp4(tmp / "real.m4a", seconds=1, video=False).read_bytes())
    for box in (b"mdhd", b"mvhd"):
        at = data.find(box)
        while at > 0:
            assert data[at + 4] == 0  # version 0: 32-bit times
            # version/flags (4), creation (4), modification (4), timescale (4), duration (4)
            data[at + 16 : at + 24] = struct.pack(">II", 1, 0xFFFFFFFF)
            at = data.find(box, at + 4)
    path.write_bytes(bytes(data))
    return path


def mp3_with_art(path: Path, art: Path) -> Path:
    make_mp3(path, seconds=1, title="Avec pochette")
    tags = ID3(path)
    from mutagen.id3 import APIC

    tags.add(APIC(encoding=3, mime="image/png", type=3, desc="", data=art.read_bytes()))
    tags.save(path, v2_version=4)
    return path


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "feeds").mkdir(parents=True)
    (root / "feeds" / f"{SHOW}.toml").write_text(SHOW_TOML, encoding="utf-8")
    Image.new("RGB", (1400, 1400), (0, 82, 156)).save(root / "feeds" / "cover.jpg")
    return root


def written(root: Path) -> list[str]:
    """Every file ingest may write: records and the media store."""
    return sorted(
        str(p.relative_to(root)) for d in ("episodes", "media") for p in (root / d).rglob("*") if p.is_file()
    )


# ---------------------------------------------------------------- tag frames


def test_compressed_title_frame_is_refused_by_inspect_and_ingest(project_dir: Path, tmp_path: Path) -> None:
    path = mp3_with_inflating_title(tmp_path / "titre-geant.mp3")
    assert path.stat().st_size < 2 << 20  # a small file...
    refused = "titre-geant.mp3: ID3 frame TIT2 holds more than 1 MiB once decompressed"
    assert_refused_within_limits(run_limited(tmp_path, "inspect", "--json", str(path)), refused)
    run = run_limited(project_dir, "ingest", "--show", SHOW, str(path))
    assert_refused_within_limits(run, refused)
    assert written(project_dir) == []  # no 300 MB record, nothing in the media store


def test_compressed_title_frame_in_a_wav_id3_chunk_is_refused(tmp_path: Path) -> None:
    """WAV masters carry ID3 in an `id3 ` chunk, which mutagen inflates the same way."""
    data = mp3_with_inflating_title(tmp_path / "tag.mp3").read_bytes()
    size = 0
    for byte in data[6:10]:  # the tag's syncsafe size
        size = (size << 7) | byte
    tag = data[: 10 + size]  # the ID3 tag alone, without the MP3 audio
    wav = bytearray(make_wav(tmp_path / "maitre.wav").read_bytes())
    wav += b"id3 " + struct.pack("<I", len(tag)) + tag + b"\x00" * (len(tag) & 1)
    wav[4:8] = struct.pack("<I", len(wav) - 8)
    (tmp_path / "maitre.wav").write_bytes(bytes(wav))
    run = run_limited(tmp_path, "inspect", str(tmp_path / "maitre.wav"))
    assert_refused_within_limits(run, "maitre.wav: ID3 frame TIT2 holds more than 1 MiB once decompressed")


def test_a_compressed_title_under_the_limit_still_reads(tmp_path: Path) -> None:
    """The limit is on size: a legitimate compressed frame is read as mutagen reads it."""
    path = mp3_with_inflating_title(tmp_path / "ok.mp3", inflated=0)
    run = run_limited(tmp_path, "inspect", "--json", str(path))
    assert run.code == 0, run.stderr
    assert json.loads(run.stdout)["tags"]["title"] is None  # an empty title: nothing to read


def test_huge_uncompressed_comment_frame_is_refused(tmp_path: Path) -> None:
    path = make_mp3(tmp_path / "commentaire.mp3", seconds=1)
    audio = path.read_bytes()
    body = b"\x03fra\x00" + b"x" * (3 << 20)
    frame = b"COMM" + syncsafe(len(body)) + b"\x00\x00" + body
    path.write_bytes(b"ID3\x04\x00\x00" + syncsafe(len(frame)) + frame + audio)
    run = run_limited(tmp_path, "inspect", str(path))
    assert_refused_within_limits(run, "commentaire.mp3: ID3 frame COMM holds more than 1 MiB")
    assert "once decompressed" not in run.stderr


# ---------------------------------------------------------------- containers and numbers


def test_ten_thousand_nested_mp4_boxes_are_refused(tmp_path: Path) -> None:
    path = nested_mp4(tmp_path / "poupees.m4a")
    run = run_limited(tmp_path, "inspect", str(path))
    assert_refused_within_limits(run, "poupees.m4a: MP4 boxes nested more than 32 deep, the limit")


def test_a_million_mp4_boxes_are_refused(tmp_path: Path) -> None:
    """Each box becomes a Python object in mutagen's tree: their number is bounded too."""
    ftyp = struct.pack(">I4s4sI4s", 20, b"ftyp", b"M4A ", 0, b"isom")
    boxes = struct.pack(">I4s", 8, b"free") * 1_000_001
    path = tmp_path / "foule.m4a"
    path.write_bytes(ftyp + struct.pack(">I4s", 8 + len(boxes), b"moov") + boxes)
    run = run_limited(tmp_path, "inspect", str(path))
    assert_refused_within_limits(run, "foule.m4a: more than 1,000,000 MP4 boxes, the limit")


def test_absurd_duration_is_refused(tmp_path: Path) -> None:
    path = m4a_lasting_centuries(tmp_path / "siecles.m4a", tmp_path)
    run = run_limited(tmp_path, "inspect", str(path))
    assert_refused_within_limits(
        run, "siecles.m4a: implausible duration (4.29497e+09 s); the limit is 24 hours"
    )


# ---------------------------------------------------------------- images


def test_png_bomb_as_embedded_art_is_refused(project_dir: Path, tmp_path: Path) -> None:
    art = png_bomb(tmp_path / "bombe.png", 20_000, 20_000)  # 400 MP: Pillow's own guard raises
    assert art.stat().st_size < 1 << 20
    path = mp3_with_art(tmp_path / "pochette.mp3", art)
    refused = "pochette.mp3: embedded cover art: image too large"
    assert_refused_within_limits(run_limited(tmp_path, "inspect", str(path)), refused)
    assert_refused_within_limits(run_limited(project_dir, "ingest", "--show", SHOW, str(path)), refused)
    assert written(project_dir) == []


@pytest.mark.parametrize(
    ("side", "rgb"),
    [
        (13_000, True),  # 169 MP: Pillow only warns, then would decode 507 MB
        (6_000, False),  # 36 MP: under Pillow's guard, over ours
    ],
)
def test_cover_over_the_pixel_budget_is_refused_by_check_and_build(
    project_dir: Path, tmp_path: Path, side: int, rgb: bool
) -> None:
    assert side * side > MAX_IMAGE_PIXELS
    png_bomb(project_dir / "feeds" / "cover.png", side, side, rgb=rgb)
    show = project_dir / "feeds" / f"{SHOW}.toml"
    show.write_text(SHOW_TOML.replace('"cover.jpg"', '"cover.png"'), encoding="utf-8")
    refused = "image too large"
    run = run_limited(project_dir, "check")
    assert_refused_within_limits(run, f"feeds/{SHOW}.toml: image: cover.png: {refused}")
    run = run_limited(project_dir, "build", "--output", str(tmp_path / "site"))
    assert_refused_within_limits(run, f"cover.png: {refused}")


def test_large_accepted_cover_is_decoded_at_reduced_size(project_dir: Path, tmp_path: Path) -> None:
    """A 4800 x 4800 JPEG (23 MP, under the budget) is read at 1/4 scale by the JPEG decoder for
    the pages' 1200-px renditions; the renditions still come out at their sizes."""
    Image.new("RGB", (4800, 4800), (0, 82, 156)).save(project_dir / "feeds" / "cover.jpg", quality=80)
    make_mp3(tmp_path / "ep.mp3", seconds=1, title="Un épisode", track="1")
    assert run_limited(project_dir, "ingest", "--show", SHOW, str(tmp_path / "ep.mp3")).code == 0
    run = run_limited(project_dir, "build", "--output", str(tmp_path / "site"))
    assert run.code == 0, run.stderr
    assert run.peak_kib < PEAK_MIB * 1024
    renditions = sorted((tmp_path / "site").rglob("cover-*-1200.jpg"))
    assert renditions
    with Image.open(renditions[0]) as img:
        assert img.size == (1200, 1200)


def test_poster_over_the_pixel_budget_is_an_error_of_check(project_dir: Path, tmp_path: Path) -> None:
    make_mp3(tmp_path / "ep.mp3", seconds=1, title="Un épisode", track="1")
    assert run_limited(project_dir, "ingest", "--show", SHOW, str(tmp_path / "ep.mp3")).code == 0
    png_bomb(project_dir / "media" / SHOW / "affiche.png", 16_000, 16_000)
    record = project_dir / "episodes" / SHOW / "un-episode.toml"
    text = record.read_text(encoding="utf-8")
    record.write_text(
        text.replace("\n[media]", f'\nposter = "../../media/{SHOW}/affiche.png"\n\n[media]', 1),
        encoding="utf-8",
    )
    run = run_limited(project_dir, "check")
    assert_refused_within_limits(
        run, f"episodes/{SHOW}/un-episode.toml: poster: affiche.png: image too large"
    )
