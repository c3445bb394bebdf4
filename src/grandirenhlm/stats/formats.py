"""Access logs: finding them, detecting their format, and reading their lines as requests.

Four formats, detected per file from its first line (gzip from its magic bytes, not its name):

| format | first line | fields used |
|---|---|---|
| `ceph` | a JSON object | `time` (UTC), `remote_addr`, `uri` ("GET /bucket/key HTTP/1.1"), `http_status`, `bytes_sent`, `user_agent`, `http_x_headers` (`[{"HTTP_RANGE": "bytes=0-1"}]`) |
| `cloudfront` | `#Version:` or `#Fields:` | the `#Fields:` names: `date`, `time`, `c-ip`, `cs-method`, `cs-uri-stem`, `sc-status`, `sc-bytes`, `cs(User-Agent)` (URL-encoded), `sc-range-start`, `sc-range-end`, `sc-content-len` |
| `s3` | `OWNER BUCKET [dd/Mon/yyyy:HH:MM:SS +0000] ...` | time, remote IP, Request-URI, status, bytes sent, User-Agent (the log has no Range header) |
| `combined` | `IP - USER [dd/Mon/yyyy:HH:MM:SS +0200] "GET ..." ...` | nginx/Apache combined: the same, with the time zone of the server (converted to UTC) |

Every parser turns one line into a `Request` (or None for a comment line) and raises `ValueError`
for a line it cannot read; the engine counts those and reports them by line number. The engine reads
Ceph logs with DuckDB (engine.py) and falls back to `CephParser` for a file DuckDB refuses (invalid
UTF-8, a broken line, a truncated gzip): both give the same requests.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import BinaryIO, NamedTuple
from urllib.parse import unquote

CEPH, CLOUDFRONT, S3, COMBINED = "ceph", "cloudfront", "s3", "combined"
GZIP_MAGIC = b"\x1f\x8b"

# The site-relative key of a media file, whatever bucket, target prefix or CDN path precedes it.
MEDIA_KEY = re.compile(r"(?:^|/)(media/[^/]+/[^/]+)$")
# Rule R5: the start of a single byte range: "bytes=A-B", "bytes=A-" or a suffix "bytes=-N".
RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")

_MONTHS = {
    m: i
    for i, m in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1
    )
}
_S3_LINE = re.compile(
    r"(?P<owner>\S+) (?P<bucket>\S+) \[(?P<time>[^\]]+)\] (?P<ip>\S+) (?P<requester>\S+) (?P<id>\S+) "
    r'(?P<op>\S+) (?P<key>\S+) (?:"(?P<request>[^"]*)"|-) (?P<status>\d{3}|-) (?P<error>\S+) '
    r'(?P<sent>\d+|-) (?P<size>\d+|-) (?P<total>\S+) (?P<turn>\S+) (?:"(?P<ref>[^"]*)"|-) '
    r'(?:"(?P<ua>[^"]*)"|-)'
)
_QUOTED = r'"(?P<{}>(?:[^"\\]|\\.)*)"'  # Apache escapes " as \", nginx as \x22
_COMBINED_LINE = re.compile(
    rf"(?P<ip>\S+) \S+ \S+ \[(?P<time>[^\]]+)\] {_QUOTED.format('request')} (?P<status>\d{{3}}) "
    rf"(?P<sent>\d+|-) {_QUOTED.format('ref')} {_QUOTED.format('ua')}"
)
_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{2}|.)")


class Request(NamedTuple):
    """One request of a log, normalised: what the rules need and nothing else."""

    day: str  # UTC calendar day, "YYYY-MM-DD" (rule R4)
    method: str
    path: str  # the request path, percent-decoded, without the query string
    status: int
    bytes_sent: int  # body bytes sent
    range: str | None  # the Range header ("bytes=0-1"), if the log gives it
    addr: str  # client address as logged
    user_agent: str


class LogError(Exception):
    """A log file that cannot be read at all (the message says why)."""


# ---------------------------------------------------------------- files


def expand(paths: list[Path]) -> Iterator[Path]:
    """The files named, and every file under the folders named (sorted), in order."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file())
        else:
            yield path


