"""`probe` on one real file per format and per case of issue 4, each made here by ffmpeg (the
imageio-ffmpeg wheel), lameenc or mutagen, and checked field by field.

Durations are compared with what a full decode gives: ffmpeg decodes the file to raw PCM and the
samples are counted, so the reference does not come from the code under test.
"""

from __future__ import annotations

import base64
import io
import struct
import subprocess
from pathlib import Path

import pytest
from mutagen.flac import FLAC, Picture
from mutagen.id3 import APIC, CHAP, COMM, CTOC, ID3, TIT2, TPE1, CTOCFlags
from mutagen.mp4 import MP4, MP4Cover
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE

from grandirenhlm.media import mpeg, probe, to_json
from tests.support import FFMPEG, make_cover, make_mp3, make_mp4

TEXT = "L’enfance « en Hlm », été 2023 🏠"  # typographic apostrophe, guillemets, accent, emoji


def ffmpeg(*args: str | Path) -> None:
    subprocess.run([FFMPEG, "-y", "-v", "error", *map(str, args)], check=True)


def decoded_seconds(path: Path) -> float:
    """Length of the fully decoded audio: ffmpeg to mono 8 kHz 16-bit PCM, samples counted."""
    pcm = subprocess.run(
        [
            FFMPEG,
            "-v",
            "error",
            "-i",
            str(path),
            "-map",
            "0:a:0",
            "-f",
            "s16le",
            "-ac",
            "1",
            "-ar",
            "8000",
            "-",
        ],
        check=True,
        capture_output=True,
    ).stdout
    return len(pcm) / 2 / 8000


def assert_exact_duration(seconds: float, path: Path) -> None:
    reference = decoded_seconds(path)
    tolerance = max(0.5, 0.01 * reference) if reference > 50 else 0.5
    assert abs(seconds - reference) <= tolerance, (seconds, reference)


def speech_like(seconds: float) -> list[str]:
    """An ffmpeg source whose bitrate varies a lot under VBR: bursts of noise between silences."""
    return ["-f", "lavfi", "-i", f"anoisesrc=d={seconds}:a=0.4,volume='if(lt(mod(t,6),1.5),1,0)':eval=frame"]


# ---------------------------------------------------------------- MP3


