"""feedgen extensions: Apple's current iTunes spelling and the Podcast Index `podcast:` namespace.

feedgen 1.0.0 still writes `itunes:explicit` as yes/no/clean; Apple's spec now says true/false
(https://help.apple.com/itc/podcasts_connect/#/itcb54353390), so `ItunesExtension` rewrites it.
The `podcast:` tags follow https://podcastindex.org/namespace/1.0; their constants and rules live in
`namespace.py`, whose validators every setter calls, so a bad value raises `NamespaceError` (a
ValueError; the feed renderer turns it into an error naming the record):

- channel (`PodcastIndexExtension`): guid, locked, medium, person, location, license, funding,
  image, trailer, updateFrequency, txt, liveItem; `show_tags(show)` sets those a `Show` holds;
- item (`PodcastIndexEntryExtension`): season, episode, chapters, transcript, person, location,
  license, alternateEnclosure with source and integrity, and the Podlove Simple Chapters
  (`psc:chapters`) that mirror podcast:chapters; `episode_tags(episode)` sets those an `Episode` holds;
- `AtomLinksExtension`: RFC 5005 first/previous/next/last links of a paged feed, and WebSub hubs.

The tags that point at files of the site (chapters, transcripts, alternates, trailer, image) take
their URLs from `feed.py`, which knows the layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import lxml.etree  # noqa: F401  # feedgen 1.0.0's util does `import lxml` then uses lxml.etree
from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.ext.podcast import PodcastExtension
from feedgen.ext.podcast_entry import PodcastEntryExtension
from feedgen.util import formatRFC2822, xml_elem

from grandirenhlm import namespace as ns
from grandirenhlm.media.types import AUDIO_MPEG
from grandirenhlm.model import Episode, Show
from grandirenhlm.namespace import PODCAST_NS, PSC_NS

ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"


def _explicit_true_false(parent) -> None:
    node = parent.find(f"{{{ITUNES_NS}}}explicit")
    if node is not None:
        node.text = "true" if node.text == "yes" else "false"
    # Apple documents only <itunes:block>Yes</itunes:block>; "no" is the same as leaving it out.
    block = parent.find(f"{{{ITUNES_NS}}}block")
    if block is not None:
        if block.text == "yes":
            block.text = "Yes"
        else:
            parent.remove(block)


class ItunesExtension(PodcastExtension):
    """feedgen's iTunes extension with `itunes:explicit` written as true/false."""

    def extend_rss(self, rss_feed):
        rss_feed = super().extend_rss(rss_feed)
        _explicit_true_false(rss_feed[0])
        return rss_feed


class ItunesEntryExtension(PodcastEntryExtension):
    """feedgen's item-level iTunes tags; `explicit` and `block` in Apple's current spelling.

    Written directly rather than fixed up after feedgen (a lookup per item costs on 10,000 items).
    """

    def __init__(self):
        super().__init__()
        self._explicit: bool | None = None
        self._block = False

    def explicit(self, value: bool) -> None:
        self._explicit = value

    def block(self, value: bool = True) -> None:
        self._block = value

    def extend_rss(self, entry):
        entry = super().extend_rss(entry)
        if self._explicit is not None:
            xml_elem(f"{{{ITUNES_NS}}}explicit", entry).text = "true" if self._explicit else "false"
        if self._block:
            xml_elem(f"{{{ITUNES_NS}}}block", entry).text = "Yes"
        return entry


@dataclass(frozen=True)
class PersonTag:
    name: str
    role: str = "host"
    group: str = "cast"
    href: str | None = None
    img: str | None = None

    def write(self, parent) -> None:
        node = xml_elem(f"{{{PODCAST_NS}}}person", parent)
        node.text = self.name
        node.attrib["role"] = self.role
        node.attrib["group"] = self.group
        if self.href:
            node.attrib["href"] = self.href
        if self.img:
            node.attrib["img"] = self.img


def _person(name: str, role: str, group: str, href: str | None, img: str | None) -> PersonTag:
    ns.person_name(name)
    group = ns.person_group(group)
    for url, what in ((href, "href"), (img, "img")):
        if url:
            ns.url(f"podcast:person {what}", url)
    return PersonTag(name, ns.taxonomy_name(role), group, href, img)


@dataclass(frozen=True)
class LocationTag:
    name: str
    geo: str | None = None
    osm: str | None = None
    country: str | None = None
    rel: str | None = None

    def write(self, parent) -> None:
        node = xml_elem(f"{{{PODCAST_NS}}}location", parent)
        node.text = self.name
        for key in ("rel", "geo", "osm", "country"):
            value = getattr(self, key)
            if value:
                node.attrib[key] = value


