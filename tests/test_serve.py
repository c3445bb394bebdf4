"""`grandirenhlm serve`: a real HTTP server on 127.0.0.1 answering byte ranges like a CDN."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest

from grandirenhlm.plan import KEEP_SECONDS
from grandirenhlm.serve import make_server
from tests.browser_support import served_base
from tests.support import aged_manifest, run_cli


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, bytes]]:
    root = tmp_path / "site"
    root.mkdir()
    body = bytes(range(256)) * 40  # 10240 bytes
    (root / "episode.mp3").write_bytes(body)
    server = make_server(root, port=0, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", body
    finally:
        server.shutdown()
        server.server_close()


def get(url: str, range_header: str | None = None):
    headers = {"Range": range_header} if range_header else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def test_whole_file_announces_ranges(served):
    base, body = served
    status, headers, data = get(f"{base}/episode.mp3")
    assert (status, data) == (200, body)
    assert headers["Accept-Ranges"] == "bytes"
    assert headers["Content-Type"] == "audio/mpeg"


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-1", 0, 1),
        ("bytes=100-199", 100, 199),
        ("bytes=10000-", 10000, 10239),
        ("bytes=-40", 10200, 10239),
        ("bytes=10200-99999", 10200, 10239),
    ],
)
def test_single_ranges_answer_206(served, header: str, start: int, end: int):
    base, body = served
    status, headers, data = get(f"{base}/episode.mp3", header)
    assert status == 206
    assert data == body[start : end + 1]
    assert headers["Content-Range"] == f"bytes {start}-{end}/{len(body)}"
    assert headers["Content-Length"] == str(end - start + 1)
    assert headers["Content-Type"] == "audio/mpeg"


def test_unsatisfiable_range_answers_416(served):
    base, body = served
    status, headers, _ = get(f"{base}/episode.mp3", "bytes=20000-")
    assert status == 416
    assert headers["Content-Range"] == f"bytes */{len(body)}"


def test_serve_command_serves_the_published_demo(demo_project: Path):
    assert run_cli(demo_project, "publish", "--quiet").exit_code == 0
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(  # on a port the kernel gives (`--port 0`), which its first line names
        [sys.executable, "-m", "grandirenhlm", "--project", str(demo_project), "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        base = served_base(line, demo_project / "public")
        assert base is not None, line
        status, headers, feed = get(f"{base}/grandir-en-hlm/feed.xml")  # listening once it printed
        # XML, which browsers render and style with the feed's XSLT (Chromium shows RSS as text)
        assert status == 200 and headers["Content-Type"] == "application/xml; charset=utf-8"
        assert feed.splitlines()[1] == b'<?xml-stylesheet type="text/xsl" href="../assets/feed.xsl"?>'
        status, headers, _ = get(f"{base}/assets/feed.xsl")
        assert status == 200 and headers["Content-Type"] == "application/xml; charset=utf-8"
        parsed = feedparser.parse(feed)
        for entry in parsed.entries:
            enclosure = entry.enclosures[0]
            assert enclosure.href.startswith(f"{base}/")  # the port it serves on, not the built one
            path = enclosure.href.removeprefix(f"{base}/")
            status, headers, data = get(f"{base}/{path}", "bytes=0-1")
            assert status == 206 and headers["Content-Range"] == f"bytes 0-1/{enclosure.length}"
            assert data == (demo_project / "public" / path).read_bytes()[:2]
        status, _, page = get(f"{base}/grandir-en-hlm/temoignage-1/")
        assert status == 200 and b"<audio" in page
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serve_without_output_folder_is_a_clean_error(project: Path):
    result = run_cli(project, "serve")
    assert result.exit_code == 1
    assert "no such folder; run `grandirenhlm publish`" in result.stderr


def test_missing_path_gets_the_sites_404_page(served, tmp_path: Path) -> None:
    base, _ = served
    status, headers, data = get(f"{base}/nulle-part/")
    assert status == 404 and b"File not found" in data  # the stdlib's page while the site has none
    page = "<!doctype html><html lang=fr><title>Page introuvable</title><p>Cette page n’existe pas.</p>"
    (tmp_path / "site" / "404.html").write_text(page, encoding="utf-8")
    status, headers, data = get(f"{base}/nulle-part/episode.mp3", "bytes=0-1")
    assert status == 404
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert data.decode("utf-8") == page
    assert int(headers["Content-Length"]) == len(data)


def test_an_unpublished_episode_stays_until_prune_then_answers_the_404_page(demo_project: Path):
    """Unpublishing is explicit: a publish says what it left, `--prune` removes it, and the served
    site then answers the episode's old page with its own 404 page."""
    from tests.browser_support import serve

    assert run_cli(demo_project, "publish", "--quiet").exit_code == 0
    record = demo_project / "episodes" / "grandir-en-hlm" / "temoignage-6.toml"
    text = record.read_text(encoding="utf-8")
    record.write_text(
        text.replace("explicit = false\n", "explicit = false\ndraft = true\n"), encoding="utf-8"
    )
    kept = run_cli(demo_project, "publish")
    assert kept.exit_code == 0, kept.stderr
    assert (
        "note: 9 object(s) on the target are no longer part of the site" in kept.stderr
    )  # MP3, page, player page, oEmbed JSON, 5 files
    page = demo_project / "public" / "grandir-en-hlm" / "temoignage-6" / "index.html"
    assert page.is_file()
    early = run_cli(demo_project, "publish", "--prune", "--json")
    assert json.loads(early.stdout)["deleted"] == 0  # feeds that listed them may still be cached
    assert "deletes them once feeds that listed them can no longer be cached (from " in early.stderr
    manifest = demo_project / "public" / ".grandirenhlm" / "manifest.json"
    manifest.write_bytes(aged_manifest(manifest.read_bytes(), KEEP_SECONDS))  # an hour later
    pruned = run_cli(demo_project, "publish", "--prune", "--json")
    assert json.loads(pruned.stdout)["deleted"] == 9 and "no longer part" not in pruned.stderr
    with serve(demo_project) as site:
        status, headers, body = get(f"{site.base}/grandir-en-hlm/temoignage-6/")
        assert status == 404 and headers["Content-Type"] == "text/html; charset=utf-8"
        assert body == (demo_project / "public" / "404.html").read_bytes().replace(
            b"http://127.0.0.1:8000/", f"{site.base}/".encode()
        )
        assert get(f"{site.base}/grandir-en-hlm/temoignage-5/")[0] == 200


