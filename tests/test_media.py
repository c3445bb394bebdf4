"""`media.probe` and `media.to_json` over real files: LAME MP3s, ffmpeg MP4/M4A, `wave` WAVs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from mutagen.id3 import CHAP, CTOC, ID3, TIT2, CTOCFlags

from grandirenhlm.errors import MediaError
from grandirenhlm.media import TAG_KEYS, probe, to_json
from grandirenhlm.model import Chapter, Cover
from tests.support import make_cover, make_mp3, make_mp4, make_wav

TITLE = "Témoignage n° 1 : l’école « Jean-Jaurès » 🏠"
COMMENT = "Récit d’une enfance à Vénissieux, « là où tout a commencé » 🎧"

# ID3 CHAP offsets: 0xFFFFFFFF means "no byte offset, use the times" (ID3v2 chapter spec, section 3).
NO_OFFSET = 0xFFFFFFFF


def add_chapters(path: Path, chapters: list[tuple[str, int, int, str | None]]) -> Path:
    """Write a CTOC and one CHAP frame per (element id, start ms, end ms, title or None)."""
    tags = ID3(path)
    tags.add(
        CTOC(
            element_id="toc",
            flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
            child_element_ids=[c[0] for c in chapters],
            sub_frames=[TIT2(encoding=3, text=["Sommaire"])],
        )
    )
    for element_id, start, end, title in chapters:
        sub_frames = [TIT2(encoding=3, text=[title])] if title else []
        tags.add(
            CHAP(
                element_id=element_id,
                start_time=start,
                end_time=end,
                start_offset=NO_OFFSET,
                end_offset=NO_OFFSET,
                sub_frames=sub_frames,
            )
        )
    tags.save(path, v2_version=4)
    return path


# ---------------------------------------------------------------- MP3


def test_probe_cbr_mp3_reads_format_size_hash_and_tags(tmp_path: Path) -> None:
    path = make_mp3(tmp_path / "ep1.mp3", 2.0, title=TITLE, comment=COMMENT, track="3/6")

    info = probe(path)

    assert info.path == path
    assert info.mime_type == "audio/mpeg"
    assert info.container == "mpeg"
    assert info.codec == "mp3 (layer 3)"
    assert info.publishable is True
    assert info.extension == ".mp3"
    assert abs(info.duration_seconds - 2.0) < 0.1, info.duration_seconds
    assert info.bitrate == 64000
    assert info.sample_rate == 44100
    assert info.channels == 1
    assert info.size == path.stat().st_size
    assert info.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert info.has_video is False and info.width is None and info.height is None
    assert info.tags == {
        "title": TITLE,
        "artist": "Union sociale pour l’habitat",
        "album": "Grandir en Hlm",
        "comment": COMMENT,
        "track": "3/6",
    }
    assert info.cover is None
    assert info.chapters == ()
    assert info.warnings == ()


def test_probe_mp3_duration_follows_the_encoded_length(tmp_path: Path) -> None:
    short = probe(make_mp3(tmp_path / "short.mp3", 1.0))
    long = probe(make_mp3(tmp_path / "long.mp3", 3.0))

    assert abs(short.duration_seconds - 1.0) < 0.1, short.duration_seconds
    assert abs(long.duration_seconds - 3.0) < 0.1, long.duration_seconds
    assert short.tags == {}


def test_probe_mp3_date_tag_is_read_back(tmp_path: Path) -> None:
    path = make_mp3(tmp_path / "dated.mp3", 1.0, title="Daté", date="2023-06-26T09:01:00")

    # mutagen normalises an ID3v2.4 timestamp to "YYYY-MM-DD HH:MM:SS"
    assert probe(path).tags["date"] == "2023-06-26 09:01:00"


def test_probe_mp3_with_1400px_cover(tmp_path: Path, cover_bytes: bytes) -> None:
    path = make_mp3(tmp_path / "cover.mp3", 1.0, title="Avec pochette", cover=cover_bytes)

    info = probe(path)

    assert info.cover == Cover(mime_type="image/jpeg", width=1400, height=1400)
    assert info.warnings == ()


def test_probe_mp3_with_600px_cover_warns_about_1400(tmp_path: Path) -> None:
    small = make_cover(tmp_path / "small.jpg", size=600).read_bytes()
    path = make_mp3(tmp_path / "small-cover.mp3", 1.0, title="Petite pochette", cover=small)

    info = probe(path)

    assert info.cover == Cover(mime_type="image/jpeg", width=600, height=600)
    assert len(info.warnings) == 1, info.warnings
    (warning,) = info.warnings
    assert warning.startswith("embedded cover art: "), warning
    assert "600x600" in warning and "1400" in warning, warning
    assert info.publishable is True  # advice, not an error


def test_probe_mp3_id3_chapters(tmp_path: Path) -> None:
    path = make_mp3(tmp_path / "chapters.mp3", 2.0, title="Chapitré")
    # written out of order on purpose: probe sorts them by start time
    add_chapters(
        path,
        [
            ("ch1", 800, 1500, "L’école « du quartier » 🏫"),
            ("ch0", 0, 800, "Introduction"),
            ("ch2", 1500, 2000, None),
        ],
    )

    info = probe(path)

    assert info.chapters == (
        Chapter(start_seconds=0.0, title="Introduction", end_seconds=0.8),
        Chapter(start_seconds=0.8, title="L’école « du quartier » 🏫", end_seconds=1.5),
        Chapter(start_seconds=1.5, title="ch2", end_seconds=2.0),  # no TIT2: the element id
    )
    assert info.tags["title"] == "Chapitré"


# ---------------------------------------------------------------- MP4, M4A, WAV


def test_probe_m4a_audio_only(tmp_path: Path) -> None:
    path = make_mp4(tmp_path / "ep.m4a", 1.0, video=False)

    info = probe(path)

    assert info.mime_type == "audio/x-m4a"
    assert info.container == "mp4"
    assert info.codec.startswith("mp4a"), info.codec
    assert info.has_video is False
    assert info.width is None and info.height is None
    assert info.publishable is True
    assert info.extension == ".m4a"
    assert abs(info.duration_seconds - 1.0) < 0.1, info.duration_seconds
    assert info.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert info.size == path.stat().st_size


def test_probe_mp4_with_video(tmp_path: Path) -> None:
    path = make_mp4(tmp_path / "ep.mp4", 1.0, video=True)

    info = probe(path)

    assert info.mime_type == "video/mp4"
    assert info.container == "mp4"
    assert info.has_video is True
    assert (info.width, info.height) == (320, 180)
    assert info.codec == "avc1+mp4a.40.2", info.codec  # H.264 video + AAC-LC audio
    assert info.publishable is True
    assert info.extension == ".mp4"
    assert abs(info.duration_seconds - 1.0) < 0.1, info.duration_seconds


def test_probe_wav_is_a_master_not_publishable(tmp_path: Path) -> None:
    path = make_wav(tmp_path / "master.wav", 1.0)

    info = probe(path)

    assert info.mime_type == "audio/wav"
    assert info.container == "wav"
    assert info.codec == "pcm 16 bit"
    assert info.publishable is False
    assert info.duration_seconds == 1.0
    assert info.sample_rate == 44100
    assert info.channels == 1
    assert len(info.warnings) == 1, info.warnings
    assert "master" in info.warnings[0], info.warnings
    assert info.warnings[0].startswith("wav "), info.warnings


# ---------------------------------------------------------------- errors


def _not_audio(path: Path) -> Path:
    path.write_text("Ceci n’est pas un MP3.\n" * 40, encoding="utf-8")
    return path


def _empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def _directory(path: Path) -> Path:
    path.mkdir()
    return path


def _missing(path: Path) -> Path:
    return path


@pytest.mark.parametrize(
    ("name", "make", "problem"),
    [
        ("empty.mp3", _empty, "empty file (0 bytes)"),
        ("texte.mp3", _not_audio, "unreadable media file"),
        ("dossier.mp3", _directory, "is a directory"),
        ("absent.mp3", _missing, "no such file"),
    ],
)
def test_probe_error_names_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, make, problem: str
) -> None:
    monkeypatch.chdir(tmp_path)
    make(tmp_path / name)

    # relative, as a user types it
    with pytest.raises(MediaError) as relative:
        probe(Path(name))
    # absolute, from a working directory that does not hold it
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    with pytest.raises(MediaError) as absolute:
        probe(tmp_path / name)

    for exc, shown in ((relative, name), (absolute, str(tmp_path / name))):
        message = str(exc.value)
        assert message.startswith(f"{shown}: "), message
        assert problem in message, message
        assert "\n" not in message, message


def test_probe_error_keeps_the_foreign_cause(tmp_path: Path) -> None:
    with pytest.raises(MediaError) as exc:
        probe(_not_audio(tmp_path / "texte.mp3"))
    assert exc.value.__cause__ is not None  # raise … from exc, for debugging


# ---------------------------------------------------------------- to_json


DOCUMENTED_KEYS = [
    "path", "size", "sha256", "mime_type", "container", "codec", "duration_seconds", "bitrate",
    "sample_rate", "channels", "video", "publishable", "tags", "cover", "chapters", "warnings",
]  # fmt: skip
DOCUMENTED_TAGS = [
    "title", "artist", "album", "date", "comment", "track", "disc", "genre", "language", "copyright",
]  # fmt: skip


def test_to_json_documented_keys_for_mp3_with_cover_and_chapters(tmp_path: Path, cover_bytes: bytes) -> None:
    path = make_mp3(tmp_path / "full.mp3", 2.0, title=TITLE, comment=COMMENT, track="2", cover=cover_bytes)
    add_chapters(path, [("c0", 0, 1000, "Début"), ("c1", 1000, 2000, "Fin")])
    info = probe(path)

    data = to_json(info)

    assert list(data) == DOCUMENTED_KEYS
    assert list(TAG_KEYS) == DOCUMENTED_TAGS
    assert list(data["tags"]) == DOCUMENTED_TAGS
    assert data["path"] == str(path)
    assert data["size"] == path.stat().st_size
    assert data["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert data["mime_type"] == "audio/mpeg"
    assert data["bitrate"] == 64000
    assert data["video"] is None
    assert data["publishable"] is True
    assert data["tags"] == {
        "title": TITLE,
        "artist": "Union sociale pour l’habitat",
        "album": "Grandir en Hlm",
        "date": None,
        "comment": COMMENT,
        "track": "2",
        "disc": None,
        "genre": None,
        "language": None,
        "copyright": None,
    }
    assert data["cover"] == {"present": True, "mime": "image/jpeg", "width": 1400, "height": 1400}
    assert data["chapters"] == [
        {"start_seconds": 0.0, "end_seconds": 1.0, "title": "Début"},
        {"start_seconds": 1.0, "end_seconds": 2.0, "title": "Fin"},
    ]
    assert data["warnings"] == []
    # plain JSON types only: it round-trips unchanged
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data


def test_to_json_video_and_absent_cover(tmp_path: Path) -> None:
    data = to_json(probe(make_mp4(tmp_path / "clip.mp4", 1.0, video=True)))

    assert list(data) == DOCUMENTED_KEYS
    assert data["video"] == {"width": 320, "height": 180}
    assert data["mime_type"] == "video/mp4"
    assert data["cover"] == {"present": False, "mime": None, "width": None, "height": None}
    assert data["tags"] == dict.fromkeys(DOCUMENTED_TAGS)
    assert data["chapters"] == []


def test_to_json_master_lists_its_warning(tmp_path: Path) -> None:
    data = to_json(probe(make_wav(tmp_path / "master.wav", 1.0)))

    assert data["publishable"] is False
    assert data["mime_type"] == "audio/wav"
    assert len(data["warnings"]) == 1 and "master" in data["warnings"][0]
    assert json.loads(json.dumps(data)) == data