def _location(name, geo=None, osm=None, country=None, rel=None) -> LocationTag:
    ns.location_name(name)
    if rel is not None:
        ns.location_rel(rel)
    if geo is not None:
        ns.location_geo(geo)
    if osm is not None:
        ns.location_osm(osm)
    if country is not None:
        country = ns.location_country(country)
    return LocationTag(name, geo, osm, country, rel)


def _license(parent, value: tuple[str, str | None] | None) -> None:
    if value:
        node = xml_elem(f"{{{PODCAST_NS}}}license", parent)
        node.text = value[0]
        if value[1]:
            node.attrib["url"] = value[1]


class _SharedTags:
    """`podcast:person`, `podcast:location` and `podcast:license`, which the namespace allows on
    the channel and on items alike (each extension keeps `_persons`, `_location`, `_license`)."""

    _persons: list
    _location: object
    _license: tuple | None

    def person(
        self,
        name: str,
        role: str = ns.DEFAULT_PERSON_ROLE,
        group: str = ns.DEFAULT_PERSON_GROUP,
        href=None,
        img=None,
    ) -> None:
        self._persons.append(_person(name, role, group, href, img))

    def location(self, name: str, geo=None, osm=None, country=None, rel=None) -> None:
        self._location = _location(name, geo, osm, country, rel)

    def license(self, identifier: str, url: str | None = None) -> None:
        self._license = (ns.license_name(identifier), ns.url("podcast:license url", url) if url else None)

    def _shared_tags(self, value: Show | Episode) -> None:
        for p in value.persons:
            self.person(p.name, p.role, p.group, p.href, p.img)
        if value.location:
            loc = value.location
            self.location(loc.name, loc.geo, loc.osm, loc.country, loc.rel)
        if value.license:
            self.license(value.license, value.license_url)


