"""Catalog -> RSS bytes with feedgen, carrying what Apple Podcasts, PSP-1 and Podcasting 2.0 ask for.

Deterministic: the same catalog gives the same bytes. `lastBuildDate` is the newest published or
live item's date, absent when there is none: never the clock.

Rendered items are cached per feed, in memory (keyed by the frozen `Episode` value) and, when the
build gives a `store` folder (`.grandirenhlm/feeds/`), on disk for the next process (keyed by the
episode record's path, size and modification time, like the ingest cache, and by a fingerprint of
this code): a rebuild after one episode changed renders one item with feedgen, not all of them.
The cache only skips work: a feed rendered with or without it has the same bytes (tested).

A show with more items than its `page_size` gets RFC 5005 paged feeds
(https://www.rfc-editor.org/rfc/rfc5005#section-3): `feed.xml` holds the newest items and
`atom:link` rel first/next/previous/last lead through `feed-2.xml`, `feed-3.xml`, ...
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import html
import io
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

import nh3
from feedgen.feed import FeedGenerator
from feedgen.version import version_str as feedgen_version

from grandirenhlm import cachekey, layout
from grandirenhlm import chapters as chaps
from grandirenhlm.artifact import Written
from grandirenhlm.errors import ConfigError
from grandirenhlm.files import atomic_path, display_path
from grandirenhlm.model import Episode, Show
from grandirenhlm.podcast_namespace import (
    AtomLinksExtension,
    ItunesEntryExtension,
    ItunesExtension,
    PodcastIndexEntryExtension,
    PodcastIndexExtension,
)
from grandirenhlm.transcripts import FORMATS

# Apple: descriptions may use <p>, <ol>, <ul>, <li> and <a> in CDATA, at most 4000 bytes
# (https://podcasters.apple.com/support/823-podcast-requirements).
APPLE_TAGS = {"p", "ol", "ul", "li", "a"}
MAX_DESCRIPTION_BYTES = 4000


# One sanitiser, built once: `nh3.clean` builds ammonia's from its arguments at every call (at
# 10,000 episodes, two thirds of its time went to that).
_APPLE = nh3.Cleaner(
    tags=APPLE_TAGS, attributes={"a": {"href"}}, url_schemes={"http", "https", "mailto"}, link_rel=None
)


def apple_html(html: str) -> str:
    """HTML reduced to the tags Apple allows (nh3, the ammonia sanitiser); links keep only href."""
    return _APPLE.clean(html)


_URL = re.compile(r"\bhttps?://[^\s<>\"«»]+[^\s<>\"«».,;:!?)»]")


def description_html(text: str) -> str:
    """Plain text -> Apple-safe HTML: one <p> per line (Apple keeps no <br>), the text escaped,
    web addresses made links. HTML with links goes through `apple_html` (nh3), which enforces the
    allowed tags and URL schemes; escaped text in <p> is already within Apple's rules."""
    paragraphs = []
    linked = False
    for line in text.splitlines():
        line = html.escape(line.strip(), quote=False)
        if not line:
            continue
        if "http" in line:
            line, count = _URL.subn(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', line)
            linked = linked or count > 0
        paragraphs.append(f"<p>{line}</p>")
    out = "".join(paragraphs)
    return apple_html(out) if linked else out


def episode_description(episode: Episode, chapters: tuple | None = None) -> str:
    """The item's plain-text description: the record's text, then its chapter timestamps."""
    if chapters is None:
        chapters = chaps.episode_chapters(episode)
    return chaps.with_timestamps(episode.description or episode.title, chapters)


# ([notify] websub_hubs, whether podping is used): what a feed says about its announcements
Announce = tuple[tuple[str, ...], bool]
NO_ANNOUNCE: Announce = ((), False)


@dataclass(frozen=True)
class FeedPage:
    key: str
    data: bytes | Written  # Written: in a file, by a build's helper (`build._taken_feed`)
    episodes: tuple[Episode, ...]


def render_feed(
    show: Show,
    episodes: Sequence[Episode],
    base_url: str,
    cover_key: str,
    live_items: Sequence[Episode] = (),
) -> bytes:
    """The RSS 2.0 feed of one show with every episode, newest first, absolute ASCII-only URLs."""
    return _render(show, tuple(episodes), base_url, cover_key, live_items, None)


def render_feed_pages(
    show: Show,
    episodes: Sequence[Episode],
    base_url: str,
    cover_key: str,
    live_items: Sequence[Episode] = (),
    store: Path | None = None,
    announce: Announce = NO_ANNOUNCE,
    digests: Mapping[str, str] | None = None,
) -> list[FeedPage]:
    """`feed.xml`, plus RFC 5005 pages when the show has more episodes than its `page_size`.

    `store`: a folder where rendered items are kept for the next build (see the module docstring);
    `announce`: the WebSub hubs and podping the feed says it is announced through (`[notify]`);
    `digests`: the SHA-256 of each record's bytes as the episodes were loaded from them
    (`Catalog.record_digests`), which the store keys items by; a record missing there is read."""
    episodes = tuple(episodes)
    size = show.page_size
    if not size or len(episodes) <= size:
        data = _render(
            show,
            episodes,
            base_url,
            cover_key,
            live_items,
            None,
            store=store,
            announce=announce,
            digests=digests,
        )
        return [FeedPage(layout.feed(show), data, episodes)]
    newest_first = episodes[::-1]
    chunks = [newest_first[i : i + size][::-1] for i in range(0, len(newest_first), size)]
    pages = []
    for n, chunk in enumerate(chunks, start=1):
        paging = (n, len(chunks))
        live = live_items if n == 1 else ()
        data = _render(
            show,
            chunk,
            base_url,
            cover_key,
            live,
            paging,
            episodes,
            store=store,
            announce=announce,
            digests=digests,
        )
        pages.append(FeedPage(layout.feed_page(show, n), data, chunk))
    return pages


class _Key:
    """An episode as a cache key, its hash computed once and from a few fields (a frozen dataclass
    rehashes every field, Paths included, on every lookup); equality still compares everything."""

    __slots__ = ("episode", "hash")

    def __init__(self, episode: Episode):
        self.episode = episode
        self.hash = hash((episode.guid, episode.title, episode.pub_date, episode.description))

    def __hash__(self) -> int:
        return self.hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Key) and (self.episode is other.episode or self.episode == other.episode)


