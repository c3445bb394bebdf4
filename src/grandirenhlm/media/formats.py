"""The media formats `probe` knows, one `Format` entry each: how it is sniffed, which mutagen class
reads it, its container and codec names, its media type (MIME type, suffixes, publishable: see
types.py), its truncation check and its tag, cover and chapter readers.

Adding a format is one entry here, its `MediaType` in types.py and its reader module (mp3.py with
mpeg.py, mp4.py, riff.py with chunks.py, flac.py, ogg.py; the tag kinds id3.py and vorbis.py).
probing.py walks every file through the same steps and never names a format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from mutagen.aiff import AIFF
from mutagen.flac import FLAC
from mutagen.id3 import ID3
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4
from mutagen.oggflac import OggFLAC
from mutagen.oggopus import OggOpus
from mutagen.oggspeex import OggSpeex
from mutagen.oggtheora import OggTheora
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE

from grandirenhlm.media import flac, id3, mp3, mp4, ogg, riff, vorbis
from grandirenhlm.media.source import Reading
from grandirenhlm.media.types import (
    AUDIO_AIFF,
    AUDIO_FLAC,
    AUDIO_M4A,
    AUDIO_MPEG,
    AUDIO_OGG,
    AUDIO_OPUS,
    AUDIO_WAV,
    MEDIA_TYPES,
    VIDEO_MP4,
    MediaType,
)
from grandirenhlm.model import Chapter


def _no_truncation(r: Reading) -> None:
    return None


def _nothing_to_refine(r: Reading) -> None:
    return None


@dataclass(frozen=True, eq=False)  # an entry is itself: compared and hashed by identity
class Format:
    """One media format. Every reader takes the `Reading` of the file being probed."""

    name: str  # as the "not a media file" message lists it ("" for formats it does not list)
    type: MediaType
    container: str  # as `inspect` reports it
    magic: Callable[[bytes], bool] | None  # on the first 12 bytes after any ID3v2 tag (None: not sniffed)
    classes: tuple[type, ...]  # the mutagen classes that read it
    codec: Callable[[Reading], str]
    tags: Callable[[Reading], dict[str, str]]  # under probing.TAG_KEYS, empty values left out
    cover: Callable[[Reading], bytes | None]  # the embedded cover's bytes
    chapters: Callable[[Reading], list[Chapter]]  # in any order, ends optional
    truncation: Callable[[Reading], str | None] = _no_truncation  # why the file looks cut short
    refine: Callable[[Reading], None] = _nothing_to_refine  # what mutagen gets wrong or leaves out
    damaged: dict[str, str] = field(default_factory=dict)  # mutagen module -> the part its errors mean
    with_video: Format | None = None  # this format once `refine` has found a video track


def _const(text: str) -> Callable[[Reading], str]:
    return lambda r: text


MP3_FORMAT = Format(
    name="MP3",
    type=AUDIO_MPEG,
    container="mpeg",
    magic=mp3.is_frame_sync,
    classes=(MP3,),
    codec=mp3.codec,
    tags=id3.tags,
    cover=id3.cover,
    chapters=id3.chapters,
    truncation=mp3.truncation,
    refine=mp3.refine,
    damaged={"mp3": "MPEG audio", "id3": "ID3 tag"},
)
MP4_VIDEO_FORMAT = Format(
    name="MP4",
    type=VIDEO_MP4,
    container="mp4",
    magic=None,  # an M4A in which mp4.refine found a video track
    classes=(),
    codec=mp4.codec,
    tags=mp4.tags,
    cover=mp4.cover,
    chapters=mp4.chapters,
    truncation=mp4.truncation,
    refine=mp4.refine,
    damaged={"mp4": "MP4 box"},
)
M4A_FORMAT = replace(
    MP4_VIDEO_FORMAT,
    name="M4A",
    type=AUDIO_M4A,
    magic=mp4.is_mp4,
    classes=(MP4,),
    with_video=MP4_VIDEO_FORMAT,
)


def _is_ogg(head: bytes) -> bool:
    return head[:4] == b"OggS"


OGG_VORBIS_FORMAT = Format(
    name="Ogg",
    type=AUDIO_OGG,
    container="ogg",
    magic=_is_ogg,
    classes=(OggVorbis,),
    codec=_const("vorbis"),
    tags=vorbis.tags,
    cover=vorbis.cover,
    chapters=vorbis.chapters,
    truncation=ogg.truncation,
    damaged={"ogg": "Ogg page"},
)
OGG_OPUS_FORMAT = replace(
    OGG_VORBIS_FORMAT, type=AUDIO_OPUS, classes=(OggOpus,), codec=_const("opus"), refine=ogg.opus_refine
)
FLAC_FORMAT = Format(
    name="FLAC",
    type=AUDIO_FLAC,
    container="flac",
    magic=lambda head: head[:4] == b"fLaC",
    classes=(FLAC,),
    codec=_const("flac"),
    tags=vorbis.tags,
    cover=flac.cover,
    chapters=vorbis.chapters,
    truncation=flac.truncation,
    damaged={"flac": "FLAC block"},
)
WAV_FORMAT = Format(
    name="WAV",
    type=AUDIO_WAV,
    container="wav",
    magic=lambda head: head[:4] in (b"RIFF", b"RIFX") and head[8:12] == b"WAVE",
    classes=(WAVE,),
    codec=riff.codec,
    tags=riff.wav_tags,
    cover=id3.cover,
    chapters=id3.chapters,
    truncation=riff.wav_truncation,
    damaged={"_riff": "RIFF chunk", "wave": "WAV chunk"},
)
AIFF_FORMAT = Format(
    name="AIFF",
    type=AUDIO_AIFF,
    container="aiff",
    magic=lambda head: head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"),
    classes=(AIFF,),
    codec=riff.codec,
    tags=riff.aiff_tags,
    cover=id3.cover,
    chapters=id3.chapters,
    truncation=riff.aiff_truncation,
    damaged={"aiff": "AIFF chunk", "_iff": "IFF chunk"},
)


# A file mutagen reads as a format that has no entry (ADTS AAC, WMA, Ogg FLAC/Speex/Theora...):
# named after mutagen's class, typed application/x-<name>, a master; ID3 or Vorbis-style tags.
def _any_tags(r: Reading) -> dict[str, str]:
    return id3.tags(r) if isinstance(r.audio.tags, ID3) else vorbis.tags(r)


def _any_cover(r: Reading) -> bytes | None:
    return id3.cover(r) if isinstance(r.audio.tags, ID3) else vorbis.cover(r)


def _any_chapters(r: Reading) -> list[Chapter]:
    return id3.chapters(r) if isinstance(r.audio.tags, ID3) else vorbis.chapters(r)


def unlisted(cls: type, magic: Callable[[bytes], bool] | None = None) -> Format:
    """The entry for a mutagen class the table does not list."""
    kind = cls.__name__.lower()
    return Format(
        name="",
        type=MediaType(f"application/x-{kind}", ()),
        container=kind,
        magic=magic,
        classes=(cls,),
        codec=_const(kind),
        tags=_any_tags,
        cover=_any_cover,
        chapters=_any_chapters,
    )


# Sniffing tries the entries in this order and offers mutagen the classes of every entry with the
# same magic: signatures at offset 0 first, then MP4's `ftyp` at offset 4 (a RIFF size field can
# spell it), then the MPEG frame sync, the weakest (11 bits).
FORMATS: tuple[Format, ...] = (
    FLAC_FORMAT,
    OGG_VORBIS_FORMAT,
    OGG_OPUS_FORMAT,
    *(unlisted(cls, _is_ogg) for cls in (OggFLAC, OggSpeex, OggTheora)),  # read, not listed
    WAV_FORMAT,
    AIFF_FORMAT,
    M4A_FORMAT,
    MP4_VIDEO_FORMAT,
    MP3_FORMAT,
)

_BY_CLASS = {cls: f for f in FORMATS for cls in f.classes}

# For "not a media file mutagen recognises (MP3, M4A, ...)": the listed names, in types.py's order.
KNOWN = ", ".join(
    dict.fromkeys(
        f.name for f in sorted((f for f in FORMATS if f.name), key=lambda f: MEDIA_TYPES.index(f.type))
    )
)
# mutagen module -> the damaged part its content-free errors mean (an `error()` from mutagen.mp4...)
DAMAGED_PARTS = {module: part for f in FORMATS for module, part in f.damaged.items()}


def sniff(head: bytes) -> list[type] | None:
    """The mutagen classes the file's first bytes (after any ID3v2 tag) allow, or None to let
    mutagen try them all.

    mutagen scores formats on the header and on the file name's extension, so a FLAC file named
    .mp3 would be read as a (broken) MP3; the magic numbers decide here, the extension never does.
    """
    for f in FORMATS:
        if f.magic is not None and f.magic(head):
            return [cls for g in FORMATS if g.magic is f.magic for cls in g.classes]
    return None


def format_of(audio: Any) -> Format:
    """The entry for what mutagen read (`unlisted` for a class the table does not list)."""
    found = _BY_CLASS.get(type(audio))
    if found is None:
        found = next((f for f in FORMATS if isinstance(audio, f.classes)), None) or unlisted(type(audio))
    return found