class PodcastIndexExtension(_SharedTags, BaseExtension):
    """Channel-level `podcast:` tags, written in a fixed order so the bytes never move."""

    def __init__(self):
        self._guid: str | None = None
        self._locked: tuple[bool, str | None] | None = None
        self._medium: str | None = None
        self._persons: list[PersonTag] = []
        self._location: LocationTag | None = None
        self._license: tuple[str, str | None] | None = None
        self._funding: list[tuple[str, str]] = []
        self._images: list[dict[str, str]] = []
        self._trailers: list[dict[str, str]] = []
        self._update_frequency: tuple[str, str | None, bool] | None = None
        self._txt: list[tuple[str, str | None]] = []
        self._live_items: list[dict] = []
        self._podping = False

    def extend_ns(self):
        return {"podcast": PODCAST_NS, "psc": PSC_NS}

    def extend_rss(self, rss_feed):
        channel = rss_feed[0]
        if self._guid:
            xml_elem(f"{{{PODCAST_NS}}}guid", channel).text = self._guid
        if self._locked is not None:
            locked, owner = self._locked
            node = xml_elem(f"{{{PODCAST_NS}}}locked", channel)
            node.text = "yes" if locked else "no"
            if owner:
                node.attrib["owner"] = owner
        if self._medium:
            xml_elem(f"{{{PODCAST_NS}}}medium", channel).text = self._medium
        for person in self._persons:
            person.write(channel)
        if self._location:
            self._location.write(channel)
        _license(channel, self._license)
        for url, text in self._funding:
            node = xml_elem(f"{{{PODCAST_NS}}}funding", channel)
            node.attrib["url"] = url
            node.text = text
        for attrs in self._images:
            xml_elem(f"{{{PODCAST_NS}}}image", channel).attrib.update(attrs)
        for attrs in self._trailers:
            attrs = dict(attrs)
            node = xml_elem(f"{{{PODCAST_NS}}}trailer", channel)
            node.text = attrs.pop("title")
            node.attrib.update(attrs)
        if self._update_frequency:
            text, rrule, complete = self._update_frequency
            node = xml_elem(f"{{{PODCAST_NS}}}updateFrequency", channel)
            node.text = text
            if rrule:
                node.attrib["rrule"] = rrule
            if complete:
                node.attrib["complete"] = "true"
        for text, purpose in self._txt:
            node = xml_elem(f"{{{PODCAST_NS}}}txt", channel)
            node.text = text
            if purpose:
                node.attrib["purpose"] = purpose
        for live in self._live_items:
            self._write_live_item(channel, live)
        if self._podping:
            xml_elem(f"{{{PODCAST_NS}}}podping", channel).attrib["usesPodping"] = "true"
        return rss_feed

    def podping(self, uses: bool = True) -> None:
        """podcast:podping: the feed is announced through podping, so apps may poll it less."""
        self._podping = uses

    def show_tags(self, show: Show) -> None:
        """Every tag whose value the show definition holds (those pointing at files come from the feed)."""
        if show.podcast_guid:
            self.guid(show.podcast_guid)
        self.locked(True, show.owner.email)
        self.medium(show.medium)
        self._shared_tags(show)
        for f in show.funding:
            self.funding(f.url, f.text)
        if show.update_frequency:
            self.update_frequency(show.update_frequency, show.update_rrule, show.complete)
        for text, purpose in show.txt:
            self.txt(text, purpose)

    def guid(self, value: str) -> None:
        self._guid = ns.guid(value)

    def locked(self, locked: bool, owner: str | None = None) -> None:
        self._locked = (locked, owner)

    def medium(self, value: str) -> None:
        self._medium = ns.medium(value)

    def funding(self, url: str, text: str) -> None:
        self._funding.append((ns.url("podcast:funding url", url), ns.funding_text(text)))

    def image(self, href: str, width: int | None = None, purpose: str | None = None, alt=None) -> None:
        attrs = {"href": ns.url("podcast:image href", href)}
        if alt:
            attrs["alt"] = alt
        if width:
            attrs["width"] = str(width)
        if purpose:
            attrs["purpose"] = purpose
        self._images.append(attrs)

    def trailer(self, url: str, title: str, pub_date: datetime, length: int, mime_type: str, season=None):
        attrs = {
            "title": ns.text("podcast:trailer", title),
            "url": ns.url("podcast:trailer url", url),
            "pubdate": formatRFC2822(pub_date),
            "length": str(length),
            "type": mime_type,
        }
        if season is not None:
            attrs["season"] = str(season)
        self._trailers.append(attrs)

    def update_frequency(self, text: str, rrule: str | None = None, complete: bool = False) -> None:
        self._update_frequency = (ns.update_frequency(text), rrule, complete)

    def txt(self, text: str, purpose: str | None = None) -> None:
        if purpose is not None:
            ns.txt_purpose(purpose)
        self._txt.append((ns.txt_text(text), purpose))

    def live_item(
        self,
        status: str,
        start: datetime,
        end: datetime,
        guid: str,
        title: str,
        description: str,
        link: str,
        url: str | None = None,
        mime_type: str = AUDIO_MPEG.mime_type,
    ) -> None:
        """A `podcast:liveItem`: an episode announced before it airs (pending, live or ended)."""
        ns.live_status(status)
        ns.live_times(start, end)
        self._live_items.append(
            dict(status=status, start=start, end=end, guid=guid, title=title, description=description,
                 link=link, url=url, mime_type=mime_type)
        )  # fmt: skip

    @staticmethod
    def _write_live_item(channel, live: dict) -> None:
        node = xml_elem(f"{{{PODCAST_NS}}}liveItem", channel)
        node.attrib["status"] = live["status"]
        node.attrib["start"] = live["start"].isoformat()
        node.attrib["end"] = live["end"].isoformat()
        xml_elem("title", node).text = live["title"]
        guid = xml_elem("guid", node)
        guid.text = live["guid"]
        guid.attrib["isPermaLink"] = "false"
        xml_elem("link", node).text = live["link"]
        xml_elem("description", node).text = live["description"]
        if live["url"]:
            enclosure = xml_elem("enclosure", node)
            enclosure.attrib.update(dict(url=live["url"], type=live["mime_type"], length="0"))
            link = xml_elem(f"{{{PODCAST_NS}}}contentLink", node)
            link.attrib["href"] = live["url"]
            link.text = "Suivre en direct"


