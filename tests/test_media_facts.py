"""Issue 13, items 1 and 2: the comment a person wrote (not iTunes' technical COMM frames and `----`
atoms), and the audio facts mutagen gets wrong (AAC channels and rate, ALAC bitrate, Opus rate), on
real files made here by ffmpeg, lameenc and mutagen and read through `grandirenhlm inspect --json`.

Audio facts are checked against ffmpeg's own reading: the file is decoded to WAV by ffmpeg and the
WAV header (channels, rate) read with `wave`; ALAC's bitrate against the one `ffmpeg -i` prints.

No encoder in reach writes HE-AAC (the ffmpeg wheel has no libfdk_aac): those files are AAC-LC at the
core rate encoded by ffmpeg, with the AudioSpecificConfig rewritten to signal SBR (and PS), as HE-AAC
encoders write it; ffmpeg decodes them as HE-AAC (at twice the core rate, PS to stereo). The sample
entry is set as other muxers leave it: ISO/IEC 14496-12 gives `channelcount` a template value of 2,
and HE-AAC files often carry the core rate there (ffmpeg itself writes the true values).
"""

from __future__ import annotations

import json
import re
import struct
import subprocess
import tomllib
import wave
from pathlib import Path

import pytest
from mutagen.id3 import ID3
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4, MP4FreeForm

from tests.support import FFMPEG, make_mp3, make_mp4, run_cli

ITUNNORM = " 0000021C 0000021C 00001B4E 00001B4E 00000000 00000000 00007FFF 00007FFF 00000000 00000000"
ITUNSMPB = " 00000000 00000210 000003C0 0000000000015A30 00000000 00000000 00000000 00000000"
FRENCH = "Souvenirs d’enfance au square, été 2023"
ENGLISH = "Childhood memories in the square"


def ffmpeg(*args: str | Path) -> None:
    subprocess.run([FFMPEG, "-y", "-v", "error", *map(str, args)], check=True)


def inspect_json(path: Path, *options: str) -> dict:
    result = run_cli(None, "inspect", "--json", *options, str(path))
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


# ---------------------------------------------------------------- item 1: comments


def id3v23(frames: list[tuple[bytes, bytes]]) -> bytes:
    """An ID3v2.3 tag holding these frames in this order (mutagen would sort them by size)."""
    body = b"".join(fid + struct.pack(">IH", len(data), 0) + data for fid, data in frames)
    size = len(body)
    syncsafe = bytes((size >> shift) & 0x7F for shift in (21, 14, 7, 0))
    return b"ID3\x03\x00\x00" + syncsafe + body


def utf16(text: str) -> bytes:
    return text.encode("utf-16")  # with its byte order mark, as encoding 1 asks


def itunes_mp3(path: Path, comments: list[tuple[str, str, str]], language: str | None = None) -> Path:
    """A real MP3 (LAME) tagged as iTunes tags it: ID3v2.3, COMM frames (lang, desc, text) in this order."""
    frames = [(b"TIT2", b"\x01" + utf16("Témoignage"))]
    frames += [
        (b"COMM", b"\x01" + lang.encode("ascii") + utf16(desc) + b"\x00\x00" + utf16(text))
        for lang, desc, text in comments
    ]
    if language:
        frames.append((b"TLAN", b"\x01" + utf16(language)))
    audio = make_mp3(path.with_suffix(".lame.mp3"), 1.0).read_bytes()
    path.write_bytes(id3v23(frames) + audio)
    return path


ITUNES_DATA = [
    ("eng", "iTunNORM", ITUNNORM),
    ("eng", "iTunSMPB", ITUNSMPB),
    ("eng", "iTunPGAP", "0"),
    ("eng", "iTunes_CDDB_IDs", "11+0F1C2B6A7E5D8C9B0A1F2E3D4C5B6A79+1234567"),
]


