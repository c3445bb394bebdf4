"""Helpers shared by the tests: real media made on the fly, the demo, the CLI in-process, S3
clients. Fixtures live in conftest.py, which imports what it needs from here; tests import from here.
"""

from __future__ import annotations

import json
import math
import shutil
import struct
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import boto3
import imageio_ffmpeg
import lameenc
from click.testing import CliRunner, Result
from mutagen.id3 import APIC, COMM, ID3, TALB, TDRC, TIT2, TPE1, TRCK
from PIL import Image

from grandirenhlm import site
from grandirenhlm.artifact import Artifact
from grandirenhlm.cli import main

REPO = Path(__file__).resolve().parents[1]
FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
# Files of the demo site: 2 feeds, 1 OPML, pages (with 2 subscribe pages, 7 player pages and their
# 7 oEmbed files), covers and their renditions and icons, favicon.ico, the assets (stylesheet,
# script, icons, the feeds' XSLT), 7 media + the replay's audio-only M4A and poster, chapters and
# transcripts. Written out so that a build that silently drops a file fails the tests that count
# what a publish uploads.
DEMO_SITE_FILES = 101

# `python -m grandirenhlm` as a user's terminal starts it, for tests that interrupt it with SIGINT:
# a shell running the suite in the background (nohup, `&` without job control) makes its children
# ignore SIGINT, and Python then leaves it ignored; this restores what a terminal gives.
GRANDIRENHLM_INTERRUPTIBLE = [
    sys.executable,
    "-c",
    "import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "runpy.run_module('grandirenhlm', run_name='__main__', alter_sys=True)",
]


# ---------------------------------------------------------------- media made by the tests


def sine_pcm(seconds: float, rate: int = 44100, freq: float = 440.0, channels: int = 1) -> bytes:
    """16-bit little-endian PCM of a sine tone."""
    frames = int(seconds * rate)
    samples = (int(12000 * math.sin(2 * math.pi * freq * i / rate)) for i in range(frames))
    if channels == 1:
        return struct.pack(f"<{frames}h", *samples)
    return b"".join(struct.pack("<h", s) * channels for s in samples)


def make_mp3(
    path: Path,
    seconds: float = 2.0,
    *,
    title: str | None = None,
    comment: str | None = None,
    track: str | None = None,
    date: str | None = None,
    cover: bytes | None = None,
    bitrate: int = 64,
    freq: float = 440.0,
) -> Path:
    """A real CBR MP3 encoded by LAME, with ID3v2.4 tags written by mutagen."""
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(bitrate)
    encoder.set_in_sample_rate(44100)
    encoder.set_channels(1)
    encoder.set_quality(7)
    data = encoder.encode(sine_pcm(seconds, freq=freq)) + encoder.flush()
    path.write_bytes(bytes(data))
    tags = ID3()
    if title:
        tags.add(TIT2(encoding=3, text=title))
        tags.add(TPE1(encoding=3, text="Union sociale pour l’habitat"))
        tags.add(TALB(encoding=3, text="Grandir en Hlm"))
    if comment:
        tags.add(COMM(encoding=3, lang="fra", desc="", text=comment))
    if track:
        tags.add(TRCK(encoding=3, text=track))
    if date:
        tags.add(TDRC(encoding=3, text=date))
    if cover:
        tags.add(APIC(encoding=3, mime="image/jpeg", type=3, desc="Cover", data=cover))
    if len(tags):
        tags.save(path, v2_version=4)
    return path


def titled_copies(one: Path, folder: Path, count: int, digits: int, prefix: str = "f") -> None:
    """`count` copies of the MP3 `one` in `folder`, `f0000.mp3`... (`prefix` first), each tagged
    with its own title (`Épisode 0000`...), so each has its own bytes: a batch of real files made
    in no time."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        path = folder / f"{prefix}{i:0{digits}d}.mp3"
        shutil.copyfile(one, path)
        tags = ID3()
        tags.add(TIT2(encoding=3, text=f"Épisode {i:0{digits}d}"))
        tags.save(path, v2_version=4)


def make_mp4(path: Path, seconds: float = 2.0, video: bool = True) -> Path:
    """A real MP4 made by ffmpeg: H.264 video + AAC audio, or AAC audio only (an .m4a)."""
    args = [FFMPEG, "-y", "-v", "error", "-f", "lavfi", "-i", f"sine=frequency=330:duration={seconds}"]
    if video:
        args += [
            "-f",
            "lavfi",
            "-i",
            f"color=c=blue:size=320x180:duration={seconds}:rate=5",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
        ]
    args += ["-c:a", "aac", "-b:a", "48k", "-shortest", "-movflags", "+faststart"]
    if not video:
        args += ["-f", "ipod"]
    subprocess.run([*args, str(path)], check=True)
    return path


def make_wav(path: Path, seconds: float = 1.0) -> Path:
    import wave

    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(44100)
        w.writeframes(sine_pcm(seconds))
    return path


def make_cover(path: Path, size: int = 1400, mode: str = "RGB", fmt: str = "JPEG") -> Path:
    Image.new(mode, (size, size), (0, 82, 156) if mode == "RGB" else (0, 82, 156, 255)).save(path, fmt)
    return path


# ---------------------------------------------------------------- projects


SHOW_TOML = """\
title = "Grandir en Hlm"
description = "Six témoignages sur l’enfance en Hlm & ailleurs."
language = "fr"
author = "Union sociale pour l’habitat"
category = "Society & Culture"
type = "serial"
image = "cover.jpg"

