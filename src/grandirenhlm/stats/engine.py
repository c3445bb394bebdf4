"""Counting downloads: rules R1 to R7 over access logs, streamed, with DuckDB for the Ceph ops log.

Why DuckDB: `stats --json` over a 200,000-line Ceph ops log must take no longer than a bare Python
loop that only `json.loads` each line. No Python code that touches every line can beat that, so the
Ceph log is read by DuckDB's native, parallel NDJSON reader (gzip too), and one SQL query applies
rules R1, R4 and R5 (Range header, media key) and groups the file's requests per (kind, UTC day,
media file, address, User-Agent) into table `g`. The other three formats are parsed line by line in
Python (formats.py) and grouped the same way into `g` (Batch), as is a Ceph file DuckDB refuses
(invalid UTF-8, a broken line, a truncated gzip), so that bad lines are reported by number. Then
R2 runs in Python over the DISTINCT User-Agents only, and R3 (the listener key), R6 and R7 in SQL
over the groups of every file together: splitting or reordering the logs changes nothing. The same
SQL runs over Parquet or in any distributed SQL engine when the logs outgrow one machine.

Memory: lines are streamed; what is held is one row per (file, day, media file, listener) group,
and the last step goes through the days in batches.

Privacy: DuckDB runs in memory only, with spilling to disk switched off (`temp_directory = ''`), so
no address or User-Agent ever reaches a file. Listener keys are HMAC-SHA256 of (address key,
User-Agent) under a 64-byte key drawn for the run (`secrets.token_bytes`) and never written; the
report keeps counts only (model.StatsReport).
"""

from __future__ import annotations

import secrets
import socket
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from grandirenhlm.errors import GrandirError
from grandirenhlm.stats import formats
from grandirenhlm.stats.formats import CEPH, PARSERS, LogError, Request
from grandirenhlm.stats.model import (
    MALFORMED,
    MEDIA,
    NOT_GET,
    NOT_MEDIA,
    OUTSIDE_PERIOD,
    STATUS,
    UNDER_THRESHOLD,
    EpisodeRef,
    MediaFile,
    StatsReport,
)
from grandirenhlm.stats.opawg import classify

MALFORMED_SHOWN = 10  # malformed lines reported one by one per file; the rest are counted
Warn = Callable[[str], None]


