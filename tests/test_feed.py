"""Feeds parse back in real parsers (feedparser, podcastparser) with the values put in."""

from __future__ import annotations

import io
from pathlib import Path

import feedparser
import podcastparser
import pytest
from lxml import etree

from grandirenhlm.catalog import load_catalog
from grandirenhlm.config import load_project
from grandirenhlm.namespace import podcast_guid
from grandirenhlm.podcast_namespace import PodcastIndexExtension
from tests.support import make_mp3, render_site, run_cli

NS = {
    "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
    "podcast": "https://podcastindex.org/namespace/1.0",
    "atom": "http://www.w3.org/2005/Atom",
    "content": "http://purl.org/rss/1.0/modules/content/",
}
BASE = "http://127.0.0.1:8000/"


def site(root: Path) -> dict[str, bytes]:
    return {a.key: a.data for a in render_site(root, BASE) if a.data}


@pytest.mark.parametrize(("show", "count"), [("grandir-en-hlm", 6), ("l-emission", 1)])
def test_demo_feeds_parse_in_both_parsers_with_true_lengths(demo_project: Path, show: str, count: int):
    feed = site(demo_project)[f"{show}/feed.xml"]
    project = load_project(demo_project)
    episodes = {e.guid: e for e in load_catalog(project).episodes[show]}

    parsed = feedparser.parse(feed)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert len(parsed.entries) == count
    for entry in parsed.entries:
        episode = episodes[entry.id]
        (enclosure,) = entry.enclosures
        assert int(enclosure.length) == episode.media.path.stat().st_size
        assert enclosure.type == episode.media.mime_type
        assert enclosure.href == f"{BASE}media/{show}/{episode.media.path.name}"
        assert entry.title == episode.title

    podcast = podcastparser.parse(f"{BASE}{show}/feed.xml", io.BytesIO(feed))
    assert len(podcast["episodes"]) == count
    for item in podcast["episodes"]:
        episode = episodes[item["guid"]]
        (enclosure,) = item["enclosures"]
        assert enclosure["file_size"] == episode.media.size
        assert enclosure["mime_type"] == episode.media.mime_type
        assert item["total_time"] == round(episode.media.duration_seconds)
        assert item["published"] == int(episode.pub_date.timestamp())


def test_apple_required_channel_tags(demo_project: Path):
    root = etree.fromstring(site(demo_project)["grandir-en-hlm/feed.xml"])
    channel = root.find("channel")
    assert channel.findtext("title") == "Grandir en Hlm"
    assert channel.findtext("language") == "fr"
    assert channel.findtext("link") == f"{BASE}grandir-en-hlm/index.html"
    assert channel.find("atom:link[@rel='self']", NS).get("href") == f"{BASE}grandir-en-hlm/feed.xml"
    assert channel.find("itunes:image", NS).get("href").startswith(f"{BASE}grandir-en-hlm/cover-")
    assert channel.find("itunes:category", NS).get("text") == "Society & Culture"
    assert channel.findtext("itunes:explicit", namespaces=NS) == "false"  # Apple's current spelling
    assert channel.findtext("itunes:author", namespaces=NS) == "Union sociale pour l’habitat"
    assert channel.findtext("itunes:owner/itunes:email", namespaces=NS) == "podcasts@example.org"
    assert channel.findtext("itunes:type", namespaces=NS) == "serial"
    assert channel.findtext("itunes:complete", namespaces=NS) == "yes"
    assert channel.findtext("podcast:guid", namespaces=NS) == "3e37be38-ef1c-5ad4-8f56-6990ae707657"
    numbers = [int(i.findtext("itunes:episode", namespaces=NS)) for i in channel.findall("item")]
    assert sorted(numbers) == [1, 2, 3, 4, 5, 6]
    for item in channel.findall("item"):
        assert item.find("guid").get("isPermaLink") == "false"
        assert int(item.findtext("itunes:duration", namespaces=NS)) > 0
        assert item.findtext("pubDate").endswith("+0000")


