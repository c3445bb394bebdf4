"""`stats` input: format detection per file, folders, gzip, and every way a log can be damaged.

Problems with a file or a line are one `warn` line each and the rest is counted; GrandirError only
when nothing at all could be read. Also: the Ceph log read by DuckDB and the same log read by the
Python parser (as for a file DuckDB refuses) give the same counts.
"""

from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path

import pytest

from grandirenhlm.errors import GrandirError
from grandirenhlm.stats import count_downloads
from grandirenhlm.stats.formats import sniff
from tests.stats_logs import EPISODES, FORMATS, MP3, SIZE, ceph_line, full, part, render


def run(paths: list[Path]) -> tuple[dict, list[str]]:
    warnings: list[str] = []
    report = count_downloads(paths, EPISODES, warn=warnings.append)
    return report.to_json(), warnings


TRAFFIC = [
    full(addr="192.0.2.1"),
    part(0, 1, addr="192.0.2.2"),
    part(0, SIZE - 1, addr="192.0.2.2"),
    full("grandir-en-hlm/feed.xml", size=4000),
]


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_is_detected_from_its_first_line(tmp_path: Path, fmt: str):
    log = tmp_path / "log-without-extension"
    log.write_text(render(fmt, TRAFFIC), encoding="utf-8")
    assert sniff(log) == fmt
    doc, warnings = run([log])
    assert warnings == [] and doc["downloads"] == 2


# Lines as the servers' documentation shows them (the AWS and nginx examples), with our paths.
S3_SAMPLE = (
    "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be awsexamplebucket1 "
    "[06/Feb/2019:00:00:38 +0000] 192.0.2.3 79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be "
    f'3E57427F3EXAMPLE REST.GET.OBJECT {MP3} "GET /{MP3}?x-id=GetObject HTTP/1.1" 200 - {SIZE} {SIZE} 70 10 '
    '"-" "AntennaPod/3.4.0" - s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234= '
    "SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader awsexamplebucket1.s3.us-west-1.amazonaws.com TLSV1.2 - -"
)
COMBINED_SAMPLE = (
    f'203.0.113.195 - - [06/Feb/2019:01:00:38 +0100] "GET /podcast/{MP3} HTTP/2.0" 200 {SIZE} '
    '"https://example.org/page" "AntennaPod/3.4.0 (\\x22quoted\\x22)"'
)
APACHE_SAMPLE = (
    f'2001:db8::1 - frank [06/Feb/2019:00:00:38 -0000] "GET /{MP3} HTTP/1.0" 200 {SIZE} "-" '
    '"AntennaPod/3.4.0 \\"quoted\\" (Win98; I ;Nav)"'
)


@pytest.mark.parametrize(
    ("line", "fmt"), [(S3_SAMPLE, "s3"), (COMBINED_SAMPLE, "combined"), (APACHE_SAMPLE, "combined")]
)
def test_documented_sample_lines(tmp_path: Path, line: str, fmt: str):
    log = tmp_path / "sample.log"
    log.write_text(line + "\n", encoding="utf-8")
    assert sniff(log) == fmt
    doc, warnings = run([log])
    assert warnings == []
    assert doc["downloads"] == 1
    (episode,) = [e for e in doc["episodes"] if e["downloads"]]
    assert episode["by_day"] == {"2019-02-06": 1} and episode["by_app"] == {"AntennaPod": 1}


def test_folders_gzip_and_formats_mixed(tmp_path: Path):
    folder = tmp_path / "logs"
    (folder / "cdn").mkdir(parents=True)
    (folder / "ceph.log.gz").write_bytes(gzip.compress(render("ceph", [full(addr="192.0.2.1")]).encode()))
    (folder / "cdn" / "E2ABC.2026-06-10-09.abcd.gz").write_bytes(
        gzip.compress(render("cloudfront", [full(addr="192.0.2.2")]).encode())
    )
    (folder / "access.log").write_text(render("combined", [full(addr="192.0.2.3")]), encoding="utf-8")
    (folder / "rotated-without-suffix").write_bytes(
        gzip.compress(render("s3", [full(addr="192.0.2.4")]).encode())
    )
    doc, warnings = run([folder])
    assert warnings == []
    assert doc["downloads"] == 4 and doc["requests"] == {"read": 4, "media": 4}


