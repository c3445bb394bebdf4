"""The file being probed (`Source`: a readable regular file, read once if small, streamed if large)
and what is read from it (`Reading`, which every format reader takes)."""

from __future__ import annotations

import hashlib
import io
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from grandirenhlm.errors import MediaError
from grandirenhlm.files import sha256_file
from grandirenhlm.model import Chapter

SMALL_FILE = 2 << 20


@dataclass(frozen=True)
class Source:
    """The file being probed. A small file is read once into memory and every reader (mutagen, the
    hash, the box and chunk readers) works on that copy: opening a file five times costs more than
    reading it for the short files that dominate a folder. A large file is opened per reader and
    streamed, so memory stays flat whatever its length."""

    path: Path
    size: int
    data: bytes | None

    @classmethod
    def load(cls, path: Path, name: Any) -> Source:
        """Open `path` once, make sure it is a readable, non-empty regular file, and keep its bytes if
        it is small. O_NONBLOCK: a FIFO named .mp3 must be refused, not wait for a writer forever."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        except FileNotFoundError as exc:
            raise MediaError(f"{name}: no such file") from exc
        except PermissionError as exc:
            raise MediaError(f"{name}: permission denied") from exc
        except OSError as exc:
            raise MediaError(f"{name}: cannot read: {exc.strerror or exc}") from exc
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            problem = "is a directory, expected a media file"
        elif not stat.S_ISREG(st.st_mode):
            problem = "not a regular file (a pipe, socket or device), expected a media file"
        elif st.st_size == 0:
            problem = "empty file (0 bytes)"
        else:
            problem = None
        if problem:
            os.close(fd)
            raise MediaError(f"{name}: {problem}")
        with os.fdopen(fd, "rb") as fh:
            try:
                data = fh.read() if st.st_size <= SMALL_FILE else None
            except OSError as exc:
                raise MediaError(f"{name}: cannot read: {exc.strerror or exc}") from exc
        return cls(path, st.st_size, data)

    def open(self) -> BinaryIO:
        """A new binary file object on the file, positioned at its start."""
        if self.data is None:
            return self.path.open("rb")
        fh = io.BytesIO(self.data)
        fh.name = str(self.path)  # mutagen scores formats by extension too
        return fh

    def sha256(self) -> str:
        """The file's SHA-256, hex."""
        return hashlib.sha256(self.data).hexdigest() if self.data is not None else sha256_file(self.path)


@dataclass(frozen=True)
class VideoTrack:
    codec: str  # the sample entry's four-character code: avc1, hvc1, ...
    width: int
    height: int


@dataclass
class Reading:
    """One file being probed: its source, what mutagen made of it, and what the format's own steps
    (`Format.refine` in formats.py) corrected or added. Every reader of a format takes this."""

    src: Source
    audio: Any  # mutagen's FileType
    codec: str = ""
    length: float = 0.0  # seconds
    bitrate: int | None = None
    sample_rate: int | None = None  # of the decoded audio, Hz
    channels: int | None = None  # of the decoded audio
    video: VideoTrack | None = None
    chapters: list[Chapter] = field(default_factory=list)  # found outside mutagen (QuickTime text tracks)
    warnings: list[str] = field(default_factory=list)


def first_text(value: Any) -> str:
    """A tag value as one stripped string: the first of a list (Vorbis comments, MP4 atoms), or the value."""
    if isinstance(value, list | tuple):
        value = value[0] if value else ""
    return str(value).strip()
