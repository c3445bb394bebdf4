"""RIFF (WAV) and IFF (AIFF) chunks: the truncation check, and the text chunks mutagen does not read
(WAV `LIST/INFO`, AIFF `NAME`/`AUTH`/`ANNO`/`(c) `; mutagen reads their `id3 ` chunk, see id3.py)."""

from __future__ import annotations

import io

from grandirenhlm.media import chunks, id3
from grandirenhlm.media.source import Reading

_INFO_IDS = {
    b"INAM": "title", b"IART": "artist", b"IPRD": "album", b"ICRD": "date", b"ICMT": "comment",
    b"ITRK": "track", b"IPRT": "track", b"IGNR": "genre", b"ILNG": "language", b"ICOP": "copyright",
}  # fmt: skip
_AIFF_IDS = {b"NAME": "title", b"AUTH": "artist", b"ANNO": "comment", b"(c) ": "copyright"}
_MAX_TEXT_CHUNK = 1 << 20


def codec(r: Reading) -> str:
    """PCM and its sample size, e.g. "pcm 16 bit"."""
    return f"pcm {getattr(r.audio.info, 'bits_per_sample', '?')} bit"


def wav_truncation(r: Reading) -> str | None:
    """Why a WAV looks cut short, or None (see chunks.overrun)."""
    return chunks.overrun(r, "<", 12)  # after RIFF, size, WAVE


def aiff_truncation(r: Reading) -> str | None:
    """Why an AIFF looks cut short, or None (see chunks.overrun)."""
    return chunks.overrun(r, ">", 12)  # after FORM, size, AIFF


def wav_tags(r: Reading) -> dict[str, str]:
    """The `id3 ` chunk's tags, completed by the LIST/INFO chunk (ID3 wins where both have a value)."""
    return _completed(id3.tags(r), chunk_tags(r, riff=True))


def aiff_tags(r: Reading) -> dict[str, str]:
    """The `id3 ` chunk's tags, completed by the NAME/AUTH/ANNO/(c) chunks (ID3 wins)."""
    return _completed(id3.tags(r), chunk_tags(r, riff=False))


def _completed(tags: dict[str, str], more: dict[str, str]) -> dict[str, str]:
    for key, value in more.items():
        tags.setdefault(key, value)
    return tags


def chunk_tags(r: Reading, *, riff: bool) -> dict[str, str]:
    """Tags from a WAV's LIST/INFO chunk or an AIFF's NAME/AUTH/ANNO/(c) chunks; damaged ones are skipped."""
    endian = "<" if riff else ">"
    out: dict[str, str] = {}
    with r.src.open() as fh:
        fh.seek(12)  # RIFF/FORM, size, WAVE/AIFF
        for chunk_id, size in chunks.iter_chunks(fh, endian):
            if riff and chunk_id == b"LIST" and size <= _MAX_TEXT_CHUNK:
                data = fh.read(size)
                if data[:4] == b"INFO":
                    sub = io.BytesIO(data[4:])
                    for sub_id, sub_size in chunks.iter_chunks(sub, "<"):
                        value = _chunk_text(sub.read(sub_size))
                        if sub_id in _INFO_IDS and value:
                            out.setdefault(_INFO_IDS[sub_id], value)
            elif not riff and chunk_id in _AIFF_IDS and size <= _MAX_TEXT_CHUNK:
                value = _chunk_text(fh.read(size))
                if value:
                    out.setdefault(_AIFF_IDS[chunk_id], value)
    return out


def _chunk_text(raw: bytes) -> str:
    raw = raw.split(b"\0", 1)[0]
    try:
        return raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        return raw.decode("cp1252", "replace").strip()
