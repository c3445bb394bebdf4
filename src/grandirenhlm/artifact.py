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
from typing import BinaryIO

IMMUTABLE = "public, max-age=31536000, immutable"  # content-addressed: the URL changes with the bytes
SHORT = "public, max-age=300"  # feeds and pages: apps and browsers see an update within minutes


class Stage(IntEnum):
    """Publish order: whatever a later stage points at is already up."""

    MEDIA = 0
    ASSET = 1
    PAGE = 2
    FEED = 3


@dataclass(frozen=True)
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

    def open(self) -> BinaryIO:
        if self.data is not None:
            return io.BytesIO(self.data)
        assert self.source is not None
        return self.source.open("rb")

    @classmethod
    def from_bytes(
        cls,
        key: str,
        stage: Stage,
        content_type: str,
        data: bytes,
        references: tuple[str, ...] = (),
        cache: str = SHORT,
        live: tuple[tuple[str, str], ...] = (),
    ) -> Artifact:
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
        )
