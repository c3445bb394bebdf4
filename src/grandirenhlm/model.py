"""Frozen value types shared by every step. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from grandirenhlm import namespace as ns
from grandirenhlm.media.types import AUDIO_MPEG, PUBLISHABLE, media_type

if TYPE_CHECKING:
    from grandirenhlm.encode import Resolved

# Media types that podcast apps play as an enclosure (declared in media/types.py). Everything else
# is a master: `inspect` reads it, but it must be encoded before it is published.
PUBLISHABLE_MIME_TYPES = frozenset(PUBLISHABLE)


@dataclass(frozen=True)
class Chapter:
    start_seconds: float
    title: str
    end_seconds: float | None = None


@dataclass(frozen=True)
class Person:
    """podcast:person: a real person named in the show's sources (never invented)."""

    name: str
    role: str = ns.DEFAULT_PERSON_ROLE  # a role of the Podcast Taxonomy Project, e.g. host, guest, director
    group: str = ns.DEFAULT_PERSON_GROUP
    href: str | None = None
    img: str | None = None


@dataclass(frozen=True)
class Location:
    """podcast:location: what the show is about (rel="subject") or where it is made ("creator")."""

    name: str
    geo: str | None = None  # RFC 5870 geo URI, e.g. "geo:48.8566,2.3522"
    osm: str | None = None  # OpenStreetMap type letter + id, e.g. "R2202162"
    country: str | None = None  # ISO 3166-1 alpha-2, e.g. "FR"
    rel: str | None = None  # "subject" or "creator"


@dataclass(frozen=True)
class Funding:
    url: str
    text: str


@dataclass(frozen=True)
class Live:
    """An episode announced before it airs: podcast:liveItem until its replay (media) is published."""

    status: str  # pending, live or ended
    start: datetime
    end: datetime
    url: str | None = None  # where to watch or listen live (podcast:contentLink)
    mime_type: str = AUDIO_MPEG.mime_type  # of the live stream at `url`


@dataclass(frozen=True)
class Cover:
    mime_type: str
    width: int
    height: int