# feed page URL -> (what else the items depend on, {episode: rendered <item> bytes})
_ITEM_CACHE: dict[str, tuple[tuple, dict[_Key, bytes | memoryview]]] = {}
_ITEM_START = b"    <item>\n"  # pretty-printed items; text and CDATA never hold it (escaped, sanitised)
_CHANNEL_END = b"  </channel>\n"
_BATCH = 200  # items rendered per feedgen tree (see `_render`)


def clear_cache() -> None:
    _ITEM_CACHE.clear()


def _code_fingerprint() -> str:
    """What rendered items depend on besides the records: this package's feed code and feedgen."""
    global _FINGERPRINT
    if _FINGERPRINT is None:
        digest = hashlib.sha256(f"feedgen {feedgen_version}".encode())
        here = Path(__file__).resolve().parent
        for name in (
            "feed.py",
            "podcast_namespace.py",
            "namespace.py",
            "chapters.py",
            "transcripts.py",
            "layout.py",
            "model.py",
        ):
            digest.update((here / name).read_bytes())
        _FINGERPRINT = digest.hexdigest()
    return _FINGERPRINT


_FINGERPRINT: str | None = None
_UNKNOWN = object()


def _record_stamp(episode: Episode, digests: Mapping[str, str] | None = None) -> str | None:
    """An episode record's identity on disk: its path and the SHA-256 of its bytes (None if
    unreadable). Content, not size and time, which an edit can keep (a checkout, an editor). The
    bytes the episode was loaded from when `digests` has them: a record edited since (during the
    build) must not have this item, made from its old text, filed under its new one."""
    source = str(episode.source)
    digest = digests.get(source) if digests is not None else None
    if digest is None:
        try:
            with open(source, "rb") as fh:
                digest = hashlib.file_digest(fh, "sha256").hexdigest()
        except OSError:
            return None
    # the dates too: a record without offsets reads differently under another project time zone
    return f"{source}|{digest}|{episode.pub_date.isoformat()}"


