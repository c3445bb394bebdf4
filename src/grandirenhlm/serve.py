"""`grandirenhlm serve`: the output folder on 127.0.0.1, with HTTP Range requests.

Podcast apps and browsers' <audio>/<video> elements seek with `Range: bytes=...` and expect 206
answers; the standard library's `SimpleHTTPRequestHandler` only sends whole files, so this adds
single-range support on top of it (RFC 9110, section 14).
"""

from __future__ import annotations

import functools
import os
import re
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")

CONTENT_TYPES = {
    ".xml": "application/rss+xml; charset=utf-8",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/x-m4a",
    ".mp4": "video/mp4",
    ".vtt": "text/vtt; charset=utf-8",
    ".srt": "application/x-subrip",
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
}


class RangeRequestHandler(SimpleHTTPRequestHandler):
    extensions_map: ClassVar[dict[str, str]] = {**SimpleHTTPRequestHandler.extensions_map, **CONTENT_TYPES}
    protocol_version = "HTTP/1.1"

    def send_head(self):
        self._range = None
        path = self.translate_path(self.path)
        header = self.headers.get("Range")
        if header is None or os.path.isdir(path) or not os.path.isfile(path):
            return super().send_head()
        size = os.path.getsize(path)
        match = _RANGE.match(header.strip())
        if not match or match.groups() == ("", ""):
            return super().send_head()  # unsupported form (several ranges): whole file, 200
        first, last = match.groups()
        if first == "":  # suffix range: the last N bytes
            start, end = max(0, size - int(last)), size - 1
        else:
            start, end = int(first), min(int(last), size - 1) if last else size - 1
        if start >= size or start > end:
            self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        fh = open(path, "rb")  # noqa: SIM115  # closed by the base class after copyfile
        fh.seek(start)
        self._range = end - start + 1
        self.send_response(HTTPStatus.PARTIAL_CONTENT)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(self._range))
        self.send_header("Last-Modified", self.date_time_string(int(os.path.getmtime(path))))
        self.end_headers()
        return fh

    def end_headers(self):
        self.send_header("Accept-Ranges", "bytes")  # on every answer: players may seek
        super().end_headers()

    def send_error(self, code, message=None, explain=None):
        """A missing path gets the site's own 404 page, as a static host or CDN would serve it."""
        page = Path(self.directory) / "404.html"
        if code != HTTPStatus.NOT_FOUND or not page.is_file():
            return super().send_error(code, message, explain)
        body = page.read_bytes()
        self.send_response(code, message)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        return None

    def copyfile(self, source, outputfile):
        if self._range is None:
            return super().copyfile(source, outputfile)
        remaining = self._range
        while remaining > 0:
            chunk = source.read(min(64 * 1024, remaining))
            if not chunk:
                break
            outputfile.write(chunk)
            remaining -= len(chunk)
        return None

    def log_message(self, format, *args):  # stdlib signature
        if not getattr(self.server, "quiet", False):
            super().log_message(format, *args)


def make_server(
    root: Path, port: int = 8000, host: str = "127.0.0.1", quiet: bool = False
) -> ThreadingHTTPServer:
    handler = functools.partial(RangeRequestHandler, directory=str(root))
    server = ThreadingHTTPServer((host, port), handler)
    server.quiet = quiet  # type: ignore[attr-defined]
    server.daemon_threads = True
    return server
