"""Invariants of `stats`: privacy by construction, determinism, and counts that do not depend on how
the logs are split into files or in which order they are given (Hypothesis)."""

from __future__ import annotations

import gzip
import itertools
import json
import os
import re
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grandirenhlm.stats import (
    count_downloads,
    load_recorded,
    privacy_notice_fr,
    record_days,
    render_table,
    write_report,
)
from tests.stats_logs import (
    ANTENNAPOD,
    APPLE,
    AUDIO,
    EPISODES,
    FORMATS,
    GOOGLEBOT,
    MP3,
    MP3_2,
    OVERCAST,
    SHORT,
    SIZES,
    T0,
    Hit,
    render,
)

ADDRESSES = ["203.0.113.7", "198.51.100.23", "2001:db8:77:1::42", "192.0.2.200"]
AGENTS = [ANTENNAPOD, APPLE, OVERCAST, GOOGLEBOT, "Lecteur-Privé/1.0 (Témoin; unique-ua-marker)"]


def _traffic() -> list[Hit]:
    hits = []
    for i, addr in enumerate(ADDRESSES):
        for j, ua in enumerate(AGENTS):
            when = T0 + timedelta(hours=i * 7 + j)
            hits += [
                Hit(MP3, ua=ua, addr=addr, when=when),
                Hit(MP3_2, ua=ua, addr=addr, status=206, sent=2, first=0, last=1, when=when),
                Hit(AUDIO, ua=ua, addr=addr, status=206, sent=600_000, first=0, last=599_999, when=when),
            ]
    return hits


def test_nothing_written_contains_an_address_a_user_agent_or_a_listener_key(tmp_path: Path, monkeypatch):
    """The privacy invariant, checked on the bytes of every output: JSON, table, HTML, CSV and the
    recorded days. DuckDB runs with TMPDIR pointing at an empty folder, which must stay empty."""
    spill = tmp_path / "tmp"
    spill.mkdir()
    monkeypatch.setenv("TMPDIR", str(spill))
    monkeypatch.chdir(tmp_path)
    logs = tmp_path / "logs"
    logs.mkdir()
    for fmt in FORMATS:
        (logs / f"{fmt}.log").write_text(render(fmt, _traffic()), encoding="utf-8")
    report = count_downloads([logs], EPISODES, warn=lambda m: None)
    assert report.total > 0 and report.excluded_totals()["bot"] > 0
    project = tmp_path / "project"
    outputs = {
        "json": json.dumps(report.to_json(), sort_keys=True, ensure_ascii=False).encode(),
        "table": render_table(report).encode(),
    }
    for path in write_report(report, tmp_path / "report") + record_days(report, project):
        outputs[str(path)] = path.read_bytes()
    outputs["recorded"] = json.dumps(load_recorded(project).to_json()).encode()
    assert len(outputs) >= 5
    secrets = [a.encode() for a in ADDRESSES] + [ua.encode() for ua in AGENTS]
    secrets += [b"2001:db8:77:1", b"20010db800770001", b"unique-ua-marker", b"Googlebot", b"CFNetwork"]
    for name, data in outputs.items():
        for secret in secrets:
            assert secret not in data, (name, secret)
        # no listener key either: an HMAC-SHA256 would be 64 hex digits or 32 raw bytes
        assert not re.search(rb"[0-9a-f]{32,}", data), name
    assert list(spill.iterdir()) == []  # DuckDB spilled nothing
    assert {p.name for p in tmp_path.iterdir()} == {"tmp", "logs", "project", "report"}


def test_the_privacy_notice_says_what_is_kept():
    text = privacy_notice_fr()
    for words in (
        "sans cookie",
        "HMAC",
        "jamais enregistrée",
        "Seuls des totaux",
        "CNIL",
        "64 premiers bits",
    ):
        assert words in text


def test_same_logs_same_bytes(tmp_path: Path):
    log = tmp_path / "ceph.log"
    log.write_text(render("ceph", _traffic()), encoding="utf-8")
    dumps = [
        json.dumps(count_downloads([log], EPISODES).to_json(), sort_keys=True, ensure_ascii=False)
        for _ in range(2)
    ]
    assert dumps[0] == dumps[1]
    html = [
        (write_report(count_downloads([log], EPISODES), tmp_path / f"r{i}")[0]).read_bytes() for i in range(2)
    ]
    assert html[0] == html[1]


# ---------------------------------------------------------------- split / shuffle property

_hits = st.builds(
    Hit,
    path=st.sampled_from([MP3, MP3_2, SHORT, AUDIO, "grandir-en-hlm/feed.xml"]),
    ua=st.sampled_from([ANTENNAPOD, APPLE, GOOGLEBOT, ""]),
    addr=st.sampled_from(["192.0.2.1", "192.0.2.2", "2001:db8::1", "2001:db8::2:1"]),
    status=st.sampled_from([200, 206, 206, 206, 304]),
    first=st.sampled_from([0, 0, 100_000, 400_000, 160_000]),
    last=st.sampled_from([1, 159_999, 480_999, 999_999]),
    when=st.sampled_from([T0, T0 + timedelta(hours=20), T0 + timedelta(days=1)]),
)


def _consistent(h: Hit) -> Hit:
    size = SIZES.get(h.path, 4000)
    if h.status == 200:
        return Hit(h.path, h.ua, h.addr, 200, size, None, None, when=h.when)
    if h.status == 206:
        first, last = min(h.first or 0, size - 1), min(max(h.last or 0, h.first or 0), size - 1)
        return Hit(h.path, h.ua, h.addr, 206, last - first + 1, first, last, when=h.when)
    return Hit(h.path, h.ua, h.addr, h.status, 0, None, None, when=h.when)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    hits=st.lists(_hits.map(_consistent), min_size=1, max_size=40),
    fmt=st.sampled_from(FORMATS),
    cuts=st.lists(st.integers(0, 40), max_size=4),
    order=st.randoms(use_true_random=False),
    zipped=st.lists(st.booleans(), min_size=5, max_size=5),
)
def test_splitting_and_shuffling_the_logs_gives_the_same_counts(
    tmp_path_factory, hits, fmt, cuts, order, zipped
):
    folder = tmp_path_factory.mktemp("split")
    whole = folder / "whole.log"
    whole.write_text(render(fmt, hits), encoding="utf-8")
    expected = count_downloads([whole], EPISODES).to_json()
    bounds = sorted({0, len(hits), *(c for c in cuts if c < len(hits))})
    parts = []
    for i, (a, b) in enumerate(itertools.pairwise(bounds)):
        text = render(fmt, hits[a:b]).encode()
        path = folder / f"part-{i}.log"
        path.write_bytes(gzip.compress(text) if zipped[i % 5] else text)
        parts.append(path)
    order.shuffle(parts)
    assert count_downloads(parts, EPISODES).to_json() == expected
    for path in parts:
        os.unlink(path)
