"""ID3v2 tags as mutagen reads them (MP3, and the `id3 ` chunk of WAV and AIFF): text, cover, chapters.

The ID3v2 header itself (its size, skipping it) is read in mpeg.py, before mutagen is called.
"""

from __future__ import annotations

from typing import Any

from mutagen.id3 import ID3

from grandirenhlm.media.comments import Comment, pick_comment
from grandirenhlm.media.source import Reading
from grandirenhlm.model import Chapter

_FRAMES = {
    "title": "TIT2", "artist": "TPE1", "album": "TALB", "date": "TDRC", "track": "TRCK",
    "disc": "TPOS", "genre": "TCON", "language": "TLAN", "copyright": "TCOP",
}  # fmt: skip


def tags(r: Reading) -> dict[str, str]:
    """Text frames under the project's tag keys (see probing.TAG_KEYS); empty values left out."""
    id3 = r.audio.tags
    if not isinstance(id3, ID3):
        return {}
    out: dict[str, str] = {}
    for key, frame_id in _FRAMES.items():
        frame = id3.get(frame_id)
        if frame is not None and frame.text:
            out[key] = text(frame)
    # iTunes files carry several COMM frames, the first one often iTunNORM's hex numbers (comments.py)
    comment = pick_comment(
        (Comment(text(c), c.desc, c.lang) for c in id3.getall("COMM")), out.get("language", "")
    )
    if comment:
        out["comment"] = comment
    return {k: v for k, v in out.items() if v}


def cover(r: Reading) -> bytes | None:
    """The front cover picture (APIC type 3), else the first picture."""
    id3 = r.audio.tags
    if not isinstance(id3, ID3):
        return None
    pictures = id3.getall("APIC")
    front = [p for p in pictures if p.type == 3] or pictures
    return front[0].data if front else None


def chapters(r: Reading) -> list[Chapter]:
    """CHAP frames (https://id3.org/id3v2-chapters-1.0), their title from the TIT2 sub-frame."""
    id3 = r.audio.tags
    if not isinstance(id3, ID3):
        return []
    found = []
    for chap in id3.getall("CHAP"):
        title = chap.sub_frames.get("TIT2")
        found.append(
            Chapter(
                start_seconds=chap.start_time / 1000,
                end_seconds=chap.end_time / 1000 if chap.end_time != 0xFFFFFFFF else None,
                title=text(title) if title else chap.element_id,
            )
        )
    return found


def text(frame: Any) -> str:
    """The first text of a frame, stripped, repaired if it was declared Latin-1."""
    value = str(frame.text[0]) if frame.text else ""
    # Frames declared Latin-1 (and all of ID3v1) are often something else in practice: UTF-8 bytes
    # (tools that ignore the encoding byte) or Windows-1252 (’ « » from Windows taggers). Repaired
    # before stripping: the last byte of a UTF-8 sequence can read as a Latin-1 no-break space.
    return (repair_latin1(value) if getattr(frame, "encoding", None) == 0 else value).strip()


def repair_latin1(text: str) -> str:
    """Undo the usual misreadings of text decoded as Latin-1: UTF-8 bytes, then Windows-1252."""
    if text.isascii():
        return text
    try:
        raw = text.encode("latin-1")
    except UnicodeEncodeError:
        return text
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if any("\x80" <= ch <= "\x9f" for ch in text):  # C1 controls never occur in real Latin-1 text
        try:
            return raw.decode("cp1252")
        except UnicodeDecodeError:
            return text
    return text