@pytest.mark.parametrize(
    ("comments", "language", "expected"),
    [
        # iTunNORM first, then the written comments in two languages; the file says French
        ([*ITUNES_DATA, ("eng", "", ENGLISH), ("fre", "", FRENCH)], "fre", FRENCH),
        # the same, the file's language in ISO 639-2/T (fra) and the frame's in 639-2/B (fre)
        ([*ITUNES_DATA, ("eng", "", ENGLISH), ("fre", "", FRENCH)], "fra", FRENCH),
        ([*ITUNES_DATA, ("eng", "", ENGLISH), ("fre", "", FRENCH)], "fr", FRENCH),
        # no language: the first comment without a description
        ([*ITUNES_DATA, ("eng", "", ENGLISH), ("fre", "", FRENCH)], None, ENGLISH),
        # a language no comment is in: the first comment without a description
        ([*ITUNES_DATA, ("eng", "", ENGLISH), ("fre", "", FRENCH)], "ger", ENGLISH),
        # only described comments: the first that is not technical data, in the file's language
        ([*ITUNES_DATA, ("eng", "Notes", ENGLISH), ("fra", "Notes", FRENCH)], "fre", FRENCH),
        ([("eng", "iTunNORM", ITUNNORM), ("fra", "Description", FRENCH)], None, FRENCH),
        # Sound Check numbers whose description a converter dropped
        ([("eng", "", ITUNNORM), ("fra", "", FRENCH)], None, FRENCH),
        # nothing but technical data: no comment at all
        (ITUNES_DATA, "fre", None),
    ],
    ids=["fre", "fra-vs-fre", "fr-vs-fre", "no-language", "other-language", "described", "itunnorm-then-described", "hex-without-description", "only-itunes-data"],
)  # fmt: skip
def test_the_comment_of_an_itunes_tagged_mp3_is_the_one_a_person_wrote(
    tmp_path: Path, comments: list, language: str | None, expected: str | None
) -> None:
    path = itunes_mp3(tmp_path / "itunes.mp3", comments, language)
    assert ID3(path).getall("COMM")[0].text == [comments[0][2]]  # the file is as iTunes writes it

    data = inspect_json(path)

    assert data["tags"]["comment"] == expected
    assert "0000" not in json.dumps(data["tags"])


def test_ingest_prefills_the_description_with_the_written_comment(project: Path, tmp_path: Path) -> None:
    mp3 = itunes_mp3(
        tmp_path / "itunes.mp3", [*ITUNES_DATA, ("eng", "", ENGLISH), ("fre", "", FRENCH)], "fre"
    )

    result = run_cli(project, "ingest", "--quiet", "--show", "grandir-en-hlm", str(mp3))

    assert result.exit_code == 0, result.stderr
    record = (project / "episodes" / "grandir-en-hlm" / "temoignage.toml").read_text(encoding="utf-8")
    assert tomllib.loads(record)["description"] == FRENCH
    assert "iTun" not in record and "0000021C" not in record


def tagged_m4a(path: Path, atoms: dict[str, list]) -> Path:
    make_mp4(path, 1.0, video=False)
    mp4 = MP4(path)
    for key, values in atoms.items():
        mp4[key] = values
    mp4.save()
    return path


def freeform(text: str) -> MP4FreeForm:
    return MP4FreeForm(text.encode("utf-8"))


ITUNES_ATOMS = {
    "----:com.apple.iTunes:iTunNORM": [freeform(ITUNNORM)],
    "----:com.apple.iTunes:iTunSMPB": [freeform(ITUNSMPB)],
    "----:com.apple.iTunes:iTunes_CDDB_IDs": [freeform("11+0F1C2B6A7E5D8C9B0A1F2E3D4C5B6A79+1234567")],
}


@pytest.mark.parametrize(
    ("atoms", "expected"),
    [
        ({**ITUNES_ATOMS, "----:com.apple.iTunes:COMMENT": [freeform(FRENCH)]}, FRENCH),
        ({**ITUNES_ATOMS, "\xa9cmt": [ITUNNORM, FRENCH]}, FRENCH),
        ({**ITUNES_ATOMS, "----:com.apple.iTunes:comment": [freeform(ENGLISH)], "\xa9cmt": [FRENCH]}, FRENCH),
        (ITUNES_ATOMS, None),
    ],
    ids=["freeform-comment", "cmt-after-sound-check", "cmt-before-freeform", "only-itunes-data"],
)
def test_the_comment_of_an_m4a_is_never_itunes_data(
    tmp_path: Path, atoms: dict, expected: str | None
) -> None:
    data = inspect_json(tagged_m4a(tmp_path / "itunes.m4a", atoms))

    assert data["tags"]["comment"] == expected


# ---------------------------------------------------------------- item 2: audio facts


