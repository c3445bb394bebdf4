"""`grandirenhlm serve`: the output folder on 127.0.0.1, with HTTP Range requests.

Podcast apps and browsers' <audio>/<video> elements seek with `Range: bytes=...` and expect 206
answers; the standard library's `SimpleHTTPRequestHandler` only sends whole files, so this adds
single-range support on top of it (RFC 9110, section 14).

Feeds and pages carry absolute URLs (podcast apps need them), built for the base URL the folder
was published with (recorded in its manifest). When `serve` listens elsewhere (another port), it
rewrites that base URL to its own address in the text it serves (feeds, pages, JSON, sitemap), so
an app subscribed to a served feed downloads every episode from this server, on any port.
"""

from __future__ import annotations

import functools
import io
import os
import re
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import unquote

from grandirenhlm.errors import GrandirError
from grandirenhlm.media.types import CONTENT_TYPES, HTML

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")

# Text that may hold the site's absolute URLs, by extension.
REWRITTEN = frozenset({".xml", ".html", ".json", ".opml", ".txt", ".vtt", ".srt", ".xsl"})


def site_base_url(root: Path) -> str | None:
    """The base URL the folder's links were built for, from its manifest (None if unknown)."""
    from grandirenhlm.storage import MANIFEST_KEY, manifest_base_url

    try:
        return manifest_base_url((root / MANIFEST_KEY).read_bytes())
    except OSError:
        return None


def site_redirects(root: Path) -> dict[str, str]:
    """URL path -> new URL of the objects that moved (a feed whose show set `new_feed_url`), from
    the folder's manifest: answered with a 301, as an S3 website endpoint answers its objects'
    redirect header."""
    from grandirenhlm.storage import MANIFEST_KEY, Manifest

    try:
        manifest = Manifest.parse((root / MANIFEST_KEY).read_bytes(), str(root))
    except (OSError, GrandirError):
        return {}
    return {
        "/" + key: entry["redirect"]
        for key, entry in manifest.objects.items()
        if isinstance(entry.get("redirect"), str)
    }


def _inside(path: str, root: str) -> bool:
    """Whether `path`, its symbolic links followed, is in the folder `root`."""
    real, top = os.path.realpath(path), os.path.realpath(root)
    return real == top or real.startswith(top + os.sep)


def _position(digits: str) -> int | None:
    """A byte position of a Range header; absurdly long numbers (Python refuses to convert more
    than 4300 digits) are just beyond any file."""
    if digits == "":
        return None
    return int(digits) if len(digits) <= 18 else 10**18


class RangeRequestHandler(SimpleHTTPRequestHandler):
    extensions_map: ClassVar[dict[str, str]] = {**SimpleHTTPRequestHandler.extensions_map, **CONTENT_TYPES}
    protocol_version = "HTTP/1.1"
    timeout = 30  # an idle keep-alive connection is closed after this many seconds

    def _rewrite(self, path: str) -> bytes | None:
        """The file's bytes with the site's base URL replaced by this server's, or None when the
        file is served as it is."""
        old, new = getattr(self.server, "rewrite", (None, None))
        if not old or old == new or os.path.splitext(path)[1].lower() not in REWRITTEN:
            return None
        with open(path, "rb") as fh:
            return fh.read().replace(old.encode(), new.encode())

    def send_head(self):
        self._range = None
        if "\x00" in unquote(self.path.split("?", 1)[0]):
            self.send_error(HTTPStatus.BAD_REQUEST, "NUL byte in the path")
            return None
        moved = getattr(self.server, "redirects", {}).get(unquote(self.path.split("?", 1)[0]))
        if moved is not None:
            self.send_response(HTTPStatus.MOVED_PERMANENTLY)
            self.send_header("Location", moved)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        path = self.translate_path(self.path)
        if not _inside(path, self.directory):  # a symbolic link out of the served folder
            self.send_error(HTTPStatus.NOT_FOUND)
            return None
        if os.path.isdir(path) and self.path.split("?", 1)[0].endswith("/"):
            path = os.path.join(path, "index.html")  # a folder's index, rewritten like any page
        if not os.path.isfile(path):
            return super().send_head()  # a folder without its slash (redirect), or a 404
        body = self._rewrite(path)
        header = self.headers.get("Range")
        if header is None and body is None:
            return super().send_head()
        size = len(body) if body is not None else os.path.getsize(path)
        match = _RANGE.match(header.strip()) if header is not None else None
        if not match or match.groups() == ("", ""):
            if body is None:
                return super().send_head()  # unsupported form (several ranges): whole file, 200
            return self._send_bytes(path, body, HTTPStatus.OK, 0, size - 1, size)
        first, last = (_position(g) for g in match.groups())
        if first is None:  # suffix range: the last N bytes
            start, end = max(0, size - last), size - 1
        else:
            start, end = first, min(last, size - 1) if last is not None else size - 1
        if start >= size or start > end:
            self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if body is not None:
            return self._send_bytes(path, body, HTTPStatus.PARTIAL_CONTENT, start, end, size)
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

    def _send_bytes(self, path: str, body: bytes, status: HTTPStatus, start: int, end: int, size: int):
        """Rewritten text, whole (200) or one range of it (206)."""
        self._range = end - start + 1
        self.send_response(status)
        self.send_header("Content-Type", self.guess_type(path))
        if status == HTTPStatus.PARTIAL_CONTENT:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(self._range))
        self.send_header("Last-Modified", self.date_time_string(int(os.path.getmtime(path))))
        self.end_headers()
        return io.BytesIO(body[start : end + 1])

    def end_headers(self):
        self.send_header("Accept-Ranges", "bytes")  # on every answer: players may seek
        super().end_headers()

    def send_error(self, code, message=None, explain=None):
        """A missing path gets the site's own 404 page, as a static host or CDN would serve it."""
        page = Path(self.directory) / "404.html"
        if code != HTTPStatus.NOT_FOUND or not page.is_file():
            return super().send_error(code, message, explain)
        body = self._rewrite(str(page)) or page.read_bytes()
        self.send_response(code, message)
        self.send_header("Content-Type", HTML)
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
    root: Path, port: int = 8000, host: str = "127.0.0.1", quiet: bool = False, idle_timeout: float = 30
) -> ThreadingHTTPServer:
    """A server for `root` on `host`:`port` (0: any free port); links in its feeds and pages are
    rewritten from the site's recorded base URL to the address it listens on; a connection idle
    for `idle_timeout` seconds is closed."""
    handler_class = type("Handler", (RangeRequestHandler,), {"timeout": idle_timeout})
    handler = functools.partial(handler_class, directory=str(root))
    server = ThreadingHTTPServer((host, port), handler)
    server.quiet = quiet  # type: ignore[attr-defined]
    server.daemon_threads = True
    address = f"http://{host}:{server.server_address[1]}/"
    server.rewrite = (site_base_url(root), address)  # type: ignore[attr-defined]
    server.redirects = site_redirects(root)  # type: ignore[attr-defined]
    return server
