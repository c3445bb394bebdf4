"""`probe(path) -> MediaInfo`: what mutagen reads from one media file, plus size and sha256.

Every mutagen failure is wrapped here into a `MediaError` that names the file.
"""

from __future__ import annotations

import base64
import hashlib
import io
import math
import os
import re
import stat
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import mutagen
from mutagen.aiff import AIFF
from mutagen.flac import FLAC, Picture
from mutagen.id3 import ID3
from mutagen.mp3 import MP3, BitrateMode
from mutagen.mp4 import MP4, Atoms
from mutagen.oggflac import OggFLAC
from mutagen.oggopus import OggOpus
from mutagen.oggspeex import OggSpeex
from mutagen.oggtheora import OggTheora
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE

from grandirenhlm.errors import MediaError
from grandirenhlm.files import DisplayPath, sha256_file
from grandirenhlm.model import Chapter, Cover, MediaInfo
from grandirenhlm.mpeg import id3v2_body_size, skip_id3v2, walk_frames

TAG_KEYS = (
    "title", "artist", "album", "date", "comment", "track", "disc", "genre", "language", "copyright",
)  # fmt: skip
_ID3_FRAMES = {
    "title": "TIT2", "artist": "TPE1", "album": "TALB", "date": "TDRC", "track": "TRCK",
    "disc": "TPOS", "genre": "TCON", "language": "TLAN", "copyright": "TCOP",
}  # fmt: skip
_MP4_ATOMS = {
    "title": "\xa9nam", "artist": "\xa9ART", "album": "\xa9alb", "date": "\xa9day",
    "comment": "\xa9cmt", "genre": "\xa9gen", "copyright": "cprt",
}  # fmt: skip
_VORBIS_KEYS = {
    "title": ("title",), "artist": ("artist",), "album": ("album",), "date": ("date",),
    "comment": ("comment", "description"), "track": ("tracknumber",), "disc": ("discnumber",),
    "genre": ("genre",), "language": ("language",), "copyright": ("copyright",),
}  # fmt: skip


def probe(path: Path) -> MediaInfo:
    """Read one media file; raise `MediaError` naming the file if it is not one we understand."""
    name = DisplayPath(path)
    src = Source.load(path, name)
    size = src.size
    try:
        with src.open() as fh:
            _check_id3v2_size(fh, name, size)
            audio = mutagen.File(fh, options=_sniff(fh))
    except mutagen.MutagenError as exc:
        raise MediaError(f"{name}: unreadable media file: {_reason(exc)}") from exc
    except MemoryError as exc:
        raise MediaError(
            f"{name}: corrupt media file: a size field asks for more memory than exists"
        ) from exc
    except (struct.error, ValueError, IndexError, KeyError, OverflowError, EOFError, UnicodeError) as exc:
        raise MediaError(f"{name}: corrupt media file: {_reason(exc)}") from exc
    if audio is None or audio.info is None:
        raise MediaError(f"{name}: not a media file mutagen recognises (MP3, M4A, MP4, Ogg, FLAC, WAV, AIFF)")
    truncated = _truncation(src, audio, size)
    if truncated:
        raise MediaError(f"{name}: truncated file: {truncated}")
    length = float(getattr(audio.info, "length", 0) or 0)
    if not round(length, 3) > 0 or not math.isfinite(length):
        raise MediaError(f"{name}: no audio frames found (duration is 0)")
    warnings: list[str] = []
    container, codec, mime_type = _kind(audio)
    bitrate = int(getattr(audio.info, "bitrate", 0) or 0) or None
    chapters: list[Chapter] = []
    video: VideoTrack | None = None
    if isinstance(audio, MP3) and audio.info.bitrate_mode == BitrateMode.UNKNOWN:
        length, bitrate = _count_mp3_frames(src, audio, length, bitrate, warnings)
    if isinstance(audio, MP4):
        extra = _mp4_extra(src)
        video = extra.video
        if video:
            mime_type, container = "video/mp4", "mp4"
            codec = f"{video.codec}+{codec}"
            if extra.movie_seconds > length + 0.5:
                # mutagen gives the audio track's length; a video enclosure lasts as long as the movie
                warnings.append(
                    f"the video track ({extra.movie_seconds:.1f} s) is longer than the audio ({length:.1f} s)"
                )
                length = extra.movie_seconds
        chapters = extra.chapters
    suffix = path.suffix.lower()
    if suffix not in _SUFFIXES.get(mime_type, (suffix,)):
        warnings.append(
            f"the name ends in {suffix or 'no extension'} but the content is {container} ({mime_type})"
        )
    if mime_type not in ("audio/mpeg", "audio/x-m4a", "video/mp4"):
        warnings.append(f"{container} is a master format: encode it to MP3 or M4A before publishing it")
    tags = _tags(audio)
    if isinstance(audio, WAVE | AIFF):
        for key, value in _chunk_tags(src, riff=isinstance(audio, WAVE)).items():
            tags.setdefault(key, value)
    cover = _cover(audio, warnings)
    return MediaInfo(
        path=path,
        size=size,
        sha256=src.sha256(),
        mime_type=mime_type,
        container=container,
        codec=codec,
        duration_seconds=round(length, 3),
        bitrate=bitrate,
        sample_rate=getattr(audio.info, "sample_rate", None),
        channels=getattr(audio.info, "channels", None),
        has_video=video is not None,
        width=video.width if video else None,
        height=video.height if video else None,
        tags=tags,
        cover=cover,
        chapters=_chapters(audio, length, chapters),
        warnings=tuple(warnings),
    )


