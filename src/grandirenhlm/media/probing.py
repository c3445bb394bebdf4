"""`probe(path) -> MediaInfo`: what mutagen reads from one media file, plus size and sha256.

Every file goes through the same steps; what differs between formats comes from its entry in
formats.py. Every mutagen failure is wrapped here into a `MediaError` that names the file.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path
from typing import Any, BinaryIO

import mutagen
from mutagen.mp4 import MP4

from grandirenhlm.characters import strip_control
from grandirenhlm.errors import MediaError
from grandirenhlm.files import DisplayPath
from grandirenhlm.media.artwork import read_cover
from grandirenhlm.media.formats import DAMAGED_PARTS, KNOWN, format_of, sniff
from grandirenhlm.media.id3 import check_frame_sizes
from grandirenhlm.media.mp4 import check_boxes
from grandirenhlm.media.mpeg import id3v2_body_size, skip_id3v2
from grandirenhlm.media.source import Reading, Source
from grandirenhlm.model import Chapter, MediaInfo

TAG_KEYS = (
    "title", "artist", "album", "date", "comment", "track", "disc", "genre", "language", "copyright",
)  # fmt: skip


# No episode lasts a day; a longer duration read from a header is damage or an attack (inf, 10**19 s).
MAX_DURATION_SECONDS = 24 * 3600


def probe(path: Path, sha256: tuple[int, str] | None = None) -> MediaInfo:
    """Read one media file; raise `MediaError` naming the file if it is not one we understand.

    `sha256`: (size, SHA-256) of the file's bytes as its writer hashed them (an import's download),
    used when the file still has that size instead of reading the file again to hash it."""
    name = DisplayPath(path)
    src = Source.load(path, name)
    size = src.size
    try:
        with src.open() as fh:
            _check_id3v2_size(fh, name, size)
            check_frame_sizes(fh, name)
            classes = _sniff(fh)
            if classes is None or MP4 in classes:
                check_boxes(fh, size, name)
            audio = mutagen.File(fh, options=classes)
    except mutagen.MutagenError as exc:
        raise MediaError(f"{name}: unreadable media file: {_reason(exc)}") from exc
    except RecursionError as exc:  # check_boxes bounds MP4; this names any other format that nests
        raise MediaError(f"{name}: corrupt media file: structures nested too deep") from exc
    except MemoryError as exc:
        raise MediaError(
            f"{name}: corrupt media file: a size field asks for more memory than exists"
        ) from exc
    except (struct.error, ValueError, IndexError, KeyError, OverflowError, EOFError, UnicodeError) as exc:
        raise MediaError(f"{name}: corrupt media file: {_reason(exc)}") from exc
    if audio is None or audio.info is None:
        raise MediaError(f"{name}: not a media file mutagen recognises ({KNOWN})")
    fmt = format_of(audio)
    r = Reading(src, audio)
    truncated = fmt.truncation(r)
    if truncated:
        raise MediaError(f"{name}: truncated file: {truncated}")
    r.length = float(getattr(audio.info, "length", 0) or 0)
    _check_duration(r.length, name)
    if not round(r.length, 3) > 0:
        raise MediaError(f"{name}: no audio frames found (duration is 0)")
    r.codec = fmt.codec(r)
    r.bitrate = int(getattr(audio.info, "bitrate", 0) or 0) or None
    r.sample_rate = getattr(audio.info, "sample_rate", None)
    r.channels = getattr(audio.info, "channels", None)
    fmt.refine(r)
    _check_duration(r.length, name)  # again: refine may take the movie's length
    if r.video is not None and fmt.with_video is not None:
        fmt = fmt.with_video
    warnings = r.warnings
    mime_type, suffix = fmt.type.mime_type, path.suffix.lower()
    if fmt.type.suffixes and suffix not in fmt.type.suffixes:
        warnings.append(
            f"the name ends in {suffix or 'no extension'} but the content is {fmt.container} ({mime_type})"
        )
    if not fmt.type.publishable:
        warnings.append(f"{fmt.container} is a master format: encode it to MP3 or M4A before publishing it")
    # a tag's text reaches records, feeds and pages: control characters are dropped here (an MP3's
    # title can carry any byte), so check never has to refuse what ingest wrote
    tags = {k: strip_control(v) if isinstance(v, str) else v for k, v in fmt.tags(r).items()}
    cover = read_cover(fmt.cover(r), warnings, name)
    video = r.video
    return MediaInfo(
        path=path,
        size=size,
        sha256=sha256[1] if sha256 is not None and sha256[0] == size else src.sha256(),
        mime_type=mime_type,
        container=fmt.container,
        codec=r.codec,
        duration_seconds=round(r.length, 3),
        bitrate=r.bitrate,
        sample_rate=r.sample_rate,
        channels=r.channels,
        has_video=video is not None,
        width=video.width if video else None,
        height=video.height if video else None,
        tags=tags,
        cover=cover,
        chapters=_chapters(fmt.chapters(r), r.length),
        warnings=tuple(warnings),
    )


def _check_duration(length: float, name: object) -> None:
    """A hostile mdhd/mvhd (2**64 units at a timescale of 1), NaN or inf: refused."""
    if not math.isfinite(length) or length > MAX_DURATION_SECONDS:
        raise MediaError(
            f"{name}: implausible duration ({length:.6g} s); the limit is {MAX_DURATION_SECONDS // 3600} hours"
        )


def _sniff(fh: BinaryIO) -> list[type] | None:
    """The mutagen classes the file's first bytes allow (formats.sniff). An ID3v2 tag in front is
    skipped: MP3 files have one, and some taggers put one before FLAC too."""
    start = skip_id3v2(fh)
    fh.seek(start)
    head = fh.read(12)
    fh.seek(0)
    return sniff(head)


def _check_id3v2_size(fh: BinaryIO, name: Any, size: int) -> None:
    """An ID3v2 header whose size field points past the end of the file: a damaged or hostile tag."""
    declared = id3v2_body_size(fh.read(10))
    fh.seek(0)
    if declared is not None and 10 + declared > size:
        raise MediaError(
            f"{name}: damaged ID3 tag: its header declares {declared} bytes, the file has {size}"
        )


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    if not text or text in ("error", "OSError()") or text.startswith("error("):
        # some mutagen errors carry no message; the module that raised it says which part is damaged
        parts = type(exc).__module__.split(".")
        part = next((DAMAGED_PARTS[p] for p in reversed(parts) if p in DAMAGED_PARTS), "media data")
        return f"damaged {part}"
    return text.splitlines()[0]


def _chapters(chapters: list[Chapter], length: float) -> tuple[Chapter, ...]:
    """A format's chapters as one sorted list within the file's length, with every end filled in."""
    chapters = [c for c in chapters if 0 <= c.start_seconds <= length]
    chapters.sort(key=lambda c: c.start_seconds)
    # fill missing ends from the next chapter's start
    return tuple(
        Chapter(
            round(c.start_seconds, 3),
            strip_control(c.title),
            round(
                c.end_seconds
                if c.end_seconds
                else (chapters[i + 1].start_seconds if i + 1 < len(chapters) else length),
                3,
            ),
        )
        for i, c in enumerate(chapters)
    )


def to_json(info: MediaInfo) -> dict[str, Any]:
    """The documented JSON form of `inspect --json` (see README, "inspect")."""
    return {
        "path": str(info.path),
        "size": info.size,
        "sha256": info.sha256,
        "mime_type": info.mime_type,
        "container": info.container,
        "codec": info.codec,
        "duration_seconds": info.duration_seconds,
        "bitrate": info.bitrate,
        "sample_rate": info.sample_rate,
        "channels": info.channels,
        "video": {"width": info.width, "height": info.height} if info.has_video else None,
        "publishable": info.publishable,
        "tags": {k: info.tags.get(k) for k in TAG_KEYS},
        "cover": (
            {
                "present": True,
                "mime": info.cover.mime_type,
                "width": info.cover.width,
                "height": info.cover.height,
            }
            if info.cover
            else {"present": False, "mime": None, "width": None, "height": None}
        ),
        "chapters": [
            {"start_seconds": c.start_seconds, "end_seconds": c.end_seconds, "title": c.title}
            for c in info.chapters
        ],
        "warnings": list(info.warnings),
    }
