"""HTTP(S) reads for `import`, with the standard library's urllib and every limit a hostile or
broken server calls for.

- Only http and https, redirects included (urllib's default opener would also follow `file://`
  and `ftp://` URLs that a feed names: a feed must never make us read a local file).
- Bounded in size (each kind of file has its own ceiling, checked against `Content-Length` and
  against the bytes that actually arrive) and in time (no byte for `timeout` seconds, or fewer than
  `min_rate` bytes per second on average once `timeout` seconds have passed, stops the transfer:
  a server trickling one byte at a time cannot hold an import forever).
- Retried on what passes (a dropped connection, a timeout, 5xx, 429), `attempts` times with
  growing pauses; a 404 or a limit is final.
- Media downloads resume: the partial file stays beside its target (`*.part`, with the validator
  the server gave in `*.part.json`) and the next attempt, or the next `import`, asks for the rest
  with `Range` and `If-Range`; a server that answers 200 instead sends the whole file again. Files
  under `Limits.resume_from` (1 MiB) restart from zero instead: writing the validator costs more
  than fetching them again.

Every failure is a `FetchError`: one line naming the URL and what went wrong.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import socket
import stat
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from grandirenhlm import __version__
from grandirenhlm.errors import GrandirError

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB
CHUNK = 256 * KIB
USER_AGENT = f"grandirenhlm/{__version__} (podcast import)"


class FetchError(GrandirError):
    """A URL that could not be read within the limits; `final` when trying again cannot help."""

    def __init__(self, message: str, final: bool = False):
        super().__init__(message)
        self.final = final


@dataclass(frozen=True)
class Limits:
    """How much `import` accepts from the source, and how long it waits."""

    feed_bytes: int = 64 * MIB  # one page of the feed
    file_bytes: int = 32 * MIB  # a chapters or transcript file, an image
    media_bytes: int = 4 * GIB  # one enclosure
    timeout: float = 30.0  # seconds without a byte (connecting, then each read)
    min_rate: int = 4 * KIB  # bytes per second on average, once `timeout` seconds have passed
    small_seconds: float = 120.0  # the whole transfer of a feed page or a small file
    max_pages: int = 1000  # pages of a paged feed
    # Media from this size keep what resuming needs (the server's validator, beside the part) from the
    # first byte; a smaller one restarts from zero if cut, which costs less than that extra file.
    resume_from: int = 1 * MIB
    attempts: int = 4  # tries per URL, for failures that may pass
    retry_pause: float = 0.5  # the first pause between tries; it doubles


@dataclass(frozen=True)
class Fetched:
    """A small document read whole."""

    data: bytes
    url: str  # after redirects
    content_type: str | None


@dataclass(frozen=True)
class Downloaded:
    """A media file downloaded to its `.part` file."""

    path: Path  # the complete file (the `.part` it was written to, renamed by the caller)
    size: int
    url: str
    content_type: str | None
    resumed: bool  # part of it came from an earlier, interrupted transfer
    sha256: str | None = None  # of the `size` bytes written, hashed as they were (None: not known)


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects to http(s) URLs only."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if urlsplit(newurl).scheme.lower() not in ("http", "https"):
            raise FetchError(f"{req.full_url}: redirected to {newurl!r}, which is not an http(s) URL", True)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _opener() -> urllib.request.OpenerDirector:
    """urllib with http(s) only: no file://, ftp:// or data: handlers."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),  # the usual *_proxy variables, for a team behind a proxy
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        _HttpOnlyRedirects(),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


def is_http(url: str) -> bool:
    """Whether `url` is an http(s) URL (the only kind import reads from the network)."""
    return urlsplit(url).scheme.lower() in ("http", "https")


def describe_size(n: int) -> str:
    """A size for messages: 4 GiB, 1.5 MiB, 300 bytes."""
    for unit, factor in (("GiB", GIB), ("MiB", MIB), ("KiB", KIB)):
        if n >= factor:
            return f"{n / factor:.1f} {unit}".replace(".0 ", " ")
    return f"{n} bytes"


