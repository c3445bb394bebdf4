"""Frozen value types shared by every step. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

# Media types that podcast apps play as an enclosure. Everything else (WAV, FLAC, AIFF, Ogg) is a
# master: `inspect` reads it, but it must be encoded before it is published.
PUBLISHABLE_MIME_TYPES = frozenset({"audio/mpeg", "audio/x-m4a", "video/mp4"})


@dataclass(frozen=True)
class Chapter:
    start_seconds: float
    title: str
    end_seconds: float | None = None


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
        return {"audio/mpeg": ".mp3", "audio/x-m4a": ".m4a", "video/mp4": ".mp4"}.get(
            self.mime_type, self.path.suffix.lower()
        )


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

    @property
    def extension(self) -> str:
        return {"audio/mpeg": ".mp3", "audio/x-m4a": ".m4a", "video/mp4": ".mp4"}[self.mime_type]

    @property
    def is_video(self) -> bool:
        return self.mime_type.startswith("video/")


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
    medium: str = "podcast"
    links: dict[str, str] = field(default_factory=dict)  # platform name -> URL


@dataclass(frozen=True)
class Episode:
    show: str  # the show's slug
    slug: str
    source: Path  # the episodes/<show>/<slug>.toml it was read from
    guid: str
    title: str
    pub_date: datetime
    description: str
    media: EpisodeMedia
    number: int | None = None
    season: int | None = None
    episode_type: str = "full"  # full, trailer or bonus
    explicit: bool | None = None
    draft: bool = False
    chapters: tuple[Chapter, ...] = ()
