"""`grandirenhlm stats` as a user runs it, in a new process, on the demo project: logs given,
recorded, reported again without logs, the French report and CSV written, bad logs named."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from grandirenhlm import layout, site
from grandirenhlm.catalog import load_catalog
from tests.stats_logs import ANTENNAPOD, APPLE, GOOGLEBOT, Hit, ceph_line


def grandirenhlm(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "grandirenhlm", "--project", str(root), "stats", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def demo_media(root: Path) -> dict[str, tuple[str, int, str]]:
    """slug -> (media key, size, guid) of the demo's testimonials."""
    catalog = load_catalog(site.open_project(root))
    return {
        e.slug: (layout.media(e), e.media.size, e.guid)
        for e in catalog.episodes["grandir-en-hlm"]
        if e.media is not None
    }


def test_stats_counts_records_and_reports_the_demo_traffic(demo_project: Path, tmp_path: Path):
    media = demo_media(demo_project)
    key1, size1, guid1 = media["temoignage-1"]
    key2, size2, guid2 = media["temoignage-2"]
    hits = [
        Hit(key1, ua=ANTENNAPOD, addr="203.0.113.7", sent=size1),  # a whole download
        Hit(key1, ua=APPLE, addr="198.51.100.9", status=206, sent=2, first=0, last=1),  # a probe only
        Hit(key2, ua=APPLE, addr="198.51.100.9", sent=size2),
        Hit(key2, ua=GOOGLEBOT, addr="66.249.66.1", sent=size2),  # a bot
        Hit("grandir-en-hlm/feed.xml", ua=APPLE, addr="198.51.100.9", sent=20_000),  # not media
    ]
    log = tmp_path / "ops.log"
    log.write_text(
        "\n".join(ceph_line(h, {key1: size1, key2: size2}.get(h.path, 20_000)) for h in hits) + "\n"
    )
    done = grandirenhlm(demo_project, str(log), "--json", "--record")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    by_guid = {e["guid"]: e["downloads"] for e in doc["episodes"]}
    assert by_guid[guid1] == 1 and by_guid[guid2] == 1
    assert sum(by_guid.values()) == 2
    assert doc["excluded"].get("bot") == 1

    again = grandirenhlm(demo_project, "--json")  # no logs: what was recorded
    assert again.returncode == 0, again.stderr
    assert {e["guid"]: e["downloads"] for e in json.loads(again.stdout)["episodes"]} == by_guid
    recorded = b"".join(p.read_bytes() for p in (demo_project / "stats").glob("*.json"))
    for secret in (b"203.0.113.7", b"198.51.100.9", ANTENNAPOD.encode(), APPLE.encode()):
        assert secret not in recorded  # only counts are kept

    table = grandirenhlm(demo_project, str(log), "--output", str(tmp_path / "rapport"))
    assert table.returncode == 0, table.stderr
    assert "grandir-en-hlm  temoignage-1          1" in table.stdout
    assert {p.name for p in (tmp_path / "rapport").iterdir()} == {"index.html", "telechargements.csv"}


def test_bad_logs_are_named_and_fatal_only_when_nothing_is_read(demo_project: Path, tmp_path: Path):
    key, size, _ = demo_media(demo_project)["temoignage-1"]
    good, bad = tmp_path / "good.log", tmp_path / "bad.log"
    good.write_text(ceph_line(Hit(key, sent=size), size) + "\n")
    bad.write_text("this is not an access log\n")
    some = grandirenhlm(demo_project, str(good), str(bad), "--json")
    assert some.returncode == 0, some.stderr
    assert some.stderr.startswith("warning: ") and str(bad) in some.stderr and "Traceback" not in some.stderr
    none = grandirenhlm(demo_project, str(bad))
    assert none.returncode == 1
    assert none.stderr.strip().splitlines()[-1].startswith("error: ") and "Traceback" not in none.stderr
    dates = grandirenhlm(demo_project, str(good), "--since", "2026-06-12", "--until", "2026-06-11")
    assert dates.returncode == 1 and dates.stderr.startswith("error: --since 2026-06-12 is after --until")


def test_the_legal_notice_says_how_downloads_are_counted_when_they_are(demo_project: Path):
    from tests.support import run_cli

    page = demo_project / "public" / "mentions-legales" / "index.html"
    assert run_cli(demo_project, "publish", "--quiet").exit_code == 0
    assert "n’utilise aucun outil de mesure d’audience" in page.read_text(encoding="utf-8")
    config = demo_project / "grandirenhlm.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace("[site.legal]\n", "[site.legal]\naudience_measurement = true\n"), encoding="utf-8"
    )
    assert run_cli(demo_project, "publish", "--quiet").exit_code == 0
    html = page.read_text(encoding="utf-8")
    assert "Mesure d’audience" in html and "HMAC" in html
    assert "n’utilise aucun outil de mesure d’audience" not in html