SMALL_FILE = 2 << 20


@dataclass(frozen=True)
class Source:
    """The file being probed. A small file is read once into memory and every reader (mutagen, the
    hash, the box and chunk readers) works on that copy: opening a file five times costs more than
    reading it for the short files that dominate a folder. A large file is opened per reader and
    streamed, so memory stays flat whatever its length."""

    path: Path
    size: int
    data: bytes | None

    @classmethod
    def load(cls, path: Path, name: Any) -> Source:
        """Open `path` once, make sure it is a readable, non-empty regular file, and keep its bytes if
        it is small. O_NONBLOCK: a FIFO named .mp3 must be refused, not wait for a writer forever."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        except FileNotFoundError as exc:
            raise MediaError(f"{name}: no such file") from exc
        except PermissionError as exc:
            raise MediaError(f"{name}: permission denied") from exc
        except OSError as exc:
            raise MediaError(f"{name}: cannot read: {exc.strerror or exc}") from exc
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            problem = "is a directory, expected a media file"
        elif not stat.S_ISREG(st.st_mode):
            problem = "not a regular file (a pipe, socket or device), expected a media file"
        elif st.st_size == 0:
            problem = "empty file (0 bytes)"
        else:
            problem = None
        if problem:
            os.close(fd)
            raise MediaError(f"{name}: {problem}")
        with os.fdopen(fd, "rb") as fh:
            try:
                data = fh.read() if st.st_size <= SMALL_FILE else None
            except OSError as exc:
                raise MediaError(f"{name}: cannot read: {exc.strerror or exc}") from exc
        return cls(path, st.st_size, data)

    def open(self) -> BinaryIO:
        if self.data is None:
            return self.path.open("rb")
        fh = io.BytesIO(self.data)
        fh.name = str(self.path)  # mutagen scores formats by extension too
        return fh

    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest() if self.data is not None else sha256_file(self.path)


def _count_mp3_frames(
    src: Source, audio: MP3, length: float, bitrate: int | None, warnings: list[str]
) -> tuple[float, int | None]:
    """Without a Xing/Info or VBRI header mutagen estimates the duration from the first frame's
    bitrate; count the frames instead. Constant-bitrate files come out the same, VBR ones exact."""
    start = getattr(audio.info, "frame_offset", None)
    with src.open() as fh:
        stats = walk_frames(fh, start if isinstance(start, int) else skip_id3v2(fh))
    if not stats.frames:
        return length, bitrate
    if stats.variable_bitrate:
        warnings.append(
            f"variable-bitrate MP3 without a Xing/VBRI header: duration {stats.seconds:.1f} s counted over "
            f"{stats.frames} MPEG frames (the header-based estimate was {length:.1f} s); some players will "
            "show a wrong duration, re-encode with a Xing header"
        )
    return stats.seconds, (stats.mean_bitrate if stats.variable_bitrate else bitrate)


# Extensions that agree with each type; anything else is worth a warning (the content decides).
_SUFFIXES = {
    "audio/mpeg": (".mp3",), "audio/x-m4a": (".m4a", ".m4b", ".mp4", ".aac"),
    "video/mp4": (".mp4", ".m4v", ".mov"), "audio/flac": (".flac",), "audio/ogg": (".ogg", ".oga", ".opus"),
    "audio/wav": (".wav", ".wave"), "audio/aiff": (".aif", ".aiff", ".aifc"),
}  # fmt: skip
_DAMAGED_PART = {
    "id3": "ID3 tag", "mp3": "MPEG audio", "mp4": "MP4 box", "ogg": "Ogg page", "flac": "FLAC block",
    "_riff": "RIFF chunk", "wave": "WAV chunk", "aiff": "AIFF chunk", "_iff": "IFF chunk",
}  # fmt: skip


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    if not text or text in ("error", "OSError()") or text.startswith("error("):
        # some mutagen errors carry no message; the module that raised it says which part is damaged
        parts = type(exc).__module__.split(".")
        part = next((_DAMAGED_PART[p] for p in reversed(parts) if p in _DAMAGED_PART), "media data")
        return f"damaged {part}"
    return text.splitlines()[0]


def _crc8(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def _flac_last_sample(src: Source, info: Any, size: int) -> int | None:
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
        found = _flac_frame_end(data[pos : pos + 16], info)
        if found is not None:
            return found


def _flac_frame_end(head: bytes, info: Any) -> int | None:
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


def _sniff(fh: BinaryIO) -> list[type] | None:
    """The mutagen classes the file's first bytes allow, or None to let mutagen try them all.

    mutagen scores formats on the header and on the file name's extension, so a FLAC file named
    .mp3 would be read as a (broken) MP3; the magic numbers decide here, the extension never does.
    An ID3v2 tag in front is skipped: MP3 files have one, and some taggers put one before FLAC too.
    """
    start = skip_id3v2(fh)
    fh.seek(start)
    head = fh.read(12)
    fh.seek(0)
    if head[:4] == b"fLaC":
        return [FLAC]
    if head[:4] == b"OggS":
        return [OggVorbis, OggOpus, OggFLAC, OggSpeex, OggTheora]
    if head[:4] in (b"RIFF", b"RIFX") and head[8:12] == b"WAVE":
        return [WAVE]
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return [AIFF]
    if head[4:8] == b"ftyp":
        return [MP4]
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06:
        return [MP3]  # an MPEG audio frame sync with a layer (layer 0 would be ADTS AAC)
    return None


def _check_id3v2_size(fh: BinaryIO, name: Any, size: int) -> None:
    """An ID3v2 header whose size field points past the end of the file: a damaged or hostile tag."""
    declared = id3v2_body_size(fh.read(10))
    fh.seek(0)
    if declared is not None and 10 + declared > size:
        raise MediaError(
            f"{name}: damaged ID3 tag: its header declares {declared} bytes, the file has {size}"
        )


def _truncation(src: Source, audio: Any, size: int) -> str | None:
    """Why the file looks cut short, or None: the container's own sizes promise more bytes than exist."""
    if isinstance(audio, MP3) and audio.info.bitrate_mode != BitrateMode.UNKNOWN:
        # a Xing/VBRI header gives the stream's byte count, from which mutagen derives the bitrate
        promised = audio.info.bitrate * audio.info.length / 8
        present = size - getattr(audio.info, "frame_offset", 0)
        if present < 0.9 * promised:
            return (
                f"the MP3 header announces {promised / 1e6:.2f} MB of audio, {present / 1e6:.2f} MB are there"
            )
    elif isinstance(audio, MP4 | WAVE | AIFF):
        endian, start = (">", 0) if isinstance(audio, MP4) else ("<" if isinstance(audio, WAVE) else ">", 12)
        with src.open() as fh:
            fh.seek(start)
            for chunk_id, chunk_size in _iter_chunks(fh, endian, mp4=isinstance(audio, MP4)):
                end = fh.tell() + chunk_size
                if end > size and chunk_id in (b"mdat", b"data", b"SSND"):
                    return (
                        f"its {chunk_id.decode()} section ends {end - size} bytes after the end of the file"
                    )
    elif isinstance(audio, FLAC):
        last_end = _flac_last_sample(src, audio.info, size)
        total = audio.info.total_samples
        if last_end is not None and abs(total - last_end) > audio.info.max_blocksize:
            rate = audio.info.sample_rate
            return f"STREAMINFO announces {total / rate:.1f} s of audio, its last frame ends at {last_end / rate:.1f} s"
    elif isinstance(audio, OggVorbis | OggOpus):
        with src.open() as fh:
            fh.seek(max(0, size - 65536))
            tail = fh.read()
        last = tail.rfind(b"OggS")
        if last < 0 or len(tail) < last + 6 or not tail[last + 5] & 0x04:
            return "the Ogg stream has no end-of-stream page"
    return None


