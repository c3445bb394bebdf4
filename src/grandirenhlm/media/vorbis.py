"""Vorbis comments as mutagen reads them (Ogg Vorbis, Ogg Opus, FLAC): text, pictures, chapters."""

from __future__ import annotations

import base64
import re
import struct

import mutagen
from mutagen.flac import Picture

from grandirenhlm.media.source import Reading, first_text
from grandirenhlm.model import Chapter

_KEYS = {
    "title": ("title",), "artist": ("artist",), "album": ("album",), "date": ("date",),
    "comment": ("comment", "description"), "track": ("tracknumber",), "disc": ("discnumber",),
    "genre": ("genre",), "language": ("language",), "copyright": ("copyright",),
}  # fmt: skip
_CHAPTER = re.compile(r"^chapter(\d{1,4})$", re.IGNORECASE)
_TIME = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")


def tags(r: Reading) -> dict[str, str]:
    """Comments under the project's tag keys (the first of the names that has a value); empty ones left out."""
    comments = r.audio.tags
    out: dict[str, str] = {}
    if comments is None or not hasattr(comments, "get"):
        return out
    for key, names in _KEYS.items():
        for n in names:
            if comments.get(n):
                out[key] = first_text(comments.get(n))
                break
    return {k: v for k, v in out.items() if v}


def cover(r: Reading) -> bytes | None:
    """The front cover of the base64 FLAC picture blocks in `METADATA_BLOCK_PICTURE` comments, else
    the first; damaged blocks are skipped."""
    comments = r.audio.tags
    if comments is None or not hasattr(comments, "get"):
        return None
    pictures = []
    for value in comments.get("metadata_block_picture") or []:
        try:
            pictures.append(Picture(base64.b64decode(value)))
        except (ValueError, mutagen.MutagenError, struct.error):
            continue
    front = [p for p in pictures if p.type == 3] or pictures
    return front[0].data if front else None


def chapters(r: Reading) -> list[Chapter]:
    """CHAPTER001=00:01:02.500 and CHAPTER001NAME=Title (the Ogg chapter extension, also used in FLAC)."""
    comments = r.audio.tags
    if comments is None or not hasattr(comments, "keys"):
        return []
    found = []
    for key in comments.keys():  # noqa: SIM118 (a VCommentDict iterates over (key, value) pairs)
        match = _CHAPTER.match(key)
        if not match:
            continue
        time = _TIME.match(first_text(comments[key]))
        if not time:
            continue
        hours, minutes, seconds = time.groups()
        start = int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
        name = comments.get(f"{key}NAME") or comments.get(f"{key}name")
        found.append(Chapter(start_seconds=start, title=first_text(name) if name else f"Chapitre {match[1]}"))
    return found
