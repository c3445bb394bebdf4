"""Podcasting 2.0 and Apple tags in built feeds, read back by XPath, feedparser and podcastparser."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import podcastparser
import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from grandirenhlm import feed as feed_module
from grandirenhlm import site
from grandirenhlm.catalog import load_catalog
from grandirenhlm.config import load_project
from grandirenhlm.media import probe
from grandirenhlm.model import Chapter
from grandirenhlm.transcripts import load_transcript
from tests.support import make_mp3, make_mp4

NS = {
    "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
    "podcast": "https://podcastindex.org/namespace/1.0",
    "atom": "http://www.w3.org/2005/Atom",
    "content": "http://purl.org/rss/1.0/modules/content/",
    "psc": "http://podlove.org/simple-chapters",
}
BASE = "http://127.0.0.1:8000/"
NOW = datetime(2030, 1, 1, tzinfo=UTC)


def build(root: Path, at: datetime = NOW) -> dict[str, object]:
    project = load_project(root)
    return {a.key: a for a in site.render(project, BASE, at, cache=False)}


def channel_of(artifacts: dict, key: str):
    return etree.fromstring(artifacts[key].data).find("channel")


def add_episode(root: Path, slug: str, media: Path, **fields) -> Path:
    """Write an episode record for a real media file, as ingest would, plus `fields`."""
    info = probe(media)
    store = root / "media" / "grandir-en-hlm"
    store.mkdir(parents=True, exist_ok=True)
    stored = store / f"{slug}-{info.sha256[:12]}{info.extension}"
    stored.write_bytes(media.read_bytes())
    record = {
        "title": fields.pop("title", slug),
        "guid": fields.pop("guid", f"urn:uuid:00000000-0000-4000-8000-{abs(hash(slug)) % 10**12:012d}"),
        "pub_date": fields.pop("pub_date", datetime(2023, 6, 26, 9, 0, tzinfo=UTC)),
        **fields,
        "media": _media_table(stored, info),
    }
    path = root / "episodes" / "grandir-en-hlm" / f"{slug}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tomli_w.dumps(record), encoding="utf-8")
    return path


def _media_table(stored: Path, info) -> dict:
    table = {
        "file": f"../../media/grandir-en-hlm/{stored.name}",
        "sha256": info.sha256,
        "size": info.size,
        "mime_type": info.mime_type,
        "duration_seconds": round(info.duration_seconds, 3),
    }
    if info.bitrate:
        table["bitrate"] = info.bitrate
    if info.height:
        table["width"], table["height"] = info.width, info.height
    return table


# ---------------------------------------------------------------- the demo shows


def test_demo_replay_offers_video_and_audio_with_integrity(demo_project: Path):
    artifacts = build(demo_project)
    item = channel_of(artifacts, "l-emission/feed.xml").find("item")
    record = load_catalog(load_project(demo_project)).episodes["l-emission"][0]
    alternates = item.findall("podcast:alternateEnclosure", NS)
    assert [a.get("type") for a in alternates] == ["video/mp4", "audio/x-m4a"]
    assert [a.get("default") for a in alternates] == ["true", None]
    for node, media in zip(alternates, (record.media, *record.alternates), strict=True):
        data = media.path.read_bytes()
        assert int(node.get("length")) == len(data)
        uri = node.find("podcast:source", NS).get("uri")
        key = uri.removeprefix(BASE)
        assert artifacts[key].source == media.path  # the file is published where the feed says
        integrity = node.find("podcast:integrity", NS)
        assert integrity.get("type") == "sri"
        assert integrity.get("value") == "sha256-" + base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert item.find("enclosure").get("url") == alternates[0].find("podcast:source", NS).get("uri")


def test_demo_serial_is_complete_with_numbers_chapters_and_transcripts(demo_project: Path):
    artifacts = build(demo_project)
    channel = channel_of(artifacts, "grandir-en-hlm/feed.xml")
    frequency = channel.find("podcast:updateFrequency", NS)
    assert frequency.get("complete") == "true" and frequency.text
    assert channel.findtext("itunes:complete", namespaces=NS) == "yes"
    location = channel.find("podcast:location", NS)
    assert (location.text, location.get("country"), location.get("osm"), location.get("rel")) == (
        "France",
        "FR",
        "R2202162",
        "subject",
    )
    assert channel.find("podcast:image", NS).get("href") == channel.find("itunes:image", NS).get("href")
    items = channel.findall("item")
    assert sorted(int(i.findtext("podcast:episode", namespaces=NS)) for i in items) == [1, 2, 3, 4, 5, 6]
    for item in items:
        transcripts = item.findall("podcast:transcript", NS)
        assert [(t.get("type"), t.get("language"), t.get("rel")) for t in transcripts] == [
            ("text/vtt", "fr", "captions"),
            ("application/x-subrip", "fr", "captions"),
            ("application/json", "fr", "captions"),
            ("text/html", "fr", None),
        ]
        for t in transcripts:
            artifact = artifacts[t.get("url").removeprefix(BASE)]
            assert artifact.content_type.startswith(t.get("type"))
        chapters = item.find("podcast:chapters", NS)
        assert chapters.get("type") == "application/json+chapters"
        assert json.loads(artifacts[chapters.get("url").removeprefix(BASE)].data)["chapters"]


def test_demo_transcripts_say_what_the_audio_says(demo_project: Path):
    """Each testimonial's transcript announces its own number, under the chapters' timing."""
    catalog = load_catalog(load_project(demo_project))
    for episode in catalog.episodes["grandir-en-hlm"]:
        transcript = load_transcript(episode.transcript, "fr")
        assert transcript.cues[1].text == f"Témoignage numéro {episode.number} sur six."
        assert transcript.speakers == ("Voix de synthèse",)
        assert transcript.duration <= episode.media.duration_seconds
        # the second chapter (« La série ») starts with the sentence about the series
        serie = next(c for c in transcript.cues if c.text.startswith("Cette série"))
        assert abs(serie.start - episode.chapters[1].start_seconds) < 0.5


def test_transcripts_and_chapters_parse_back_in_feedparser_and_podcastparser(demo_project: Path):
    data = build(demo_project)["grandir-en-hlm/feed.xml"].data
    catalog = load_catalog(load_project(demo_project))
    episodes = {e.guid: e for e in catalog.episodes["grandir-en-hlm"]}
    podcast = podcastparser.parse(f"{BASE}grandir-en-hlm/feed.xml", io.BytesIO(data))
    assert {item["guid"] for item in podcast["episodes"]} == set(episodes) and len(episodes) == 6
    for item in podcast["episodes"]:
        episode = episodes[item["guid"]]
        # podcastparser 0.6.11 knows the podcast: namespace only under its old GitHub URL, not the
        # specification's https://podcastindex.org/namespace/1.0, so it reads psc chapters, not podcast:.
        assert [(c["start"], c["title"]) for c in item["chapters"]] == [
            (int(c.start_seconds), c.title) for c in episode.chapters
        ]
    parsed = feedparser.parse(data)
    assert not parsed.bozo
    assert {entry.id for entry in parsed.entries} == set(episodes)
    for entry in parsed.entries:  # feedparser keeps the attributes of the last podcast:transcript
        slug = episodes[entry.id].slug
        assert entry.podcast_transcript["url"] == f"{BASE}grandir-en-hlm/{slug}/transcript.html"
        assert entry.podcast_transcript["language"] == "fr"


# ---------------------------------------------------------------- tags from show and record fields


SHOW_EXTRA = """
new_feed_url = "https://podcasts.example.net/grandir/feed.xml"
license = "CC-BY-4.0"
license_url = "https://creativecommons.org/licenses/by/4.0/"
update_frequency = "Chaque lundi"
update_rrule = "FREQ=WEEKLY"