class Fetcher:
    """Reads URLs within `limits`; safe to share between threads (each call opens its own connection)."""

    def __init__(self, limits: Limits = Limits(), log: Callable[[str], None] = lambda line: None):
        self.limits = limits
        self.log = log
        self._opener = _opener()
        # Set on Ctrl-C/SIGTERM: every transfer in flight stops at its next chunk, so the command
        # ends in seconds instead of waiting for the downloads the other threads are running.
        self.stop = threading.Event()

    # ------------------------------------------------------------ one request

    def _open(self, url: str, headers: dict[str, str]):
        if not is_http(url):
            raise FetchError(f"{url}: not an http(s) URL", True)
        request = urllib.request.Request(
            url, headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity", **headers}
        )
        try:
            return self._opener.open(request, timeout=self.limits.timeout)
        except urllib.error.HTTPError as exc:
            exc.close()
            if 300 <= exc.code < 400:  # urllib refuses a redirect to file:, ftp: and the like itself
                target = exc.headers.get("Location") if exc.headers else None
                raise FetchError(
                    f"{url}: redirected to {target!r}, which is not an http(s) URL", True
                ) from exc
            retry = exc.code >= 500 or exc.code in (408, 429)
            raise FetchError(f"{url}: the server answered {exc.code} {exc.reason}", not retry) from exc
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, FetchError):
                raise reason from exc
            text = "timed out" if isinstance(reason, TimeoutError | socket.timeout) else str(reason)
            raise FetchError(f"{url}: cannot connect: {text}") from exc
        except TimeoutError as exc:
            raise FetchError(f"{url}: no answer within {self.limits.timeout:g} s") from exc
        except (http.client.HTTPException, OSError) as exc:
            raise FetchError(f"{url}: the connection failed: {exc or type(exc).__name__}") from exc
        except ValueError as exc:  # an URL urllib cannot even parse
            raise FetchError(f"{url}: not a valid URL: {exc}", True) from exc

    def _copy(self, response, url: str, write: Callable[[bytes], object], limit: int, what: str,
              already: int = 0, deadline: float | None = None) -> int:  # fmt: skip
        """Stream the body into `write`, enforcing the size, silence and rate limits; bytes read."""
        limits = self.limits
        started = time.monotonic()
        received = 0
        while True:
            if self.stop.is_set():
                raise FetchError(f"{url}: interrupted", True)
            try:
                chunk = response.read1(CHUNK)  # returns as soon as some bytes arrive: limits checked often
            except TimeoutError as exc:
                raise FetchError(f"{url}: no byte for {limits.timeout:g} s, stopped") from exc
            except (http.client.HTTPException, OSError) as exc:
                raise FetchError(f"{url}: the connection broke after {received} bytes ({exc!s})") from exc
            if not chunk:
                return received
            received += len(chunk)
            if already + received > limit:
                raise FetchError(f"{url}: {what} larger than {describe_size(limit)}, not read", True)
            write(chunk)
            elapsed = time.monotonic() - started
            if deadline is not None and time.monotonic() > deadline:
                raise FetchError(f"{url}: {what} not read within {limits.small_seconds:g} s, stopped", True)
            if elapsed > limits.timeout and received / elapsed < limits.min_rate:
                raise FetchError(
                    f"{url}: {received} bytes in {elapsed:.0f} s, slower than "
                    f"{describe_size(limits.min_rate)}/s: stopped",
                    True,
                )

    def _retrying(self, url: str, attempt: Callable[[], object]):
        pause = self.limits.retry_pause
        for n in range(1, self.limits.attempts + 1):
            try:
                return attempt()
            except FetchError as exc:
                if exc.final or n == self.limits.attempts or self.stop.is_set():
                    raise
                self.log(f"retry {n}/{self.limits.attempts - 1}: {exc}")
                # a pause before the next try, as any client backs off; Ctrl-C (`stop`) ends it at once
                if self.stop.wait(pause):
                    raise
                pause *= 2
        raise AssertionError("unreachable")

    # ------------------------------------------------------------ whole documents

    def fetch(self, url: str, limit: int, what: str) -> Fetched:
        """A small document (a feed page, a chapters file, an image) in memory."""

        def attempt() -> Fetched:
            deadline = time.monotonic() + self.limits.small_seconds
            with contextlib.closing(self._open(url, {})) as response:
                declared = _length(response)
                if declared is not None and declared > limit:
                    raise FetchError(
                        f"{url}: {what} of {describe_size(declared)}, larger than {describe_size(limit)}: not read",
                        True,
                    )
                parts: list[bytes] = []
                self._copy(response, url, parts.append, limit, what, deadline=deadline)
                return Fetched(b"".join(parts), response.geturl(), response.headers.get("Content-Type"))

        return self._retrying(url, attempt)

    # ------------------------------------------------------------ media, resumable

    def download(self, url: str, part: Path, limit: int) -> Downloaded:
        """Download `url` into `part`, resuming what an earlier attempt left there."""
        meta_path = part.with_name(part.name + ".json")

        def attempt() -> Downloaded:
            have = _size_of(part)
            meta = _read_meta(meta_path) if have else {}
            headers = {}
            if have and meta.get("url") == url and meta.get("validator"):
                headers = {"Range": f"bytes={have}-", "If-Range": meta["validator"]}
            elif have:
                have = 0  # no way to tell the server's file is the same: start again
            try:
                response = self._open(url, headers)
            except FetchError as exc:
                if headers and "416" in str(exc):  # the part is already the whole file
                    return Downloaded(part, have, url, meta.get("content_type"), True)
                raise
            with contextlib.closing(response):
                resumed = False
                if response.status == 206 and headers:
                    start = _range_start(response.headers.get("Content-Range"))
                    if start != have:
                        raise FetchError(f"{url}: the server resumed at byte {start}, not {have}")
                    resumed = True
                else:
                    have = 0
                declared = _length(response)
                if declared is not None and have + declared > limit:
                    raise FetchError(
                        f"{url}: media of {describe_size(have + declared)}, larger than "
                        f"{describe_size(limit)}: not downloaded",
                        True,
                    )
                validator = response.headers.get("ETag") or response.headers.get("Last-Modified")
                content_type = response.headers.get("Content-Type")
                if not resumed and (declared is None or declared >= self.limits.resume_from):
                    _write_meta(meta_path, {"url": url, "validator": validator, "content_type": content_type})
                # hashed as it is written (the part already there first), so that the file is not
                # read again for its SHA-256
                try:
                    digest = _hash_of(part) if resumed else hashlib.sha256()
                except OSError as exc:  # the part went away meanwhile: the next attempt starts over
                    raise FetchError(
                        f"{url}: the partial download went away ({exc.strerror or exc})"
                    ) from exc
                with _open_part(part, "ab" if resumed else "wb") as fh:

                    def write(chunk: bytes) -> None:
                        fh.write(chunk)
                        digest.update(chunk)

                    got = self._copy(response, url, write, limit, "media", already=have)
                if declared is not None and got < declared:
                    raise FetchError(
                        f"{url}: the connection ended after {have + got} of {have + declared} bytes"
                    )
                size = have + got
                if size == 0:
                    raise FetchError(f"{url}: empty answer (0 bytes)", True)
                return Downloaded(
                    part,
                    size,
                    response.geturl(),
                    content_type or meta.get("content_type"),
                    resumed,
                    digest.hexdigest(),
                )

        result = self._retrying(url, attempt)
        meta_path.unlink(missing_ok=True)
        return result


