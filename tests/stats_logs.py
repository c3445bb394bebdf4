"""Access-log lines written by hand, in the four formats `stats` reads, for the stats tests.

A test states its requests once (`Hit`) and gets the same traffic as a Ceph ops log, an S3 server
access log, a CloudFront standard log and an nginx/Apache combined log, each written the way its
server writes it (field order, quoting, URL encoding, time zones). Not a test module.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import quote

from grandirenhlm.stats import EpisodeRef, MediaFile

FORMATS = ("ceph", "s3", "cloudfront", "combined")
RANGES_LOGGED = {"ceph", "cloudfront"}  # the S3 and combined logs do not say where a 206 starts

MP3 = "media/grandir-en-hlm/temoignage-1-9d1403e04705.mp3"
OLD_MP3 = "media/grandir-en-hlm/temoignage-1-000000000001.mp3"  # before a re-encode
MP3_2 = "media/grandir-en-hlm/temoignage-2-b00b00b00b00.mp3"
SHORT = "media/grandir-en-hlm/bande-annonce-aaaaaaaaaaaa.mp3"  # 20 s: threshold = whole file
VIDEO = "media/l-emission/replay-2023-0a14d8cb2eae.mp4"
AUDIO = "media/l-emission/replay-2023-audio-f2d0ea7c1997.m4a"

# 4 min at 64 kbit/s after a 1,000-byte ID3 tag: threshold 1,000 + 60 * 8,000 = 481,000 bytes.
SIZE = 1_921_000
THRESHOLD = 481_000
SHORT_SIZE = 161_000

EPISODES = (
    EpisodeRef(
        "urn:uuid:00000000-0000-4000-8000-000000000001", "grandir-en-hlm", "temoignage-1", "Témoignage n° 1",
        (MediaFile(MP3, SIZE, 1000, 64000, 240.0), MediaFile(OLD_MP3, SIZE + 5000, 6000, 64000, 240.0)),
    ),
    EpisodeRef(
        "urn:uuid:00000000-0000-4000-8000-000000000002", "grandir-en-hlm", "temoignage-2", "Témoignage n° 2",
        (MediaFile(MP3_2, SIZE, 1000, 64000, 240.0),),
    ),
    EpisodeRef(
        "urn:uuid:00000000-0000-4000-8000-000000000003", "grandir-en-hlm", "bande-annonce", "Bande-annonce",
        (MediaFile(SHORT, SHORT_SIZE, 1000, 64000, 20.0),),
    ),
    EpisodeRef(
        "urn:uuid:00000000-0000-4000-8000-000000000004", "l-emission", "replay-2023", "Replay",
        (MediaFile(VIDEO, 9_000_000, 40, 600_000, 120.0), MediaFile(AUDIO, 1_000_000, 60, 64_000, 120.0)),
    ),
)  # fmt: skip
GUID = {e.slug: e.guid for e in EPISODES}

ANTENNAPOD = "AntennaPod/3.4.0"
APPLE = "Podcasts/1700.1 CFNetwork/1474 Darwin/23.0.0"
CORE_MEDIA = "AppleCoreMedia/1.0.0.21A329 (iPhone; U; CPU OS 17_0 like Mac OS X; fr_fr)"  # a library
OVERCAST = "Overcast/3.0 (+http://overcast.fm/; iOS podcast app)"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
WATCH_BOT = "atc/1.0 watchOS/10.1 model/Watch6,2 hwp/t8301 build/21S71 (6; dt:276)"  # OPAWG: a bot
WATCH = "Podcasts/1.0 watchOS/10.1"  # an app on the watch: rule R2's Apple Watch exclusion
WATCH_APP = "Watch/3 Podcasts"

T0 = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Hit:
    """One request, as every format can log it."""

    path: str  # site-relative key, or any path
    ua: str = ANTENNAPOD
    addr: str = "203.0.113.7"
    status: int = 200
    sent: int = SIZE
    first: int | None = None  # Range: bytes=first-last (206)
    last: int | None = None
    method: str = "GET"
    when: datetime = T0
    prefix: str = "/podcasts/hlm/"  # bucket, target prefix, CDN path: whatever precedes the key

    @property
    def range_header(self) -> str | None:
        if self.first is None and self.last is None:
            return None
        return f"bytes={'' if self.first is None else self.first}-{'' if self.last is None else self.last}"


def full(path: str = MP3, size: int = SIZE, **kw) -> Hit:
    """A 200 of the whole file (or `sent` bytes of it)."""
    return Hit(path, **{"sent": size, **kw})


def part(first: int, last: int, path: str = MP3, **kw) -> Hit:
    return Hit(path, status=206, sent=last - first + 1, first=first, last=last, **kw)


# ---------------------------------------------------------------- writers


def ceph_line(h: Hit, size: int = SIZE) -> str:
    headers = [{"HTTP_RANGE": h.range_header}] if h.range_header else []
    headers.append({"HTTP_X_FORWARDED_FOR": h.addr})
    record = {
        "bucket": "podcasts",
        "time": h.when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "time_local": h.when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+0000"),
        "remote_addr": h.addr,
        "object_owner": "podcast",
        "user": "anonymous",
        "operation": "get_obj",
        "uri": f"{h.method} {h.prefix}{quote(h.path)} HTTP/1.1",
        "http_status": str(h.status),
        "error_code": "",
        "bytes_sent": h.sent,
        "bytes_received": 0,
        "object_size": size,
        "total_time": 2,
        "user_agent": h.ua,
        "referrer": "",
        "http_x_headers": headers,
        "trans_id": "tx000006915ff2a21eff42c-006b0d469b-100c-default",
        "authentication_type": "Local",
        "temp_url": False,
    }
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)


def _clf_time(when: datetime, zone: timezone = UTC) -> str:
    local = when.astimezone(zone)
    return local.strftime("%d/%b/%Y:%H:%M:%S ") + local.strftime("%z")


def s3_line(h: Hit, size: int = SIZE) -> str:
    owner = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
    key = h.prefix.split("/", 2)[-1] + h.path
    ua = f'"{h.ua}"' if h.ua else "-"
    return (
        f"{owner} podcasts [{_clf_time(h.when)}] {h.addr} - 3E57427F3EXAMPLE REST.{h.method}.OBJECT "
        f'{quote(key)} "{h.method} {h.prefix}{quote(h.path)} HTTP/1.1" {h.status} - {h.sent} {size} 12 11 '
        f'"-" {ua} - s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234= SigV4 '
        "ECDHE-RSA-AES128-GCM-SHA256 - podcasts.s3.eu-west-3.amazonaws.com TLSv1.2 - -"
    )


CLOUDFRONT_FIELDS = (
    "date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) "
    "cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header "
    "cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type "
    "cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte "
    "x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end"
)
HEADER_BYTES = 250  # CloudFront's sc-bytes counts the response headers too


def cloudfront_header() -> str:
    return f"#Version: 1.0\n#Fields: {CLOUDFRONT_FIELDS}"


def cloudfront_line(h: Hit, size: int = SIZE) -> str:
    when = h.when.astimezone(UTC)
    start, end = ("-", "-")
    if h.status == 206 and h.range_header:
        start = str(h.first if h.first is not None else size - (h.last or 0))
        end = str(h.last if h.first is not None and h.last is not None else size - 1)
    complete = h.sent == (int(end) - int(start) + 1 if start != "-" else size)
    sc_bytes = h.sent + (HEADER_BYTES if complete else 0)
    values = {
        "date": when.strftime("%Y-%m-%d"),
        "time": when.strftime("%H:%M:%S"),
        "x-edge-location": "CDG50-C1",
        "sc-bytes": str(sc_bytes),
        "c-ip": h.addr,
        "cs-method": h.method,
        "cs(Host)": "d111111abcdef8.cloudfront.net",
        "cs-uri-stem": h.prefix + quote(h.path),
        "sc-status": str(h.status),
        "cs(Referer)": "-",
        "cs(User-Agent)": quote(h.ua, safe="/;:,()+=") if h.ua else "-",
        "sc-content-len": str(h.sent if h.status == 206 else size),
        "sc-range-start": start,
        "sc-range-end": end,
        "sc-content-type": "audio/mpeg",
    }
    return "\t".join(values.get(name, "-") for name in CLOUDFRONT_FIELDS.split())


PARIS_SUMMER = timezone(timedelta(hours=2))


def combined_line(h: Hit, size: int = SIZE) -> str:
    ua = h.ua.replace('"', "\\x22") if h.ua else "-"  # nginx's escape
    return (
        f'{h.addr} - - [{_clf_time(h.when, PARIS_SUMMER)}] "{h.method} {h.prefix}{quote(h.path)} HTTP/1.1" '
        f'{h.status} {h.sent} "-" "{ua}"'
    )


WRITERS = {"ceph": ceph_line, "s3": s3_line, "cloudfront": cloudfront_line, "combined": combined_line}
SIZES = {f.key: f.size for e in EPISODES for f in e.files}


def render(fmt: str, hits: list[Hit]) -> str:
    """The hits as one log file of format `fmt` (with its header for CloudFront)."""
    lines = [WRITERS[fmt](h, SIZES.get(h.path, SIZE)) for h in hits]
    if fmt == "cloudfront":
        lines.insert(0, cloudfront_header())
    return "\n".join(lines) + "\n"