def test_an_unknown_format_and_an_unreadable_file_are_one_line_each(tmp_path: Path):
    good = tmp_path / "good.log"
    good.write_text(render("ceph", [full()]), encoding="utf-8")
    unknown = tmp_path / "notes.txt"
    unknown.write_text("this is not an access log\n", encoding="utf-8")
    unreadable = Path("/proc/self/mem")  # exists, but reading its first bytes fails (EIO), even as root
    missing = tmp_path / "missing.log"
    doc, warnings = run([good, unknown, unreadable, missing])
    assert doc["downloads"] == 1
    assert warnings == [
        f"{unknown}: not an access log in a known format (Ceph ops log, S3, CloudFront, combined)",
        f"{unreadable}: cannot read (Input/output error)",
        f"{missing}: cannot read (No such file or directory)",
    ]
    assert all("\n" not in w for w in warnings)


def test_nothing_readable_is_an_error(tmp_path: Path):
    unknown = tmp_path / "notes.txt"
    unknown.write_text("hello\n", encoding="utf-8")
    with pytest.raises(GrandirError, match=r"no request could be read from the logs"):
        run([unknown])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(GrandirError, match=r"empty: no log files"):
        run([empty])


@pytest.mark.parametrize("fmt", FORMATS)
def test_malformed_lines_are_counted_and_reported_by_line_number(tmp_path: Path, fmt: str):
    lines = render(fmt, [full(addr="192.0.2.1"), full(addr="192.0.2.2")]).splitlines()
    broken = {"ceph": '{"time": "2026-06-10T09:00:00Z", "uri": ', "cloudfront": "2026-06-10\t09:00:00\tCDG50"}
    bad = broken.get(fmt, "garbage line")
    lines.insert(len(lines) - 1, bad)
    log = tmp_path / "log"
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    doc, warnings = run([log])
    number = len(lines) - 1  # 1-based number of the inserted line
    assert doc["downloads"] == 2
    assert doc["requests"]["malformed"] == 1
    assert len(warnings) == 1 and warnings[0].startswith(f"{log}:{number}: malformed {fmt} line (")


def test_a_period_that_ends_before_it_starts(tmp_path: Path):
    log = tmp_path / "log"
    log.write_text(render("ceph", [full()]), encoding="utf-8")
    with pytest.raises(GrandirError, match=r"^--since 2026-06-12: after --until 2026-06-11$"):
        count_downloads([log], EPISODES, since=date(2026, 6, 12), until=date(2026, 6, 11))


def test_many_malformed_lines_are_summarised(tmp_path: Path):
    log = tmp_path / "log"
    log.write_text(render("ceph", [full()]) + "{broken\n" * 25, encoding="utf-8")
    doc, warnings = run([log])
    assert doc["downloads"] == 1 and doc["requests"]["malformed"] == 25
    assert [w.split(": ")[0] for w in warnings[:10]] == [f"{log}:{n}" for n in range(2, 12)]
    assert warnings[10:] == [f"{log}: 15 more malformed lines skipped (25 in all)"]


def test_a_file_where_every_line_is_bad(tmp_path: Path):
    good, bad = tmp_path / "good.log", tmp_path / "bad.log"
    good.write_text(render("ceph", [full()]), encoding="utf-8")
    bad.write_text("{broken\n{broken\n", encoding="utf-8")
    doc, warnings = run([good, bad])
    assert doc["downloads"] == 1
    assert warnings[-1] == f"{bad}: no line could be read"
    with pytest.raises(GrandirError, match="no request could be read"):
        run([bad])