def _stderr(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


_V4_MAPPED = b"\0" * 10 + b"\xff\xff"


def address_key(addr: str) -> str:
    """Rule R3's address part: an IPv4 address whole, an IPv6 address's first 64 bits.

    Behind a CDN the gateway may log a forwarding chain ("client, proxy"): the last entry is the one
    the nearest proxy added, the only one a client cannot forge (Castopod trusts the first).
    """
    text = addr.split(",")[-1].strip()
    if text.startswith("["):  # [v6]:port
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # v4:port
        text = text.partition(":")[0]
    if ":" not in text:
        return text  # IPv4 (or a name): whole
    try:
        packed = socket.inet_pton(socket.AF_INET6, text)  # C, unlike ipaddress (20 µs an address)
    except OSError:
        return text
    if packed[:12] == _V4_MAPPED:
        return socket.inet_ntop(socket.AF_INET, packed[12:])
    return packed[:8].hex() + "/64"


class _Media:
    """Published media files by key, with their thresholds and episodes."""

    def __init__(self, episodes: Sequence[EpisodeRef], warn: Warn):
        self.files: list[MediaFile] = []
        self.episode_of: list[int] = []
        self.index: dict[str, int] = {}
        for e_idx, episode in enumerate(episodes):
            for mf in episode.files:
                key = mf.key.lstrip("/")
                if key in self.index:
                    other = episodes[self.episode_of[self.index[key]]]
                    if other.guid != episode.guid:
                        warn(
                            f"{key}: listed for episodes {other.guid} and {episode.guid}; counted for the first"
                        )
                    continue
                self.index[key] = len(self.files)
                self.files.append(mf)
                self.episode_of.append(e_idx)
        self.thresholds = [mf.threshold for mf in self.files]


class Tally:
    """The counts being built, in one in-memory DuckDB for the run.

    Table `g` holds, for each log file, its requests grouped by (kind, day, media file, address,
    User-Agent): the number of requests, the bytes of unknown position and the byte intervals (rule
    R5). Ceph logs are grouped there by SQL straight from the file; the other formats by `Batch`.
    `report` then applies rules R2, R3, R6 and R7 to the groups of every file together, so a log split
    into several files counts the same.
    """

    def __init__(self, media: _Media, since: date | None, until: date | None):
        import duckdb

        self.media = media
        self.since = since.isoformat() if since else None
        self.until = until.isoformat() if until else None
        self.malformed = 0
        self._error = duckdb.Error
        # In memory, nothing spilled to disk: addresses and User-Agents never reach a file.
        # No progress bar: DuckDB draws it on stdout for queries over 2 s, inside `stats --json`.
        config = {"temp_directory": "", "preserve_insertion_order": False}
        self.con = duckdb.connect(":memory:", config=config)
        self.con.execute("SET enable_progress_bar = false")
        self.con.execute(
            "CREATE TEMP TABLE media (idx INTEGER, key VARCHAR, size BIGINT, threshold BIGINT, episode INTEGER)"
        )
        keys = sorted(media.index)
        idx = [media.index[k] for k in keys]
        self.con.execute(
            "INSERT INTO media SELECT unnest($1), unnest($2), unnest($3), unnest($4), unnest($5)",
            [
                idx,
                keys,
                [media.files[i].size for i in idx],
                [media.thresholds[i] for i in idx],
                [media.episode_of[i] for i in idx],
            ],
        )
        self.con.execute(
            "CREATE TEMP TABLE g (kind VARCHAR, day VARCHAR, idx INTEGER, addr VARCHAR, ua VARCHAR, "
            "n BIGINT, unknown BIGINT, intervals BIGINT[][])"
        )

    def close(self) -> None:
        self.con.close()

    def in_period(self, day: str) -> bool:
        return not ((self.since and day < self.since) or (self.until and day > self.until))

    def read_ceph(self, path: Path) -> int | None:
        """Group one Ceph log by SQL; the number of lines read, or None (and nothing kept) if DuckDB
        cannot read every line of it."""
        params = {
            "path": str(path),
            "compression": "gzip" if formats.is_gzip(path) else "none",
            "since": self.since,
            "until": self.until,
        }
        total = "SELECT coalesce(sum(n), 0)::BIGINT FROM g"
        (before,) = self.con.execute(total).fetchone()
        # One JSON object per line, read in parallel; else (the gateway wrote two records on one
        # line, `}{`, as it does under concurrent requests) the slower reader of concatenated objects.
        for layout in ("newline_delimited", "unstructured"):
            self.con.begin()
            try:
                self.con.execute(f"INSERT INTO g {_CEPH_SQL}", {**params, "layout": layout})
                (bad,) = self.con.execute(f"SELECT count(*) FROM g WHERE kind = '{MALFORMED}'").fetchone()
                (after,) = self.con.execute(total).fetchone()
            except self._error:
                self.con.rollback()
                continue
            if bad:  # the Python parser reports them by line number
                self.con.rollback()
                return None
            self.con.commit()
            return after - before
        return None

    def batch(self) -> Batch:
        return Batch(self)

    def report(self, episodes: Sequence[EpisodeRef], problems: Sequence[str]) -> StatsReport:
        """Rules R2, R3, R6, R7 over every file's groups: one download per (episode, day, listener)
        whose covered bytes reach the threshold of one of the episode's files."""
        con = self.con
        uas = [ua for (ua,) in con.execute("SELECT DISTINCT ua FROM g WHERE kind = 'candidate'").fetchall()]
        verdicts = [classify(ua) for ua in uas]
        con.execute("CREATE TEMP TABLE v (ua VARCHAR, reason VARCHAR, app VARCHAR)")
        con.execute(
            "INSERT INTO v SELECT unnest($1), unnest($2), unnest($3)",
            [uas, [v.excluded for v in verdicts], [v.app for v in verdicts]],
        )
        addrs = [a for (a,) in con.execute("SELECT DISTINCT addr FROM g WHERE kind = 'candidate'").fetchall()]
        con.execute("CREATE TEMP TABLE a (addr VARCHAR, akey VARCHAR)")
        con.execute("INSERT INTO a SELECT unnest($1), unnest($2)", [addrs, [address_key(x) for x in addrs]])
        # Rule R3: the listener is an HMAC-SHA256 of (address, User-Agent) under a key made for this
        # run (RFC 2104, written out: DuckDB has SHA-256 but no HMAC); the key is never written.
        key = secrets.token_bytes(64)
        con.execute(_LISTENERS_SQL, [bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)])
        requests: dict[tuple[str, str], int] = defaultdict(int)
        excluded: dict[tuple[str, str], int] = defaultdict(int)
        days: set[str] = set()
        for day, kind, n in con.execute("SELECT day, kind, sum(n) FROM g GROUP BY ALL").fetchall():
            if kind == OUTSIDE_PERIOD:
                requests[(day, OUTSIDE_PERIOD)] += n
                continue
            days.add(day)
            requests[(day, NOT_MEDIA if kind == NOT_MEDIA else MEDIA)] += n
            if kind in (NOT_GET, STATUS):
                excluded[(day, kind)] += n
        for day, reason, n in con.execute(_EXCLUDED_SQL).fetchall():
            excluded[(day, reason)] += n
        downloads: dict[tuple[str, str, str], int] = defaultdict(int)
        # Days never share a download (R4, R7): days go through in batches of at most BATCH_GROUPS
        # groups, so the working set is a batch's, not the whole period's.
        for first, last in _day_batches(con.execute(_DAY_SIZES_SQL).fetchall()):
            con.execute(_GROUPS_SQL, [first, last])
            con.execute(_VERDICTS_SQL)
            for e, day, app, ok, listeners, n in con.execute(_OUTCOME_SQL).fetchall():
                if ok:
                    downloads[(episodes[e].guid, day, app)] += listeners
                else:
                    excluded[(day, UNDER_THRESHOLD)] += n
        con.execute("DROP TABLE IF EXISTS e; DROP TABLE IF EXISTS fg")
        if self.malformed:
            requests[("", MALFORMED)] += self.malformed
        return StatsReport.build(
            episodes,
            downloads,
            excluded,
            requests,
            days,
            date.fromisoformat(self.since) if self.since else None,
            date.fromisoformat(self.until) if self.until else None,
            problems,
        )


