"""MP3 (MPEG-1/2 audio layers I-III): the format's magic, codec name, truncation check and exact
duration (frames counted by mpeg.py when there is no Xing/VBRI header). Its tags are ID3 (id3.py)."""

from __future__ import annotations

from mutagen.mp3 import BitrateMode

from grandirenhlm.media import mpeg
from grandirenhlm.media.source import Reading


def is_frame_sync(head: bytes) -> bool:
    """An MPEG audio frame sync with a layer (layer 0 would be ADTS AAC)."""
    return len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and bool(head[1] & 0x06)


def codec(r: Reading) -> str:
    """The codec name: "mp3 (layer 3)" (or layer 1, 2)."""
    return f"mp3 (layer {r.audio.info.layer})"


def truncation(r: Reading) -> str | None:
    """Why the file looks cut short, or None: a Xing/VBRI header gives the stream's byte count (from
    which mutagen derives the bitrate), and fewer bytes than that are there."""
    info = r.audio.info
    if info.bitrate_mode == BitrateMode.UNKNOWN:
        return None
    promised = info.bitrate * info.length / 8
    present = r.src.size - getattr(info, "frame_offset", 0)
    if present < 0.9 * promised:
        return f"the MP3 header announces {promised / 1e6:.2f} MB of audio, {present / 1e6:.2f} MB are there"
    return None


def refine(r: Reading) -> None:
    """Without a Xing/Info or VBRI header mutagen estimates the duration from the first frame's
    bitrate; count the frames instead. Constant-bitrate files come out the same, VBR ones exact."""
    if r.audio.info.bitrate_mode != BitrateMode.UNKNOWN:
        return
    start = getattr(r.audio.info, "frame_offset", None)
    with r.src.open() as fh:
        stats = mpeg.walk_frames(fh, start if isinstance(start, int) else mpeg.skip_id3v2(fh))
    if not stats.frames:
        return
    if stats.variable_bitrate:
        r.warnings.append(
            f"variable-bitrate MP3 without a Xing/VBRI header: duration {stats.seconds:.1f} s counted over "
            f"{stats.frames} MPEG frames (the header-based estimate was {r.length:.1f} s); some players will "
            "show a wrong duration, re-encode with a Xing header"
        )
        r.bitrate = stats.mean_bitrate
    r.length = stats.seconds
