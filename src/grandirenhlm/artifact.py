"""What a build makes and a publish sends: one `Artifact` per object of the site, in `Stage` order.

Kept apart from the builder so that planning, publishing and the storage backends, which only
move artifacts, do not load feedgen, Jinja2 and the media readers.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from grandirenhlm.pagestore import PageStore

IMMUTABLE = "public, max-age=31536000, immutable"  # content-addressed: the URL changes with the bytes
SHORT = "public, max-age=300"  # feeds and pages: apps and browsers see an update within minutes


class Stage(IntEnum):
    """Publish order: whatever a later stage points at is already up."""

    MEDIA = 0
    ASSET = 1
    PAGE = 2
    FEED = 3


@dataclass(frozen=True, slots=True)
class Stored:
    """Bytes a build keeps out of memory until they are written or sent (a rendered page in the
    page cache's store)."""

    store: PageStore
    digest: str
    sha256: str
    size: int

    def read(self) -> bytes:
        data = self.store.get(self.digest)
        if data is None:  # the build holds the cache while it sends: only a hand-deleted cache
            raise OSError(f"page {self.digest[:12]} is no longer in {self.store.path}")
        return data


@dataclass(frozen=True, slots=True)
class Written:
    """Bytes a build made that another process wrote to a file, not held here (a new output
    folder's feed, written by the rendering helper's child: `build._sent_feed`)."""

    path: Path
    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class Artifact:
    key: str
    stage: Stage
    content_type: str
    cache_control: str
    sha256: str
    size: int
    source: Path | None = None  # a file on disk (media, images), or…
    data: bytes | None = None  # …bytes made by the build (pages, feeds)
    references: tuple[str, ...] = ()  # keys this object links to (a feed's enclosures and cover)
    live: tuple[tuple[str, str], ...] = ()  # a feed's live items: (guid, status), for notifications
    redirect: str | None = None  # the object moved: where its URL sends requests (a feed's new_feed_url)
    stored: Stored | None = None  # …or bytes made by the build and kept in the page cache until sent

    def made(self) -> bytes | None:
        """The bytes the build made (held or stored), or None for a file on disk (`source`)."""
        if self.data is not None:
            return self.data
        return self.stored.read() if self.stored is not None else None

    def open(self) -> BinaryIO:
        data = self.made()
        if data is not None:
            return io.BytesIO(data)
        assert self.source is not None
        return self.source.open("rb")

    @classmethod
    def from_bytes(
        cls,
        key: str,
        stage: Stage,
        content_type: str,
        data: bytes | Stored | Written,
        references: tuple[str, ...] = (),
        cache: str = SHORT,
        live: tuple[tuple[str, str], ...] = (),
        redirect: str | None = None,
    ) -> Artifact:
        """An object made by the build; `Stored` bytes stay in the page cache until they are sent,
        `Written` ones in their file."""
        if isinstance(data, Written):
            return cls(
                key, stage, content_type, cache, data.sha256, data.size, source=data.path,
                references=references, live=live, redirect=redirect,
            )  # fmt: skip
        if isinstance(data, Stored):
            return cls(
                key, stage, content_type, cache, data.sha256, data.size, stored=data,
                references=references, live=live, redirect=redirect,
            )  # fmt: skip
        return cls(
            key,
            stage,
            content_type,
            cache,
            hashlib.sha256(data).hexdigest(),
            len(data),
            data=data,
            references=references,
            live=live,
            redirect=redirect,
        )