def asc(*fields: tuple[int, int]) -> bytes:
    """An AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1) from (value, bits) fields, zero-padded."""
    bits = "".join(format(value, f"0{n}b") for value, n in fields)
    bits += "0" * (-len(bits) % 8)
    return int(bits, 2).to_bytes(len(bits) // 8, "big")


LC, SBR, PS, SYNC_SBR, SYNC_PS = 2, 5, 29, 0x2B7, 0x548
RATE_INDEX = {44100: 4, 22050: 7}
GA = (0, 3)  # GASpecificConfig: 1024-sample frames, no core coder, no extension


def _box_chain(data: bytearray, path: list[bytes]) -> list[tuple[int, int]]:
    """(offset, size) of each box along `path` from the top (the `trak` that holds a sound track)."""
    chain, pos = [], 0
    for kind in path:
        while True:
            size, found = struct.unpack(">I4s", data[pos : pos + 8])
            if found == kind and (kind != b"trak" or b"soun" in data[pos : pos + size]):
                break
            pos += size
        chain.append((pos, size))
        pos += 8 + {b"stsd": 8, b"mp4a": 28}.get(kind, 0)  # their fields before their child boxes
    return chain


def rewrite_aac(path: Path, config: bytes | None = None, entry: tuple[int, int] | None = None) -> None:
    """Replace the AudioSpecificConfig of an ffmpeg-made MP4 and/or set its sample entry's channel
    count and sample rate. ffmpeg writes `moov` after `mdat` (no chunk offset moves) and descriptor
    lengths on four bytes (0x80 0x80 0x80 n)."""
    data = bytearray(path.read_bytes())
    chain = _box_chain(data, [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd", b"mp4a", b"esds"])
    mp4a, esds = chain[6][0] + 8, chain[7][0] + 12  # the entry's fields; the descriptors
    if entry is not None:
        struct.pack_into(">H", data, mp4a + 16, entry[0])
        struct.pack_into(">I", data, mp4a + 24, entry[1] << 16)
    if config is not None:
        assert data.index(b"mdat") < chain[0][0]
        decoder = esds + 5 + 3  # ES descriptor: tag, length, ES_ID, flags
        info = decoder + 5 + 13  # decoder config: tag, length, type, stream, buffer, bitrates
        assert (data[esds], data[decoder], data[info]) == (3, 4, 5)
        old = data[info + 4]
        delta = len(config) - old
        data[info + 5 : info + 5 + old] = config
        for length_at in (info + 4, decoder + 4, esds + 4):
            data[length_at] += delta
        for offset, size in chain:
            struct.pack_into(">I", data, offset, size + delta)
    path.write_bytes(bytes(data))


def aac(path: Path, channels: int, rate: int, *, video: bool = False) -> Path:
    """AAC-LC by ffmpeg's encoder, in an M4A (or an MP4 with a video track)."""
    args: list[str | Path] = ["-f", "lavfi", "-i", "sine=frequency=330:duration=2"]
    if video:
        args += ["-f", "lavfi", "-i", "color=c=blue:size=160x90:duration=2:rate=5", "-c:v", "libx264"]
        args += ["-pix_fmt", "yuv420p"]
    args += ["-ac", str(channels), "-ar", str(rate), "-c:a", "aac", "-b:a", "32k", "-shortest"]
    ffmpeg(*args, *(["-f", "mp4"] if video else ["-f", "ipod"]), path)
    return path


def decoded(path: Path) -> tuple[int, int]:
    """ffmpeg's reading: (channels, sample rate) of the WAV it decodes the file's audio to."""
    wav = path.with_name(path.name + ".decoded.wav")
    ffmpeg("-i", path, "-map", "0:a:0", "-c:a", "pcm_s16le", wav)
    with wave.open(str(wav)) as w:
        return w.getnchannels(), w.getframerate()


def make_case(name: str, folder: Path) -> Path:
    """The file of one case of `FACTS`."""
    path = folder / f"{name}.m4a"
    if name == "mono-aac-entry-2":  # the sample entry says 2, as the ISO template value is
        rewrite_aac(aac(path, 1, 44100), entry=(2, 44100))
    elif name == "mono-aac-2-byte-config":  # no sync extension (other encoders), entry at 2 and 44.1 kHz
        config = asc((LC, 5), (RATE_INDEX[22050], 4), (1, 4), GA)
        rewrite_aac(aac(path, 1, 22050), config, entry=(2, 44100))
    elif name == "mp4-video-mono-aac":
        path = path.with_suffix(".mp4")
        rewrite_aac(aac(path, 1, 44100, video=True), entry=(2, 44100))
    elif name == "he-aac-v1-mono":  # explicit SBR (object type 5), PS not ruled out: stereo
        config = asc((SBR, 5), (RATE_INDEX[22050], 4), (1, 4), (RATE_INDEX[44100], 4), (LC, 5), GA)
        rewrite_aac(aac(path, 1, 22050), config, entry=(1, 22050))
    elif name == "he-aac-v1-mono-ps-absent":  # backward-compatible SBR, PS flagged absent
        config = asc(
            (LC, 5), (RATE_INDEX[22050], 4), (1, 4), GA,
            (SYNC_SBR, 11), (SBR, 5), (1, 1), (RATE_INDEX[44100], 4), (SYNC_PS, 11), (0, 1),
        )  # fmt: skip
        rewrite_aac(aac(path, 1, 22050), config, entry=(2, 22050))
    elif name == "he-aac-v1-stereo":
        config = asc(
            (LC, 5), (RATE_INDEX[22050], 4), (2, 4), GA, (SYNC_SBR, 11), (SBR, 5), (1, 1), (RATE_INDEX[44100], 4),
        )  # fmt: skip
        rewrite_aac(aac(path, 2, 22050), config, entry=(2, 22050))
    elif name == "he-aac-v2":  # object type 29: SBR + PS
        config = asc((PS, 5), (RATE_INDEX[22050], 4), (1, 4), (RATE_INDEX[44100], 4), (LC, 5), GA)
        rewrite_aac(aac(path, 1, 22050), config, entry=(1, 22050))
    elif name == "he-aac-v2-sync-extension":
        config = asc(
            (LC, 5), (RATE_INDEX[22050], 4), (1, 4), GA,
            (SYNC_SBR, 11), (SBR, 5), (1, 1), (RATE_INDEX[44100], 4), (SYNC_PS, 11), (1, 1),
        )  # fmt: skip
        rewrite_aac(aac(path, 1, 22050), config, entry=(1, 22050))
    elif name == "alac":
        noise = ["-f", "lavfi", "-i", "anoisesrc=d=2:a=0.2:seed=3"]
        ffmpeg(*noise, "-ac", "2", "-ar", "48000", "-c:a", "alac", path)
    elif name == "opus":
        path = path.with_suffix(".opus")
        ffmpeg("-f", "lavfi", "-i", "sine=duration=2", "-ac", "1", "-ar", "16000", "-c:a", "libopus", path)
    return path


# case -> (channels, sample rate) expected; each is also checked against ffmpeg's decode
FACTS = {
    "mono-aac-entry-2": (1, 44100),
    "mono-aac-2-byte-config": (1, 22050),
    "mp4-video-mono-aac": (1, 44100),
    "he-aac-v1-mono": (2, 44100),
    "he-aac-v1-mono-ps-absent": (1, 44100),
    "he-aac-v1-stereo": (2, 44100),
    "he-aac-v2": (2, 44100),
    "he-aac-v2-sync-extension": (2, 44100),
    "alac": (2, 48000),
    "opus": (1, 48000),
}


@pytest.fixture(scope="module")
def facts_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("facts")
    return {name: make_case(name, folder) for name in FACTS}


@pytest.mark.parametrize("name", FACTS)
def test_channels_and_sample_rate_are_what_ffmpeg_decodes(facts_files: dict[str, Path], name: str) -> None:
    path = facts_files[name]

    data = inspect_json(path)

    assert decoded(path) == FACTS[name]  # the case is what it claims to be
    assert (data["channels"], data["sample_rate"]) == FACTS[name]


def test_alac_bitrate_is_the_average_of_the_file(facts_files: dict[str, Path]) -> None:
    path = facts_files["alac"]
    banner = subprocess.run([FFMPEG, "-hide_banner", "-i", str(path)], capture_output=True, text=True).stderr
    ffmpeg_kbps = int(re.search(r"Audio: alac\b.*?(\d+) kb/s", banner)[1])

    data = inspect_json(path)

    assert abs(data["bitrate"] / 1000 - ffmpeg_kbps) <= 1, (data["bitrate"], ffmpeg_kbps)
    assert data["bitrate"] < data["size"] * 8 / data["duration_seconds"]  # the audio, not the PCM rate


# ---------------------------------------------------------------- decisions that depend on channels


def test_mono_aac_gets_the_mono_loudness_target(facts_files: dict[str, Path]) -> None:
    data = inspect_json(facts_files["mono-aac-entry-2"], "--loudness")

    assert data["channels"] == 1
    assert data["loudness"]["target_lufs"] == -19


def test_mono_aac_is_encoded_with_the_mono_defaults(project: Path, facts_files: dict[str, Path]) -> None:
    master = facts_files["mono-aac-entry-2"]

    result = run_cli(project, "ingest", "--quiet", "--encode", "--show", "grandir-en-hlm", str(master))

    assert result.exit_code == 0, result.stderr
    record = tomllib.loads(
        (project / "episodes" / "grandir-en-hlm" / "mono-aac-entry-2.toml").read_text(encoding="utf-8")
    )
    out = MP3(project / "episodes" / "grandir-en-hlm" / record["media"]["file"])
    assert out.info.channels == 1
    assert abs(out.info.bitrate - 64000) < 100  # the MP3 default for mono (128k for stereo)
