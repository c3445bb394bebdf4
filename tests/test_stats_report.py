"""The French report (`--output DIR`): content, CSV, the terminal table, the `--record` store, and the
same accessibility checks as the site's pages (axe-core in Chromium, the W3C Nu HTML checker)."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest
from lxml import html as lxml_html

from grandirenhlm.errors import GrandirError
from grandirenhlm.stats import count_downloads, load_recorded, record_days, render_table, write_report
from tests.browser_support import unavailable
from tests.stats_logs import (
    ANTENNAPOD,
    APPLE,
    AUDIO,
    EPISODES,
    GOOGLEBOT,
    GUID,
    MP3,
    MP3_2,
    OVERCAST,
    T0,
    Hit,
    render,
)
from tests.test_a11y import _axe_violations, _vnu_jar, browser  # noqa: F401 - the fixture is used below


def _traffic() -> list[Hit]:
    hits = []
    for day in range(16):  # three weeks: Wednesday 10 June to Thursday 25 June 2026
        when = T0 + timedelta(days=day)
        for i in range(day % 5 + 1):
            hits.append(Hit(MP3, ua=[ANTENNAPOD, APPLE, OVERCAST][i % 3], addr=f"192.0.2.{i}", when=when))
        hits.append(Hit(MP3_2, ua=APPLE, addr="198.51.100.1", when=when))
        hits.append(Hit(AUDIO, ua=GOOGLEBOT, addr="198.51.100.2", sent=1_000_000, when=when))
    return hits


@pytest.fixture
def report(tmp_path: Path):
    log = tmp_path / "ceph.log"
    log.write_text(render("ceph", _traffic()), encoding="utf-8")
    return count_downloads([log], EPISODES)


def test_the_report_page_has_the_numbers(report, tmp_path: Path):
    html_path, csv_path = write_report(report, tmp_path / "out")
    doc = lxml_html.fromstring(html_path.read_bytes())
    assert doc.get("lang") == "fr" and not doc.xpath("//script")
    per_episode = {
        row.xpath("string(th)"): row.xpath("string(td[2])") for row in doc.xpath("(//table)[1]/tbody/tr")
    }
    assert per_episode == {
        "Bande-annonce": "0",
        "Témoignage n° 1": "46",
        "Témoignage n° 2": "16",
        "Replay": "0",
    }
    weeks = [(r.xpath("string(th)"), r.xpath("string(td)")) for r in doc.xpath("(//table)[2]/tbody/tr")]
    # weeks from Monday: 8 June (10-14 June), 15 June (15-21), 22 June (22-25)
    assert weeks == [("8 juin 2026", "20"), ("15 juin 2026", "25"), ("22 juin 2026", "17")]
    bars = doc.xpath("//svg//rect")
    assert len(bars) == 3 and [t.text for t in doc.xpath("//svg/text")][-1] == "17"
    per_week = {
        r.xpath("string(th)"): [td.text for td in r.xpath("td")] for r in doc.xpath("(//table)[3]/tbody/tr")
    }
    assert per_week["Témoignage n° 1"] == ["15", "18", "13"] and per_week["Replay"] == ["0", "0", "0"]
    apps = {r.xpath("string(th)"): r.xpath("string(td[1])") for r in doc.xpath("(//table)[4]/tbody/tr")}
    assert apps == {"Apple Podcasts": "31", "AntennaPod": "22", "Overcast": "9"}
    assert "R7" in doc.xpath("string(//dl)") and "8008a31" in html_path.read_text(encoding="utf-8")
    rows = list(csv.DictReader(csv_path.open(encoding="utf-8")))
    assert sum(int(r["telechargements"]) for r in rows) == report.total == 62
    assert rows[0] == {
        "jour": "2026-06-10", "emission": "grandir-en-hlm", "episode": "temoignage-1", "guid": GUID["temoignage-1"],
        "titre": "Témoignage n° 1", "application": "AntennaPod", "telechargements": "1",
    }  # fmt: skip


def test_the_terminal_table(report):
    table = render_table(report)
    lines = table.splitlines()
    assert lines[2].split() == ["grandir-en-hlm", "temoignage-1", "46"]
    assert lines[5].split() == ["total", "62"]
    assert "excluded requests: bot 16" in table


def test_recorded_days_replace_earlier_figures(report, tmp_path: Path):
    project = tmp_path / "project"
    written = record_days(report, project)
    assert [p.name for p in written][:2] == ["2026-06-10.json", "2026-06-11.json"] and len(written) == 16
    assert load_recorded(project, episodes=EPISODES).to_json() == report.to_json()
    # the 12th again, from a log of that day only: its file is replaced, the others stay
    log = tmp_path / "12.log"
    log.write_text(
        render("ceph", [Hit(MP3, addr="203.0.113.1", when=T0 + timedelta(days=2))]), encoding="utf-8"
    )
    record_days(count_downloads([log], EPISODES), project)
    again = load_recorded(project).to_json()
    assert again["downloads"] == 62 - 4 + 1  # the 12th had 3 + 1 downloads, now 1
    window = load_recorded(project, date(2026, 6, 12), date(2026, 6, 13)).to_json()
    assert window["period"]["days"] == 2 and window["downloads"] == 1 + 5
    (project / "stats" / "2026-06-14.json").write_text("{", encoding="utf-8")
    with pytest.raises(
        GrandirError, match=r"stats/2026-06-14.json: not a day recorded by grandirenhlm stats"
    ):
        load_recorded(project)


def test_nothing_recorded_is_an_empty_report(tmp_path: Path):
    doc = load_recorded(tmp_path, episodes=EPISODES).to_json()
    assert doc["downloads"] == 0 and len(doc["episodes"]) == 4 and doc["period"]["days"] == 0
    write_report(load_recorded(tmp_path), tmp_path / "empty")
    assert "Aucune requête" in (tmp_path / "empty" / "index.html").read_text(encoding="utf-8")


def test_the_report_is_valid_html(report, tmp_path: Path):
    java = shutil.which("java")
    if java is None:
        unavailable("java is missing; run scripts/ensure-test-java (as root) to install it", module=False)
    html_path, _ = write_report(report, tmp_path / "out")
    empty_path, _ = write_report(load_recorded(tmp_path / "none"), tmp_path / "empty")
    proc = subprocess.run(
        [java, "-Xss4m", "-jar", str(_vnu_jar()), "--format", "json", "--stdout", str(html_path), str(empty_path)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    messages = json.loads(proc.stdout)["messages"]
    errors = [f"{m.get('lastLine')}: {m['message']}" for m in messages if m["type"] == "error"]
    assert errors == [] and proc.returncode == 0, errors


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)], ids=["desktop", "phone"])
def test_the_report_passes_axe_core(report, tmp_path: Path, browser, width: int, height: int):  # noqa: F811
    html_path, _ = write_report(report, tmp_path / "out")
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        assert _axe_violations(page, html_path.as_uri()) == []
        assert page.locator("h1").inner_text() == "Mesure d’audience"
    finally:
        context.close()