def _store_file(store: Path, page_url: str, context: tuple) -> Path:
    """One file per feed page and base URL; it says which code wrote it (`_code_fingerprint`)."""
    return store / (hashlib.sha256(repr((page_url, context)).encode("utf-8")).hexdigest()[:24] + ".items")


# The store is read and rewritten by every build that renders anything, so its format is the
# cheapest to load: length-prefixed byte strings (stamp, item, MAC, stamp, item, MAC...) after a
# header. JSON cost more than the rendering it saved (escaping 5 MB of XML both ways for 10,000
# items), and pickle would run code from a file that anyone could drop into the project folder.
# Each entry carries this user's MAC (`cachekey`): a store committed with the project (a pull
# request) cannot put its own items in the feed.
_STORE_MAGIC = b"grandirenhlm feed items 2\n"
_LENGTH = struct.Struct("<I")
_MAC_BYTES = 32


def _item_mac(stamp: bytes, item: bytes) -> bytes:
    return cachekey.mac(_LENGTH.pack(len(stamp)) + stamp + item)


def _read_store(path: Path) -> tuple[dict[str, bytes | memoryview], int]:
    """The stored items by record stamp, and how many entries the file holds (a later entry for the
    same stamp replaces an earlier one: changes are appended, see `_save_store`). Each item is a
    view of the file's bytes, not a copy (10,000 items are the feed's size again, held while the
    feed is joined from them: a build after one edit peaked there)."""
    try:
        data = memoryview(path.read_bytes())
    except OSError:
        return {}, 0  # no cache yet: render everything
    header = _STORE_MAGIC + _code_fingerprint().encode("ascii") + b"\n"
    if data[: len(header)] != header:
        return {}, 0  # written by other code, whose items may differ, or not ours at all
    items: dict[str, bytes | memoryview] = {}
    pos, end, entries = len(header), len(data), 0
    try:
        while pos < end:
            (n,) = _LENGTH.unpack_from(data, pos)
            raw_stamp = bytes(data[pos + 4 : pos + 4 + n])
            pos += 4 + n
            (n,) = _LENGTH.unpack_from(data, pos)
            item = data[pos + 4 : pos + 4 + n]
            pos += 4 + n
            mac = data[pos : pos + _MAC_BYTES]
            pos += _MAC_BYTES
            if not hmac.compare_digest(mac, _item_mac(raw_stamp, item)):  # views: compared as bytes
                return {}, 0  # not this user's (or cut short): render everything
            items[raw_stamp.decode("utf-8")] = item
            entries += 1
    except (struct.error, UnicodeDecodeError):
        return {}, 0  # damaged (an append cut short): render everything, the store is rewritten
    return (items, entries) if pos == end else ({}, 0)


def _write_entries(fh, items: dict[str, bytes | memoryview]) -> None:
    for stamp, item in items.items():
        key = stamp.encode("utf-8")
        fh.write(_LENGTH.pack(len(key)) + key + _LENGTH.pack(len(item)) + item + _item_mac(key, item))