def _kind(audio: Any) -> tuple[str, str, str]:
    """(container, codec, MIME type as Apple spells it) from mutagen's own type detection."""
    if isinstance(audio, MP3):
        return "mpeg", f"mp3 (layer {audio.info.layer})", "audio/mpeg"
    if isinstance(audio, MP4):
        return "mp4", getattr(audio.info, "codec", "mp4a") or "mp4a", "audio/x-m4a"
    if isinstance(audio, FLAC):
        return "flac", "flac", "audio/flac"
    if isinstance(audio, OggOpus):
        return "ogg", "opus", "audio/ogg"
    if isinstance(audio, OggVorbis):
        return "ogg", "vorbis", "audio/ogg"
    if isinstance(audio, WAVE):
        return "wav", f"pcm {getattr(audio.info, 'bits_per_sample', '?')} bit", "audio/wav"
    if isinstance(audio, AIFF):
        return "aiff", f"pcm {getattr(audio.info, 'bits_per_sample', '?')} bit", "audio/aiff"
    kind = type(audio).__name__.lower()
    return kind, kind, f"application/x-{kind}"


@dataclass(frozen=True)
class VideoTrack:
    codec: str  # the sample entry's four-character code: avc1, hvc1, ...
    width: int
    height: int


@dataclass(frozen=True)
class Mp4Extra:
    """What mutagen does not read from an MP4: the video track, the movie's length, QuickTime chapters."""

    video: VideoTrack | None
    movie_seconds: float
    chapters: list[Chapter]


