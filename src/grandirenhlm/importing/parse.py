"""A podcast RSS feed (one page of it) -> plain values, with lxml: nothing fetched, nothing written.

lxml rather than feedparser: the feed writer already depends on it, and import needs what
feedparser normalises away (a guid's exact string and its `isPermaLink`, every `podcast:` tag with
its attributes, the `atom:link` relations of RFC 5005 paging). The parser resolves no entity and
loads nothing from the network (no DTD, no XInclude): a hostile feed cannot make it read a file or
expand a billion laughs.

Texts are kept as the source wrote them (HTML included); `convert.py` turns them into ours.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from lxml import etree

from grandirenhlm.errors import GrandirError
from grandirenhlm.namespace import PODCAST_NS, PSC_NS

ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
ATOM_NS = "http://www.w3.org/2005/Atom"
CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
GOOGLEPLAY_NS = "http://www.google.com/schemas/play-podcasts/1.0"
# Feeds written before the namespace settled use its early address; apps read both.
PODCAST_NS_OLD = "https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md"

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_blank_text=False
)


class FeedError(GrandirError):
    """A feed page that is not a podcast RSS feed."""


@dataclass(frozen=True)
class Enclosure:
    url: str
    length: int | None
    mime_type: str | None


@dataclass(frozen=True)
class Link:
    """A link to a file the item points at: podcast:chapters, podcast:transcript."""

    url: str
    mime_type: str | None
    language: str | None = None
    rel: str | None = None


@dataclass(frozen=True)
class SourcePerson:
    name: str
    role: str | None
    group: str | None
    href: str | None
    img: str | None


@dataclass(frozen=True)
class SourceLocation:
    name: str
    geo: str | None
    osm: str | None
    country: str | None
    rel: str | None


@dataclass(frozen=True)
class SourceItem:
    guid: str | None
    guid_is_permalink: bool
    title: str
    pub_date: datetime | None
    pub_date_text: str | None  # what the feed said, for the report when it does not parse
    description_html: str
    enclosure: Enclosure | None
    duration_text: str | None  # itunes:duration as written
    episode: str | None
    season: str | None
    episode_type: str | None
    explicit: bool | None
    block: bool
    image: str | None
    chapters: Link | None
    psc_chapters: tuple[tuple[str, str], ...]  # (start NPT, title)
    transcripts: tuple[Link, ...]
    persons: tuple[SourcePerson, ...]
    location: SourceLocation | None
    license: str | None
    license_url: str | None
    alternates: tuple[Enclosure, ...]


@dataclass(frozen=True)
class SourcePage:
    """One page of a feed: the channel's values (the first page's are the show's) and its items."""

    title: str
    description_html: str
    language: str | None
    author: str | None
    owner_name: str | None
    owner_email: str | None
    managing_editor: str | None
    categories: tuple[tuple[str, str | None], ...]  # (category, subcategory)
    explicit: bool | None
    show_type: str | None
    complete: bool
    image: str | None
    link: str | None
    copyright: str | None
    subtitle: str | None
    podcast_guid: str | None
    locked: bool
    locked_owner: str | None
    medium: str | None
    license: str | None
    license_url: str | None
    persons: tuple[SourcePerson, ...]
    funding: tuple[tuple[str, str], ...]
    location: SourceLocation | None
    new_feed_url: str | None
    update_frequency: str | None
    update_rrule: str | None
    self_url: str | None
    next_url: str | None
    items: tuple[SourceItem, ...] = field(default=())


class _Children:
    """An element's children by tag, gathered in one pass: lxml makes a Python object for every child
    at each scan, and a channel or an item is asked for about twenty tags (a 300-item page took 55 ms,
    most of it scanning the same children again)."""

    def __init__(self, element) -> None:
        self.by_tag: dict[str, list[tuple[int, Any]]] = {}
        for n, child in enumerate(element):
            if isinstance(child.tag, str):  # comments and processing instructions are not children here
                self.by_tag.setdefault(child.tag, []).append((n, child))

    def find(self, names: tuple[str, ...]) -> list:
        found = [pair for name in dict.fromkeys(names) for pair in self.by_tag.get(name, ())]
        if len(names) > 1:
            found.sort(key=lambda pair: pair[0])  # document order across the names
        return [child for _, child in found]


def _children(parent, *names: str) -> list:
    """Children matching any of `names` (Clark notation `{ns}tag`), in document order; `parent` is an
    element or its `_Children`."""
    if isinstance(parent, _Children):
        return parent.find(names)
    wanted = set(names)
    return [c for c in parent if isinstance(c.tag, str) and c.tag in wanted]