class Batch:
    """Requests read by a Python parser, grouped as the SQL groups a Ceph log, then added to `g`."""

    def __init__(self, tally: Tally):
        self.tally = tally
        self.groups: dict[tuple, list] = {}

    def add(self, req: Request) -> None:
        """Rules R1, R4 and R5 for one request (mirrors _CEPH_SQL; a test compares them)."""
        tally, media = self.tally, self.tally.media
        day, idx, addr, ua, interval, unknown = req.day, None, None, None, None, 0
        if not tally.in_period(day):
            kind = OUTSIDE_PERIOD
        else:
            key = formats.media_key(req.path)
            idx = media.index.get(key) if key else None
            if idx is None:
                kind = NOT_MEDIA
            elif req.method != "GET":
                kind, idx = NOT_GET, None
            elif req.status not in (200, 206):
                kind, idx = STATUS, None
            else:
                kind, addr, ua = "candidate", req.addr, req.user_agent
                start = 0 if req.status == 200 else formats.range_start(req.range, media.files[idx].size)
                if start is None:
                    unknown = req.bytes_sent
                else:
                    interval = [start, start + req.bytes_sent]
        group = self.groups.get((kind, day, idx, addr, ua))
        if group is None:
            group = self.groups[(kind, day, idx, addr, ua)] = [0, 0, []]
        group[0] += 1
        group[1] += unknown
        if interval is not None:
            group[2].append(interval)

    def flush(self) -> None:
        if not self.groups:
            return
        keys, values = list(self.groups), list(self.groups.values())
        columns = [[k[i] for k in keys] for i in range(5)] + [[v[i] for v in values] for i in range(3)]
        self.tally.con.execute(
            "INSERT INTO g SELECT unnest($1), unnest($2), unnest($3), unnest($4), unnest($5), "
            "unnest($6), unnest($7), unnest($8::BIGINT[][][])",
            columns,
        )
        self.groups.clear()


