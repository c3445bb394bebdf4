"""MPEG audio frames, for MP3s whose duration mutagen can only estimate, and the ID3v2 header that
precedes them. Plain parsing, no mutagen: `stats` reads ID3v2 sizes with it too (mp3.py is the reader).

mutagen reads the duration of an MP3 from its Xing/Info or VBRI header. Without one it divides the
file size by the first frame's bitrate, which is exact for constant bitrate and wrong, often by
minutes, for variable bitrate. Decoding is not needed to do better: every MPEG audio frame starts
with a 4-byte header giving its length in bytes and in samples (ISO/IEC 11172-3 §2.4.2.3,
13818-3 for MPEG-2 and the MPEG-2.5 extension), so walking the headers gives the exact sample count.

The walk reads the file in fixed-size blocks: memory does not grow with the file's length.
"""

from __future__ import annotations

import re
import struct
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

BLOCK = 1 << 20  # a 1-hour file costs no more memory than a short one; 256 KiB reads cost 10-20 % more time

# kbit/s by (MPEG-1?, layer), index 1..14; 0 is "free format" and 15 is forbidden.
_BITRATES = {
    (True, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 3): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
# Hz by the header's version bits: 0 = MPEG-2.5, 2 = MPEG-2, 3 = MPEG-1 (1 is reserved).
_SAMPLE_RATES = {0: (11025, 12000, 8000), 2: (22050, 24000, 16000), 3: (44100, 48000, 32000)}
# What must stay the same from frame to frame: sync, version, layer and sample-rate bits.
_STREAM_MASK = 0xFFFE0C00
# Trailing tags that end the audio: ID3v1, APEv2, Lyrics3.
_TRAILERS = (b"TAG", b"APETAGEX", b"LYRICS200", b"LYRICSBEGIN")
_MAX_RESYNC = 64 * 1024
_HEADER = struct.Struct(">I")
# A run matched in C costs a few steps: after one shorter than `_LONG_RUN` frames (a VBR stream's
# runs are of one to a few frames), the walk steps about `_STEPS_BETWEEN_RUNS` frames before trying
# again, so that a stream without long runs costs what it did frame by frame.
_LONG_RUN = 8
_STEPS_BETWEEN_RUNS = 64


@dataclass(frozen=True)
class FrameStats:
    frames: int
    samples: int
    sample_rate: int
    audio_bytes: int
    min_bitrate: int  # bit/s
    max_bitrate: int
    skipped_bytes: int  # junk between frames that had to be skipped to find the next header

    @property
    def seconds(self) -> float:
        return self.samples / self.sample_rate if self.sample_rate else 0.0

    @property
    def variable_bitrate(self) -> bool:
        return self.min_bitrate != self.max_bitrate

    @property
    def mean_bitrate(self) -> int:
        return round(self.audio_bytes * 8 / self.seconds) if self.seconds else 0


def parse_header(header: int) -> tuple[int, int, int, int] | None:
    """(frame length in bytes, samples, sample rate, bitrate in bit/s) of a 32-bit frame header,
    or None if these four bytes are not a valid header."""
    if header >> 21 != 0x7FF:
        return None
    version = (header >> 19) & 3
    layer = 4 - ((header >> 17) & 3)
    bitrate_index = (header >> 12) & 0xF
    rate_index = (header >> 10) & 3
    if version == 1 or layer == 4 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    mpeg1 = version == 3
    bitrate = _BITRATES[(mpeg1, layer)][bitrate_index] * 1000
    sample_rate = _SAMPLE_RATES[version][rate_index]
    padding = (header >> 9) & 1
    if layer == 1:
        return (12 * bitrate // sample_rate + padding) * 4, 384, sample_rate, bitrate
    if layer == 3 and not mpeg1:
        return 72 * bitrate // sample_rate + padding, 576, sample_rate, bitrate
    return 144 * bitrate // sample_rate + padding, 1152, sample_rate, bitrate


def walk_frames(fileobj: BinaryIO, start: int) -> FrameStats:
    """Walk the frame headers from the first frame at byte `start` to the end of the audio.

    The loop does the least per frame (one slice, one dict lookup): a frame's length and validity
    come from its header's first three bytes, so headers seen before are cached by those bytes (a
    slice costs less than unpacking an integer and masking it), and counted; totals are computed
    from the counts at the end. Between steps, a run of frames with the same three bytes (a
    constant-bitrate stream is runs of one or two frame lengths, padded or not) is matched in C by
    a regular expression made for that header, `(?:K.{length - 3})*+`, and counted by its length:
    a 10-minute CBR file costs about 1,000 steps and calls instead of 23,000 steps; a stream
    whose runs are short is walked frame by frame, trying a run now and then.
    """
    known: dict[bytes, int] = {}  # first 3 header bytes -> frame length, for the locked stream's headers
    runs: dict[bytes, Callable] = {}  # first 3 header bytes -> `match` of the regex of a run of such frames
    counts: Counter[bytes] = Counter()
    seen: list[bytes] = []  # keys of the frames stepped on since the last refill; counted in C by Counter
    lookup, append = known.get, seen.append
    ahead = 0  # bytes to walk frame by frame before matching a run
    fileobj.seek(start)
    buf = fileobj.read(BLOCK)
    eof = len(buf) < BLOCK
    pos = skipped = 0
    stream = None
    while True:
        if not eof and len(buf) - pos < _MAX_RESYNC:
            block = fileobj.read(BLOCK)
            eof = len(block) < BLOCK
            buf = buf[pos:] + block
            pos = 0
            counts.update(seen)
            seen.clear()
        # the fast path: stop where a frame could run past the data read so far
        limit = len(buf) - (4 if eof else _MAX_RESYNC)
        while pos <= limit:
            # frame by frame for `ahead` bytes (one frame at least), as cheaply as a step can be...
            stop = min(limit, pos + ahead)
            while pos <= stop:
                key = buf[pos : pos + 3]
                length = lookup(key)
                if length is None:
                    break
                append(key)
                pos += length
            if length is None or pos > limit:
                break
            # ...then the run of frames like the next one, matched in C: whole frames starting up to
            # `limit`, as the steps take them (one cut short by the end of the file is stepped on)
            head = buf[pos : pos + 3]
            length = lookup(head)
            if length is None:
                break
            end = runs[head](buf, pos, min(len(buf), limit + length)).end()
            frames = (end - pos) // length
            counts[head] += frames
            pos = end
            # short runs (variable bitrate): step a while before trying again, a call costs more
            ahead = 0 if frames >= _LONG_RUN else _STEPS_BETWEEN_RUNS * length
        if len(buf) - pos < 4 or (eof and pos > limit):
            break
        if not eof and pos > limit:
            continue
        header = _HEADER.unpack_from(buf, pos)[0]
        parsed = parse_header(header)
        if parsed is not None and (stream is None or header & _STREAM_MASK == stream):
            if stream is None:
                stream = header & _STREAM_MASK
            head = buf[pos : pos + 3]
            known[head] = parsed[0]
            runs[head] = re.compile(b"(?:" + re.escape(head) + b".{%d})*+" % (parsed[0] - 3), re.DOTALL).match
            continue
        if buf.startswith(_TRAILERS, pos):
            break
        found = _resync(buf, pos + 1, stream)
        if found is None:
            break
        skipped += found - pos
        pos = found
    counts.update(seen)
    if pos > len(buf):
        # the last frame counted (`key` still holds it) is cut short by the end of the file: a decoder
        # drops it too
        counts[key] -= 1
    return _totals(counts, skipped)


def _totals(counts: dict[bytes, int], skipped: int) -> FrameStats:
    frames = samples = audio_bytes = 0
    sample_rate = 0
    rates = []
    for key, count in counts.items():
        if not count:
            continue
        length, frame_samples, sample_rate, bitrate = parse_header(int.from_bytes(key) << 8)  # type: ignore[misc]
        frames += count
        samples += count * frame_samples
        audio_bytes += count * length
        rates.append(bitrate)
    return FrameStats(
        frames, samples, sample_rate, audio_bytes, min(rates, default=0), max(rates, default=0), skipped
    )


def _resync(buf: bytes, pos: int, stream: int | None) -> int | None:
    """The next offset within reach that starts a header of the same stream."""
    end = min(len(buf) - 4, pos + _MAX_RESYNC)
    while pos <= end:
        pos = buf.find(b"\xff", pos, end + 1)
        if pos < 0:
            return None
        header = int.from_bytes(buf[pos : pos + 4], "big")
        if parse_header(header) is not None and (stream is None or header & _STREAM_MASK == stream):
            return pos
        pos += 1
    return None


def id3v2_body_size(head: bytes) -> int | None:
    """The size its header gives an ID3v2 tag's body (a 28-bit "syncsafe" number), or None if the
    10 bytes are not an ID3v2 header."""
    if len(head) < 10 or head[:3] != b"ID3":
        return None
    size = 0
    for byte in head[6:10]:
        size = (size << 7) | (byte & 0x7F)
    return size


def skip_id3v2(fileobj: BinaryIO) -> int:
    """Offset of the first byte after any ID3v2 tags at the start of the file (some tools stack several)."""
    offset = 0
    while True:
        fileobj.seek(offset)
        head = fileobj.read(10)
        size = id3v2_body_size(head)
        if size is None:
            return offset
        offset += 10 + size + (10 if head[5] & 0x10 else 0)  # header, body, optional footer