def _hash_of(part: Path):
    """A SHA-256 of what an earlier attempt left in `part`, to go on with the rest."""
    with part.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256")


def _size_of(part: Path) -> int:
    """The size of what an earlier attempt left in `part` (0 if none): one stat."""
    try:
        info = part.stat()
    except OSError:
        return 0
    return info.st_size if stat.S_ISREG(info.st_mode) else 0


def _open_part(part: Path, mode: str):
    """`part` opened for writing, its folder made only when the open says it is missing (one system
    call per download saved, as files.write_atomic does)."""
    try:
        return part.open(mode)
    except FileNotFoundError:
        part.parent.mkdir(parents=True, exist_ok=True)
        return part.open(mode)


def _length(response) -> int | None:
    value = response.headers.get("Content-Length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _range_start(content_range: str | None) -> int | None:
    """The first byte of `Content-Range: bytes 100-199/200`."""
    try:
        return int((content_range or "").split()[1].split("-")[0])
    except (IndexError, ValueError):
        return None


def _read_meta(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_meta(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, path)


def read_local(path: Path, limit: int, what: str) -> bytes:
    """A feed given as a file on this machine, within the same size limit."""
    try:
        size = path.stat().st_size
        if size > limit:
            raise FetchError(
                f"{path}: {what} of {describe_size(size)}, larger than {describe_size(limit)}", True
            )
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise FetchError(f"{path}: no such file", True) from exc
    except IsADirectoryError as exc:
        raise FetchError(f"{path}: is a folder, expected a feed", True) from exc
    except OSError as exc:
        raise FetchError(f"{path}: cannot read: {exc.strerror}", True) from exc
