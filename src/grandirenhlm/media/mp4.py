"""MP4 (ISO/IEC 14496-12, QuickTime): what mutagen does not read from the `moov` box (the video
track, the movie's length, QuickTime chapters), the truncation check, and MP4 tags."""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from typing import Any, BinaryIO

import mutagen
from mutagen.mp4 import Atoms

# mutagen's parser of the MPEG-4 descriptors and the AudioSpecificConfig (escapes, program config
# elements, sync extensions): private, but its own reading of every M4A, so kept rather than redone
from mutagen.mp4._as_entry import DescriptorError, ES_Descriptor

# the boxes mutagen descends into (recursively: 10,000 nested `moov` boxes exhaust Python's stack)
from mutagen.mp4._atom import _CONTAINERS, _SKIP_SIZE

from grandirenhlm.errors import MediaError
from grandirenhlm.media import chunks
from grandirenhlm.media.comments import Comment, pick_comment
from grandirenhlm.media.source import Reading, Source, VideoTrack, first_text
from grandirenhlm.model import Chapter

_ATOMS = {
    "title": "\xa9nam", "artist": "\xa9ART", "album": "\xa9alb", "date": "\xa9day",
    "genre": "\xa9gen", "copyright": "cprt",
}  # fmt: skip
# Freeform atoms (`----:<mean>:<name>`) some taggers write a comment under when there is no `\xa9cmt`;
# the iTunes data atoms beside them (iTunNORM, iTunSMPB, iTunes_CDDB_IDs...) never are one.
_COMMENT_NAMES = {"comment", "comments", "description"}


def is_mp4(head: bytes) -> bool:
    """An ISO base media file starts with its `ftyp` box."""
    return head[4:8] == b"ftyp"


# Limits checked before mutagen reads the box tree: real files nest 8 deep (moov/trak/mdia/minf/
# stbl/stsd, udta/meta/ilst) and hold thousands of boxes (a fragmented hour: tens of thousands).
MAX_BOX_DEPTH = 32
MAX_BOXES = 1_000_000


def check_boxes(fh: BinaryIO, size: int, name: object) -> None:
    """Refuse (`MediaError`) a box tree nested deeper than `MAX_BOX_DEPTH` or holding more than
    `MAX_BOXES` boxes, walking the headers without recursion; damaged sizes are left to mutagen.
    Leaves `fh` at its start."""
    ends, pos, count = [size], 0, 0
    try:
        while True:
            while ends and pos + 8 > ends[-1]:
                pos = ends.pop()
            if not ends:
                return
            fh.seek(pos)
            head = fh.read(8)
            if len(head) < 8:
                return
            length, kind = struct.unpack(">I4s", head)
            header = 8
            if length == 1:
                big = fh.read(8)
                if len(big) < 8:
                    return
                length, header = struct.unpack(">Q", big)[0], 16
            elif length == 0:
                length = ends[-1] - pos  # to the end of its parent
            if length < header:
                return
            count += 1
            if count > MAX_BOXES:
                raise MediaError(f"{name}: more than {MAX_BOXES:,} MP4 boxes, the limit")
            if kind in _CONTAINERS:
                if len(ends) > MAX_BOX_DEPTH:
                    raise MediaError(f"{name}: MP4 boxes nested more than {MAX_BOX_DEPTH} deep, the limit")
                ends.append(min(pos + length, ends[-1]))
                pos += header + _SKIP_SIZE.get(kind, 0)
            else:
                pos += length
    finally:
        fh.seek(0)


def codec(r: Reading) -> str:
    """The audio sample entry's codec as mutagen names it (mp4a.40.2, alac, ...)."""
    return getattr(r.audio.info, "codec", "mp4a") or "mp4a"


def truncation(r: Reading) -> str | None:
    """Why the file looks cut short, or None (see chunks.overrun)."""
    return chunks.overrun(r, ">", 0, mp4=True)


