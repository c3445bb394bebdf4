"""Bytes before the audio of a media file, for rule R6's threshold (the ID3 tag is not audio)."""

from __future__ import annotations

import struct
from pathlib import Path

from grandirenhlm.errors import MediaError
from grandirenhlm.media.mpeg import skip_id3v2

# Top-level MP4 boxes a file may start with (ISO/IEC 14496-12): anything else is not MP4.
_MP4_FIRST = {b"ftyp", b"styp", b"moov", b"mdat", b"free", b"skip", b"wide", b"uuid"}


def audio_offset(path: Path) -> int:
    """Bytes before the audio starts: an MP3's ID3v2 tags (with their footers), or where an MP4/M4A's
    `mdat` payload starts; 0 for anything else."""
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
            if head[:3] == b"ID3":
                return skip_id3v2(fh)
            if len(head) == 8 and head[4:8] in _MP4_FIRST:
                return _mdat_payload(fh, path.stat().st_size)
    except OSError as exc:
        raise MediaError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    return 0


def _mdat_payload(fh, size: int) -> int:
    """Walk the top-level boxes to the first `mdat`; the offset of its payload (0 if none)."""
    offset = 0
    while offset + 8 <= size:
        fh.seek(offset)
        box_size, box_type = struct.unpack(">I4s", fh.read(8))
        header = 8
        if box_size == 1:  # 64-bit size after the type
            (box_size,) = struct.unpack(">Q", fh.read(8))
            header = 16
        elif box_size == 0:  # runs to the end of the file
            box_size = size - offset
        if box_type == b"mdat":
            return offset + header
        if box_size < header:
            return 0  # damaged: no reliable offset
        offset += box_size
    return 0
