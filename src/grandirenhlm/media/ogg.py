"""Ogg pages (RFC 3533): the truncation check of Ogg Vorbis and Ogg Opus streams; Opus's sample rate."""

from __future__ import annotations

from grandirenhlm.media.source import Reading

# RFC 7845 §5.1: an Opus stream decodes at 48 kHz; the header's "input sample rate" only records
# what the encoder was given (mutagen reports no rate at all).
OPUS_RATE = 48000
_TAIL = 65536  # an Ogg page is at most 65307 bytes: the last one starts within this many from the end


def truncation(r: Reading) -> str | None:
    """Why the stream looks cut short, or None: its last page must carry the end-of-stream flag."""
    with r.src.open() as fh:
        fh.seek(max(0, r.src.size - _TAIL))
        tail = fh.read()
    last = tail.rfind(b"OggS")
    if last < 0 or len(tail) < last + 6 or not tail[last + 5] & 0x04:
        return "the Ogg stream has no end-of-stream page"
    return None


def opus_refine(r: Reading) -> None:
    """The rate an Opus stream decodes at, which mutagen leaves out."""
    r.sample_rate = OPUS_RATE