def _podcast(tag: str) -> tuple[str, str]:
    return f"{{{PODCAST_NS}}}{tag}", f"{{{PODCAST_NS_OLD}}}{tag}"


def _first(parent, *names: str):
    found = _children(parent, *names)
    return found[0] if found else None


def _text(parent, *names: str) -> str | None:
    node = _first(parent, *names)
    if node is None:
        return None
    value = "".join(node.itertext()).strip()
    return value or None


def _yes(value: str | None) -> bool | None:
    if value is None:
        return None
    value = value.strip().lower()
    if value in ("yes", "true", "explicit"):
        return True
    if value in ("no", "false", "clean"):
        return False
    return None


def parse_date(text: str | None) -> datetime | None:
    """An RFC 822 date (RSS pubDate), also the ISO 8601 some hosts write; naive means UTC."""
    if not text:
        return None
    try:
        moment = parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError):
        try:
            moment = datetime.fromisoformat(text.strip())
        except ValueError:
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _persons(parent) -> tuple[SourcePerson, ...]:
    out = []
    for node in _children(parent, *_podcast("person")):
        name = "".join(node.itertext()).strip()
        if name:
            out.append(
                SourcePerson(name, node.get("role"), node.get("group"), node.get("href"), node.get("img"))
            )
    return tuple(out)


def _location(parent) -> SourceLocation | None:
    node = _first(parent, *_podcast("location"))
    if node is None:
        return None
    name = "".join(node.itertext()).strip()
    if not name:
        return None
    return SourceLocation(name, node.get("geo"), node.get("osm"), node.get("country"), node.get("rel"))


def _license(parent) -> tuple[str | None, str | None]:
    node = _first(parent, *_podcast("license"))
    if node is None:
        return None, None
    return ("".join(node.itertext()).strip() or None), node.get("url")


def _enclosure(node) -> Enclosure | None:
    url = (node.get("url") or "").strip()
    if not url:
        return None
    return Enclosure(url, _int((node.get("length") or "").strip() or None), node.get("type"))


def _item(element) -> SourceItem:
    node = _Children(element)
    guid_node = _first(node, "guid")
    guid = (
        guid_node.text.strip()
        if guid_node is not None and guid_node.text and guid_node.text.strip()
        else None
    )
    # RSS 2.0: isPermaLink defaults to true when the attribute is absent.
    permalink = guid is not None and (guid_node.get("isPermaLink") or "true").strip().lower() == "true"
    enclosure_node = _first(node, "enclosure")
    chapters_node = _first(node, *_podcast("chapters"))
    psc = _first(node, f"{{{PSC_NS}}}chapters")
    itunes_image = _first(node, f"{{{ITUNES_NS}}}image")
    license_name, license_url = _license(node)
    alternates = []
    for alt in _children(node, *_podcast("alternateEnclosure")):
        for source in _children(alt, *_podcast("source")):
            uri = (source.get("uri") or "").strip()
            if uri:
                alternates.append(Enclosure(uri, _int(alt.get("length")), alt.get("type")))
                break
    pub_text = _text(node, "pubDate")
    return SourceItem(
        guid=guid,
        guid_is_permalink=permalink,
        title=_text(node, "title") or _text(node, f"{{{ITUNES_NS}}}title") or "",
        pub_date=parse_date(pub_text),
        pub_date_text=pub_text,
        description_html=(
            _text(node, f"{{{CONTENT_NS}}}encoded")
            or _text(node, "description")
            or _text(node, f"{{{ITUNES_NS}}}summary")
            or ""
        ),
        enclosure=_enclosure(enclosure_node) if enclosure_node is not None else None,
        duration_text=_text(node, f"{{{ITUNES_NS}}}duration"),
        episode=_text(node, f"{{{ITUNES_NS}}}episode"),
        season=_text(node, f"{{{ITUNES_NS}}}season"),
        episode_type=(_text(node, f"{{{ITUNES_NS}}}episodeType") or "").lower() or None,
        explicit=_yes(_text(node, f"{{{ITUNES_NS}}}explicit")),
        block=bool(_yes(_text(node, f"{{{ITUNES_NS}}}block"))),
        image=itunes_image.get("href") if itunes_image is not None else None,
        chapters=(
            Link(chapters_node.get("url", "").strip(), chapters_node.get("type"))
            if chapters_node is not None and chapters_node.get("url")
            else None
        ),
        psc_chapters=tuple((c.get("start", ""), c.get("title", "")) for c in psc.iter(f"{{{PSC_NS}}}chapter"))
        if psc is not None
        else (),
        transcripts=tuple(
            Link(t.get("url", "").strip(), t.get("type"), t.get("language"), t.get("rel"))
            for t in _children(node, *_podcast("transcript"))
            if t.get("url")
        ),
        persons=_persons(node),
        location=_location(node),
        license=license_name,
        license_url=license_url,
        alternates=tuple(alternates),
    )


