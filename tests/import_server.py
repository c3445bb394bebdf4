"""A podcast host on 127.0.0.1 for the import tests, and their helpers (the CLI in a subprocess,
the records of a show). The host: serves feeds, media, chapters and transcripts
from memory with byte ranges (206, Content-Range, ETag/If-Range), as hosts' CDNs do, and records
every request so tests can see what the importer asked for.

Faults are real: a route may cut its first answers short (the connection closed after some bytes)
or answer 503 a number of times before it behaves.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import threading
import tomllib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "import"
TYPES = {
    ".xml": "application/rss+xml; charset=utf-8",
    ".json": "application/json",
    ".vtt": "text/vtt",
    ".srt": "application/x-subrip",
    ".html": "text/html; charset=utf-8",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".jpg": "image/jpeg",
    ".png": "image/png",
}


@dataclass
class Route:
    data: bytes
    content_type: str
    cut_after: int | None = None  # close the connection after this many body bytes...
    cuts: int = 0  # ...this many times
    failures: int = 0  # answer 503 this many times first
    redirect: str | None = None  # answer 301 to this location
    trickle: float | None = None  # send the body one byte per this many seconds (a stalling host)


@dataclass
class Host:
    """The routes (path -> Route) and the requests seen, (method, path, Range header or None)."""

    base: str = ""
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    trickling: threading.Event = field(default_factory=threading.Event)  # a trickle route is sending

    def add(self, path: str, data: bytes, content_type: str | None = None, **faults) -> None:
        kind = content_type or TYPES.get(Path(path).suffix, "application/octet-stream")
        self.routes[path] = Route(data, kind, **faults)

    def add_fixture(self, name: str, path: str | None = None) -> None:
        """A committed fixture, its `{{BASE}}` replaced by this server's address."""
        text = (FIXTURES / name).read_bytes().replace(b"{{BASE}}", self.base.encode())
        # {{LEN:/media/x.mp3}}: the true length of a served file, for enclosures that state it right
        text = re.sub(
            rb"\{\{LEN:([^}]+)\}\}", lambda m: str(len(self.routes[m.group(1).decode()].data)).encode(), text
        )
        self.add(path or f"/{name}", text)

    def url(self, path: str) -> str:
        return self.base + path

    def requested(self, path: str) -> list[tuple[str, str, str | None]]:
        with self.lock:
            return [r for r in self.requests if r[1] == path]


def _handler(host: Host):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # quiet test output
            pass

        def do_HEAD(self) -> None:
            self._answer(body=False)

        def do_GET(self) -> None:
            self._answer(body=True)

        def _answer(self, body: bool) -> None:
            path = self.path.split("?", 1)[0]
            with host.lock:
                host.requests.append((self.command, self.path, self.headers.get("Range")))
                route = host.routes.get(path) or host.routes.get(self.path)
                failing = route is not None and route.failures > 0
                if failing:
                    route.failures -= 1
                cutting = route is not None and route.cut_after is not None and route.cuts > 0
                if cutting:
                    route.cuts -= 1
            if route is None:
                self._status(404, b"not found")
                return
            if failing:
                self._status(503, b"busy")
                return
            if route.redirect:
                self.send_response(301)
                self.send_header("Location", route.redirect)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            data, etag = route.data, '"' + hashlib.sha256(route.data).hexdigest()[:16] + '"'
            start, end, status = 0, len(data) - 1, 200
            wanted = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
            if_range = self.headers.get("If-Range")
            if wanted and (if_range is None or if_range == etag):
                start = int(wanted.group(1))
                end = min(int(wanted.group(2)), end) if wanted.group(2) else end
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status = 206
            self.send_response(status)
            self.send_header("Content-Type", route.content_type)
            self.send_header("Content-Length", str(end - start + 1))
            self.send_header("ETag", etag)
            self.send_header("Accept-Ranges", "bytes")
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
            if cutting:
                self.send_header("Connection", "close")
            self.end_headers()
            if not body:
                return
            payload = data[start : end + 1]
            if route.trickle is not None:
                host.trickling.set()
                stop = threading.Event()  # never set: the pause between bytes is the fault itself
                try:
                    for byte in payload:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        stop.wait(route.trickle)
                except OSError:  # the client gave up, as it should
                    pass
                return
            if cutting:
                self.wfile.write(payload[: route.cut_after])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(payload)

        def _status(self, code: int, text: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

    return Handler


class HostServer:
    """`with HostServer() as host:` a `Host` served on 127.0.0.1 at a free port, stopped at the end."""

    def __enter__(self) -> Host:
        self.host = Host()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.host))
        self.server.daemon_threads = True
        self.host.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self.host

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


# ---------------------------------------------------------------- helpers


def cli(root: Path, *args: str) -> subprocess.CompletedProcess:
    """`grandirenhlm --project ROOT ARGS...` in a subprocess, as a user runs it."""
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "grandirenhlm", "--project", str(root), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


def records(root: Path, show: str) -> dict[str, dict]:
    """guid -> record table of every episode record of `show`."""
    out = {}
    for path in sorted((root / "episodes" / show).glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        data["_path"] = path
        out[data["guid"]] = data
    return out