class PodcastIndexEntryExtension(_SharedTags, BaseEntryExtension):
    """Item-level `podcast:` tags, and the Podlove Simple Chapters (`psc:`) that mirror podcast:chapters.

    One extension for both namespaces: feedgen registers every extension on every item, which
    costs on a feed of 10,000 items.
    """

    def __init__(self):
        self._season: int | None = None
        self._episode: int | None = None
        self._transcripts: list[dict[str, str]] = []
        self._chapters: str | None = None
        self._persons: list[PersonTag] = []
        self._location: LocationTag | None = None
        self._license: tuple[str, str | None] | None = None
        self._alternates: list[dict] = []
        self._psc: list[tuple[str, str]] = []

    def extend_rss(self, entry):
        if self._season is not None:
            xml_elem(f"{{{PODCAST_NS}}}season", entry).text = str(self._season)
        if self._episode is not None:
            xml_elem(f"{{{PODCAST_NS}}}episode", entry).text = str(self._episode)
        if self._chapters:
            node = xml_elem(f"{{{PODCAST_NS}}}chapters", entry)
            node.attrib.update(dict(url=self._chapters, type=ns.JSON_CHAPTERS_MIME))
        for attrs in self._transcripts:
            xml_elem(f"{{{PODCAST_NS}}}transcript", entry).attrib.update(attrs)
        for person in self._persons:
            person.write(entry)
        if self._location:
            self._location.write(entry)
        _license(entry, self._license)
        for alt in self._alternates:
            node = xml_elem(f"{{{PODCAST_NS}}}alternateEnclosure", entry)
            node.attrib.update(alt["attrs"])
            xml_elem(f"{{{PODCAST_NS}}}source", node).attrib["uri"] = alt["uri"]
            integrity = xml_elem(f"{{{PODCAST_NS}}}integrity", node)
            integrity.attrib.update(dict(type="sri", value=alt["integrity"]))
        if self._psc:
            node = xml_elem(f"{{{PSC_NS}}}chapters", entry)
            node.attrib["version"] = "1.2"
            for start, title in self._psc:
                chapter = xml_elem(f"{{{PSC_NS}}}chapter", node)
                chapter.attrib.update(dict(start=start, title=title))
        return entry

    def psc_chapter(self, start: str, title: str) -> None:
        """One Podlove Simple Chapter (https://podlove.org/simple-chapters/): `start` as Normal Play
        Time (HH:MM:SS.mmm), its title."""
        self._psc.append((start, title))

    def episode_tags(self, episode: Episode) -> None:
        """Every tag whose value the episode record holds (those pointing at files come from the feed)."""
        if episode.number is not None:
            self.episode(episode.number)
        if episode.season is not None:
            self.season(episode.season)
        self._shared_tags(episode)

    def season(self, number: int) -> None:
        self._season = ns.season(number)

    def episode(self, number: int) -> None:
        self._episode = ns.episode(number)

    def transcript(self, url: str, mime_type: str, language: str | None = None, captions: bool = False):
        attrs = {"url": ns.url("podcast:transcript url", url), "type": ns.transcript_type(mime_type)}
        if language:
            attrs["language"] = language
        if captions:
            attrs["rel"] = "captions"
        self._transcripts.append(attrs)

    def chapters(self, url: str) -> None:
        self._chapters = ns.url("podcast:chapters url", url)

    def alternate_enclosure(
        self,
        url: str,
        mime_type: str,
        length: int,
        sha256: str,
        default: bool = False,
        title: str | None = None,
        bitrate: int | None = None,
        height: int | None = None,
    ) -> None:
        """`podcast:alternateEnclosure` with one `podcast:source` and its SRI `podcast:integrity`."""
        sri = ns.integrity(sha256)
        attrs = {"type": mime_type, "length": str(int(length))}
        if bitrate:
            attrs["bitrate"] = str(bitrate)
        if height:
            attrs["height"] = str(height)
        if title:
            attrs["title"] = ns.alternate_title(title)
        if default:
            attrs["default"] = "true"
        self._alternates.append({"attrs": attrs, "uri": ns.url("podcast:source uri", url), "integrity": sri})


ATOM_NS = "http://www.w3.org/2005/Atom"


class AtomLinksExtension(BaseExtension):
    """`atom:link`s feedgen does not write on an RSS channel (it writes only the self link): RFC 5005
    paged-feed links (rel first, previous, next, last) and WebSub hubs (rel hub)."""

    RELS = ("hub", "first", "previous", "next", "last")

    def __init__(self):
        self._links: list[tuple[str, str]] = []

    def extend_ns(self):
        return {"atom": ATOM_NS}

    def extend_rss(self, rss_feed):
        channel = rss_feed[0]
        for rel, href in self._links:
            node = xml_elem(f"{{{ATOM_NS}}}link", channel)
            node.attrib.update(dict(href=href, rel=rel))
            if rel != "hub":  # the hub is not a feed
                node.attrib["type"] = "application/rss+xml"
        return rss_feed

    def link(self, rel: str, href: str) -> None:
        if rel not in self.RELS:
            raise ValueError(f"paged feed link rel must be one of {', '.join(self.RELS)}, got {rel!r}")
        self._links.append((rel, ns.url("atom:link href", href)))
