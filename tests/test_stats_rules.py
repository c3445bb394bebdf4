"""Rules R1 to R7 of `stats`, each on small hand-written logs in all four formats.

The same requests are written as a Ceph ops log, an S3 server access log, a CloudFront standard log
and an nginx combined log (tests/stats_logs.py); the counts must be the ones the rules give, in
every format (R5 differs where a format does not log where a 206 starts: that is the rule).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from grandirenhlm.stats import StatsReport, count_downloads
from tests.stats_logs import (
    ANTENNAPOD,
    APPLE,
    AUDIO,
    BROWSER,
    CORE_MEDIA,
    EPISODES,
    FORMATS,
    GOOGLEBOT,
    GUID,
    MP3,
    MP3_2,
    OLD_MP3,
    OVERCAST,
    RANGES_LOGGED,
    SHORT,
    SHORT_SIZE,
    SIZE,
    T0,
    THRESHOLD,
    VIDEO,
    WATCH,
    WATCH_APP,
    WATCH_BOT,
    Hit,
    full,
    part,
    render,
)

pytestmark = pytest.mark.parametrize("fmt", FORMATS)


def count(tmp_path: Path, fmt: str, hits: list[Hit], **kw) -> StatsReport:
    log = tmp_path / f"access.{fmt}.log"
    log.write_text(render(fmt, hits), encoding="utf-8")
    warnings: list[str] = []
    report = count_downloads([log], EPISODES, warn=warnings.append, **kw)
    assert warnings == []
    return report


def downloads(report: StatsReport) -> dict[str, int]:
    """slug -> downloads, for the episodes that have some."""
    doc = report.to_json()
    return {e["slug"]: e["downloads"] for e in doc["episodes"] if e["downloads"]}


# ---------------------------------------------------------------- R1


def test_r1_a_get_answered_200_or_206_for_a_media_file_is_a_candidate(tmp_path, fmt):
    report = count(tmp_path, fmt, [full(), part(0, SIZE - 1, addr="198.51.100.2")])
    assert downloads(report) == {"temoignage-1": 2}
    assert report.to_json()["requests"] == {"read": 2, "media": 2}


def test_r1_heads_redirects_errors_feeds_and_pages_are_not_downloads(tmp_path, fmt):
    hits = [
        full(method="HEAD", sent=0),
        full(status=304, sent=0),
        full(status=302, sent=0),
        full(status=403, sent=243),
        full(status=416, sent=0, addr="198.51.100.9"),
        full(status=500, sent=0),
        full("grandir-en-hlm/feed.xml", size=41_000),
        full("grandir-en-hlm/temoignage-1/index.html", size=20_000),
        full("media/grandir-en-hlm/not-published-000000000000.mp3"),
    ]
    report = count(tmp_path, fmt, hits)
    doc = report.to_json()
    assert doc["downloads"] == 0
    assert doc["excluded"] == {"not_get": 1, "status": 5}
    assert doc["requests"] == {"read": 9, "media": 6, "not_media": 3}


def test_r1_the_key_is_found_whatever_precedes_it(tmp_path, fmt):
    hits = [
        full(prefix="/"),
        full(prefix="/other-bucket/a/b/c/", addr="198.51.100.2"),
        full(prefix="/cdn/v1/", addr="198.51.100.3"),
    ]
    assert downloads(count(tmp_path, fmt, hits)) == {"temoignage-1": 3}


# ---------------------------------------------------------------- R2


def test_r2_empty_user_agent_bots_and_apple_watch_are_excluded(tmp_path, fmt):
    hits = [
        full(ua=""),
        full(ua=GOOGLEBOT),
        full(ua=WATCH_BOT),  # OPAWG lists the watch's background downloader as a bot
        full(ua=WATCH),
        full(ua=WATCH_APP),
        full(ua="MyWatch/2 podcast player"),  # not "Watch/<digits>" at the start
        full(ua=ANTENNAPOD),
    ]
    report = count(tmp_path, fmt, hits)
    assert downloads(report) == {"temoignage-1": 2}
    assert report.to_json()["excluded"] == {"empty_user_agent": 1, "bot": 2, "apple_watch": 2}


def test_r2_apps_are_attributed_with_the_opawg_apps_list(tmp_path, fmt):
    hits = [
        full(ua=ANTENNAPOD, addr="192.0.2.1"),
        full(ua=APPLE, addr="192.0.2.2"),
        full(ua=OVERCAST, addr="192.0.2.3"),
        full(ua=BROWSER, addr="192.0.2.4"),  # a browser: no app
        full(ua=CORE_MEDIA, addr="192.0.2.5"),  # a library (OPAWG order: apps before libraries)
        full(MP3_2, ua=OVERCAST, addr="192.0.2.3"),
    ]
    doc = count(tmp_path, fmt, hits).to_json()
    by_slug = {e["slug"]: e["by_app"] for e in doc["episodes"]}
    assert by_slug["temoignage-1"] == {"AntennaPod": 1, "Apple Podcasts": 1, "Overcast": 1, "other": 2}
    assert by_slug["temoignage-2"] == {"Overcast": 1}
    assert doc["shows"][0]["by_app"] == {"AntennaPod": 1, "Apple Podcasts": 1, "Overcast": 2, "other": 2}


# ---------------------------------------------------------------- R3


def test_r3_listener_is_the_ipv4_address_and_the_whole_user_agent(tmp_path, fmt):
    hits = [
        full(addr="192.0.2.1"),
        full(addr="192.0.2.1"),  # the same listener again
        full(addr="192.0.2.2"),  # another address
        full(addr="192.0.2.1", ua=ANTENNAPOD + " (beta)"),  # another User-Agent
    ]
    assert downloads(count(tmp_path, fmt, hits)) == {"temoignage-1": 3}


def test_r3_ipv6_addresses_count_by_their_first_64_bits(tmp_path, fmt):
    hits = [
        full(addr="2001:db8:1:2::10"),
        full(addr="2001:db8:1:2:ffff:ffff:ffff:ffff"),  # same /64
        full(addr="2001:0db8:0001:0002:0000:0000:0000:0042"),  # same /64, written out
        full(addr="2001:db8:1:3::10"),  # another /64
    ]
    assert downloads(count(tmp_path, fmt, hits)) == {"temoignage-1": 2}


# ---------------------------------------------------------------- R4


def test_r4_day_is_the_utc_calendar_day(tmp_path, fmt):
    late = datetime(2026, 6, 10, 23, 59, 59, tzinfo=UTC)
    hits = [
        full(when=late),
        full(when=late + timedelta(seconds=2)),  # 00:00:01 UTC the next day: a new download
        full(when=late - timedelta(hours=1)),  # same UTC day as the first
    ]
    doc = count(tmp_path, fmt, hits).to_json()
    (episode,) = [e for e in doc["episodes"] if e["downloads"]]
    assert episode["by_day"] == {"2026-06-10": 1, "2026-06-11": 1}
    # the combined log writes these times in +02:00 (01:59:59 on the 11th): still the 10th in UTC
    assert doc["period"]["first_day"] == "2026-06-10" and doc["period"]["last_day"] == "2026-06-11"


def test_r4_since_and_until_select_utc_days(tmp_path, fmt):
    hits = [full(when=T0 + timedelta(days=d)) for d in range(5)]
    report = count(tmp_path, fmt, hits, since=date(2026, 6, 11), until=date(2026, 6, 12))
    doc = report.to_json()
    assert downloads(report) == {"temoignage-1": 2}
    assert doc["requests"] == {"read": 5, "media": 2, "outside_period": 3}
    assert doc["period"] == {
        "since": "2026-06-11", "until": "2026-06-12", "first_day": "2026-06-11", "last_day": "2026-06-12",
        "days": 2,
    }  # fmt: skip


# ---------------------------------------------------------------- R5 and R6


def test_r5_adjacent_ranges_add_up_to_the_threshold(tmp_path, fmt):
    hits = [part(0, 1), part(0, 239_999), part(240_000, THRESHOLD - 1)]
    assert downloads(count(tmp_path, fmt, hits)) == {"temoignage-1": 1}


def test_r5_overlapping_ranges_count_once_where_the_log_says_where_they_start(tmp_path, fmt):
    hits = [part(0, 300_000), part(0, 300_000), part(100_000, 400_000)]  # union: 400,001 bytes
    report = count(tmp_path, fmt, hits)
    if fmt in RANGES_LOGGED:
        assert downloads(report) == {}
        assert report.to_json()["excluded"] == {"under_threshold": 3}
    else:  # no start in the log: the bytes are summed (300,001 + 300,001 + 300,001)
        assert downloads(report) == {"temoignage-1": 1}


def test_r5_suffix_and_open_ranges(tmp_path, fmt):
    hits = [
        Hit(MP3, status=206, sent=THRESHOLD, first=None, last=THRESHOLD),  # the last 481,000 bytes
        Hit(MP3, status=206, sent=SIZE - 100_000, first=100_000, last=None, addr="192.0.2.9"),
    ]
    assert downloads(count(tmp_path, fmt, hits)) == {"temoignage-1": 2}


def test_r5_probes_of_two_bytes_are_not_downloads(tmp_path, fmt):
    hits = [part(0, 1, addr=f"192.0.2.{i}") for i in range(1, 6)]
    report = count(tmp_path, fmt, hits)
    assert downloads(report) == {}
    assert report.to_json()["excluded"] == {"under_threshold": 5}


def test_r6_the_threshold_is_the_id3_tag_plus_60_seconds_of_audio(tmp_path, fmt):
    hits = [
        Hit(MP3, sent=THRESHOLD - 1, addr="192.0.2.1"),  # an aborted 200: one byte short
        Hit(MP3, sent=THRESHOLD, addr="192.0.2.2"),
        Hit(OLD_MP3, sent=THRESHOLD, addr="192.0.2.3"),  # 6,000-byte tag: 486,000 needed
        Hit(OLD_MP3, sent=486_000, addr="192.0.2.4"),
    ]
    report = count(tmp_path, fmt, hits)
    assert downloads(report) == {"temoignage-1": 2}
    assert report.to_json()["excluded"] == {"under_threshold": 2}


def test_r6_a_file_shorter_than_60_seconds_must_be_fetched_whole(tmp_path, fmt):
    hits = [
        Hit(SHORT, sent=SHORT_SIZE - 1, addr="192.0.2.1"),
        Hit(SHORT, sent=SHORT_SIZE, addr="192.0.2.2"),
    ]
    assert downloads(count(tmp_path, fmt, hits)) == {"bande-annonce": 1}


# ---------------------------------------------------------------- R7


def test_r7_one_download_per_episode_day_and_listener_whatever_the_file(tmp_path, fmt):
    hits = [
        full(VIDEO, size=9_000_000),
        full(AUDIO, size=1_000_000),  # the alternate enclosure: the same episode
        full(MP3),
        full(OLD_MP3, size=SIZE + 5000),  # the file before a re-encode: the same episode
        full(MP3, when=T0 + timedelta(hours=5)),  # the same day again
        full(MP3, when=T0 + timedelta(days=1)),  # the next day: another download
    ]
    doc = count(tmp_path, fmt, hits).to_json()
    assert downloads_by_guid(doc) == {GUID["replay-2023"]: 1, GUID["temoignage-1"]: 2}
    assert doc["downloads"] == 3


def test_r7_an_episode_counts_when_one_of_its_files_reaches_its_threshold(tmp_path, fmt):
    hits = [part(0, 1, VIDEO), full(AUDIO, size=1_000_000)]
    doc = count(tmp_path, fmt, hits).to_json()
    assert downloads_by_guid(doc) == {GUID["replay-2023"]: 1}
    assert doc["excluded"] == {}  # the probe belongs to a listener-day that counted


def downloads_by_guid(doc: dict) -> dict[str, int]:
    return {e["guid"]: e["downloads"] for e in doc["episodes"] if e["downloads"]}


def test_every_episode_is_listed_with_its_facts(tmp_path, fmt):
    doc = count(tmp_path, fmt, [full()]).to_json()
    assert [(e["show"], e["slug"], e["title"]) for e in doc["episodes"]] == [
        ("grandir-en-hlm", "bande-annonce", "Bande-annonce"),
        ("grandir-en-hlm", "temoignage-1", "Témoignage n° 1"),
        ("grandir-en-hlm", "temoignage-2", "Témoignage n° 2"),
        ("l-emission", "replay-2023", "Replay"),
    ]
    assert doc["episodes"][1]["by_day"] == {"2026-06-10": 1}
    assert doc["episodes"][0] == {
        "guid": GUID["bande-annonce"], "show": "grandir-en-hlm", "slug": "bande-annonce",
        "title": "Bande-annonce", "downloads": 0, "by_day": {}, "by_app": {},
    }  # fmt: skip
    assert [s["show"] for s in doc["shows"]] == ["grandir-en-hlm", "l-emission"]
    assert doc["shows"][0]["downloads"] == 1 and doc["shows"][0]["episodes"] == 3