[[person]]
name = "Ada Exemple & « Cie »"
role = "Host"
group = "Cast"
href = "https://example.org/ada"

[[funding]]
url = "https://example.org/soutenir"
text = "Soutenir l’émission"

[[txt]]
text = "verification-token-123"
purpose = "verify"

[location]
name = "Paris"
geo = "geo:48.8566,2.3522"
country = "fr"
rel = "creator"
"""


def test_every_channel_tag_from_the_show_file(project: Path, tmp_path: Path):
    show = project / "feeds" / "grandir-en-hlm.toml"
    show.write_text(show.read_text(encoding="utf-8").replace("\n[owner]", SHOW_EXTRA + "\n[owner]"), "utf-8")
    add_episode(project, "bande-annonce", make_mp3(tmp_path / "t.mp3", freq=300), episode_type="trailer")
    add_episode(project, "un", make_mp3(tmp_path / "1.mp3", freq=310), episode=1)
    artifacts = build(project)
    podcast = podcastparser.parse(
        f"{BASE}grandir-en-hlm/feed.xml", io.BytesIO(artifacts["grandir-en-hlm/feed.xml"].data)
    )
    assert podcast["new_url"] == "https://podcasts.example.net/grandir/feed.xml"
    channel = channel_of(artifacts, "grandir-en-hlm/feed.xml")
    assert (
        channel.findtext("itunes:new-feed-url", namespaces=NS)
        == "https://podcasts.example.net/grandir/feed.xml"
    )
    person = channel.find("podcast:person", NS)
    assert (person.text, person.get("role"), person.get("group"), person.get("href")) == (
        "Ada Exemple & « Cie »",
        "host",
        "cast",
        "https://example.org/ada",
    )
    funding = channel.find("podcast:funding", NS)
    assert (funding.get("url"), funding.text) == ("https://example.org/soutenir", "Soutenir l’émission")
    lic = channel.find("podcast:license", NS)
    assert (lic.text, lic.get("url")) == ("CC-BY-4.0", "https://creativecommons.org/licenses/by/4.0/")
    txt = channel.find("podcast:txt", NS)
    assert (txt.text, txt.get("purpose")) == ("verification-token-123", "verify")
    loc = channel.find("podcast:location", NS)
    assert (loc.text, loc.get("geo"), loc.get("country"), loc.get("rel")) == (
        "Paris",
        "geo:48.8566,2.3522",
        "FR",
        "creator",
    )
    freq = channel.find("podcast:updateFrequency", NS)
    assert (freq.text, freq.get("rrule"), freq.get("complete")) == ("Chaque lundi", "FREQ=WEEKLY", None)
    trailer = channel.find("podcast:trailer", NS)
    assert trailer.text == "bande-annonce"
    assert trailer.get("url").startswith(f"{BASE}media/grandir-en-hlm/bande-annonce-")
    assert trailer.get("pubdate") == "Mon, 26 Jun 2023 09:00:00 +0000"
    assert int(trailer.get("length")) == (tmp_path / "t.mp3").stat().st_size
    types = {i.findtext("itunes:episodeType", namespaces=NS) for i in channel.findall("item")}
    assert types == {"trailer", "full"}


def test_item_tags_from_the_record(project: Path, tmp_path: Path):
    record = add_episode(
        project,
        "un",
        make_mp3(tmp_path / "1.mp3", seconds=3),
        episode=1,
        season=2,
        block=True,
        license="CC0-1.0",
        person=[{"name": "Bea Exemple", "role": "guest", "group": "cast"}],
        location={"name": "Lyon", "osm": "R120965", "country": "FR"},
        chapters=[
            {"start_seconds": 0.0, "title": "Début & <fin>"},
            {"start_seconds": 1.0, "title": "Milieu"},
            {"start_seconds": 2.5, "title": "Fin"},
        ],
    )
    assert record.is_file()
    item = channel_of(build(project), "grandir-en-hlm/feed.xml").find("item")
    assert item.findtext("itunes:block", namespaces=NS) == "Yes"
    assert item.findtext("itunes:season", namespaces=NS) == "2"
    assert item.findtext("podcast:season", namespaces=NS) == "2"
    assert item.findtext("podcast:license", namespaces=NS) == "CC0-1.0"
    person = item.find("podcast:person", NS)
    assert (person.text, person.get("role")) == ("Bea Exemple", "guest")
    assert item.find("podcast:location", NS).get("osm") == "R120965"
    psc = item.findall("psc:chapters/psc:chapter", NS)
    assert [(c.get("start"), c.get("title")) for c in psc] == [
        ("00:00:00.000", "Début & <fin>"),
        ("00:00:01.000", "Milieu"),
        ("00:00:02.500", "Fin"),
    ]


def test_content_encoded_keeps_only_apples_tags(project: Path, tmp_path: Path):
    description = (
        "Voir <script>alert(1)</script> <b>gras</b> & « guillemets »\n\nhttps://example.org/?a=1&b=2"
    )
    add_episode(project, "un", make_mp3(tmp_path / "1.mp3"), episode=1, description=description)
    item = channel_of(build(project), "grandir-en-hlm/feed.xml").find("item")
    html = item.findtext("content:encoded", namespaces=NS)
    tags = {el.tag for el in etree.fromstring(f"<div>{html}</div>", etree.HTMLParser()).iter()}
    assert tags <= {"html", "body", "div", "p", "ol", "ul", "li", "a"}, tags
    assert "&lt;script&gt;" in html and "<script" not in html  # the text is shown, never run
    # <description> carries the same sanitised HTML (apps render it as HTML too), never the raw notes
    assert item.findtext("description") == html
    entry = feedparser.parse(build(project)["grandir-en-hlm/feed.xml"].data).entries[0]
    assert "« guillemets »" in entry.content[0].value


def test_live_item_becomes_an_episode_when_its_replay_is_published(project: Path, tmp_path: Path):
    live = {
        "status": "pending",
        "start": datetime(2023, 6, 30, 14, 0, tzinfo=UTC),
        "end": datetime(2023, 6, 30, 15, 0, tzinfo=UTC),
        "url": "https://example.org/direct.m3u8",
        "type": "application/x-mpegURL",
    }
    record = {
        "title": "L’émission en direct",
        "guid": "urn:uuid:11111111-2222-4333-8444-555555555555",
        "pub_date": datetime(2023, 6, 20, tzinfo=UTC),
        "episode": 1,
        "live": live,
    }
    path = project / "episodes" / "grandir-en-hlm" / "direct.toml"
    path.parent.mkdir(parents=True)
    path.write_text(tomli_w.dumps(record), encoding="utf-8")
    channel = channel_of(build(project), "grandir-en-hlm/feed.xml")
    (node,) = channel.findall("podcast:liveItem", NS)
    assert node.get("status") == "pending"
    assert node.get("start") == "2023-06-30T14:00:00+00:00"
    assert node.findtext("guid") == record["guid"]
    assert node.findtext("link") == f"{BASE}grandir-en-hlm/index.html"  # a page that exists
    assert node.find("enclosure").get("url") == "https://example.org/direct.m3u8"
    assert node.find("podcast:contentLink", NS).get("href") == "https://example.org/direct.m3u8"
    assert channel.findall("item") == []

    # the replay is ingested: the same GUID is now a normal item, and the live item is gone
    path.unlink()
    add_episode(
        project,
        "direct",
        make_mp4(tmp_path / "replay.mp4", seconds=1.0),
        title=record["title"],
        guid=record["guid"],
        episode=1,
        live={**live, "status": "ended"},
    )
    channel = channel_of(build(project), "grandir-en-hlm/feed.xml")
    assert channel.findall("podcast:liveItem", NS) == []
    (item,) = channel.findall("item")
    assert item.findtext("guid") == record["guid"]
    assert item.find("enclosure").get("type") == "video/mp4"


def test_publish_at_and_build_at(project: Path, tmp_path: Path):
    add_episode(project, "un", make_mp3(tmp_path / "1.mp3", freq=301), episode=1)
    add_episode(
        project,
        "deux",
        make_mp3(tmp_path / "2.mp3", freq=302),
        episode=2,
        publish_at=datetime(2031, 1, 1, tzinfo=UTC),
    )
    titles = lambda at: [  # noqa: E731
        i.findtext("title") for i in channel_of(build(project, at), "grandir-en-hlm/feed.xml").findall("item")
    ]
    assert titles(NOW) == ["un"]
    assert titles(datetime(2031, 1, 1, tzinfo=UTC)) == ["deux", "un"]


def test_items_with_the_same_date_are_ordered_by_number_then_guid(project: Path, tmp_path: Path):
    add_episode(project, "b", make_mp3(tmp_path / "b.mp3", freq=303), episode=1, guid="urn:uuid:b")
    add_episode(project, "a", make_mp3(tmp_path / "a.mp3", freq=304), episode=2, guid="urn:uuid:a")
    for guid, freq in (("urn:uuid:z", 305), ("urn:uuid:y", 306)):  # bonus episodes: no number
        add_episode(
            project, guid[-1], make_mp3(tmp_path / f"{freq}.mp3", freq=freq), guid=guid, episode_type="bonus"
        )
    # equal dates: the catalog's order (pubDate, season, number, GUID) decides, the same every build
    first = build(project)["grandir-en-hlm/feed.xml"].data
    assert first == build(project)["grandir-en-hlm/feed.xml"].data
    guids = [i.findtext("guid") for i in etree.fromstring(first).iter("item")]
    assert guids == ["urn:uuid:a", "urn:uuid:b", "urn:uuid:z", "urn:uuid:y"]  # newest first


# ---------------------------------------------------------------- RFC 5005 pages, OPML, the item cache


@pytest.mark.parametrize("batch", [200, 1])  # items rendered per feedgen tree (feed._BATCH)
def test_paged_feeds_over_the_limit(project: Path, tmp_path: Path, monkeypatch, batch: int):
    monkeypatch.setattr(feed_module, "_BATCH", batch)
    show = project / "feeds" / "grandir-en-hlm.toml"
    show.write_text("page_size = 2\n" + show.read_text(encoding="utf-8"), encoding="utf-8")
    for n in range(1, 6):
        add_episode(
            project,
            f"e{n}",
            make_mp3(tmp_path / f"{n}.mp3", seconds=0.5, freq=200 + n),
            episode=n,
            pub_date=datetime(2023, 6, n, tzinfo=UTC),
        )
    artifacts = build(project)
    keys = ["grandir-en-hlm/feed.xml", "grandir-en-hlm/feed-2.xml", "grandir-en-hlm/feed-3.xml"]
    seen = []
    for n, key in enumerate(keys, start=1):
        channel = channel_of(artifacts, key)
        links = {a.get("rel"): a.get("href") for a in channel.findall("atom:link", NS)}
        assert links["self"] == BASE + key
        assert links["first"] == BASE + keys[0] and links["last"] == BASE + keys[-1]
        assert links.get("next") == (BASE + keys[n] if n < 3 else None)
        assert links.get("previous") == (BASE + keys[n - 2] if n > 1 else None)
        seen += [i.findtext("title") for i in channel.findall("item")]
        assert not feedparser.parse(artifacts[key].data).bozo
    assert seen == ["e5", "e4", "e3", "e2", "e1"]  # every episode exactly once, newest first


def test_opml_lists_every_show(demo_project: Path):
    artifacts = build(demo_project)
    opml = etree.fromstring(artifacts["shows.opml"].data)
    outlines = opml.findall("body/outline")
    assert [(o.get("type"), o.get("xmlUrl")) for o in outlines] == [
        ("rss", f"{BASE}grandir-en-hlm/feed.xml"),
        ("rss", f"{BASE}l-emission/feed.xml"),
    ]
    for o in outlines:
        assert o.get("xmlUrl").removeprefix(BASE) in artifacts


@pytest.mark.parametrize("batch", [200, 1])  # the items to render again in one batch, or one each
def test_item_cache_gives_the_bytes_of_a_fresh_render(demo_project: Path, monkeypatch, batch: int):
    project = load_project(demo_project)
    catalog = load_catalog(project)
    show = catalog.shows["grandir-en-hlm"]
    episodes = list(catalog.published("grandir-en-hlm", NOW))
    feed_module.clear_cache()
    feed_module.render_feed(show, episodes, BASE, "c.jpg")  # fills the cache
    from dataclasses import replace

    episodes[2] = replace(episodes[2], title="Titre changé & corrigé")
    episodes[4] = replace(episodes[4], title="Autre titre")  # two items apart: not a run of the list
    monkeypatch.setattr(feed_module, "_BATCH", batch)
    cached = feed_module.render_feed(show, episodes, BASE, "c.jpg")
    monkeypatch.undo()
    feed_module.clear_cache()
    assert cached == feed_module.render_feed(show, episodes, BASE, "c.jpg")
    assert b"Titre chang\xc3\xa9 &amp; corrig\xc3\xa9" in cached and b"Autre titre" in cached


@pytest.mark.parametrize(
    ("method", "args", "message"),
    [
        ("transcript", ("https://x/t.txt", "text/markdown"), "podcast:transcript type"),
        ("person", ("Nom", "host", "orchestra"), "group must be one of"),
        ("location", ("Lieu", None, None, "France"), "ISO 3166"),
        ("location", ("Lieu", None, None, None, "home"), "subject or creator"),
        ("license", ("x" * 129,), "1 to 128 characters"),
        ("chapters", ("https://exemple.fr/é.json",), "absolute ASCII URL"),
        ("alternate_enclosure", ("https://x/a.m4a", "audio/x-m4a", 1, "abc"), "hex SHA-256"),
    ],
)
def test_item_extension_rejects_bad_values(method, args, message):
    from grandirenhlm.podcast_namespace import PodcastIndexEntryExtension

    with pytest.raises(ValueError, match=message):
        getattr(PodcastIndexEntryExtension(), method)(*args)


@pytest.mark.parametrize(
    ("method", "args", "message"),
    [
        ("update_frequency", ("x" * 129,), "1 to 128 characters"),
        ("funding", ("ftp://x", "Soutenir"), None),
        ("txt", ("x" * 4001,), "1 to 4000 characters"),
        ("live_item", ("soon", NOW, NOW, "g", "t", "d", "l"), "status must be one of"),
        ("live_item", ("live", NOW, NOW, "g", "t", "d", "l"), "end must be after start"),
    ],
)
def test_channel_extension_rejects_bad_values(method, args, message):
    from grandirenhlm.podcast_namespace import PodcastIndexExtension

    if message is None:  # funding accepts any absolute ASCII URL; the linter asks for http(s)
        getattr(PodcastIndexExtension(), method)(*args)
        return
    with pytest.raises(ValueError, match=message):
        getattr(PodcastIndexExtension(), method)(*args)


def test_apple_html_sanitiser_keeps_only_allowed_tags_and_schemes():
    from grandirenhlm.feed import apple_html, description_html

    hostile = '<p onclick="x">a</p><script>x()</script><a href="javascript:alert(1)">l</a><b>b</b><ul><li>i</li></ul>'
    assert apple_html(hostile) == "<p>a</p><a>l</a>b<ul><li>i</li></ul>"
    html = description_html("Voir https://example.org/?a=1&b=2, puis « https://exemple.fr/x ».")
    assert html == (
        '<p>Voir <a href="https://example.org/?a=1&amp;b=2">https://example.org/?a=1&amp;b=2</a>, puis '
        '« <a href="https://exemple.fr/x">https://exemple.fr/x</a> ».</p>'
    )


def test_build_names_the_file_of_a_value_the_namespace_refuses(project: Path, tmp_path: Path):
    from tests.support import assert_clean_error, run_cli

    add_episode(
        project,
        "un",
        make_mp3(tmp_path / "1.mp3"),
        episode=1,
        license="Licence",
        license_url="https://exemple.fr/licence-é",
    )
    result = run_cli(project, "build", "--output", str(tmp_path / "out"))
    assert_clean_error(
        result,
        "error: episodes/grandir-en-hlm/un.toml: podcast:license url must be an absolute ASCII URL, "
        "got 'https://exemple.fr/licence-é'",
    )
    assert not (tmp_path / "out" / "grandir-en-hlm" / "feed.xml").exists()


# ---------------------------------------------------------------- property: what goes in comes back out

# Latin-1 characters only come whole words apart: feedparser "repairs" text whose Latin-1 reading is
# valid UTF-8 (« ð\xa0\xa0¡ » becomes one CJK character), a heuristic real French titles never trip.
_TEXT = (
    st.lists(
        st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), min_codepoint=0x20).filter(
            lambda c: not 0x80 <= ord(c) <= 0xFF
        )
        | st.sampled_from(["&", "<", ">", "'", '"', "’", " ", "é", "è", "à", "« ", " »", "\u00a0: "]),
        min_size=1,
        max_size=40,
    )
    .map("".join)
    .map(str.strip)
    .filter(bool)
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(_TEXT, _TEXT, st.lists(_TEXT.filter(lambda t: "\n" not in t), min_size=3, max_size=4)),
        min_size=1,
        max_size=4,
    )
)
def test_titles_descriptions_and_chapters_parse_back_in_both_parsers(demo_project: Path, raw):
    from dataclasses import replace

    catalog = load_catalog(load_project(demo_project))
    show = catalog.shows["grandir-en-hlm"]
    template = catalog.episodes["grandir-en-hlm"][0]
    episodes = [
        replace(
            template,
            slug=f"e{i}",
            guid=f"urn:uuid:e{i}",
            title=title,
            description=description,
            number=i + 1,
            pub_date=template.pub_date + timedelta(minutes=i),
            chapters=tuple(Chapter(float(10 * n), t) for n, t in enumerate(chapter_titles)),
        )
        for i, (title, description, chapter_titles) in enumerate(raw)
    ]
    feed_module.clear_cache()
    data = feed_module.render_feed(show, episodes, BASE, "grandir-en-hlm/cover.jpg")
    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    podcast = podcastparser.parse(f"{BASE}grandir-en-hlm/feed.xml", io.BytesIO(data))
    by_guid = {e.guid: e for e in episodes}
    assert {e.id for e in parsed.entries} == set(by_guid)
    for entry in parsed.entries:
        assert entry.title == by_guid[entry.id].title
    assert {item["guid"] for item in podcast["episodes"]} == set(by_guid)
    for item in podcast["episodes"]:
        episode = by_guid[item["guid"]]
        assert item["title"] == " ".join(
            episode.title.split()
        )  # podcastparser squashes whitespace (and NBSP)
        assert item["total_time"] == round(episode.media.duration_seconds)
        assert item["enclosures"][0]["file_size"] == episode.media.size
        assert [(c["start"], c["title"]) for c in item["chapters"]] == [
            (int(c.start_seconds), c.title) for c in episode.chapters
        ]
    root = etree.fromstring(data)
    for item in root.iter("item"):
        episode = by_guid[item.findtext("guid")]
        # <description> is sanitised HTML, one <p> per line of the text: read back as its lines
        html = item.findtext("description")
        body = etree.fromstring(f"<div>{html}</div>", etree.HTMLParser()).find(".//div")
        assert [el.tag for el in body] == ["p"] * len(body)
        lines = ["".join(p.itertext()) for p in body]
        expected = [line.strip() for line in episode.description.splitlines() if line.strip()]
        assert lines[: len(expected)] == expected
        text = "\n".join(lines)
        from grandirenhlm.chapters import parse_description_timestamps

        assert parse_description_timestamps(text.split("Chapitres :")[-1]) == [
            (int(c.start_seconds), c.title) for c in episode.chapters
        ]


def test_items_kept_on_disk_serve_the_next_process(demo_project: Path):
    """`build` twice, as two CLI runs would (the in-memory cache emptied between them): the second
    reuses the items from .grandirenhlm/feeds/, an edited record is rendered again, and the bytes
    are those of a build without any cache."""
    from tests.support import run_cli

    out = demo_project / "out"
    assert run_cli(demo_project, "build", "--output", str(out)).exit_code == 0
    (store,) = [
        p
        for p in (demo_project / ".grandirenhlm" / "feeds").glob("*.items")
        if b"/grandir-en-hlm/" in p.read_bytes()
    ]
    feed_module.clear_cache()
    record = demo_project / "episodes" / "grandir-en-hlm" / "temoignage-2.toml"
    record.write_text(
        record.read_text(encoding="utf-8").replace("Témoignage n° 2", "Témoignage n° 2 & corrigé"), "utf-8"
    )
    calls = []
    original = feed_module._add_entry
    feed_module._add_entry = lambda *args: calls.append(args[2].slug) or original(*args)
    try:
        assert run_cli(demo_project, "build", "--output", str(out)).exit_code == 0
    finally:
        feed_module._add_entry = original
    assert calls == ["temoignage-2"]  # the five others came from the store
    cached = (out / "grandir-en-hlm" / "feed.xml").read_bytes()
    assert "Témoignage n° 2 &amp; corrigé".encode() in cached
    feed_module.clear_cache()
    project = load_project(demo_project)
    fresh = site.render(project, BASE, datetime.now(UTC), cache=False)
    assert next(a.data for a in fresh if a.key == "grandir-en-hlm/feed.xml") == cached
    assert store.is_file()


def test_an_item_is_filed_under_the_record_it_was_made_from(demo_project: Path):
    """The item store files each item under the SHA-256 of its record. A record saved while a build
    runs (after the records were loaded, before the feed is made) must not get the item made from
    its old text filed under its new text: the next build would serve the old title for good."""
    project = load_project(demo_project)
    record = demo_project / "episodes" / "grandir-en-hlm" / "temoignage-2.toml"
    catalog = load_catalog(project)  # the build has loaded the records...
    text = record.read_text(encoding="utf-8")
    record.write_text(
        text.replace("Témoignage n° 2", "Témoignage n° 2 (corrigé)"), "utf-8"
    )  # ...one is saved
    feed_module.clear_cache()
    site.render(project, BASE, NOW, catalog=catalog)  # the feed made, its items stored
    assert list((demo_project / ".grandirenhlm" / "feeds").glob("*.items"))

    feed_module.clear_cache()  # the next build, a new process
    served = next(a.data for a in site.render(project, BASE, NOW) if a.key == "grandir-en-hlm/feed.xml")
    assert "Témoignage n° 2 (corrigé)".encode() in served
    feed_module.clear_cache()
    uncached = site.render(project, BASE, NOW, cache=False)
    assert served == next(a.data for a in uncached if a.key == "grandir-en-hlm/feed.xml")


def test_item_store_appends_edits_and_ignores_a_damaged_file(demo_project: Path):
    """An edit appends one item to the store instead of rewriting it; a store cut short (a build
    killed while appending) is ignored and rewritten; the feed is always the uncached one."""
    from tests.support import run_cli

    def build() -> bytes:
        feed_module.clear_cache()  # each build as a new process
        assert run_cli(demo_project, "build", "--output", str(demo_project / "out")).exit_code == 0
        return (demo_project / "out" / "grandir-en-hlm" / "feed.xml").read_bytes()

    def uncached() -> bytes:
        feed_module.clear_cache()
        project = load_project(demo_project)
        artifacts = site.render(project, BASE, datetime.now(UTC), cache=False)
        return next(a.data for a in artifacts if a.key == "grandir-en-hlm/feed.xml")

    build()
    (store,) = [
        p
        for p in (demo_project / ".grandirenhlm" / "feeds").glob("*.items")
        if b"/grandir-en-hlm/" in p.read_bytes()
    ]
    before = store.read_bytes()
    record = demo_project / "episodes" / "grandir-en-hlm" / "temoignage-4.toml"
    record.write_text(
        record.read_text(encoding="utf-8").replace("Témoignage n° 4", "Témoignage n° 4 (bis)"), "utf-8"
    )
    after_edit = build()
    assert after_edit == uncached()
    after = store.read_bytes()
    assert after.startswith(before) and len(after) > len(before)  # appended, not rewritten
    assert after.count(b"n\xc2\xb0 4 (bis)") == 1

    store.write_bytes(after[: len(after) - 10])  # an append cut short
    calls = []
    original = feed_module._add_entry
    feed_module._add_entry = lambda *args: calls.append(args[2].slug) or original(*args)
    try:
        assert build() == after_edit and calls == []  # nothing the site is made of changed: no render
        (demo_project / ".grandirenhlm" / "fingerprints.json").unlink()  # so the feed is rendered again
        rebuilt = build()
    finally:
        feed_module._add_entry = original
    assert rebuilt == uncached()
    assert sorted(calls) == [f"temoignage-{n}" for n in range(1, 7)]  # nothing trusted from the damaged store
    rewritten = store.read_bytes()
    assert rewritten.count(b"<item>") == 6 and rewritten.count(b"n\xc2\xb0 4 (bis)") == 1
