"""feedgen extensions: Apple's current iTunes spelling and the Podcast Index `podcast:` namespace.

feedgen 1.0.0 still writes `itunes:explicit` as yes/no/clean; Apple's spec now says true/false
(https://help.apple.com/itc/podcasts_connect/#/itcb54353390), so `ItunesExtension` rewrites it.
The `podcast:` tags follow https://podcastindex.org/namespace/1.0 and raise on bad input.
"""

from __future__ import annotations

import uuid

import lxml.etree  # noqa: F401  # feedgen 1.0.0's util does `import lxml` then uses lxml.etree
from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.ext.podcast import PodcastExtension
from feedgen.ext.podcast_entry import PodcastEntryExtension
from feedgen.util import xml_elem

ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST_NS = "https://podcastindex.org/namespace/1.0"
# The namespace UUID the Podcast Index spec fixes for podcast:guid (UUIDv5).
PODCAST_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")
MEDIUMS = ("podcast", "music", "video", "film", "audiobook", "newsletter", "blog")


def podcast_guid(feed_url: str) -> str:
    """podcast:guid as the spec computes it: UUIDv5 of the feed URL without scheme and trailing slashes."""
    bare = feed_url.split("://", 1)[-1].rstrip("/")
    return str(uuid.uuid5(PODCAST_GUID_NAMESPACE, bare))


def _explicit_true_false(parent) -> None:
    node = parent.find(f"{{{ITUNES_NS}}}explicit")
    if node is not None:
        node.text = "true" if node.text == "yes" else "false"


class ItunesExtension(PodcastExtension):
    """feedgen's iTunes extension with `itunes:explicit` written as true/false."""

    def extend_rss(self, rss_feed):
        rss_feed = super().extend_rss(rss_feed)
        _explicit_true_false(rss_feed[0])
        return rss_feed


class ItunesEntryExtension(PodcastEntryExtension):
    def extend_rss(self, entry):
        entry = super().extend_rss(entry)
        _explicit_true_false(entry)
        return entry


class PodcastIndexExtension(BaseExtension):
    """Channel-level `podcast:` tags."""

    def __init__(self):
        self._guid: str | None = None
        self._locked: tuple[bool, str | None] | None = None
        self._medium: str | None = None

    def extend_ns(self):
        return {"podcast": PODCAST_NS}

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
        return rss_feed

    def guid(self, value: str) -> None:
        try:
            parsed = uuid.UUID(value)
        except ValueError as exc:
            raise ValueError(f"podcast:guid must be a UUID, got {value!r}") from exc
        if parsed.version != 5:
            raise ValueError(f"podcast:guid must be a version 5 UUID, got version {parsed.version}")
        self._guid = str(parsed)

    def locked(self, locked: bool, owner: str | None = None) -> None:
        self._locked = (locked, owner)

    def medium(self, value: str) -> None:
        if value not in MEDIUMS:
            raise ValueError(f"podcast:medium must be one of {', '.join(MEDIUMS)}, got {value!r}")
        self._medium = value


class PodcastIndexEntryExtension(BaseEntryExtension):
    """Item-level `podcast:` tags (season and episode numbers)."""

    def __init__(self):
        self._season: int | None = None
        self._episode: int | None = None

    def extend_rss(self, entry):
        if self._season is not None:
            xml_elem(f"{{{PODCAST_NS}}}season", entry).text = str(self._season)
        if self._episode is not None:
            xml_elem(f"{{{PODCAST_NS}}}episode", entry).text = str(self._episode)
        return entry

    def season(self, number: int) -> None:
        self._season = _positive(number, "podcast:season")

    def episode(self, number: int) -> None:
        self._episode = _positive(number, "podcast:episode")


def _positive(number: int, name: str) -> int:
    if not isinstance(number, int) or number < 1:
        raise ValueError(f"{name} must be a whole number >= 1, got {number!r}")
    return number