def test_feed_is_newest_first_and_deterministic(demo_project: Path):
    first = site(demo_project)["grandir-en-hlm/feed.xml"]
    assert first == site(demo_project)["grandir-en-hlm/feed.xml"]
    parsed = feedparser.parse(first)
    dates = [e.published_parsed for e in parsed.entries]
    assert dates == sorted(dates, reverse=True)
    assert parsed.feed.updated_parsed == dates[0]  # lastBuildDate from content, not the clock


def test_special_characters_survive_round_trip(project: Path, tmp_path: Path):
    title = 'L’école & la cité : « <grandir> » "ensemble" 🏠'
    audio = make_mp3(tmp_path / "a.mp3", title=title, comment="Notes & <balises> à l’écoute")
    assert run_cli(project, "ingest", "--show", "grandir-en-hlm", str(audio)).exit_code == 0
    record = next((project / "episodes" / "grandir-en-hlm").glob("*.toml"))
    text = record.read_text(encoding="utf-8")
    record.write_text(text.replace("[media]", "episode = 1\n\n[media]", 1), encoding="utf-8")
    feed = site(project)["grandir-en-hlm/feed.xml"]
    entry = feedparser.parse(feed).entries[0]
    assert entry.title == title
    assert "Notes &amp; &lt;balises&gt; à l’écoute" in entry.content[0].value
    item = podcastparser.parse(f"{BASE}grandir-en-hlm/feed.xml", io.BytesIO(feed))["episodes"][0]
    assert item["title"] == title
    for url in (entry.link, entry.enclosures[0].href):
        assert url.isascii(), url


def test_scheduled_and_draft_episodes_stay_out(project: Path, tmp_path: Path):
    for n, extra in ((1, ""), (2, "draft = true\n"), (3, "")):
        audio = make_mp3(
            tmp_path / f"{n}.mp3",
            title=f"Épisode {n}",
            track=str(n),
            freq=300 + n,
            date=f"{2023 + (n == 3) * 10}-06-26T09:00:00",
        )
        assert run_cli(project, "ingest", "--show", "grandir-en-hlm", str(audio)).exit_code == 0
        record = project / "episodes" / "grandir-en-hlm" / f"episode-{n}.toml"
        record.write_text(extra + record.read_text(encoding="utf-8"), encoding="utf-8")
    titles = [e.title for e in feedparser.parse(site(project)["grandir-en-hlm/feed.xml"]).entries]
    assert titles == ["Épisode 1"]  # 2 is a draft, 3 is scheduled for 2033


def test_podcast_guid_matches_the_specification_vector():
    assert podcast_guid("https://podnews.net/rss") == "9b024349-ccf0-5f69-a609-6b82873eab3c"
    assert podcast_guid("podnews.net/rss/") == "9b024349-ccf0-5f69-a609-6b82873eab3c"


@pytest.mark.parametrize(
    ("method", "value", "message"),
    [
        ("guid", "not-a-uuid", "must be a UUID"),
        ("guid", "6ba7b810-9dad-41d1-80b4-00c04fd430c8", "version 5"),
        ("medium", "tv", "must be one of"),
    ],
)
def test_podcast_namespace_rejects_bad_values(method: str, value: str, message: str):
    with pytest.raises(ValueError, match=message):
        getattr(PodcastIndexExtension(), method)(value)


def test_a_batch_without_dates_keeps_its_track_order(project: Path, tmp_path: Path):
    folder = tmp_path / "batch"
    folder.mkdir()
    for n in range(1, 7):  # same pub_date (ingest time) for all: the numbers decide
        make_mp3(folder / f"{7 - n}.mp3", seconds=0.5, title=f"Partie {n}", track=f"{n}/6", freq=200 + 20 * n)
    assert run_cli(project, "ingest", "--show", "grandir-en-hlm", str(folder)).exit_code == 0
    titles = [e.title for e in feedparser.parse(site(project)["grandir-en-hlm/feed.xml"]).entries]
    assert titles == [f"Partie {n}" for n in range(6, 0, -1)]