def refine(r: Reading) -> None:
    """The audio facts mutagen takes from the sample entry where the decoder configuration says
    otherwise (AAC) or the bitrate it leaves wrong (ALAC), the video track, if any (the codec becomes
    video+audio, and the length the movie's when the video outlasts the audio), and the QuickTime
    chapters for `chapters`."""
    extra = _read_moov(r.src)
    sound = extra.audio
    if sound is not None:
        # ISO/IEC 14496-14 §5.6: for MPEG-4 audio the sample entry's channelcount and samplerate are
        # template values (2, and often the core rate of HE-AAC); the AudioSpecificConfig decides.
        r.channels = sound.channels or r.channels
        r.sample_rate = sound.sample_rate or r.sample_rate
        if sound.payload and r.length > 0 and (sound.codec == "alac" or not r.bitrate):
            # ALAC's cookie holds no average (mutagen reports the PCM rate): the track's bytes over its length
            r.bitrate = round(sound.payload * 8 / r.length)
    video = extra.video
    if video:
        r.video = video
        r.codec = f"{video.codec}+{r.codec}"
        if extra.movie_seconds > r.length + 0.5:
            # mutagen gives the audio track's length; a video enclosure lasts as long as the movie
            r.warnings.append(
                f"the video track ({extra.movie_seconds:.1f} s) is longer than the audio ({r.length:.1f} s)"
            )
            r.length = extra.movie_seconds
    r.chapters = extra.chapters


def tags(r: Reading) -> dict[str, str]:
    """iTunes-style atoms under the project's tag keys; empty values left out."""
    atoms = r.audio.tags
    out: dict[str, str] = {}
    if atoms is None:
        return out
    for key, atom in _ATOMS.items():
        if atom in atoms:
            out[key] = first_text(atoms[atom])
    comment = pick_comment(_comments(atoms))
    if comment:
        out["comment"] = comment
    for key, atom in (("track", "trkn"), ("disc", "disk")):
        if atoms.get(atom):
            number, total = atoms[atom][0]
            out[key] = f"{number}/{total}" if total else str(number)
    return {k: v for k, v in out.items() if v}


def _comments(atoms: Any) -> list[Comment]:
    """Every `\xa9cmt` value, then the freeform comment atoms (see `_COMMENT_NAMES`)."""
    found = [Comment(str(v)) for v in atoms.get("\xa9cmt") or []]
    for key, values in atoms.items():
        if key.startswith("----:") and key.rsplit(":", 1)[-1].strip().lower() in _COMMENT_NAMES:
            found += [Comment(bytes(v).decode("utf-8", "replace"), key.rsplit(":", 1)[-1]) for v in values]
    return found


def cover(r: Reading) -> bytes | None:
    """The first `covr` image."""
    atoms = r.audio.tags
    if atoms is not None and atoms.get("covr"):
        return bytes(atoms["covr"][0])
    return None


def chapters(r: Reading) -> list[Chapter]:
    """Nero chapters (`chpl`, read by mutagen), else the QuickTime chapters `refine` found."""
    nero = getattr(r.audio, "chapters", None)
    return [Chapter(start_seconds=c.start, title=c.title) for c in nero] if nero else list(r.chapters)


@dataclass(frozen=True)
class SoundTrack:
    """The first sound track, as mutagen chooses it: its sample entry's code, what its decoder
    configuration says (None where it does not decide), and the bytes of its samples."""

    codec: str
    channels: int | None
    sample_rate: int | None
    payload: int | None


@dataclass(frozen=True)
class Mp4Extra:
    """What mutagen does not read from an MP4: the video track, the movie's length, QuickTime chapters,
    the sound track's decoder configuration and size."""

    video: VideoTrack | None
    movie_seconds: float
    chapters: list[Chapter]
    audio: SoundTrack | None = None


_MAX_CHAPTERS = 10_000


def _read_moov(src: Source) -> Mp4Extra:
    """Read the `moov` boxes (ISO 14496-12) that mutagen leaves alone; damaged boxes read as absent."""
    with src.open() as fh:
        try:
            moov = Atoms(fh).path(b"moov")[-1]
        except (mutagen.MutagenError, KeyError, struct.error, EOFError, ValueError):
            return Mp4Extra(None, 0.0, [])
        movie_seconds = _movie_seconds(fh, moov)
        traks = list(moov.findall(b"trak"))
        video = None
        for trak in traks:
            video = _video_track(fh, trak)
            if video:
                break
        try:
            chapters = _quicktime_chapters(fh, traks)
        except (KeyError, struct.error, ValueError, IndexError, OverflowError):
            chapters = []
        audio = _sound_track(fh, traks)
    return Mp4Extra(video, movie_seconds, chapters, audio)


def _read_box(fh: BinaryIO, atom: Any, *names: bytes) -> bytes:
    ok, data = atom[names].read(fh)
    if not ok:
        raise KeyError(names)
    return data


def _movie_seconds(fh: BinaryIO, moov: Any) -> float:
    try:
        mvhd = _read_box(fh, moov, b"mvhd")
        # version 1 has 64-bit creation/modification times and duration
        timescale, duration = (
            struct.unpack(">IQ", mvhd[20:32]) if mvhd[0] == 1 else struct.unpack(">II", mvhd[12:20])
        )
    except (KeyError, struct.error, IndexError):
        return 0.0
    return duration / timescale if timescale else 0.0