def _save_store(
    path: Path, kept: dict[str, bytes | memoryview], new: dict[str, bytes | memoryview], entries: int
) -> None:
    """Append the new items while the file holds few stale entries (a one-episode edit writes one
    item, not 10,000); otherwise rewrite it with only the kept ones, atomically, an entry at a time
    (the whole store as one string was, with its copies, a cold build's peak)."""
    with contextlib.suppress(OSError):  # a cache: a full disk costs the next build a render
        if entries and entries + len(new) <= 2 * len(kept):
            buffer = io.BytesIO()
            _write_entries(buffer, new)
            with path.open("ab") as fh:
                fh.write(buffer.getvalue())  # one write: a reader sees all of it, or a short file it ignores
            return
        with atomic_path(path, durable=False) as tmp, tmp.open("wb") as fh:  # never half a cache read back
            fh.write(_STORE_MAGIC + _code_fingerprint().encode("ascii") + b"\n")
            _write_entries(fh, kept)


def _render(
    show: Show,
    episodes: tuple[Episode, ...],
    base_url: str,
    cover_key: str,
    live_items: Sequence[Episode],
    paging: tuple[int, int] | None,
    all_episodes: tuple[Episode, ...] | None = None,
    store: Path | None = None,
    announce: Announce = NO_ANNOUNCE,
    digests: Mapping[str, str] | None = None,
) -> bytes:
    page_key = layout.feed_page(show, paging[0]) if paging else layout.feed(show)
    page_url = layout.absolute(base_url, page_key)
    context = (base_url, show.language, show.slug, cover_key)  # what items depend on besides the episode
    cached_context, cache = _ITEM_CACHE.get(page_url, ((), {}))
    if cached_context != context:
        cache = {}
    keys = [_Key(e) for e in episodes]
    get = cache.get
    items = {k: get(k) for k in keys}
    missing = [k for k, item in items.items() if item is None]
    stamps: dict[_Key, str | None] = {}
    if store is not None and missing:  # a new process: the previous build's items, from disk
        stored, entries = _read_store(_store_file(store, page_url, context))
        found = stored.get
        still_missing = []
        for key in missing:
            stamp = stamps[key] = _record_stamp(key.episode, digests)
            item = found(stamp) if stamp else None
            if item is None:
                still_missing.append(key)
            else:
                items[key] = item
        disk_changed = bool(still_missing) or len(stored) != len(keys)
        missing = still_missing
    else:
        disk_changed, entries = False, 0

    try:
        fg = _channel(
            show, all_episodes or episodes, episodes, base_url, cover_key, live_items, paging, announce
        )
    except ValueError as exc:  # a value the podcast: namespace refuses (the linter names it too)
        raise ConfigError(f"{display_path(show.source)}: {exc}") from exc
    # The missing items are rendered a few hundred at a time, each batch serialised with the channel
    # and cut out of it, then dropped: feedgen's objects and lxml's tree of the whole archive are
    # never in memory at once (they were two thirds of a cold build's peak at 10,000 episodes).
    # An item's bytes do not depend on the items beside it (tested against one batch).
    head = tail = b""
    for start in range(0, max(len(missing), 1), _BATCH):
        batch = missing[start : start + _BATCH]
        fg.entry([], replace=True)
        # feedgen writes entries in reverse order of addition: add oldest first, newest ends on top.
        for key in batch:
            try:
                _add_entry(fg, show, key.episode, base_url, cover_key)
            except ValueError as exc:
                raise ConfigError(f"{display_path(key.episode.source)}: {exc}") from exc
        xml = _with_stylesheet(fg.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True), page_key)
        end = xml.rindex(_CHANNEL_END)
        first = xml.find(_ITEM_START, 0, end)
        if start == 0:
            head, tail = (xml[:end] if first < 0 else xml[:first]), xml[end:]
        if batch:
            rendered = xml[first + len(_ITEM_START) : end].split(_ITEM_START)
            for key, item in zip(reversed(batch), rendered, strict=True):
                items[key] = _ITEM_START + item
    del fg, xml  # the last batch's objects and text, before the store is written
    _ITEM_CACHE[page_url] = (context, items)
    if store is not None and disk_changed:
        kept, new = {}, {}
        for k, item in items.items():
            stamp = stamps.get(k, _UNKNOWN)
            if stamp is _UNKNOWN:
                stamp = _record_stamp(k.episode, digests)
            if stamp:
                kept[stamp] = item
        for k in missing:
            if stamps.get(k):
                new[stamps[k]] = items[k]
        _save_store(_store_file(store, page_url, context), kept, new, entries)
    return b"".join([head, *(items[k] for k in reversed(keys)), tail])  # one copy of the feed, not two