@pytest.mark.parametrize("fmt", ["ceph", "combined"])
def test_a_truncated_gzip_counts_the_lines_before_the_break(tmp_path: Path, fmt: str):
    hits = [full(addr=f"192.0.2.{i}") for i in range(1, 200)]
    data = gzip.compress(render(fmt, hits).encode())
    log = tmp_path / "cut.log.gz"
    log.write_bytes(data[: len(data) * 2 // 3])
    doc, warnings = run([log])
    assert 0 < doc["downloads"] < 199
    assert len(warnings) == 1
    assert warnings[0].startswith(f"{log}: truncated or damaged gzip after line ")
    assert warnings[0].endswith("; the lines before were counted")
    after = int(warnings[0].split("after line ")[1].split(" ")[0])
    assert doc["requests"]["read"] == after - (1 if fmt == "cloudfront" else 0)


def test_a_file_that_is_not_gzip_inside(tmp_path: Path):
    log = tmp_path / "fake.gz"
    log.write_bytes(b"\x1f\x8b" + b"\x00" * 30)
    good = tmp_path / "good.log"
    good.write_text(render("ceph", [full()]), encoding="utf-8")
    doc, warnings = run([log, good])
    assert doc["downloads"] == 1
    assert len(warnings) == 1 and warnings[0].startswith(f"{log}: not a readable gzip file (")


def test_latin1_user_agents_and_ceph_lines_duckdb_refuses(tmp_path: Path):
    """Gateways log header bytes as they came: a Latin-1 User-Agent makes the line invalid UTF-8,
    which DuckDB refuses; the file is then read by the Python parser, with the same counts."""
    hits = [full(addr=f"192.0.2.{i}") for i in range(1, 6)] + [part(0, 1, addr="192.0.2.9")]
    clean = tmp_path / "clean.log"
    clean.write_text(render("ceph", hits), encoding="utf-8")
    feed = render("ceph", [full("grandir-en-hlm/feed.xml", size=4000, ua="Caf\u00e9Bot")]).encode("utf-8")
    latin = tmp_path / "latin.log"
    latin.write_bytes(clean.read_bytes() + feed.replace("Caf\u00e9".encode(), b"Caf\xe9"))
    by_duckdb, warnings = run([clean])
    by_python, more = run([latin])
    assert warnings == more == []
    assert by_python["requests"] == {**by_duckdb["requests"], "read": 7, "not_media": 1}
    del by_python["requests"], by_duckdb["requests"]
    assert by_python == by_duckdb
    assert by_duckdb["downloads"] == 5 and by_duckdb["excluded"] == {"under_threshold": 1}


def test_ceph_lines_with_odd_but_valid_fields(tmp_path: Path):
    """Fields absent or of another JSON type: DuckDB and the Python parser read them alike."""
    base = json.loads(render("ceph", [full()]).strip())
    variants = [
        {**base, "http_status": 200},  # a number, not a string
        {**base, "remote_addr": "192.0.2.50, 10.0.0.1"},  # a forwarding chain: the last entry counts
        {**base, "remote_addr": "10.9.9.9, 10.0.0.1", "user_agent": "Overcast/3.0"},  # same last entry
        {k: v for k, v in base.items() if k not in ("http_x_headers", "referrer")},
    ]
    log = tmp_path / "odd.log"
    log.write_text("".join(json.dumps(v) + "\n" for v in variants), encoding="utf-8")
    doc, warnings = run([log])
    assert warnings == []
    assert doc["downloads"] == 3  # 203.0.113.7 (twice), 10.0.0.1 AntennaPod, 10.0.0.1 Overcast
    latin = tmp_path / "odd-latin.log"
    latin.write_bytes(
        log.read_bytes()
        + b'{"time":"2026-06-10T09:00:00Z","uri":"GET /x HTTP/1.1","http_status":"200","bytes_sent":1,"user_agent":"\xe9"}\n'
    )
    again, warnings = run([latin])
    assert warnings == [] and again["downloads"] == 3 and again["requests"]["not_media"] == 1


def test_ceph_records_written_on_one_line(tmp_path: Path):
    """Under concurrent requests the gateway writes two records on one line (`...}{...`, seen in the
    real ops log of tests/test_stats_ceph.py): every record counts, read by DuckDB or by Python."""
    one = [ceph_line(full(addr=f"192.0.2.{i}")) for i in range(1, 7)]
    joined = tmp_path / "joined.log"
    joined.write_text(one[0] + one[1] + "\n" + "\n".join(one[2:4]) + "\n" + one[4] + " " + one[5] + "\n")
    doc, warnings = run([joined])
    assert warnings == [] and doc["downloads"] == 6 and doc["requests"]["read"] == 6
    latin = tmp_path / "joined-latin.log"  # invalid UTF-8 too: the Python parser reads it
    latin.write_bytes(joined.read_bytes() + ceph_line(full("x", ua="\u00e9")).encode("latin-1") + b"\n")
    doc, warnings = run([latin])
    assert warnings == [] and doc["downloads"] == 6 and doc["requests"]["read"] == 7
