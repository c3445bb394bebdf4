"""Tags written into a distribution file with mutagen: ID3v2.4 for MP3, iTunes atoms for M4A.

Only files this project derived (encoded or extracted) are tagged; a master, and a publishable file
kept bit-for-bit, are never modified. Tags are written before the file is hashed and named, so
the stored name is the hash of the final bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import SimpleNamespace

from mutagen.id3 import (
    APIC,
    CHAP,
    COMM,
    CTOC,
    ID3,
    TALB,
    TDRC,
    TIT2,
    TLAN,
    TPE1,
    TPOS,
    TRCK,
    CTOCFlags,
)
from mutagen.mp4 import MP4, MP4Cover
from PIL import Image

from grandirenhlm.chapters import episode_chapters
from grandirenhlm.errors import MediaError
from grandirenhlm.files import display_path
from grandirenhlm.images import decode_reduced, open_image
from grandirenhlm.media.types import AUDIO_MPEG
from grandirenhlm.model import Chapter

MAX_COVER_PX = 3000  # Apple's largest artwork size; bigger only makes every download heavier


@dataclass(frozen=True)
class TagData:
    title: str
    artist: str | None = None  # the show's author
    album: str | None = None  # the show's title
    track: int | None = None  # episode number
    disc: int | None = None  # season
    date: str | None = None  # ISO 8601, UTC, no offset (what ID3 TDRC and ©day take)
    comment: str | None = None
    language: str | None = None  # ISO 639-2, e.g. "fra"
    cover: Path | None = None
    chapters: tuple[Chapter, ...] = field(default=())

    def fingerprint(self) -> str:
        data = asdict(self)
        data["cover"] = _file_sha256(self.cover) if self.cover else None
        return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _file_sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def ended_chapters(chapters: tuple[Chapter, ...], duration: float) -> tuple[Chapter, ...]:
    """Chapters in time order with their ends, by the same rule as the feed's JSON and Podlove
    chapters (`chapters.episode_chapters`), so the file and the feed agree."""
    stand_in = SimpleNamespace(chapters=chapters, media=SimpleNamespace(duration_seconds=duration))
    return episode_chapters(stand_in)  # type: ignore[arg-type]


def cover_jpeg(path: Path) -> bytes:
    """The cover as an RGB JPEG no larger than 3000 px a side: the file itself when it already is
    one (no second generation of JPEG loss), else converted or resized with Pillow (a larger one
    decoded at reduced size; one over the pixel budget refused before decoding)."""
    name = display_path(path)
    with open_image(path, name, MediaError) as img:
        if img.format == "JPEG" and img.mode == "RGB" and max(img.size) <= MAX_COVER_PX:
            return path.read_bytes()
        img = decode_reduced(img, name, MAX_COVER_PX, MediaError)
        if img.mode != "RGB":
            img = img.convert("RGB")
        if max(img.size) > MAX_COVER_PX:
            img.thumbnail((MAX_COVER_PX, MAX_COVER_PX), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        img.save(out, "JPEG", quality=90)
        return out.getvalue()


def write_tags(path: Path, tags: TagData, duration: float) -> None:
    """Replace the tags of the MP3 or M4A at `path` (a file this project made)."""
    cover = cover_jpeg(tags.cover) if tags.cover else None
    chapters = ended_chapters(tags.chapters, duration)
    try:
        if path.suffix == AUDIO_MPEG.suffix:
            _write_id3(path, tags, cover, chapters)
        else:
            _write_mp4(path, tags, cover)
    except OSError as exc:
        raise MediaError(f"{display_path(path)}: cannot write tags: {exc.strerror}") from exc


def _write_id3(path: Path, tags: TagData, cover: bytes | None, chapters: tuple[Chapter, ...]) -> None:
    id3 = ID3()
    id3.add(TIT2(encoding=3, text=tags.title))
    if tags.artist:
        id3.add(TPE1(encoding=3, text=tags.artist))
    if tags.album:
        id3.add(TALB(encoding=3, text=tags.album))
    if tags.track:
        id3.add(TRCK(encoding=3, text=str(tags.track)))
    if tags.disc:
        id3.add(TPOS(encoding=3, text=str(tags.disc)))
    if tags.date:
        id3.add(TDRC(encoding=3, text=tags.date))
    if tags.language:
        id3.add(TLAN(encoding=3, text=tags.language))
    if tags.comment:
        id3.add(COMM(encoding=3, lang=tags.language or "und", desc="", text=tags.comment))
    if cover:
        id3.add(APIC(encoding=3, mime="image/jpeg", type=3, desc="Cover", data=cover))
    if chapters:
        ids = [f"chp{i}" for i in range(len(chapters))]
        # ID3 chapter frames (https://id3.org/id3v2-chapters-1.0): one CTOC listing CHAPs in order.
        id3.add(
            CTOC(
                element_id="toc",
                flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
                child_element_ids=ids,
                sub_frames=[TIT2(encoding=3, text="Chapitres")],
            )
        )
        for cid, chapter in zip(ids, chapters, strict=True):
            id3.add(
                CHAP(
                    element_id=cid,
                    start_time=round(chapter.start_seconds * 1000),
                    end_time=round((chapter.end_seconds or chapter.start_seconds) * 1000),
                    sub_frames=[TIT2(encoding=3, text=chapter.title)],
                )
            )
    id3.save(path, v2_version=4)


def _write_mp4(path: Path, tags: TagData, cover: bytes | None) -> None:
    """iTunes atoms. Chapters are not atoms: ffmpeg writes them as a QuickTime chapter track
    while encoding (see `encode.ffmetadata`), which Apple's players and `media.probe` read."""
    mp4 = MP4(path)
    mp4.delete()
    mp4["\xa9nam"] = [tags.title]
    if tags.artist:
        mp4["\xa9ART"] = [tags.artist]
    if tags.album:
        mp4["\xa9alb"] = [tags.album]
    if tags.track:
        mp4["trkn"] = [(tags.track, 0)]
    if tags.disc:
        mp4["disk"] = [(tags.disc, 0)]
    if tags.date:
        mp4["\xa9day"] = [tags.date]
    if tags.comment:
        mp4["\xa9cmt"] = [tags.comment]
    if cover:
        mp4["covr"] = [MP4Cover(cover, imageformat=MP4Cover.FORMAT_JPEG)]
    mp4["stik"] = [21]  # media kind: podcast
    mp4.save()
