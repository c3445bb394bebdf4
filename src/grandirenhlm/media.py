"""`probe(path) -> MediaInfo`: what mutagen reads from one media file, plus size and sha256.

Every mutagen failure is wrapped here into a `MediaError` that names the file.
"""

from __future__ import annotations

import hashlib
import io
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mutagen
from mutagen.aiff import AIFF
from mutagen.flac import FLAC
from mutagen.id3 import ID3
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4, Atoms
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE

from grandirenhlm.errors import MediaError
from grandirenhlm.model import Chapter, Cover, MediaInfo
from grandirenhlm.records import display_path

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


def sha256_file(path: Path) -> str:
    """Hash a file in constant memory."""
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def probe(path: Path) -> MediaInfo:
    """Read one media file; raise `MediaError` naming the file if it is not one we understand."""
    name = display_path(path)
    if path.is_dir():
        raise MediaError(f"{name}: is a directory, expected a media file")
    try:
        size = path.stat().st_size
        if size == 0:
            raise MediaError(f"{name}: empty file (0 bytes)")
        with path.open("rb"):
            pass
    except FileNotFoundError as exc:
        raise MediaError(f"{name}: no such file") from exc
    except PermissionError as exc:
        raise MediaError(f"{name}: permission denied") from exc
    try:
        audio = mutagen.File(path)
    except mutagen.MutagenError as exc:
        raise MediaError(f"{name}: unreadable media file: {_reason(exc)}") from exc
    except (struct.error, ValueError, IndexError, OverflowError, EOFError) as exc:
        raise MediaError(f"{name}: corrupt media file: {exc}") from exc
    if audio is None or audio.info is None:
        raise MediaError(f"{name}: not a media file mutagen recognises (MP3, M4A, MP4, Ogg, FLAC, WAV, AIFF)")
    length = getattr(audio.info, "length", 0) or 0
    if length <= 0:
        raise MediaError(f"{name}: no audio frames found (duration is 0)")
    warnings: list[str] = []
    container, codec, mime_type = _kind(audio)
    video: VideoTrack | None = None
    if isinstance(audio, MP4):
        video = _mp4_video(path)
        if video:
            mime_type, container = "video/mp4", "mp4"
            codec = f"{video.codec}+{codec}"
    if mime_type not in ("audio/mpeg", "audio/x-m4a", "video/mp4"):
        warnings.append(f"{container} is a master format: encode it to MP3 or M4A before publishing it")
    tags = _tags(audio)
    cover = _cover(audio, warnings)
    return MediaInfo(
        path=path,
        size=size,
        sha256=sha256_file(path),
        mime_type=mime_type,
        container=container,
        codec=codec,
        duration_seconds=round(float(length), 3),
        bitrate=int(getattr(audio.info, "bitrate", 0) or 0) or None,
        sample_rate=getattr(audio.info, "sample_rate", None),
        channels=getattr(audio.info, "channels", None),
        has_video=video is not None,
        width=video.width if video else None,
        height=video.height if video else None,
        tags=tags,
        cover=cover,
        chapters=_chapters(audio, float(length)),
        warnings=tuple(warnings),
    )


def _reason(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


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


def _mp4_video(path: Path) -> VideoTrack | None:
    """The first video track of an MP4, from its `hdlr`, `tkhd` and `stsd` boxes (ISO 14496-12)."""
    with path.open("rb") as fh:
        try:
            moov = Atoms(fh).path(b"moov")[-1]
        except (mutagen.MutagenError, KeyError, struct.error, EOFError):
            return None
        for trak in moov.findall(b"trak"):
            try:
                ok, hdlr = trak[b"mdia", b"hdlr"].read(fh)
                if not ok or hdlr[8:12] != b"vide":
                    continue
                ok, tkhd = trak[(b"tkhd",)].read(fh)
                # tkhd ends with width and height as 16.16 fixed-point numbers
                width, height = struct.unpack(">II", tkhd[-8:])
                ok, stsd = trak[b"mdia", b"minf", b"stbl", b"stsd"].read(fh)
                # version/flags (4), entry count (4), then the first entry: size (4), format (4)
                fourcc = stsd[12:16].decode("ascii", "replace") if ok and len(stsd) >= 16 else "video"
                return VideoTrack(fourcc, width >> 16, height >> 16)
            except (KeyError, struct.error):
                continue
    return None


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        value = value[0] if value else ""
    return str(value).strip()


def _tags(audio: Any) -> dict[str, str]:
    tags = audio.tags
    out: dict[str, str] = {}
    if tags is None:
        return out
    if isinstance(tags, ID3):
        for key, frame_id in _ID3_FRAMES.items():
            frame = tags.get(frame_id)
            if frame is not None and frame.text:
                out[key] = _text([str(t) for t in frame.text])
        comments = tags.getall("COMM")
        if comments:
            out["comment"] = _text(comments[0].text)
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
        return audio.pictures[0].data
    return None


def _chapters(audio: Any, length: float) -> tuple[Chapter, ...]:
    chapters: list[Chapter] = []
    if isinstance(audio.tags, ID3):
        for chap in audio.tags.getall("CHAP"):
            title = chap.sub_frames.get("TIT2")
            chapters.append(
                Chapter(
                    start_seconds=chap.start_time / 1000,
                    end_seconds=chap.end_time / 1000,
                    title=_text([str(t) for t in title.text]) if title else chap.element_id,
                )
            )
    elif isinstance(audio, MP4) and getattr(audio, "chapters", None):
        for c in audio.chapters:
            chapters.append(Chapter(start_seconds=c.start, title=c.title))
    chapters.sort(key=lambda c: c.start_seconds)
    # fill missing ends from the next chapter's start
    return tuple(
        Chapter(
            c.start_seconds,
            c.title,
            c.end_seconds
            if c.end_seconds
            else (chapters[i + 1].start_seconds if i + 1 < len(chapters) else length),
        )
        for i, c in enumerate(chapters)
    )


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