[owner]
name = "Union sociale pour l’habitat"
email = "podcasts@example.org"
"""


REAL_ADDRESS = "media@hlm-podcasts.fr"  # a test's stand-in for the team's real address
REAL_BASE_URL = "https://podcasts.hlm-podcasts.fr/"


def without_placeholders(root: Path) -> Path:
    """The demo as a team would ship it: its owner and contact addresses and the local target's
    public address replaced by real-looking ones (the demo's are placeholders on purpose)."""
    for path in [*(root / "feeds").glob("*.toml"), root / "grandirenhlm.toml"]:
        if path.is_file():
            text = path.read_text(encoding="utf-8").replace("podcasts@example.org", REAL_ADDRESS)
            path.write_text(text.replace("http://127.0.0.1:8000/", REAL_BASE_URL), encoding="utf-8")
    return root


def run_cli(project: Path | None, *args: str) -> Result:
    """Run the CLI in-process; stdout and stderr stay separate."""
    runner = CliRunner()
    prefix = ["--project", str(project)] if project else []
    return runner.invoke(main, [*prefix, *args], catch_exceptions=False)


def run_command(
    project: Path, *args: str, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it: `python -m grandirenhlm --project PROJECT ARGS` in a process of
    its own, from `cwd` (default: the project folder)."""
    return subprocess.run(
        [sys.executable, "-m", "grandirenhlm", "--project", str(project), *args],
        capture_output=True,
        text=True,
        cwd=cwd or project,
        timeout=timeout,
    )


def assert_clean_error(result: Result, *fragments: str) -> None:
    """Exit status 1, `error: ...` lines on stderr naming what is wrong, no traceback."""
    assert result.exit_code == 1, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    lines = result.stderr.strip().splitlines()
    assert lines and all(line.startswith(("error: ", "warning: ")) for line in lines), lines
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)


def aged_manifest(raw: bytes, seconds: float) -> bytes:
    """A target's manifest as it will read `seconds` later: every object that left the site left
    that much earlier (how tests let the keep period of `--prune` pass without waiting)."""
    from datetime import datetime, timedelta

    data = json.loads(raw)
    for entry in data["objects"].values():
        if "stale_since" in entry:
            since = datetime.fromisoformat(entry["stale_since"]) - timedelta(seconds=seconds)
            entry["stale_since"] = since.isoformat()
    return json.dumps(data, indent=1).encode()


def render_site(root: Path, base_url: str = "http://x/", at: datetime | None = None) -> list[Artifact]:
    """The objects of the project's site, as `site.render` gives them to build and publish."""
    return site.render(site.open_project(root), base_url, at)


# ---------------------------------------------------------------- S3


def allow_anonymous_reads(client, bucket: str, moto: bool = False) -> None:
    """The usual bucket policy of a podcast bucket: anyone may GET (and so HEAD) its objects.

    moto checks an anonymous HEAD against "s3:HeadObject", which is not an AWS action (AWS and
    Ceph authorise HEAD with s3:GetObject), so its buckets also list that name.
    """
    statement = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": ["s3:GetObject", "s3:HeadObject"] if moto else "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    policy = {"Version": "2012-10-17", "Statement": [statement]}
    client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))


def s3_client(endpoint: str):
    """A client from a new session: boto3's default session caches credentials across tests."""
    return boto3.Session().client("s3", endpoint_url=endpoint, region_name="us-east-1")


def read_table(path: Path) -> dict:
    """A signed cache table (`cachekey.save_table`) as one dict: its header's keys and `entries`;
    the file must carry this user's MAC."""
    from grandirenhlm import cachekey

    data = cachekey.verified(path.read_bytes())
    assert data is not None  # written by this user's runs
    header, *lines = data.decode("utf-8").splitlines()
    return {**json.loads(header), "entries": dict(json.loads(line) for line in lines)}


def table_bytes(table: dict) -> bytes:
    """The lines of a cache table (unsigned) holding `table`, as `read_table` gives it: what a test
    signs, or not, to forge one."""
    header = {k: v for k, v in table.items() if k != "entries"}
    lines = [json.dumps(header), *(json.dumps([k, v]) for k, v in table["entries"].items())]
    return "".join(line + "\n" for line in lines).encode("utf-8")
