"""`grandirenhlm platforms`: what each podcast directory requires of a show's feed, whether the feed
meets it now, and where to submit it. Once a show is listed, its `[links]` entry fills the
subscribe buttons of the pages.

The requirements are the directories' published rules for an RSS submission (Apple Podcasts
Connect, Spotify for Creators, Deezer for Podcasters, Amazon Music for Podcasters, YouTube Studio's
RSS ingestion, Podcast Index), reduced to what can be checked from the project.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from grandirenhlm import namespace as ns
from grandirenhlm.catalog import Catalog
from grandirenhlm.check import APPLE_CATEGORIES, is_placeholder_email
from grandirenhlm.config import is_loopback_url
from grandirenhlm.media.types import PUBLISHABLE
from grandirenhlm.model import Show


@dataclass(frozen=True)
class Facts:
    """What the requirements are checked against, for one show."""

    show: Show
    published: int  # episodes in the feed now
    enclosure_types: frozenset[str]
    feed_url: str
    artwork: tuple[int, int, str, str] | None  # width, height, format, mode

    @property
    def public(self) -> bool:
        return self.feed_url.startswith("https://") and not is_loopback_url(self.feed_url)


Rule = tuple[str, Callable[[Facts], bool]]


def _owner_email(f: Facts) -> bool:
    return bool(f.show.owner and f.show.owner.email) and not is_placeholder_email(f.show.owner.email)


def _artwork(f: Facts) -> bool:
    if f.artwork is None:
        return False
    width, height, fmt, mode = f.artwork
    return width == height and 1400 <= width <= 3000 and fmt in ("JPEG", "PNG") and mode == "RGB"


def _uuid5(f: Facts) -> bool:
    """podcast:guid as the namespace's rule (`namespace.guid`) wants it."""
    if f.show.podcast_guid is None:
        return False
    try:
        ns.guid(f.show.podcast_guid)
    except ns.NamespaceError:
        return False
    return True


FEED_PUBLIC: Rule = ("the feed at a public https address", lambda f: f.public)
HAS_EPISODES: Rule = ("at least one published episode", lambda f: f.published > 0)
OWNER: Rule = ("an owner e-mail (itunes:email) that is not a placeholder", _owner_email)
ARTWORK: Rule = ("artwork 1400 to 3000 px, square, RGB JPEG or PNG", _artwork)
AUDIO: Rule = (
    "enclosures MP3 or M4A (video as MP4)",
    lambda f: bool(f.enclosure_types) and f.enclosure_types <= set(PUBLISHABLE),
)


@dataclass(frozen=True)
class Directory:
    name: str
    links_key: str  # its key in a show's [links]
    submit: str  # where to submit the feed
    rules: tuple[Rule, ...]
    note: str = ""


DIRECTORIES: tuple[Directory, ...] = (
    Directory(
        "Apple Podcasts",
        "apple_podcasts",
        "https://podcastsconnect.apple.com/ (Apple Account; add the show with its feed URL)",
        (
            FEED_PUBLIC,
            HAS_EPISODES,
            ARTWORK,
            ("an Apple Podcasts category", lambda f: f.show.category in APPLE_CATEGORIES),
            AUDIO,
            OWNER,
        ),
    ),
    Directory(
        "Spotify",
        "spotify",
        "https://creators.spotify.com/ (Spotify for Creators: 'I already have a podcast', then the feed URL)",
        (FEED_PUBLIC, HAS_EPISODES, ARTWORK, AUDIO, OWNER),
        "Spotify sends a verification code to the owner e-mail of the feed.",
    ),
    Directory(
        "Deezer",
        "deezer",
        "https://podcasters.deezer.com/ (Deezer for Podcasters: submit the feed URL)",
        (FEED_PUBLIC, HAS_EPISODES, ARTWORK, AUDIO, OWNER),
        "Deezer confirms ownership through the owner e-mail of the feed.",
    ),
    Directory(
        "Amazon Music",
        "amazon_music",
        "https://podcasters.amazon.com/ (Amazon Music for Podcasters: add the feed URL)",
        (FEED_PUBLIC, HAS_EPISODES, ARTWORK, AUDIO, OWNER),
        "Amazon sends a verification code to the owner e-mail of the feed.",
    ),
    Directory(
        "YouTube",
        "youtube",
        "https://studio.youtube.com/ (Content > Podcasts > New podcast > Submit RSS feed)",
        (FEED_PUBLIC, HAS_EPISODES, ARTWORK, AUDIO, OWNER),
        "YouTube checks the owner e-mail, and refuses feeds whose episodes carry advertising or "
        "promotions it cannot verify; each audio episode becomes a video with the artwork.",
    ),
    Directory(
        "Podcast Index",
        "podcast_index",
        "https://podcastindex.org/add (no account; apps using the index see the show at once)",
        (FEED_PUBLIC, HAS_EPISODES, ("a podcast:guid (UUIDv5)", _uuid5)),
    ),
)


@dataclass(frozen=True)
class Status:
    directory: Directory
    listed: str | None  # the [links] value when the show is listed there
    results: tuple[tuple[str, bool], ...]

    @property
    def ready(self) -> bool:
        return all(ok for _, ok in self.results)


def facts(catalog: Catalog, slug: str, feed_url: str, at) -> Facts:
    from grandirenhlm.errors import GrandirError
    from grandirenhlm.images import open_image

    show = catalog.shows[slug]
    episodes = catalog.published(slug, at)
    try:
        with open_image(show.image, str(show.image)) as img:
            artwork = (img.width, img.height, img.format or "", img.mode)
    except GrandirError:  # unreadable or over the pixel budget: the artwork rules fail
        artwork = None
    types = frozenset(e.media.mime_type for e in episodes if e.media is not None)
    return Facts(show, len(episodes), types, feed_url, artwork)


def statuses(f: Facts, directories: Sequence[Directory] = DIRECTORIES) -> list[Status]:
    return [
        Status(d, f.show.links.get(d.links_key), tuple((text, bool(rule(f))) for text, rule in d.rules))
        for d in directories
    ]