def _with_stylesheet(xml: bytes, page_key: str) -> bytes:
    """The feed with `<?xml-stylesheet?>` after its XML declaration: a browser that applies XSLT shows
    it as a French page (layout.FEED_STYLESHEET, same origin by a relative link); apps ignore it."""
    end = xml.index(b"?>") + 2
    href = layout.relative(page_key, layout.FEED_STYLESHEET).encode()
    return xml[:end] + b'\n<?xml-stylesheet type="text/xsl" href="' + href + b'"?>' + xml[end:]


def _channel(
    show: Show,
    all_episodes: tuple[Episode, ...],
    episodes: tuple[Episode, ...],
    base_url: str,
    cover_key: str,
    live_items: Sequence[Episode],
    paging: tuple[int, int] | None,
    announce: Announce = NO_ANNOUNCE,
) -> FeedGenerator:
    fg = FeedGenerator()
    fg.register_extension("itunes", ItunesExtension, ItunesEntryExtension, atom=False)
    fg.register_extension("podcast", PodcastIndexExtension, PodcastIndexEntryExtension, atom=False)

    feed_url = layout.absolute(base_url, layout.feed(show))
    self_url = layout.absolute(base_url, layout.feed_page(show, paging[0])) if paging else feed_url
    page_url = show.website or layout.absolute(base_url, layout.show_page(show))
    cover_url = layout.absolute(base_url, cover_key)

    fg.title(show.title)
    # feedgen writes the *last* link as RSS <link>: the self link first, the web page last.
    fg.link(href=self_url, rel="self")
    fg.link(href=page_url, rel="alternate")
    fg.description(description_html(show.description))  # sanitised, as every item's
    fg.language(show.language)
    fg.generator("grandirenhlm", uri="https://pypi.org/project/grandirenhlm/")
    fg.image(url=cover_url, title=show.title, link=page_url)
    if show.copyright:
        fg.copyright(show.copyright)
    # The newest published or live item's date; never the clock, which feedgen uses by default:
    # a feed with nothing dated has no lastBuildDate, so a no-op publish leaves it unchanged.
    newest = max((e.pub_date for e in (*all_episodes, *live_items)), default=None)
    if newest is not None:
        fg.lastBuildDate(newest.astimezone(UTC))  # feeds show every time in UTC
        fg.pubDate(newest.astimezone(UTC))
    else:
        fg._FeedGenerator__rss_lastBuildDate = None  # feedgen < 2 (pinned): no public way to unset it

    hubs, podping = announce
    if paging or hubs:
        fg.register_extension("paging", AtomLinksExtension, atom=False)
    for hub in hubs:  # WebSub discovery: the hubs, beside the self link feedgen writes
        fg.paging.link("hub", hub)
    if podping:
        fg.podcast.podping(True)
    if paging:
        n, last = paging
        links = {"first": 1, "last": last}
        if n > 1:
            links["previous"] = n - 1
        if n < last:
            links["next"] = n + 1
        for rel, page in links.items():
            fg.paging.link(rel, layout.absolute(base_url, layout.feed_page(show, page)))

    it = fg.itunes
    it.itunes_author(show.author)
    it.itunes_owner(name=show.owner.name, email=show.owner.email)
    it.itunes_image(cover_url)
    it.itunes_category(show.category, show.subcategory)
    it.itunes_explicit("yes" if show.explicit else "no")
    it.itunes_type(show.show_type)
    if show.subtitle:
        it.itunes_subtitle(show.subtitle)
    if show.complete:
        it.itunes_complete("yes")
    if show.new_feed_url:
        it.itunes_new_feed_url(show.new_feed_url)
    if show.block:
        it.itunes_block(True)

    pod = fg.podcast
    pod.show_tags(show)
    pod.image(cover_url, alt=show.title)
    for e in all_episodes:
        if e.episode_type == "trailer" and e.media is not None:
            media_url = layout.absolute(base_url, layout.media(e))
            pod.trailer(
                media_url, e.title, e.pub_date.astimezone(UTC), e.media.size, e.media.mime_type, e.season
            )
    for e in live_items:
        live = e.live
        assert live is not None
        pod.live_item(
            live.status,
            live.start.astimezone(UTC),
            live.end.astimezone(UTC),
            e.guid,
            e.title,
            description_html(e.description or e.title),
            page_url,  # no episode page before the replay: the show's page
            live.url,
            live.mime_type,
        )
    return fg


