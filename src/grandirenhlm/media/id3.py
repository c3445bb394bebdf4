"""ID3v2 tags as mutagen reads them (MP3, and the `id3 ` chunk of WAV and AIFF): text, cover, chapters.

The ID3v2 header itself (its size, skipping it) is read in mpeg.py, before mutagen is called.
"""

from __future__ import annotations

import contextlib
import struct
import zlib
from typing import Any, BinaryIO

import mutagen
from mutagen.id3 import ID3, Frames

# mutagen's own reading of the header (extended header, unsynchronisation, iTunes' non-syncsafe
# frame sizes): private, but reusing it means the limits below see the frames mutagen will see
from mutagen.id3._tags import ID3Header, determine_bpi
from mutagen.id3._util import unsynch

from grandirenhlm.errors import MediaError
from grandirenhlm.media import chunks
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


# Limits on what one tag may make mutagen hold in memory. A zlib-compressed frame of 300 KB can
# inflate to 300 MB (mutagen decompresses without a bound), which then becomes a record's title.
MAX_TAG_BYTES = 64 << 20  # a whole ID3v2 tag, as stored
MAX_TEXT_FRAME_BYTES = 1 << 20  # a text frame (T***, W***, COMM, USLT, SYLT), once decompressed
MAX_FRAME_BYTES = 16 << 20  # any other frame (APIC, GEOB, CHAP...), once decompressed
_TEXT_FRAMES = ("COMM", "USLT", "SYLT", "TXX", "WXX", "COM", "ULT")


def check_frame_sizes(fh: BinaryIO, name: object) -> None:
    """Refuse (`MediaError`) an ID3v2 tag that is larger than `MAX_TAG_BYTES` or holds a frame
    larger, once decompressed, than its limit; checked before mutagen reads it, with decompression
    bounded by the limit. The tag at the start of `fh` (MP3, and FLAC with a tag in front) and the
    `id3 ` chunk of a WAV or AIFF file are checked. Leaves `fh` at its start."""
    head = fh.read(12)
    fh.seek(0)
    if head[:4] in (b"RIFF", b"FORM") and head[8:12] in (b"WAVE", b"AIFF", b"AIFC"):
        endian = "<" if head[:4] == b"RIFF" else ">"
        fh.seek(12)
        offsets = [fh.tell() for cid, _ in chunks.iter_chunks(fh, endian) if cid.lower() == b"id3 "]
        fh.seek(0)
    else:
        offsets = [0]
    for offset in offsets:
        _check_tag_at(fh, offset, name)


def _check_tag_at(fh: BinaryIO, offset: int, name: object) -> None:
    try:
        fh.seek(offset)
        try:
            header = ID3Header(fh)
        except (mutagen.MutagenError, struct.error, ValueError, EOFError):
            return  # no ID3v2 tag, or a damaged one: mutagen reports it
        size = header.size - 10 - (4 + len(header._extdata) if header.f_extended else 0)
        if size > MAX_TAG_BYTES:
            raise MediaError(
                f"{name}: ID3 tag of {size:,} bytes is over the limit of {MAX_TAG_BYTES >> 20} MiB"
            )
        data = fh.read(max(size, 0))
    finally:
        fh.seek(0)
    if header.version < ID3Header._V24 and header.f_unsynch:
        with contextlib.suppress(ValueError):  # mutagen then reads it as it is too
            data = unsynch.decode(data)
    _check_frames(data, header, name, depth=0)


def _check_frames(data: bytes, header: Any, name: object, depth: int) -> None:
    v22 = header.version < ID3Header._V23
    v24 = header.version >= ID3Header._V24
    head_size = 6 if v22 else 10
    bpi = determine_bpi(data, Frames) if v24 else int
    pos = 0
    while pos + head_size <= len(data):
        if v22:
            frame_id, size, flags = data[pos : pos + 3], int.from_bytes(data[pos + 3 : pos + 6]), 0
        else:
            frame_id, raw, flags = struct.unpack(">4sLH", data[pos : pos + 10])
            size = bpi(raw)
        if frame_id.strip(b"\x00") == b"":
            return  # padding
        body = data[pos + head_size : pos + head_size + size]
        pos += head_size + size
        fid = frame_id.decode("latin-1")
        limit = MAX_TEXT_FRAME_BYTES if fid[0] in "TW" or fid in _TEXT_FRAMES else MAX_FRAME_BYTES
        inflated = _inflated_size(body, flags, header, limit)
        if inflated > limit:
            raise MediaError(
                f"{name}: ID3 frame {fid} holds more than {limit >> 20} MiB"
                f"{' once decompressed' if inflated > len(body) else ''}, the limit for one tag frame"
            )
        if fid in ("CHAP", "CTOC") and depth < 4:
            # chapter frames hold frames of their own (their titles), read by mutagen the same way
            _check_frames(_sub_frames(fid, body, flags, header), header, name, depth + 1)


def _frame_data(body: bytes, flags: int, header: Any) -> tuple[bytes, bool]:
    """A frame's data as mutagen's `Frame._fromData` sees it before decompression, and whether
    it is compressed."""
    if header.version >= ID3Header._V24:
        if flags & 0x0009:  # compressed or data length indicator: 4 bytes of length first
            body = body[4:]
        if flags & 0x0002 or header.f_unsynch:
            with contextlib.suppress(ValueError):
                body = unsynch.decode(body)
        return body, bool(flags & 0x0008)
    if header.version >= ID3Header._V23 and flags & 0x0080:
        return body[4:], True
    return body, False


def _inflated_size(body: bytes, flags: int, header: Any, limit: int) -> int:
    """The frame's size once decompressed, counting at most `limit` + 1 bytes."""
    data, compressed = _frame_data(body, flags, header)
    if not compressed:
        return len(data)
    for candidate in (data, body[:4] + data if header.version >= ID3Header._V24 else data):
        try:  # mutagen retries with the length bytes put back (an old writer's bug): so do we
            return len(zlib.decompressobj().decompress(candidate, limit + 1))
        except zlib.error:
            continue
    return 0  # not zlib data: mutagen drops the frame


def _sub_frames(fid: str, body: bytes, flags: int, header: Any) -> bytes:
    """The embedded frames of a CHAP (element ID, four times) or CTOC (element ID, flags, child
    IDs) frame, uncompressed ones only: a compressed chapter frame is bounded as a whole."""
    data, compressed = _frame_data(body, flags, header)
    if compressed:
        data = zlib.decompressobj().decompress(data, MAX_FRAME_BYTES)
    end = data.find(b"\x00")
    if end < 0:
        return b""
    pos = end + 1
    if fid == "CHAP":
        return data[pos + 16 :]
    if pos + 2 > len(data):
        return b""
    count, pos = data[pos + 1], pos + 2
    for _ in range(count):
        end = data.find(b"\x00", pos)
        if end < 0:
            return b""
        pos = end + 1
    return data[pos:]