def test_hostile_requests_get_an_answer_not_a_dropped_connection(tmp_path: Path):
    """A NUL byte in the path: 400. A Range beyond any number: 416 (a last position beyond the file
    is the end of the file). A symbolic link out of the folder: 404. An idle connection is closed."""
    import socket

    root = tmp_path / "site"
    root.mkdir()
    (root / "a.mp3").write_bytes(b"0123456789")
    secret = tmp_path / "secret.txt"
    secret.write_text("credentials")
    (root / "leak.txt").symlink_to(secret)
    (root / "inside.mp3").symlink_to(root / "a.mp3")  # a link that stays inside is served
    server = make_server(root, port=0, quiet=True, idle_timeout=1)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert get(f"{base}/a%00.mp3")[0] == 400
        huge = "9" * 5000
        assert get(f"{base}/a.mp3", f"bytes={huge}-")[0] == 416
        status, headers, data = get(f"{base}/a.mp3", f"bytes=2-{huge}")
        assert (status, headers["Content-Range"], data) == (206, "bytes 2-9/10", b"23456789")
        status, _, data = get(f"{base}/a.mp3", f"bytes=-{huge}")
        assert (status, data) == (206, b"0123456789")
        assert get(f"{base}/leak.txt")[0] == 404
        assert get(f"{base}/inside.mp3")[2] == b"0123456789"
        with socket.create_connection(server.server_address[:2]) as idle:
            idle.settimeout(30)
            assert idle.recv(1) == b""  # closed by the server after a second of silence
    finally:
        server.shutdown()
        server.server_close()