def _add_entry(fg: FeedGenerator, show: Show, episode: Episode, base_url: str, cover_key: str) -> None:
    fe = fg.add_entry()
    fe.guid(episode.guid, permalink=episode.guid_is_permalink)
    fe.title(episode.title)
    fe.link(href=layout.absolute(base_url, layout.episode_page(episode)))
    fe.pubDate(episode.pub_date.astimezone(UTC))
    media = episode.media
    media_url = layout.absolute(base_url, layout.media(episode))
    fe.enclosure(media_url, str(media.size), media.mime_type)
    chapters = chaps.episode_chapters(episode)
    description = episode_description(episode, chapters)
    # Apps render <description> as HTML too: the same sanitised HTML as content:encoded, never the
    # raw notes (a `<script>` or `javascript:` link written in a record stays text or is dropped).
    notes = description_html(description)
    fe.description(notes)
    fe.content(notes, type="CDATA")
    it = fe.itunes
    it.itunes_duration(round(media.duration_seconds))
    it.itunes_image(layout.absolute(base_url, cover_key))  # PSP-1 recommends an image on every item
    it.itunes_episode_type(episode.episode_type)
    if episode.number is not None:
        it.itunes_episode(episode.number)
    if episode.season is not None:
        it.itunes_season(episode.season)
    if episode.explicit is not None:
        it.explicit(episode.explicit)
    if episode.block:
        it.block()

    pod = fe.podcast
    pod.episode_tags(episode)
    if chapters:
        pod.chapters(layout.absolute(base_url, layout.chapters(episode)))
        for c in chapters:
            pod.psc_chapter(chaps.npt(c.start_seconds), c.title)
    if episode.transcript is not None:
        for fmt in FORMATS:
            url = layout.absolute(base_url, layout.transcript(episode, fmt.extension))
            pod.transcript(url, fmt.mime_type, show.language, captions=fmt.timed)
    if episode.alternates:
        # The enclosure itself first, as the default rendition, then the others (the audio of a video).
        for m, default in ((media, True), *((a, False) for a in episode.alternates)):
            url = (
                media_url
                if default
                else layout.absolute(base_url, layout.alternate_media(episode, m.path.name))
            )
            pod.alternate_enclosure(
                url,
                m.mime_type,
                m.size,
                m.sha256,
                default=default,
                title="Vidéo" if m.is_video else "Audio seul",
                bitrate=m.bitrate,
                height=m.height,
            )


def episode_files(episode: Episode, language: str) -> list[tuple[str, str, bytes]]:
    """(key, content type, bytes) of the files an item's tags point at: JSON chapters, transcripts."""
    from grandirenhlm.transcripts import load_transcript

    files = []
    chapters = chaps.episode_chapters(episode)
    if chapters:
        data = chaps.to_json_chapters(chapters).encode("utf-8")
        files.append((layout.chapters(episode), chaps.JSON_CHAPTERS_MIME, data))
    if episode.transcript is not None:
        transcript = load_transcript(episode.transcript, language)
        for fmt in FORMATS:
            data = fmt.write(transcript).encode("utf-8")
            files.append((layout.transcript(episode, fmt.extension), f"{fmt.mime_type}; charset=utf-8", data))
    return files