_MAX_CHAPTERS = 10_000


def _mp4_extra(src: Source) -> Mp4Extra:
    """Read the `moov` boxes (ISO 14496-12) that mutagen leaves alone; damaged boxes read as absent."""
    with src.open() as fh:
        try:
            moov = Atoms(fh).path(b"moov")[-1]
        except (mutagen.MutagenError, KeyError, struct.error, EOFError, ValueError):
            return Mp4Extra(None, 0.0, [])
        movie_seconds = _mp4_movie_seconds(fh, moov)
        traks = list(moov.findall(b"trak"))
        video = None
        for trak in traks:
            video = _mp4_video_track(fh, trak)
            if video:
                break
        try:
            chapters = _mp4_quicktime_chapters(fh, traks)
        except (KeyError, struct.error, ValueError, IndexError, OverflowError):
            chapters = []
    return Mp4Extra(video, movie_seconds, chapters)


def _read_box(fh: BinaryIO, atom: Any, *names: bytes) -> bytes:
    ok, data = atom[names].read(fh)
    if not ok:
        raise KeyError(names)
    return data


def _mp4_movie_seconds(fh: BinaryIO, moov: Any) -> float:
    try:
        mvhd = _read_box(fh, moov, b"mvhd")
        # version 1 has 64-bit creation/modification times and duration
        timescale, duration = (
            struct.unpack(">IQ", mvhd[20:32]) if mvhd[0] == 1 else struct.unpack(">II", mvhd[12:20])
        )
    except (KeyError, struct.error, IndexError):
        return 0.0
    return duration / timescale if timescale else 0.0


def _mp4_video_track(fh: BinaryIO, trak: Any) -> VideoTrack | None:
    try:
        hdlr = _read_box(fh, trak, b"mdia", b"hdlr")
        if hdlr[8:12] != b"vide":
            return None
        tkhd = _read_box(fh, trak, b"tkhd")
        # tkhd ends with width and height as 16.16 fixed-point numbers
        width, height = struct.unpack(">II", tkhd[-8:])
        stsd = _read_box(fh, trak, b"mdia", b"minf", b"stbl", b"stsd")
    except (KeyError, struct.error):
        return None
    # version/flags (4), entry count (4), then the first entry: size (4), format (4)
    fourcc = stsd[12:16].decode("ascii", "replace") if len(stsd) >= 16 else "video"
    return VideoTrack(fourcc, width >> 16, height >> 16)