# One HMAC per distinct (address, User-Agent), then the groups of every file merged by listener.
_LISTENERS_SQL = """
CREATE TEMP TABLE l AS
SELECT akey, ua, sha256($2::BLOB || unhex(sha256($1::BLOB || encode(akey || chr(10) || ua)))) AS listener
FROM (SELECT DISTINCT a.akey, g.ua FROM g JOIN a ON a.addr = g.addr WHERE g.kind = 'candidate')
"""
_GROUPS_SQL = """
CREATE OR REPLACE TEMP TABLE fg AS
SELECT g.idx, g.day, l.listener, any_value(v.app) AS app, sum(g.n) AS n, sum(g.unknown) AS unknown,
       flatten(list(g.intervals)) AS intervals
FROM g JOIN v ON v.ua = g.ua JOIN a ON a.addr = g.addr JOIN l ON l.akey = a.akey AND l.ua = g.ua
WHERE g.kind = 'candidate' AND g.day BETWEEN $1 AND $2 AND v.reason IS NULL
GROUP BY g.idx, g.day, l.listener
"""
_EXCLUDED_SQL = """
SELECT g.day, v.reason, sum(g.n) FROM g JOIN v ON v.ua = g.ua
WHERE g.kind = 'candidate' AND v.reason IS NOT NULL GROUP BY ALL
"""
# Rule R6 per (file, day, listener). A group whose longest interval plus its bytes of unknown
# position reach the threshold is decided at once; the others get the size of the union of their
# intervals: sorted by start, each interval adds what passes the furthest end before it.
_VERDICTS_SQL = """
CREATE OR REPLACE TEMP TABLE e AS
WITH f AS (
    SELECT fg.*, m.threshold, m.episode,
           fg.unknown + coalesce(list_max(list_transform(fg.intervals, lambda x: x[2] - x[1])), 0)
               >= m.threshold AS fast
    FROM fg JOIN media m ON m.idx = fg.idx
), s AS (
    SELECT idx, day, listener, unnest(intervals) AS iv FROM f WHERE NOT fast
), w AS (
    SELECT idx, day, listener,
           greatest(iv[2] - greatest(iv[1], coalesce(max(iv[2]) OVER (
               PARTITION BY idx, day, listener ORDER BY iv[1], iv[2]
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), iv[1])), 0) AS part
    FROM s
), u AS (
    SELECT idx, day, listener, sum(part) AS covered FROM w GROUP BY ALL
), e AS (
    SELECT f.episode, f.day, f.listener, any_value(f.app) AS app, sum(f.n) AS n,
           bool_or(f.fast OR coalesce(u.covered, 0) + f.unknown >= f.threshold) AS ok
    FROM f LEFT JOIN u ON u.idx = f.idx AND u.day = f.day AND u.listener = f.listener
    GROUP BY f.episode, f.day, f.listener
)
SELECT episode, day, app, n, ok FROM e
"""
_OUTCOME_SQL = "SELECT episode, day, app, ok, count(*), sum(n) FROM e GROUP BY ALL"
_DAY_SIZES_SQL = "SELECT day, count(*) FROM g WHERE kind = 'candidate' GROUP BY day ORDER BY day"
BATCH_GROUPS = 200_000


def _day_batches(sizes: list[tuple[str, int]]) -> list[tuple[str, str]]:
    """Runs of consecutive days holding at most BATCH_GROUPS groups (a bigger day alone)."""
    batches: list[tuple[str, str]] = []
    first = last = None
    total = 0
    for day, n in sizes:
        if first is not None and total + n > BATCH_GROUPS:
            batches.append((first, last))
            first, total = None, 0
        first = first or day
        last, total = day, total + n
    if first is not None:
        batches.append((first, last))
    return batches


# ---------------------------------------------------------------- the Ceph ops log, in SQL


_CEPH_COLUMNS = (
    "{time: 'VARCHAR', remote_addr: 'VARCHAR', uri: 'VARCHAR', http_status: 'VARCHAR', "
    "bytes_sent: 'BIGINT', user_agent: 'VARCHAR', http_x_headers: 'VARCHAR'}"
)
# Rules R1, R4 and R5 for a whole file, grouped as Batch groups what a Python parser reads (CephParser
# and Batch.add on the same lines give the same rows: tests/test_stats_engine.py compares them).
_CEPH_SQL = f"""
WITH raw AS (
    SELECT time, uri, TRY_CAST(http_status AS INTEGER) AS status, bytes_sent,
           coalesce(remote_addr, '') AS addr, coalesce(user_agent, '') AS ua,
           http_x_headers AS headers
    FROM read_json($path, format = $layout, compression = $compression,
                   columns = {_CEPH_COLUMNS})
), r AS (
    SELECT CAST(CASE WHEN time LIKE '%Z' THEN TRY_CAST(substr(time, 1, 10) AS DATE) END AS VARCHAR) AS day,
           split_part(uri, ' ', 1) AS method,
           -- the LIKE spares the regular expression to feeds and pages
           CASE WHEN uri LIKE '%media/%' THEN
               regexp_extract(url_decode(split_part(split_part(uri, ' ', 2), '?', 1)),
                              '(?:^|/)(media/[^/]+/[^/]+)$', 1) END AS key,
           status, bytes_sent, addr, ua,
           -- one single range, straight from the logged header (a 206 only): start and end, or ''
           CASE WHEN status = 206 THEN regexp_extract(headers,
               '"HTTP_RANGE"\\s*:\\s*"bytes=([0-9]*)-([0-9]*)"', ['first', 'last']) END AS rg,
           (time IS NULL OR uri IS NULL OR position(' ' IN uri) = 0 OR status IS NULL
            OR bytes_sent IS NULL) AS bad
    FROM raw
), k AS (
    SELECT r.*, m.idx, m.size,
           CASE WHEN bad OR day IS NULL THEN '{MALFORMED}'
                WHEN ($since IS NOT NULL AND day < $since) OR ($until IS NOT NULL AND day > $until)
                    THEN '{OUTSIDE_PERIOD}'
                WHEN m.idx IS NULL THEN '{NOT_MEDIA}'
                WHEN method <> 'GET' THEN '{NOT_GET}'
                WHEN status NOT IN (200, 206) THEN '{STATUS}'
                ELSE 'candidate' END AS kind
    FROM r LEFT JOIN media m ON m.key = r.key
), c AS (
    SELECT kind, day,
           CASE WHEN kind = 'candidate' THEN idx END AS idx,
           CASE WHEN kind = 'candidate' THEN addr END AS addr,
           CASE WHEN kind = 'candidate' THEN ua END AS ua,
           bytes_sent,
           CASE WHEN kind <> 'candidate' THEN NULL
                WHEN status = 200 THEN 0
                WHEN rg.first <> '' THEN TRY_CAST(rg.first AS BIGINT)
                WHEN rg.last <> '' THEN greatest(size - TRY_CAST(rg.last AS BIGINT), 0) END AS start
    FROM k
)
SELECT kind, day, idx, addr, ua, count(*) AS n,
       coalesce(sum(bytes_sent) FILTER (WHERE kind = 'candidate' AND start IS NULL), 0) AS unknown,
       coalesce(list([start, start + bytes_sent]) FILTER (WHERE start IS NOT NULL), []) AS intervals
FROM c
GROUP BY kind, day, idx, addr, ua
"""