@dataclass(frozen=True)
class MediaInfo:
    """What `media.probe` reads from one file."""

    path: Path
    size: int
    sha256: str
    mime_type: str
    container: str
    codec: str
    duration_seconds: float
    bitrate: int | None = None
    sample_rate: int | None = None
    channels: int | None = None
    has_video: bool = False
    width: int | None = None  # video only
    height: int | None = None
    tags: dict[str, str] = field(default_factory=dict)
    cover: Cover | None = None
    chapters: tuple[Chapter, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def publishable(self) -> bool:
        return self.mime_type in PUBLISHABLE_MIME_TYPES

    @property
    def extension(self) -> str:
        """The file name extension its content calls for (an Ogg Opus stream is `.opus`)."""
        declared = media_type(self.mime_type, self.codec)
        return declared.suffix if declared else self.path.suffix.lower()


@dataclass(frozen=True)
class EpisodeMedia:
    """The media facts an episode record keeps, so a build need not re-read the file."""

    path: Path  # absolute, resolved from the record's relative path
    sha256: str
    size: int
    mime_type: str
    duration_seconds: float
    bitrate: int | None = None
    width: int | None = None
    height: int | None = None

    @classmethod
    def of(cls, info: MediaInfo, stored: Path) -> EpisodeMedia:
        """What a record keeps of a file read as `info` and stored at `stored` (ingest, import):
        its real size and measured duration; a video's size only when both sides are known."""
        video_size = info.has_video and info.width and info.height
        return cls(
            path=stored,
            sha256=info.sha256,
            size=info.size,
            mime_type=info.mime_type,
            duration_seconds=info.duration_seconds,
            bitrate=info.bitrate or None,
            width=info.width if video_size else None,
            height=info.height if video_size else None,
        )

    @property
    def extension(self) -> str:
        return PUBLISHABLE[self.mime_type].suffix

    @property
    def is_video(self) -> bool:
        return self.mime_type.startswith("video/")


@dataclass(frozen=True)
class EncodeSettings:
    """A show's `[encoding]` table: how `ingest` encodes its masters; `None` is "decided from the master"."""

    format: str = "mp3"
    sample_rate: int = 44100
    bitrate_kbps: int | None = None  # default: 128 stereo, 64 (MP3) or 96 (M4A) mono for speech
    channels: int | None = None  # default: the master's, at most 2
    normalize: bool = False
    target_lufs: float | None = None  # default: -16 stereo, -19 mono
    max_true_peak: float = -1.0

    def resolve(self, master_channels: int | None) -> Resolved:
        """The settings for one master, defaults decided (the encoder's rules: `encode.resolve_settings`)."""
        from grandirenhlm.encode import resolve_settings  # the model imports no step

        return resolve_settings(self, master_channels)


@dataclass(frozen=True)
class Owner:
    name: str
    email: str


@dataclass(frozen=True)
class Show:
    slug: str
    source: Path  # the feeds/<slug>.toml it was read from
    title: str
    description: str
    language: str
    author: str
    owner: Owner
    image: Path
    category: str
    subcategory: str | None = None
    explicit: bool = False
    show_type: str = "episodic"  # Apple's itunes:type: episodic or serial
    complete: bool = False
    subtitle: str | None = None
    copyright: str | None = None
    website: str | None = None
    podcast_guid: str | None = None
    medium: str = ns.DEFAULT_MEDIUM
    links: dict[str, str] = field(default_factory=dict)  # platform name -> URL
    new_feed_url: str | None = None  # itunes:new-feed-url: the show moved there
    block: bool = False  # itunes:block: keep the show out of Apple Podcasts
    update_frequency: str | None = None  # podcast:updateFrequency text, e.g. "Série terminée"
    update_rrule: str | None = None  # its RFC 5545 rule, e.g. "FREQ=WEEKLY"
    license: str | None = None  # SPDX identifier or licence name
    license_url: str | None = None
    location: Location | None = None
    persons: tuple[Person, ...] = ()
    funding: tuple[Funding, ...] = ()
    txt: tuple[tuple[str, str | None], ...] = ()  # podcast:txt (text, purpose)
    page_size: int | None = None  # more items than this: RFC 5005 paged archive feeds
    encoding: EncodeSettings = EncodeSettings()  # [encoding]: for ingest, nothing in the feed


@dataclass(frozen=True)
class Episode:
    show: str  # the show's slug
    slug: str
    source: Path  # the episodes/<show>/<slug>.toml it was read from
    guid: str
    title: str
    pub_date: datetime
    description: str
    media: EpisodeMedia | None  # None only for a live item whose replay is not published yet
    number: int | None = None
    season: int | None = None
    episode_type: str = "full"  # full, trailer or bonus
    explicit: bool | None = None
    draft: bool = False
    chapters: tuple[Chapter, ...] = ()
    transcript: Path | None = None  # a WebVTT file with <v Speaker> voices (see transcripts.py)
    publish_at: datetime | None = None  # scheduled: out of feeds and pages until then
    block: bool = False
    alternates: tuple[EpisodeMedia, ...] = ()  # other renditions, e.g. the audio of a video replay
    persons: tuple[Person, ...] = ()
    location: Location | None = None
    license: str | None = None
    license_url: str | None = None
    live: Live | None = None
    poster: Path | None = None  # a frame of a video replay, extracted by ingest, for its page
    # <guid isPermaLink="true">: an imported episode whose first feed said its GUID is its URL keeps saying so
    guid_is_permalink: bool = False


@dataclass(frozen=True)
class IngestResult:
    """What `ingest` did with one file."""

    source: Path
    record: Path
    action: str  # "created", "updated" or "unchanged"
    sha256: str
