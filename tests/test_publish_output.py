"""What `publish` prints: bars on a terminal (a real pseudo-terminal), lines in a pipe, nothing
with --quiet, and a --json summary that matches what was written."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from tqdm import tqdm

from grandirenhlm.storage import MANIFEST_KEY
from tests.support import run_cli


def published_files(public: Path) -> dict[str, int]:
    return {
        p.relative_to(public).as_posix(): p.stat().st_size
        for p in public.rglob("*")
        if p.is_file() and p.relative_to(public).as_posix() != MANIFEST_KEY
    }


def test_progress_bars_on_a_terminal(demo_project: Path):
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))  # 100x30
    process = subprocess.Popen(
        [sys.executable, "-m", "grandirenhlm", "--project", str(demo_project), "publish"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=follower,
        env={k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")},
    )
    os.close(follower)
    chunks = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not select.select([leader], [], [], 1.0)[0]:
            continue  # nothing yet: look at the clock again, a hung child must not hang the suite
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    else:
        process.kill()
    stdout, _ = process.communicate(timeout=60)
    os.close(leader)
    assert process.returncode == 0
    screen = b"".join(chunks).decode()
    count = len(published_files(demo_project / "public"))
    total = tqdm.format_sizeof(sum(published_files(demo_project / "public").values()), divisor=1024)
    assert "files: 100%|" in screen and f"| {count}/{count} [" in screen  # the files bar, full
    assert "bytes: 100%|" in screen and f"| {total}/{total} [" in screen  # in binary units (MiB)
    assert "\r" in screen  # bars redraw in place
    assert "PUT " not in screen  # no line per object on a terminal
    assert stdout.decode().startswith("published to public: ")


def test_plain_lines_when_not_on_a_terminal(demo_project: Path):
    result = run_cli(demo_project, "publish")
    assert result.exit_code == 0, result.stderr
    files = published_files(demo_project / "public")
    lines = result.stderr.splitlines()
    assert lines[0] == f"uploading {len(files)} object(s), {sum(files.values())} bytes"
    puts = {line for line in lines if line.startswith("PUT ")}
    assert puts == {f"PUT {key} ({size} bytes)" for key, size in files.items()}
    assert "\r" not in result.stderr and "%|" not in result.stderr


def test_quiet_prints_nothing_and_json_matches_what_was_written(demo_project: Path):
    quiet = run_cli(demo_project, "publish", "--quiet")
    assert quiet.exit_code == 0 and quiet.stdout == "" and quiet.stderr == ""
    files = published_files(demo_project / "public")

    record = demo_project / "episodes" / "l-emission" / "replay-2023.toml"
    text = record.read_text(encoding="utf-8")
    record.write_text(text.replace('title = "', 'title = "Nouveau : ', 1), encoding="utf-8")
    result = run_cli(demo_project, "publish", "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)  # one JSON document, nothing else on stdout
    assert set(summary) == {
        "target", "uploaded", "updated", "skipped", "deleted", "stale", "verified", "bytes", "seconds",
        "notifications",
    }  # fmt: skip
    assert summary["notifications"] == []  # none configured
    now = published_files(demo_project / "public")
    puts = dict(
        line.removeprefix("PUT ").removesuffix(" bytes)").split(" (")
        for line in result.stderr.splitlines()
        if line.startswith("PUT ")
    )
    assert "l-emission/replay-2023/index.html" in puts and "l-emission/feed.xml" in puts
    assert {k for k, s in now.items() if files.get(k) != s} <= set(puts)  # every changed file was put
    assert summary["uploaded"] == len(puts) and summary["skipped"] == len(now) - len(puts)
    assert summary["bytes"] == sum(int(size) for size in puts.values()) == sum(now[k] for k in puts)
    assert summary["deleted"] == 0 and summary["target"] == "public"
    assert summary["updated"] == summary["stale"] == summary["verified"] == 0  # a folder keeps no settings
    assert isinstance(summary["seconds"], float) and summary["seconds"] > 0

    again = run_cli(demo_project, "publish", "--json", "--quiet")
    assert again.stderr == "" and json.loads(again.stdout)["uploaded"] == 0
