"""The project's time zone (issue 13 item 8): `[site] timezone` in grandirenhlm.toml (default
Europe/Paris); dates and times written without an offset in records and in `build --at` are read
in it; feeds show every time in UTC."""

from __future__ import annotations

from pathlib import Path

import feedparser
import pytest
from lxml import etree

from tests.test_records_containment import cli, edit, error_lines

EPISODE = "episodes/grandir-en-hlm/temoignage-1.toml"
DATE = "pub_date = 2023-06-26 09:01:00+00:00"
TITLE = "Témoignage n° 1"


def built_item(root: Path, *args: str) -> etree._Element | None:
    out = root.parent / "site"
    proc = cli(root, "build", "--output", str(out), *args)
    assert proc.returncode == 0, proc.stderr
    data = (out / "grandir-en-hlm/feed.xml").read_bytes()
    assert not feedparser.parse(data).bozo
    channel = etree.fromstring(data).find("channel")
    return next((i for i in channel.iter("item") if i.findtext("title") == TITLE), None)


@pytest.mark.parametrize(
    ("written", "zone", "shown"),
    [
        ("2023-06-26T09:01:00", None, "Mon, 26 Jun 2023 07:01:00 +0000"),  # Paris in summer: +02:00
        ("2023-12-15T09:01:00", None, "Fri, 15 Dec 2023 08:01:00 +0000"),  # Paris in winter: +01:00
        ("2023-12-15", None, "Thu, 14 Dec 2023 23:00:00 +0000"),  # a date: midnight in Paris
        ("2023-06-26T09:01:00+05:00", None, "Mon, 26 Jun 2023 04:01:00 +0000"),  # an offset wins
        ("2023-06-26T09:01:00", "America/New_York", "Mon, 26 Jun 2023 13:01:00 +0000"),
        ("2023-06-26T09:01:00", "UTC", "Mon, 26 Jun 2023 09:01:00 +0000"),
    ],
)
def test_a_time_without_offset_is_read_in_the_project_zone_and_shown_in_utc(
    demo_project: Path, written: str, zone: str | None, shown: str
):
    edit(demo_project, EPISODE, DATE, f"pub_date = {written}")
    if zone is not None:
        edit(demo_project, "grandirenhlm.toml", 'timezone = "Europe/Paris"', f'timezone = "{zone}"')
    assert cli(demo_project, "check").returncode == 0
    item = built_item(demo_project)
    assert item.findtext("pubDate") == shown


def test_the_default_zone_is_europe_paris(demo_project: Path):
    config = demo_project / "grandirenhlm.toml"
    config.write_text(
        "\n".join(line for line in config.read_text(encoding="utf-8").splitlines() if "timezone" not in line),
        encoding="utf-8",
    )
    edit(demo_project, EPISODE, DATE, "pub_date = 2023-06-26T09:01:00")
    assert built_item(demo_project).findtext("pubDate") == "Mon, 26 Jun 2023 07:01:00 +0000"


def test_build_at_without_offset_is_read_in_the_project_zone(demo_project: Path):
    """Scheduled for 10:00 in Paris (08:00 UTC in summer): `--at 2030-06-01T09:30` means 09:30 in
    Paris, before it (as UTC it would be after it)."""
    edit(demo_project, EPISODE, DATE, "publish_at = 2030-06-01T10:00:00\n" + DATE)
    assert built_item(demo_project, "--at", "2030-06-01T09:30") is None
    assert built_item(demo_project, "--at", "2030-06-01T10:00") is not None
    assert built_item(demo_project, "--at", "2030-06-01T08:30+00:00") is not None  # an offset wins
    assert built_item(demo_project, "--at", "2030-06-01") is None  # a date: midnight in Paris


def test_channel_dates_are_utc(demo_project: Path):
    edit(demo_project, EPISODE, DATE, "pub_date = 2030-01-01T10:00:00")
    out = demo_project.parent / "site"
    assert cli(demo_project, "build", "--output", str(out), "--at", "2030-02-01").returncode == 0
    channel = etree.fromstring((out / "grandir-en-hlm/feed.xml").read_bytes()).find("channel")
    assert channel.findtext("lastBuildDate") == "Tue, 01 Jan 2030 09:00:00 +0000"
    assert channel.findtext("pubDate") == "Tue, 01 Jan 2030 09:00:00 +0000"


def test_an_unknown_time_zone_is_one_line_with_the_nearest_name(demo_project: Path):
    edit(demo_project, "grandirenhlm.toml", 'timezone = "Europe/Paris"', 'timezone = "Europe/Pari"')
    assert error_lines(cli(demo_project, "check")) == [
        "error: grandirenhlm.toml: site.timezone: unknown time zone 'Europe/Pari'; did you mean 'Europe/Paris'?"
    ]