# ---------------------------------------------------------------- the whole run


def _read_python(path: Path, fmt: str, tally: Tally, warn: Warn) -> tuple[int, int]:
    """Parse one file line by line; returns (requests read, malformed lines)."""
    parser = PARSERS[fmt]()
    batch = tally.batch()
    good = bad = 0
    try:
        for number, line in formats.read_lines(path):
            try:
                requests = parser.requests(line)
            except ValueError as exc:
                bad += 1
                if bad <= MALFORMED_SHOWN:
                    warn(f"{path}:{number}: malformed {fmt} line ({exc}); skipped")
                continue
            for req in requests:
                good += 1
                batch.add(req)
    except LogError as exc:
        warn(f"{path}: {exc}; the lines before were counted")
    finally:
        batch.flush()
    if bad > MALFORMED_SHOWN:
        warn(f"{path}: {bad - MALFORMED_SHOWN} more malformed lines skipped ({bad} in all)")
    tally.malformed += bad
    return good, bad


def count_downloads(
    logs: Sequence[Path],
    episodes: Sequence[EpisodeRef],
    *,
    since: date | None = None,
    until: date | None = None,
    warn: Warn = _stderr,
) -> StatsReport:
    """Count downloads in access logs (files, folders, .gz; formats detected per file) by rules R1-R7.

    Problems with single files or lines are passed to `warn` (one line each) and the rest is
    counted; raises GrandirError only when nothing could be read at all.
    """
    problems: list[str] = []

    def note(message: str) -> None:
        problems.append(message)
        warn(message)

    if since and until and since > until:
        raise GrandirError(f"--since {since}: after --until {until}")
    media = _Media(episodes, note)
    tally = Tally(media, since, until)
    files = read = 0
    try:
        for path in formats.expand(list(logs)):
            files += 1
            try:
                fmt = formats.sniff(path)
            except OSError as exc:
                note(f"{path}: cannot read ({exc.strerror or exc})")
                continue
            except LogError as exc:
                note(f"{path}: {exc}")
                continue
            if fmt is None:
                note(f"{path}: not an access log in a known format (Ceph ops log, S3, CloudFront, combined)")
                continue
            if fmt == CEPH:
                lines = tally.read_ceph(path)
                if lines is not None:
                    read += lines
                    continue
            try:
                good, bad = _read_python(path, fmt, tally, note)
            except OSError as exc:
                note(f"{path}: cannot read ({exc.strerror or exc})")
                continue
            read += good
            if good == 0 and bad:
                note(f"{path}: no line could be read")
        if read == 0:
            if files == 0:
                raise GrandirError(f"{', '.join(map(str, logs)) or 'LOG'}: no log files")
            raise GrandirError(f"{', '.join(map(str, logs))}: no request could be read from the logs")
        return tally.report(episodes, problems)
    finally:
        tally.close()