def is_gzip(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(2) == GZIP_MAGIC


def sniff(path: Path) -> str | None:
    """The file's format from its first non-blank line, or None if it is none of the four."""
    try:
        for _number, line in read_lines(path):
            if line.strip():
                return detect(line.strip())
    except LogError as exc:
        raise LogError(f"not a readable gzip file ({exc.__cause__})") from exc
    return None


def detect(line: str) -> str | None:
    if line.startswith("{"):
        return CEPH
    if line.startswith(("#Version:", "#Fields:")):
        return CLOUDFRONT
    if _S3_LINE.match(line):
        return S3
    if _COMBINED_LINE.match(line):
        return COMBINED
    return None


def read_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of every line, streamed; a truncated or damaged gzip ends with LogError
    after the last line that could be decompressed."""
    number = 0
    with path.open("rb") as fh:
        raw_lines = _gunzip_lines(fh) if fh.read(2) == GZIP_MAGIC else _plain_lines(fh)
        try:
            for number, raw in enumerate(raw_lines, 1):
                # Clients send Latin-1 in headers and gateways log the bytes: never fatal.
                yield number, raw.decode("utf-8", "replace").rstrip("\r\n")
        except (EOFError, zlib.error) as exc:
            raise LogError(f"truncated or damaged gzip after line {number} ({exc})") from exc


def _plain_lines(fh: BinaryIO) -> Iterator[bytes]:
    fh.seek(0)
    yield from fh


def _gunzip_lines(fh: BinaryIO, block: int = 1 << 16) -> Iterator[bytes]:
    """Lines of a gzip file (several members too, as `cat a.gz b.gz` makes), decompressed block by
    block so that every line before a truncation is still delivered (GzipFile raises before)."""
    fh.seek(0)
    inflate, fed, pending = zlib.decompressobj(wbits=31), False, b""
    while data := fh.read(block):
        while data:
            fed = True
            pending += inflate.decompress(data)
            data = b""
            if inflate.eof:  # this member ends; another may follow
                data = inflate.unused_data
                inflate, fed = zlib.decompressobj(wbits=31), False
            *lines, pending = pending.split(b"\n")
            for line in lines:
                yield line + b"\n"
    if fed:  # a member without its end: the last, partial line is not given
        raise EOFError("compressed file ended before the end-of-stream marker was reached")
    if pending:
        yield pending


# ---------------------------------------------------------------- shared field helpers


def request_path(target: str) -> str:
    """The path of a request target (origin-form or absolute URL), without query, percent-decoded."""
    target = target.split("?", 1)[0]
    if "://" in target:
        target = "/" + target.split("://", 1)[1].partition("/")[2]
    return unquote(target)


def media_key(path: str) -> str | None:
    match = MEDIA_KEY.search(path)
    return match.group(1) if match else None


def range_start(spec: str | None, size: int) -> int | None:
    """Where the single byte range of a Range header starts in a file of `size` bytes, or None
    (no header, several ranges, not bytes)."""
    if not spec:
        return None
    match = RANGE.match(spec)  # as logged: the SQL of engine.py reads it the same way
    if match is None:
        return None
    first, last = match.groups()
    if first:
        return int(first)
    if last:  # suffix range: the last N bytes
        return max(size - int(last), 0)
    return None


def utc_day_clf(text: str) -> str:
    """The UTC day of a Common Log Format time, "10/Oct/2000:13:55:36 -0700"."""
    stamp, _, zone = text.partition(" ")
    day, month, rest = stamp.split("/", 2)
    year, hour, minute, second = rest.split(":")
    when = datetime(int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second))
    if zone and zone not in ("+0000", "-0000", "Z"):
        sign = -1 if zone[0] == "-" else 1
        offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5]))
        if zone[0] not in "+-" or len(zone) != 5:
            raise ValueError(f"time zone {zone!r}")
        when -= sign * offset
    return when.date().isoformat()


def utc_day_iso(text: str) -> str:
    """The UTC day of an ISO 8601 time; one without an offset is UTC."""
    if text.endswith("Z"):
        return date.fromisoformat(text[:10]).isoformat()
    when = datetime.fromisoformat(text)
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    return when.date().isoformat()


def _int(text: str | None) -> int:
    return 0 if text in (None, "-", "") else int(text)  # type: ignore[arg-type]


# ---------------------------------------------------------------- parsers


class _Parser:
    def parse(self, line: str) -> Request | None:
        raise NotImplementedError

    def requests(self, line: str) -> tuple[Request, ...]:
        """The requests of one line (none for a blank or comment line); ValueError if malformed."""
        request = self.parse(line)
        return () if request is None else (request,)


_JSON = json.JSONDecoder()


class CephParser(_Parser):
    """JSON objects, one per line (the RADOS Gateway ops log). Under concurrent requests the gateway
    sometimes writes two records on one line, `...}{...`: both are read."""

    def requests(self, line: str) -> tuple[Request, ...]:
        text, at, found = line.strip(), 0, []
        while at < len(text):
            try:
                record, at = _JSON.raw_decode(text, at)
            except json.JSONDecodeError as exc:
                raise ValueError(f"not JSON ({exc.msg})") from None
            found.append(self.request(record))
            while at < len(text) and text[at].isspace():
                at += 1
        return tuple(found)

    def parse(self, line: str) -> Request | None:
        requests = self.requests(line)
        if len(requests) > 1:
            raise ValueError("several records on one line")
        return requests[0] if requests else None

    def request(self, rec: object) -> Request:
        if not isinstance(rec, dict):
            raise ValueError("not a JSON object")
        time, uri = rec.get("time"), rec.get("uri")
        if not isinstance(time, str) or not isinstance(uri, str):
            raise ValueError("no time or uri")
        parts = uri.split(" ")
        if len(parts) < 2:
            raise ValueError(f"uri {uri!r} is not a request line")
        status, sent = rec.get("http_status"), rec.get("bytes_sent")
        try:
            status = int(status)  # Ceph writes it as a string
            sent = int(sent)
        except (TypeError, ValueError):
            raise ValueError("http_status or bytes_sent is not a number") from None
        return Request(
            utc_day_iso(time),
            parts[0],
            request_path(parts[1]),
            status,
            sent,
            _ceph_range(rec.get("http_x_headers")),
            str(rec.get("remote_addr") or ""),
            str(rec.get("user_agent") or ""),
        )


def _ceph_range(headers: object) -> str | None:
    """The Range header Ceph logged: a list of one-key objects (or one object)."""
    items = headers if isinstance(headers, list) else [headers]
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("HTTP_RANGE"), str):
            return item["HTTP_RANGE"]
    return None


class CloudFrontParser(_Parser):
    """CloudFront standard logs: `#Fields:` names the tab-separated columns of the lines after it."""

    def __init__(self) -> None:
        self.fields: dict[str, int] | None = None

    def parse(self, line: str) -> Request | None:
        if line.startswith("#"):
            if line.startswith("#Fields:"):
                self.fields = {name: i for i, name in enumerate(line[len("#Fields:") :].split())}
            return None
        if not line.strip():
            return None
        if self.fields is None:
            raise ValueError("a log line before the #Fields: header")
        values = line.split("\t")
        f = self.fields
        try:
            get = lambda name: values[f[name]]  # noqa: E731
            day = date.fromisoformat(get("date")).isoformat()  # CloudFront logs in UTC
            status, sent = int(get("sc-status")), int(get("sc-bytes"))
            start = values[f["sc-range-start"]] if "sc-range-start" in f else "-"
            end = values[f["sc-range-end"]] if "sc-range-end" in f else "-"
            length = values[f["sc-content-len"]] if "sc-content-len" in f else "-"
            result = Request(
                day,
                get("cs-method"),
                unquote(get("cs-uri-stem")),
                status,
                sent,
                None,
                get("c-ip"),
                _cloudfront_text(get("cs(User-Agent)")),
            )
        except (KeyError, IndexError) as exc:
            raise ValueError(f"missing field {exc}") from None
        # sc-bytes counts headers too: the body is at most the range, or Content-Length.
        if start != "-" and start.isdigit():
            body = _int(end) - int(start) + 1 if end.isdigit() else sent
            return result._replace(range=f"bytes={start}-", bytes_sent=min(sent, body))
        if length.isdigit():
            return result._replace(bytes_sent=min(sent, int(length)))
        return result


def _cloudfront_text(value: str) -> str:
    return "" if value == "-" else unquote(value)


class S3Parser(_Parser):
    """Amazon S3 server access logs (space-separated, quoted request and User-Agent)."""

    def parse(self, line: str) -> Request | None:
        if not line.strip():
            return None
        match = _S3_LINE.match(line)
        if match is None:
            raise ValueError("not an S3 server access log line")
        request = (match["request"] or "").split(" ")
        if len(request) < 2 or match["status"] == "-":
            raise ValueError("no request line or status")
        return Request(
            utc_day_clf(match["time"]),
            request[0],
            request_path(request[1]),
            int(match["status"]),
            _int(match["sent"]),
            None,
            match["ip"],
            match["ua"] or "",
        )


class CombinedParser(_Parser):
    """nginx and Apache combined log format."""

    def parse(self, line: str) -> Request | None:
        if not line.strip():
            return None
        match = _COMBINED_LINE.match(line)
        if match is None:
            raise ValueError("not a combined log line")
        request = _unescape(match["request"]).split(" ")
        if len(request) < 2:
            raise ValueError("no request line")
        return Request(
            utc_day_clf(match["time"]),
            request[0],
            request_path(request[1]),
            int(match["status"]),
            _int(match["sent"]),
            None,
            match["ip"],
            _unescape(match["ua"]) if match["ua"] != "-" else "",
        )


def _unescape(text: str) -> str:
    return _ESCAPE.sub(lambda m: chr(int(m[1][1:], 16)) if m[1][0] == "x" and len(m[1]) == 3 else m[1], text)


PARSERS = {CEPH: CephParser, CLOUDFRONT: CloudFrontParser, S3: S3Parser, COMBINED: CombinedParser}