def parse_page(data: bytes, where: str) -> SourcePage:
    """One page of a podcast RSS feed; `FeedError` naming `where` if it is not one."""
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise FeedError(f"{where}: not an XML feed: {exc.msg or exc}") from exc
    if root is None or root.tag != "rss":
        tag = etree.QName(root).localname if root is not None else "nothing"
        raise FeedError(f"{where}: not an RSS feed (the document is <{tag}>)")
    channel_element = _first(root, "channel")
    if channel_element is None:
        raise FeedError(f"{where}: an RSS document without <channel>")
    channel = _Children(channel_element)
    owner = _first(channel, f"{{{ITUNES_NS}}}owner")
    categories = []
    for cat in _children(channel, f"{{{ITUNES_NS}}}category"):
        sub = _first(cat, f"{{{ITUNES_NS}}}category")
        if cat.get("text"):
            categories.append((cat.get("text"), sub.get("text") if sub is not None else None))
    image = _first(channel, f"{{{ITUNES_NS}}}image")
    image_url = image.get("href") if image is not None else None
    if not image_url:
        rss_image = _first(channel, "image")
        image_url = _text(rss_image, "url") if rss_image is not None else None
    locked = _first(channel, *_podcast("locked"))
    links: dict[str, str] = {}
    for link in _children(channel, f"{{{ATOM_NS}}}link"):
        rel, href = link.get("rel"), (link.get("href") or "").strip()
        if rel and href:
            links.setdefault(rel, href)
    license_name, license_url = _license(channel)
    frequency = _first(channel, *_podcast("updateFrequency"))
    return SourcePage(
        title=_text(channel, "title") or "",
        description_html=(
            _text(channel, "description")
            or _text(channel, f"{{{ITUNES_NS}}}summary")
            or _text(channel, f"{{{GOOGLEPLAY_NS}}}description")
            or ""
        ),
        language=_text(channel, "language"),
        author=_text(channel, f"{{{ITUNES_NS}}}author") or _text(channel, f"{{{GOOGLEPLAY_NS}}}author"),
        owner_name=_text(owner, f"{{{ITUNES_NS}}}name") if owner is not None else None,
        owner_email=(
            _text(owner, f"{{{ITUNES_NS}}}email")
            if owner is not None
            else _text(channel, f"{{{GOOGLEPLAY_NS}}}email")
        ),
        managing_editor=_text(channel, "managingEditor"),
        categories=tuple(categories),
        explicit=_yes(_text(channel, f"{{{ITUNES_NS}}}explicit")),
        show_type=(_text(channel, f"{{{ITUNES_NS}}}type") or "").lower() or None,
        complete=bool(_yes(_text(channel, f"{{{ITUNES_NS}}}complete"))),
        image=image_url,
        link=_text(channel, "link"),
        copyright=_text(channel, "copyright"),
        subtitle=_text(channel, f"{{{ITUNES_NS}}}subtitle"),
        podcast_guid=_text(channel, *_podcast("guid")),
        locked=bool(_yes("".join(locked.itertext()) if locked is not None else None)),
        locked_owner=locked.get("owner") if locked is not None else None,
        medium=_text(channel, *_podcast("medium")),
        license=license_name,
        license_url=license_url,
        persons=_persons(channel),
        funding=tuple(
            (f.get("url", "").strip(), "".join(f.itertext()).strip())
            for f in _children(channel, *_podcast("funding"))
            if f.get("url")
        ),
        location=_location(channel),
        new_feed_url=_text(channel, f"{{{ITUNES_NS}}}new-feed-url"),
        update_frequency=_text(channel, *_podcast("updateFrequency")),
        update_rrule=frequency.get("rrule") if frequency is not None else None,
        self_url=links.get("self"),
        next_url=links.get("next"),
        items=tuple(_item(node) for node in _children(channel, "item")),
    )