def _video_track(fh: BinaryIO, trak: Any) -> VideoTrack | None:
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


# ISO/IEC 14496-3 §1.6.3.4: channelConfiguration -> channels (0: a program config element says)
_CONFIG_CHANNELS = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 8, 11: 7, 12: 8, 13: 24, 14: 8}
_AAC_LC = 2


def _sound_track(fh: BinaryIO, traks: list[Any]) -> SoundTrack | None:
    """The first `soun` track (the one mutagen reads): its sample entry's decoder configuration and
    its size; damaged boxes read as absent."""
    for trak in traks:
        try:
            if _read_box(fh, trak, b"mdia", b"hdlr")[8:12] != b"soun":
                continue
            stbl = (b"mdia", b"minf", b"stbl")
            stsd = _read_box(fh, trak, *stbl, b"stsd")
        except (KeyError, struct.error):
            return None
        codec = stsd[12:16].decode("latin-1") if len(stsd) >= 16 else ""
        channels = sample_rate = None
        if codec == "mp4a":
            channels, sample_rate = _aac_config(_esds(stsd[8:]))
        try:
            payload = _payload(_read_box(fh, trak, *stbl, b"stsz"))
        except (KeyError, struct.error):
            payload = None
        return SoundTrack(codec, channels, sample_rate, payload)
    return None


def _esds(entry: bytes) -> bytes | None:
    """The `esds` payload of an `mp4a` sample entry (size and code, then 28 bytes of audio fields, 16
    or 36 more in QuickTime's version 1 and 2 sound descriptions, then boxes; QuickTime nests the
    `esds` in a `wave` box)."""
    if len(entry) < 36:
        return None
    entry = entry[: struct.unpack(">I", entry[:4])[0]]
    version = struct.unpack(">H", entry[16:18])[0]
    boxes = entry[8 + 28 + {1: 16, 2: 36}.get(version, 0) :]
    while len(boxes) >= 8:
        size, kind = struct.unpack(">I4s", boxes[:8])
        if size < 8:
            return None
        if kind == b"esds":
            return boxes[8:size]
        boxes = boxes[8:size] if kind == b"wave" else boxes[size:]
    return None


def _aac_config(esds: bytes | None) -> tuple[int | None, int | None]:
    """Channels and sample rate of the decoded audio from the AudioSpecificConfig (ISO/IEC 14496-3
    §1.6.2.1), as mutagen parses it, or None for what it leaves open.

    mutagen answers "unknown" for a mono stream that could carry parametric stereo (and then reports
    the sample entry's 2), and for a low rate that could be doubled by SBR; here, as in ffmpeg's
    decoder: SBR signalled, explicitly or by audio object type 5 or 29, outputs the extension rate;
    mono with PS signalled (HE-AAC v2), or with SBR and PS not ruled out (the standard's implicit PS:
    a v2 decoder outputs stereo then), is stereo; otherwise the configuration is what it says.
    """
    # version and flags (4 bytes), then the ES descriptor's tag
    if esds is None or len(esds) < 6 or esds[4] != ES_Descriptor.TAG:
        return None, None
    try:
        asc = ES_Descriptor.parse(io.BytesIO(esds[5:])).decConfigDescr.decSpecificInfo
    except (DescriptorError, ValueError, struct.error):
        return None, None
    if asc is None:
        return None, None
    config = getattr(asc, "extensionChannelConfiguration", asc.channelConfiguration)
    channels = getattr(asc, "pce_channels", None) if config == 0 else _CONFIG_CHANNELS.get(config)
    sbr = asc.sbrPresentFlag == 1
    implicit_ps = sbr and asc.psPresentFlag == -1 and asc.audioObjectType == _AAC_LC
    if channels == 1 and (asc.psPresentFlag == 1 or implicit_ps):
        channels = 2
    rate = getattr(asc, "extensionSamplingFrequency", 0) if sbr else asc.samplingFrequency
    return channels or None, rate or None


def _payload(stsz: bytes) -> int | None:
    """The bytes of a track's samples from its `stsz` box: one size for all, or one per sample."""
    size, count = struct.unpack(">II", stsz[4:12])
    if size:
        return size * count
    sizes = stsz[12 : 12 + 4 * count]
    return sum(struct.unpack(f">{len(sizes) // 4}I", sizes)) if sizes else None


def _quicktime_chapters(fh: BinaryIO, traks: list[Any]) -> list[Chapter]:
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