def _mp4_quicktime_chapters(fh: BinaryIO, traks: list[Any]) -> list[Chapter]:
    """QuickTime chapters: a text track that another track names in its `tref/chap` box.

    Each sample of that track is a 16-bit length and the title (UTF-8, or UTF-16 with a BOM); its time
    comes from `stts`, its place in the file from `stsc`, `stsz` and `stco`/`co64`.
    """
    by_id: dict[int, Any] = {}
    wanted: list[int] = []
    for trak in traks:
        tkhd = _read_box(fh, trak, b"tkhd")
        by_id[struct.unpack(">I", tkhd[20:24] if tkhd[0] == 1 else tkhd[12:16])[0]] = trak
        try:
            tref = _read_box(fh, trak, b"tref")
        except KeyError:
            continue
        # mutagen does not parse inside `tref`: its children are (size, type, track ids...)
        pos = 0
        while pos + 8 <= len(tref):
            size, kind = struct.unpack(">I4s", tref[pos : pos + 8])
            if size < 8:
                break
            if kind == b"chap":
                ids = tref[pos + 8 : pos + size]
                wanted.extend(struct.unpack(f">{len(ids) // 4}I", ids[: len(ids) // 4 * 4]))
            pos += size
    trak = next((by_id[i] for i in wanted if i in by_id), None)
    if trak is None:
        return []
    mdhd = _read_box(fh, trak, b"mdia", b"mdhd")
    timescale = struct.unpack(">I", mdhd[20:24] if mdhd[0] == 1 else mdhd[12:16])[0]
    stbl = (b"mdia", b"minf", b"stbl")
    stts = _read_box(fh, trak, *stbl, b"stts")
    times = []
    now = 0
    for i in range(min(struct.unpack(">I", stts[4:8])[0], _MAX_CHAPTERS)):
        count, delta = struct.unpack(">II", stts[8 + 8 * i : 16 + 8 * i])
        for _ in range(min(count, _MAX_CHAPTERS - len(times))):
            times.append(now)
            now += delta
    stsz = _read_box(fh, trak, *stbl, b"stsz")
    fixed, count = struct.unpack(">II", stsz[4:12])
    count = min(count, len(times))
    sizes = [fixed] * count if fixed else list(struct.unpack(f">{count}I", stsz[12 : 12 + 4 * count]))
    try:
        stco = _read_box(fh, trak, *stbl, b"stco")
        chunks = list(struct.unpack(f">{struct.unpack('>I', stco[4:8])[0]}I", stco[8:]))
    except KeyError:
        co64 = _read_box(fh, trak, *stbl, b"co64")
        chunks = list(struct.unpack(f">{struct.unpack('>I', co64[4:8])[0]}Q", co64[8:]))
    stsc = _read_box(fh, trak, *stbl, b"stsc")
    runs = [
        struct.unpack(">III", stsc[8 + 12 * i : 20 + 12 * i])
        for i in range(struct.unpack(">I", stsc[4:8])[0])
    ]
    offsets: list[int] = []
    for r, (first, per_chunk, _desc) in enumerate(runs):
        last = runs[r + 1][0] - 1 if r + 1 < len(runs) else len(chunks)
        for chunk in range(first, last + 1):
            offset = chunks[chunk - 1]
            for _ in range(per_chunk):
                if len(offsets) == count:
                    break
                offsets.append(offset)
                offset += sizes[len(offsets) - 1]
    chapters = []
    for start, offset in zip(times, offsets, strict=False):
        fh.seek(offset)
        (length,) = struct.unpack(">H", fh.read(2))
        raw = fh.read(length)
        title = (
            raw.decode("utf-16") if raw[:2] in (b"\xfe\xff", b"\xff\xfe") else raw.decode("utf-8", "replace")
        )
        chapters.append(Chapter(start_seconds=start / timescale if timescale else 0.0, title=title.strip()))
    return chapters


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        value = value[0] if value else ""
    return str(value).strip()


def _id3_text(frame: Any) -> str:
    text = str(frame.text[0]) if frame.text else ""
    # Frames declared Latin-1 (and all of ID3v1) are often something else in practice: UTF-8 bytes
    # (tools that ignore the encoding byte) or Windows-1252 (’ « » from Windows taggers). Repaired
    # before stripping: the last byte of a UTF-8 sequence can read as a Latin-1 no-break space.
    return (repair_latin1(text) if getattr(frame, "encoding", None) == 0 else text).strip()


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


# RIFF INFO (WAV) and AIFF text chunks, which mutagen does not read (it reads their `id3 ` chunk).
_INFO_IDS = {
    b"INAM": "title", b"IART": "artist", b"IPRD": "album", b"ICRD": "date", b"ICMT": "comment",
    b"ITRK": "track", b"IPRT": "track", b"IGNR": "genre", b"ILNG": "language", b"ICOP": "copyright",
}  # fmt: skip
_AIFF_IDS = {b"NAME": "title", b"AUTH": "artist", b"ANNO": "comment", b"(c) ": "copyright"}
_MAX_TEXT_CHUNK = 1 << 20


def _chunk_tags(src: Source, *, riff: bool) -> dict[str, str]:
    """Tags from a WAV's LIST/INFO chunk or an AIFF's NAME/AUTH/ANNO/(c) chunks; damaged ones are skipped."""
    endian = "<" if riff else ">"
    out: dict[str, str] = {}
    with src.open() as fh:
        fh.seek(12)  # RIFF/FORM, size, WAVE/AIFF
        for chunk_id, size in _iter_chunks(fh, endian):
            if riff and chunk_id == b"LIST" and size <= _MAX_TEXT_CHUNK:
                data = fh.read(size)
                if data[:4] == b"INFO":
                    sub = io.BytesIO(data[4:])
                    for sub_id, sub_size in _iter_chunks(sub, "<"):
                        value = _chunk_text(sub.read(sub_size))
                        if sub_id in _INFO_IDS and value:
                            out.setdefault(_INFO_IDS[sub_id], value)
            elif not riff and chunk_id in _AIFF_IDS and size <= _MAX_TEXT_CHUNK:
                value = _chunk_text(fh.read(size))
                if value:
                    out.setdefault(_AIFF_IDS[chunk_id], value)
    return out


def _iter_chunks(fh: BinaryIO, endian: str, *, mp4: bool = False) -> Any:
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


def _chunk_text(raw: bytes) -> str:
    raw = raw.split(b"\0", 1)[0]
    try:
        return raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        return raw.decode("cp1252", "replace").strip()


def _tags(audio: Any) -> dict[str, str]:
    tags = audio.tags
    out: dict[str, str] = {}
    if tags is None:
        return out
    if isinstance(tags, ID3):
        for key, frame_id in _ID3_FRAMES.items():
            frame = tags.get(frame_id)
            if frame is not None and frame.text:
                out[key] = _id3_text(frame)
        comments = tags.getall("COMM")
        if comments:
            out["comment"] = _id3_text(comments[0])
    elif isinstance(audio, MP4):
        for key, atom in _MP4_ATOMS.items():
            if atom in tags:
                out[key] = _text(tags[atom])
        for key, atom in (("track", "trkn"), ("disc", "disk")):
            if tags.get(atom):
                number, total = tags[atom][0]
                out[key] = f"{number}/{total}" if total else str(number)
    elif hasattr(tags, "get"):
        for key, names in _VORBIS_KEYS.items():
            for n in names:
                if tags.get(n):
                    out[key] = _text(tags.get(n))
                    break
    return {k: v for k, v in out.items() if v}


def _cover(audio: Any, warnings: list[str]) -> Cover | None:
    data = _cover_bytes(audio)
    if data is None:
        return None
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            cover = Cover(
                mime_type=Image.MIME.get(img.format, "image/unknown"), width=img.width, height=img.height
            )
            mode = img.mode
    except (UnidentifiedImageError, OSError):
        warnings.append("embedded cover art is not a readable image")
        return None
    warnings.extend(f"embedded cover art: {p}" for p in artwork_problems(cover, mode))
    return cover


def artwork_problems(cover: Cover, mode: str) -> list[str]:
    """Apple Podcasts' artwork rules: square JPEG or PNG, 1400-3000 px, RGB without alpha."""
    problems = []
    if cover.width != cover.height:
        problems.append(f"{cover.width}x{cover.height} is not square")
    if not min(cover.width, cover.height) >= 1400 or max(cover.width, cover.height) > 3000:
        problems.append(f"{cover.width}x{cover.height} px, Apple wants 1400 to 3000 px")
    if cover.mime_type not in ("image/jpeg", "image/png"):
        problems.append(f"{cover.mime_type}, Apple wants JPEG or PNG")
    if mode not in ("RGB",):
        problems.append(f"colour mode {mode}, Apple wants RGB without alpha")
    return problems


def _cover_bytes(audio: Any) -> bytes | None:
    tags = audio.tags
    if isinstance(tags, ID3):
        pictures = tags.getall("APIC")
        front = [p for p in pictures if p.type == 3] or pictures
        return front[0].data if front else None
    if isinstance(audio, MP4) and tags is not None and tags.get("covr"):
        return bytes(tags["covr"][0])
    if isinstance(audio, FLAC) and audio.pictures:
        front = [p for p in audio.pictures if p.type == 3] or audio.pictures
        return front[0].data
    if tags is not None and hasattr(tags, "get") and not isinstance(audio, MP4):
        # Ogg Vorbis/Opus: base64 FLAC picture blocks in a Vorbis comment
        pictures = []
        for value in tags.get("metadata_block_picture") or []:
            try:
                pictures.append(Picture(base64.b64decode(value)))
            except (ValueError, mutagen.MutagenError, struct.error):
                continue
        front = [p for p in pictures if p.type == 3] or pictures
        return front[0].data if front else None
    return None


_VORBIS_CHAPTER = re.compile(r"^chapter(\d{1,4})$", re.IGNORECASE)
_VORBIS_TIME = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")


def _chapters(audio: Any, length: float, found: list[Chapter]) -> tuple[Chapter, ...]:
    """ID3 CHAP frames, MP4 chapters (Nero `chpl` through mutagen, else QuickTime found by `_mp4_extra`)
    or Vorbis CHAPTERxxx comments, as one sorted list with every end filled in."""
    chapters: list[Chapter] = []
    if isinstance(audio.tags, ID3):
        for chap in audio.tags.getall("CHAP"):
            title = chap.sub_frames.get("TIT2")
            chapters.append(
                Chapter(
                    start_seconds=chap.start_time / 1000,
                    end_seconds=chap.end_time / 1000 if chap.end_time != 0xFFFFFFFF else None,
                    title=_id3_text(title) if title else chap.element_id,
                )
            )
    elif isinstance(audio, MP4):
        nero = getattr(audio, "chapters", None)
        chapters = [Chapter(start_seconds=c.start, title=c.title) for c in nero] if nero else list(found)
    elif audio.tags is not None and hasattr(audio.tags, "keys"):
        chapters = _vorbis_chapters(audio.tags)
    chapters = [c for c in chapters if 0 <= c.start_seconds <= length]
    chapters.sort(key=lambda c: c.start_seconds)
    # fill missing ends from the next chapter's start
    return tuple(
        Chapter(
            round(c.start_seconds, 3),
            c.title,
            round(
                c.end_seconds
                if c.end_seconds
                else (chapters[i + 1].start_seconds if i + 1 < len(chapters) else length),
                3,
            ),
        )
        for i, c in enumerate(chapters)
    )


def _vorbis_chapters(tags: Any) -> list[Chapter]:
    """CHAPTER001=00:01:02.500 and CHAPTER001NAME=Title (the Ogg chapter extension, also used in FLAC)."""
    chapters = []
    for key in tags.keys():  # noqa: SIM118 (a VCommentDict iterates over (key, value) pairs)
        match = _VORBIS_CHAPTER.match(key)
        if not match:
            continue
        time = _VORBIS_TIME.match(_text(tags[key]))
        if not time:
            continue
        hours, minutes, seconds = time.groups()
        start = int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
        name = tags.get(f"{key}NAME") or tags.get(f"{key}name")
        chapters.append(Chapter(start_seconds=start, title=_text(name) if name else f"Chapitre {match[1]}"))
    return chapters


def to_json(info: MediaInfo) -> dict[str, Any]:
    """The documented JSON form of `inspect --json` (see README, "inspect")."""
    return {
        "path": str(info.path),
        "size": info.size,
        "sha256": info.sha256,
        "mime_type": info.mime_type,
        "container": info.container,
        "codec": info.codec,
        "duration_seconds": info.duration_seconds,
        "bitrate": info.bitrate,
        "sample_rate": info.sample_rate,
        "channels": info.channels,
        "video": {"width": info.width, "height": info.height} if info.has_video else None,
        "publishable": info.publishable,
        "tags": {k: info.tags.get(k) for k in TAG_KEYS},
        "cover": (
            {
                "present": True,
                "mime": info.cover.mime_type,
                "width": info.cover.width,
                "height": info.cover.height,
            }
            if info.cover
            else {"present": False, "mime": None, "width": None, "height": None}
        ),
        "chapters": [
            {"start_seconds": c.start_seconds, "end_seconds": c.end_seconds, "title": c.title}
            for c in info.chapters
        ],
        "warnings": list(info.warnings),
    }