@pytest.fixture(scope="module")
def vbr_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One VBR stream, 60 s long, written with a Xing header, without any header, and with a VBRI one."""
    folder = tmp_path_factory.mktemp("vbr")
    xing = folder / "xing.mp3"
    ffmpeg(*speech_like(60), "-ac", "1", "-ar", "44100", "-c:a", "libmp3lame", "-q:a", "2", xing)
    bare = folder / "no-header.mp3"
    ffmpeg("-i", xing, "-c", "copy", "-write_xing", "0", bare)
    return {"xing": xing, "bare": bare, "vbri": make_vbri(bare, folder / "vbri.mp3")}


def make_vbri(bare: Path, out: Path) -> Path:
    """The Fraunhofer encoder's header: a first frame carrying "VBRI" 32 bytes after its header.

    A silent copy of the first frame is put in front of the stream with the VBRI fields (ISO does not
    define them; mutagen's `VBRIHeader` and the FhG documentation do): version, delay, quality,
    bytes, frames, and an empty table of contents.
    """
    data = bare.read_bytes()
    frame_length = 144 * 256000 // 44100  # a 256 kbit/s frame is long enough for the fields
    header = (
        (0xFFFB << 16) | (0b1110 << 12) | (0 << 10) | (0b11 << 6)
    )  # MPEG-1 L3, 256 kbit/s, 44.1 kHz, mono
    frames = round(decoded_seconds(bare) * 44100 / 1152)
    fields = b"VBRI" + struct.pack(">HHHIIHHHH", 1, 576, 75, len(data) + frame_length, frames, 0, 1, 2, 1)
    first = struct.pack(">I", header) + bytes(32) + fields
    out.write_bytes(first + bytes(frame_length - len(first)) + data)
    return out


def test_cbr_mp3_without_header_keeps_the_nominal_bitrate(tmp_path: Path) -> None:
    info = probe(make_mp3(tmp_path / "cbr.mp3", seconds=3, bitrate=96))
    assert (info.mime_type, info.container, info.codec) == ("audio/mpeg", "mpeg", "mp3 (layer 3)")
    assert info.bitrate == 96000 and info.sample_rate == 44100 and info.channels == 1
    assert info.publishable and info.warnings == ()
    assert_exact_duration(info.duration_seconds, info.path)


def test_vbr_mp3_with_a_xing_header(vbr_files: dict[str, Path]) -> None:
    info = probe(vbr_files["xing"])
    assert info.mime_type == "audio/mpeg" and info.publishable
    assert_exact_duration(info.duration_seconds, info.path)
    assert info.warnings == ()


def test_vbr_mp3_without_a_header_is_counted_frame_by_frame(vbr_files: dict[str, Path]) -> None:
    import mutagen

    path = vbr_files["bare"]
    estimate = mutagen.File(path).info.length
    info = probe(path)
    assert abs(estimate - decoded_seconds(path)) > 5, "the fixture must fool mutagen's estimate"
    assert_exact_duration(info.duration_seconds, path)
    assert len(info.warnings) == 1
    assert info.warnings[0].startswith("variable-bitrate MP3 without a Xing/VBRI header: duration 60.")
    assert f"the header-based estimate was {estimate:.1f} s" in info.warnings[0]
    # the mean bitrate, not the first frame's
    assert abs(info.bitrate - path.stat().st_size * 8 / info.duration_seconds) < 2000


def test_vbr_mp3_with_a_vbri_header(vbr_files: dict[str, Path]) -> None:
    import mutagen

    path = vbr_files["vbri"]
    assert mutagen.File(path).info.encoder_info == "FhG", "mutagen must see the VBRI header"
    info = probe(path)
    assert_exact_duration(info.duration_seconds, vbr_files["bare"])
    assert info.warnings == ()


def test_mp3_with_junk_between_frames_and_an_id3v1_tag(vbr_files: dict[str, Path], tmp_path: Path) -> None:
    data = vbr_files["bare"].read_bytes()
    middle = len(data) // 2
    path = tmp_path / "junk.mp3"
    v1 = b"TAG" + b"Titre".ljust(30, b"\0") + bytes(30 + 30 + 4 + 30) + b"\xff"
    path.write_bytes(data[:middle] + b"\0garbage\0" * 50 + data[middle:] + v1)
    assert_exact_duration(probe(path).duration_seconds, vbr_files["bare"])


def _frame(bitrate_index: int, padding: int = 0) -> bytes:
    """One MPEG-1 layer I frame at 48 kHz, mono, zero payload: 12 * bitrate / 48000 slots of 4 bytes."""
    header = (0x7FF << 21) | (3 << 19) | (3 << 17) | (1 << 16) | (bitrate_index << 12) | (1 << 10)
    header |= (padding << 9) | (3 << 6)
    return struct.pack(">I", header) + bytes(mpeg.parse_header(header)[0] - 4)


def test_a_frame_walk_whose_read_ends_on_a_frame_boundary_goes_on() -> None:
    # 256 kbit/s layer I frames are 256 bytes: each read of `BLOCK` bytes ends exactly between two
    # frames, where a run of same-header frames matched to the end of the data read must not end the walk
    frame = _frame(8)
    assert len(frame) == 256 and mpeg.BLOCK % 256 == 0
    n = 3 * mpeg.BLOCK // 256 + 7  # three reads end on a frame boundary
    stats = mpeg.walk_frames(io.BytesIO(frame * n), 0)
    assert (stats.frames, stats.seconds, stats.audio_bytes) == (n, n * 384 / 48000, n * 256)


@pytest.mark.parametrize("seed", range(6))
def test_the_frame_walk_counts_what_stepping_frame_by_frame_counts(seed: int, monkeypatch) -> None:
    import random

    rng = random.Random(seed)
    # small reads, so that runs of frames cross many refills of the walk's buffer
    monkeypatch.setattr(mpeg, "BLOCK", rng.choice([4096, 5000, 9000]))
    monkeypatch.setattr(mpeg, "_MAX_RESYNC", 3000)  # more than the longest frame (2,881 bytes)
    kinds = [(index, padding) for index in rng.sample(range(1, 15), 3) for padding in (0, 1)]
    frames, kind = [], rng.choice(kinds)
    for _ in range(rng.randrange(200, 2000)):
        if rng.random() < rng.choice([0.05, 0.5]):  # long runs (CBR) and short ones (VBR)
            kind = rng.choice(kinds)
        frames.append(_frame(*kind))
    data = b"".join(frames)
    cut = rng.choice([0, 1, len(frames[-1]) - 1])  # the last frame cut short by the file's end is not audio
    stats = mpeg.walk_frames(io.BytesIO(data[: len(data) - cut]), 0)
    whole = frames if not cut else frames[:-1]
    rates = {mpeg.parse_header(int.from_bytes(f[:4]))[3] for f in whole}
    expected = (len(whole), len(whole) * 384, sum(map(len, whole)), min(rates), max(rates), 0)
    assert (stats.frames, stats.samples, stats.audio_bytes, stats.min_bitrate, stats.max_bitrate,
            stats.skipped_bytes) == expected  # fmt: skip


# ---------------------------------------------------------------- MP4 family


def test_m4a_aac_with_tags_cover_and_nero_chapters(tmp_path: Path) -> None:
    path = make_m4a_with_chapters(tmp_path)
    tags = MP4(path)
    tags["\xa9nam"], tags["\xa9ART"], tags["trkn"] = [TEXT], ["USH"], [(3, 6)]
    tags["covr"] = [
        MP4Cover(make_cover(tmp_path / "c.png", 1400, fmt="PNG").read_bytes(), MP4Cover.FORMAT_PNG)
    ]
    tags.save()
    info = probe(path)
    assert (info.mime_type, info.container, info.codec) == ("audio/x-m4a", "mp4", "mp4a.40.2")
    assert info.tags["title"] == TEXT and info.tags["track"] == "3/6"
    assert (info.cover.mime_type, info.cover.width, info.cover.height) == ("image/png", 1400, 1400)
    assert [(c.start_seconds, c.end_seconds, c.title) for c in info.chapters] == [
        (0.0, 1.5, "Début « un »"),
        (1.5, info.duration_seconds, "Suite’"),
    ]
    assert_exact_duration(info.duration_seconds, path)


def make_m4a_with_chapters(tmp_path: Path) -> Path:
    """An M4A with chapters; ffmpeg writes them twice: a QuickTime text track and a Nero `chpl` box."""
    meta = tmp_path / "meta.txt"
    meta.write_text(
        ";FFMETADATA1\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=1500\ntitle=Début « un »\n"
        "[CHAPTER]\nTIMEBASE=1/1000\nSTART=1500\nEND=4000\ntitle=Suite’\n",
        encoding="utf-8",
    )
    path = tmp_path / "chapters.m4a"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "sine=duration=4",
        "-i",
        meta,
        "-map",
        "0",
        "-map_chapters",
        "1",
        "-c:a",
        "aac",
        path,
    )
    return path


def rename_box(path: Path, old: bytes, new: bytes) -> None:
    data = path.read_bytes()
    assert data.count(old) == 1
    path.write_bytes(data.replace(old, new))


def test_m4a_quicktime_chapters_only(tmp_path: Path) -> None:
    path = make_m4a_with_chapters(tmp_path)
    rename_box(path, b"chpl", b"free")  # as QuickTime and Apple's tools write them: no Nero box
    assert not MP4(path).chapters
    info = probe(path)
    assert [(c.start_seconds, c.end_seconds, c.title) for c in info.chapters] == [
        (0.0, 1.5, "Début « un »"),
        (1.5, info.duration_seconds, "Suite’"),
    ]


def test_m4a_nero_chapters_only(tmp_path: Path) -> None:
    path = make_m4a_with_chapters(tmp_path)
    rename_box(path, b"tref", b"free")  # the QuickTime text track is no longer a chapter track
    assert [c.title for c in probe(path).chapters] == ["Début « un »", "Suite’"]


def test_mp4_video_h264_aac(tmp_path: Path) -> None:
    info = probe(make_mp4(tmp_path / "replay.mp4", seconds=3))
    assert (info.mime_type, info.container, info.codec) == ("video/mp4", "mp4", "avc1+mp4a.40.2")
    assert (info.has_video, info.width, info.height) == (True, 320, 180)
    assert info.publishable
    assert_exact_duration(info.duration_seconds, info.path)


def test_mp4_whose_video_is_longer_than_its_audio(tmp_path: Path) -> None:
    path = tmp_path / "long-video.mp4"
    ffmpeg(
        *("-f", "lavfi", "-i", "color=c=red:size=160x90:duration=6:rate=5"),
        *("-f", "lavfi", "-i", "sine=duration=2"),
        *("-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac"),
        path,
    )
    info = probe(path)
    assert abs(info.duration_seconds - 6.0) < 0.3, info.duration_seconds
    assert any("video track (6.0 s) is longer than the audio (2." in w for w in info.warnings), info.warnings


def test_m4a_named_mp3_reports_its_true_type(tmp_path: Path) -> None:
    liar = tmp_path / "episode.mp3"
    liar.write_bytes(make_mp4(tmp_path / "real.m4a", video=False).read_bytes())
    info = probe(liar)
    assert (info.mime_type, info.container) == ("audio/x-m4a", "mp4")
    assert info.extension == ".m4a"
    assert info.warnings == ("the name ends in .mp3 but the content is mp4 (audio/x-m4a)",)


@pytest.mark.parametrize(
    ("real", "named", "mime_type", "extension"),
    [
        (".flac", ".mp3", "audio/flac", ".flac"),  # mutagen alone would score the extension and fail
        (".mp3", ".flac", "audio/mpeg", ".mp3"),
        (".wav", ".mp3", "audio/wav", ".wav"),
        (".ogg", ".m4a", "audio/ogg", ".ogg"),
        (".opus", ".mp3", "audio/ogg", ".opus"),
        (".aiff", ".wav", "audio/aiff", ".aiff"),
        (".mp3", ".m4a", "audio/mpeg", ".mp3"),
    ],
)
def test_lying_extensions(tmp_path: Path, real: str, named: str, mime_type: str, extension: str) -> None:
    source = tmp_path / f"source{real}"
    codec = {
        ".mp3": "libmp3lame",
        ".flac": "flac",
        ".wav": "pcm_s16le",
        ".ogg": "libvorbis",
        ".opus": "libopus",
    }
    codec[".aiff"] = "pcm_s16be"
    ffmpeg("-f", "lavfi", "-i", "sine=duration=2", "-c:a", codec[real], source)
    liar = tmp_path / f"liar{named}"
    liar.write_bytes(source.read_bytes())
    info = probe(liar)
    assert (info.mime_type, info.extension) == (mime_type, extension)
    assert f"the name ends in {named} but the content is {info.container} ({mime_type})" in info.warnings
    assert_exact_duration(info.duration_seconds, liar)


# ---------------------------------------------------------------- masters: Ogg, FLAC, WAV, AIFF


def picture_block(cover: bytes) -> Picture:
    picture = Picture()
    picture.type, picture.mime, picture.width, picture.height, picture.data = (
        3,
        "image/jpeg",
        1400,
        1400,
        cover,
    )
    return picture


VORBIS_TAGS = {
    "title": TEXT,
    "artist": "Union sociale pour l’habitat",
    "album": "Grandir en Hlm",
    "date": "2023-06-17",
    "tracknumber": "2",
    "language": "fr",
    "CHAPTER001": "00:00:00.000",
    "CHAPTER001NAME": "Ouverture",
    "CHAPTER002": "00:00:01.250",
    "CHAPTER002NAME": "« Le quartier »",
}


@pytest.mark.parametrize(
    ("suffix", "codec_args", "kind", "codec"),
    [
        (".ogg", ["-c:a", "libvorbis"], OggVorbis, "vorbis"),
        (".opus", ["-c:a", "libopus"], OggOpus, "opus"),
        (".flac", ["-c:a", "flac"], FLAC, "flac"),
    ],
)
def test_vorbis_comment_formats(tmp_path: Path, cover_bytes: bytes, suffix, codec_args, kind, codec) -> None:
    path = tmp_path / f"master{suffix}"
    ffmpeg("-f", "lavfi", "-i", "sine=duration=3", "-ac", "2", *codec_args, path)
    audio = kind(path)
    for key, value in VORBIS_TAGS.items():
        audio[key] = value
    if kind is FLAC:
        audio.add_picture(picture_block(cover_bytes))
    else:
        audio["metadata_block_picture"] = [
            base64.b64encode(picture_block(cover_bytes).write()).decode("ascii")
        ]
    audio.save()
    info = probe(path)
    assert (info.container, info.codec) == ("flac" if kind is FLAC else "ogg", codec)
    assert info.mime_type == ("audio/flac" if kind is FLAC else "audio/ogg")
    assert info.channels == 2 and not info.publishable
    assert info.warnings == (
        f"{info.container} is a master format: encode it to MP3 or M4A before publishing it",
    )
    assert info.tags == {
        "title": TEXT,
        "artist": "Union sociale pour l’habitat",
        "album": "Grandir en Hlm",
        "date": "2023-06-17",
        "track": "2",
        "language": "fr",
    }
    assert (info.cover.mime_type, info.cover.width, info.cover.height) == ("image/jpeg", 1400, 1400)
    assert [(c.start_seconds, c.end_seconds, c.title) for c in info.chapters] == [
        (0.0, 1.25, "Ouverture"),
        (1.25, info.duration_seconds, "« Le quartier »"),
    ]
    assert_exact_duration(info.duration_seconds, path)


@pytest.mark.parametrize("bits", [16, 24])
def test_wav_with_list_info(tmp_path: Path, bits: int) -> None:
    path = tmp_path / f"master-{bits}.wav"
    ffmpeg(
        *("-f", "lavfi", "-i", "sine=duration=2", "-ar", "48000", "-c:a", f"pcm_s{bits}le"),
        *("-metadata", f"title={TEXT}", "-metadata", "artist=Union sociale pour l’habitat"),
        *("-metadata", "comment=Maître", "-metadata", "copyright=USH"),
        path,
    )
    assert b"LIST" in path.read_bytes()[:200] and WAVE(path).tags is None, "INFO only, no id3 chunk"
    info = probe(path)
    assert (info.container, info.codec, info.mime_type) == ("wav", f"pcm {bits} bit", "audio/wav")
    assert info.sample_rate == 48000 and info.bitrate == 48000 * bits and not info.publishable
    assert info.tags["title"] == TEXT and info.tags["artist"] == "Union sociale pour l’habitat"
    assert info.tags["comment"] == "Maître" and info.tags["copyright"] == "USH"
    assert_exact_duration(info.duration_seconds, path)


def test_wav_list_info_in_windows_1252(tmp_path: Path) -> None:
    """Older Windows tools write INFO text in the ANSI code page, not UTF-8."""
    path = tmp_path / "ansi.wav"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "sine=duration=1",
        "-c:a",
        "pcm_s16le",
        "-metadata",
        "title=XXXXXXXXXXXXXXXX",
        path,
    )
    data = path.read_bytes()
    title = "L’été « 23 »".encode("cp1252")
    path.write_bytes(data.replace(b"XXXXXXXXXXXXXXXX", title.ljust(16, b"\0")))
    assert probe(path).tags["title"] == "L’été « 23 »"


def test_wav_with_an_id3_chunk_and_cover(tmp_path: Path, cover_bytes: bytes) -> None:
    path = tmp_path / "id3.wav"
    ffmpeg("-f", "lavfi", "-i", "sine=duration=1", "-c:a", "pcm_s16le", path)
    wav = WAVE(path)
    wav.add_tags()
    wav.tags.add(TIT2(encoding=3, text=TEXT))
    wav.tags.add(APIC(encoding=3, mime="image/jpeg", type=3, desc="", data=cover_bytes))
    wav.save()
    info = probe(path)
    assert info.tags["title"] == TEXT and info.cover.width == 1400


def test_aiff_with_name_chunk(tmp_path: Path) -> None:
    path = tmp_path / "master.aiff"
    ffmpeg("-f", "lavfi", "-i", "sine=duration=2", "-c:a", "pcm_s16be", "-metadata", f"title={TEXT}", path)
    info = probe(path)
    assert (info.container, info.codec, info.mime_type) == ("aiff", "pcm 16 bit", "audio/aiff")
    assert info.tags["title"] == TEXT and not info.publishable
    assert_exact_duration(info.duration_seconds, path)


# ---------------------------------------------------------------- text encodings


@pytest.mark.parametrize(
    ("version", "encoding"),
    [(3, 0), (3, 1), (4, 1), (4, 2), (4, 3)],
    ids=["v2.3-latin1", "v2.3-utf16", "v2.4-utf16", "v2.4-utf16be", "v2.4-utf8"],
)
def test_id3v2_text_encodings(tmp_path: Path, version: int, encoding: int) -> None:
    path = make_mp3(tmp_path / "t.mp3")
    text = "L’enfance « en Hlm », été" if encoding == 0 else TEXT
    if encoding == 0:
        text = "Enfance « en Hlm », été"  # Latin-1 has « » and é, not ’ or emoji
    tags = ID3()
    tags.add(TIT2(encoding=encoding, text=text))
    tags.add(TPE1(encoding=encoding, text="Œuvre collective" if encoding else "Hélène"))
    tags.add(COMM(encoding=encoding, lang="fra", desc="", text=text))
    tags.save(path, v2_version=version)
    info = probe(path)
    assert info.tags["title"] == text and info.tags["comment"] == text
    assert info.tags["artist"] == ("Œuvre collective" if encoding else "Hélène")


def test_id3v22_frames(tmp_path: Path) -> None:
    """ID3v2.2 (three-letter frame ids, iTunes before 2004), which mutagen reads but cannot write."""
    path = make_mp3(tmp_path / "v22.mp3")

    def frame(frame_id: bytes, text: str) -> bytes:
        body = b"\x01" + "\ufeff".encode("utf-16-le") + text.encode("utf-16-le")
        return frame_id + len(body).to_bytes(3, "big") + body

    frames = frame(b"TT2", TEXT) + frame(b"TP1", "Hélène")
    size = len(frames)
    syncsafe = bytes((size >> s) & 0x7F for s in (21, 14, 7, 0))
    path.write_bytes(b"ID3\x02\x00\x00" + syncsafe + frames + path.read_bytes())
    info = probe(path)
    assert (info.tags["title"], info.tags["artist"]) == (TEXT, "Hélène")
    assert_exact_duration(info.duration_seconds, path)


def test_id3v1_in_windows_1252(tmp_path: Path) -> None:
    """ID3v1 is Latin-1 by the book and Windows-1252 in practice (’ is 0x92)."""
    path = make_mp3(tmp_path / "v1.mp3")
    title = "L’été « Hlm »".encode("cp1252").ljust(30, b"\0")
    artist = "Hélène".encode("cp1252").ljust(30, b"\0")
    path.write_bytes(
        path.read_bytes()
        + b"TAG"
        + title
        + artist
        + b"Grandir".ljust(30, b"\0")
        + b"2023"
        + bytes(30)
        + b"\x0c"
    )
    info = probe(path)
    assert (info.tags["title"], info.tags["artist"], info.tags["album"]) == (
        "L’été « Hlm »",
        "Hélène",
        "Grandir",
    )
    assert info.tags["date"] == "2023"


def test_utf8_bytes_in_a_frame_declared_latin1(tmp_path: Path) -> None:
    """A common tagger bug: UTF-8 bytes with the Latin-1 encoding byte; read as mojibake ("Ã©") by the book."""
    path = make_mp3(tmp_path / "mojibake.mp3")
    tags = ID3()
    tags.add(TIT2(encoding=0, text=TEXT.encode("utf-8").decode("latin-1")))
    tags.save(path, v2_version=3)
    assert probe(path).tags["title"] == TEXT


# ---------------------------------------------------------------- chapters and covers in ID3


def test_id3_chap_ctoc_and_cover_rules(tmp_path: Path) -> None:
    cover = tmp_path / "c.png"
    from PIL import Image

    Image.new("RGBA", (1200, 1000), (0, 0, 0, 0)).save(cover, "PNG")
    path = make_mp3(tmp_path / "c.mp3", seconds=3, cover=cover.read_bytes())
    tags = ID3(path)
    tags.add(
        CTOC(
            element_id="toc",
            flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
            child_element_ids=["c1", "c2"],
            sub_frames=[],
        )
    )
    tags.add(
        CHAP(
            element_id="c2", start_time=1500, end_time=0xFFFFFFFF, sub_frames=[TIT2(encoding=3, text="Deux")]
        )
    )
    tags.add(CHAP(element_id="c1", start_time=0, end_time=1500, sub_frames=[TIT2(encoding=1, text=TEXT)]))
    tags.save(path)
    info = probe(path)
    assert [(c.start_seconds, c.end_seconds, c.title) for c in info.chapters] == [
        (0.0, 1.5, TEXT),
        (1.5, info.duration_seconds, "Deux"),
    ]
    data = to_json(info)
    assert data["cover"] == {"present": True, "mime": "image/png", "width": 1200, "height": 1000}
    problems = [w for w in info.warnings if w.startswith("embedded cover art")]
    assert problems == [
        "embedded cover art: 1200x1000 is not square",
        "embedded cover art: 1200x1000 px, Apple wants 1400 to 3000 px",
        "embedded cover art: colour mode RGBA, Apple wants RGB without alpha",
    ]
