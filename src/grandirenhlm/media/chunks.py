"""Size-prefixed chunks: RIFF (WAV, little-endian), IFF (AIFF, big-endian) and the top-level boxes
of ISO base media files (MP4, ISO/IEC 14496-12), walked without reading their data."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import BinaryIO

from grandirenhlm.media.source import Reading

# The chunks and boxes that hold the audio: one that runs past the end of the file means a cut file.
_AUDIO = (b"mdat", b"data", b"SSND")  # MP4, WAV, AIFF


def iter_chunks(fh: BinaryIO, endian: str, *, mp4: bool = False) -> Iterator[tuple[bytes, int]]:
    """(id, data size) of each RIFF/IFF chunk (or top-level MP4 box), leaving `fh` at its data; the
    next one is found by seeking, so a chunk is only read if the caller reads it."""
    while True:
        start = fh.tell()
        head = fh.read(8)
        if len(head) < 8:
            return
        if mp4:  # size includes the 8-byte header; 1 means a 64-bit size follows, 0 "to the end"
            size, chunk_id = struct.unpack(">I4s", head)
            header = 8
            if size == 1:
                large = fh.read(8)
                if len(large) < 8:
                    return
                size, header = struct.unpack(">Q", large)[0], 16
            if size == 0 or size < header:
                return
            yield chunk_id, size - header
            fh.seek(start + size)
        else:
            chunk_id, size = head[:4], struct.unpack(endian + "I", head[4:])[0]
            yield chunk_id, size
            fh.seek(start + 8 + size + (size & 1))  # chunks are padded to an even length


def overrun(r: Reading, endian: str, start: int, *, mp4: bool = False) -> str | None:
    """Why the file looks cut short, or None: the chunk holding the audio ends after the file does."""
    with r.src.open() as fh:
        fh.seek(start)
        for chunk_id, chunk_size in iter_chunks(fh, endian, mp4=mp4):
            end = fh.tell() + chunk_size
            if end > r.src.size and chunk_id in _AUDIO:
                return (
                    f"its {chunk_id.decode()} section ends {end - r.src.size} bytes after the end of the file"
                )
    return None
