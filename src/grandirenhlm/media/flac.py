"""FLAC (RFC 9639): the truncation check from the last frame's header, and pictures."""

from __future__ import annotations

from typing import Any

from grandirenhlm.media import vorbis
from grandirenhlm.media.source import Reading, Source


def truncation(r: Reading) -> str | None:
    """Why the file looks cut short, or None: its last frame must end where STREAMINFO says the
    audio does (within one block)."""
    info = r.audio.info
    last_end = _last_sample(r.src, info, r.src.size)
    total = info.total_samples
    if last_end is not None and abs(total - last_end) > info.max_blocksize:
        rate = info.sample_rate
        return f"STREAMINFO announces {total / rate:.1f} s of audio, its last frame ends at {last_end / rate:.1f} s"
    return None


def cover(r: Reading) -> bytes | None:
    """The front cover of the PICTURE blocks, else the first; without any, a Vorbis comment picture."""
    pictures = r.audio.pictures
    if pictures:
        front = [p for p in pictures if p.type == 3] or pictures
        return front[0].data
    return vorbis.cover(r)


def _crc8(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def _last_sample(src: Source, info: Any, size: int) -> int | None:
    """Where the last FLAC frame ends, in samples, from its header (RFC 9639 §9.1), or None.

    The header carries the frame's number (fixed block size) or first sample (variable block size)
    and is protected by a CRC-8, so a match is not a false sync by chance.
    """
    tail = max(info.max_framesize or 0, 65536) * 2
    with src.open() as fh:
        fh.seek(max(0, size - tail))
        data = fh.read()
    pos = len(data)
    while True:
        pos = max(data.rfind(b"\xff\xf8", 0, pos), data.rfind(b"\xff\xf9", 0, pos))
        if pos < 0:
            return None
        found = _frame_end(data[pos : pos + 16], info)
        if found is not None:
            return found


def _frame_end(head: bytes, info: Any) -> int | None:
    if len(head) < 6:
        return None
    variable = head[1] & 1
    block_code, rate_code = head[2] >> 4, head[2] & 0x0F
    if block_code == 0 or rate_code == 15 or head[3] & 1:
        return None
    # the frame or sample number, coded like UTF-8 (up to 7 bytes for 36 bits)
    first = head[4]
    extra = next((n for n in range(7) if not first & (0x80 >> n)), 7)
    if extra == 1 or extra == 7:
        return None
    number = first & (0x7F >> extra) if extra else first
    pos = 5
    for _ in range(max(extra - 1, 0)):
        if pos >= len(head) or head[pos] & 0xC0 != 0x80:
            return None
        number = (number << 6) | (head[pos] & 0x3F)
        pos += 1
    if block_code == 1:
        block = 192
    elif block_code <= 5:
        block = 576 << (block_code - 2)
    elif block_code in (6, 7):
        width = block_code - 5
        block = int.from_bytes(head[pos : pos + width], "big") + 1
        pos += width
    else:
        block = 256 << (block_code - 8)
    pos += {12: 1, 13: 2, 14: 2}.get(rate_code, 0)
    if pos >= len(head) or _crc8(head[:pos]) != head[pos]:
        return None
    start = number if variable else number * info.max_blocksize
    return start + block
