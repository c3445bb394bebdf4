"""The format table (media/formats.py) and the media types (media/types.py) drive sniffing, MIME
types and suffixes everywhere: `probe`, the model, `serve`. One real file per format, made by ffmpeg
(the imageio-ffmpeg wheel), probed by real mutagen and served by a real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import re
import subprocess
import threading
import urllib.request
from pathlib import Path

import pytest

from grandirenhlm.media import probe
from grandirenhlm.media.formats import FORMATS, KNOWN, Format, sniff
from grandirenhlm.media.mpeg import skip_id3v2
from grandirenhlm.media.types import (
    AUDIO_AIFF,
    AUDIO_FLAC,
    AUDIO_M4A,
    AUDIO_MPEG,
    AUDIO_OGG,
    AUDIO_OPUS,
    AUDIO_WAV,
    MEDIA_TYPES,
    PUBLISHABLE,
    SITE_TYPES,
    VIDEO_MP4,
    MediaType,
)
from grandirenhlm.model import PUBLISHABLE_MIME_TYPES, EpisodeMedia
from grandirenhlm.serve import make_server
from tests.support import FFMPEG

SRC = Path(__file__).resolve().parents[1] / "src" / "grandirenhlm"
TONE = ("-f", "lavfi", "-i", "sine=frequency=440:duration=1")
# How ffmpeg makes a one-second file of each declared type (a new format needs a line here).
SAMPLES: dict[MediaType, tuple[str, ...]] = {
    AUDIO_MPEG: (*TONE, "-c:a", "libmp3lame"),
    AUDIO_M4A: (*TONE, "-c:a", "aac"),
    VIDEO_MP4: ("-f", "lavfi", "-i", "color=c=blue:size=64x36:duration=1:rate=5", *TONE, "-c:v", "libx264"),
    AUDIO_OGG: (*TONE, "-c:a", "libvorbis"),
    AUDIO_OPUS: (*TONE, "-c:a", "libopus"),
    AUDIO_FLAC: (*TONE, "-c:a", "flac"),
    AUDIO_WAV: (*TONE, "-c:a", "pcm_s16le"),
    AUDIO_AIFF: (*TONE, "-c:a", "pcm_s16be"),
}
LISTED = [f for f in FORMATS if f.name]


def make_sample(media_type: MediaType, path: Path) -> Path:
    subprocess.run([FFMPEG, "-y", "-v", "error", *SAMPLES[media_type], str(path)], check=True)
    return path


def head_after_id3(path: Path) -> bytes:
    with path.open("rb") as fh:
        fh.seek(skip_id3v2(fh))
        return fh.read(12)


def test_every_declared_type_has_one_listed_format_and_a_sample() -> None:
    assert sorted(MEDIA_TYPES, key=repr) == sorted((f.type for f in LISTED), key=repr)
    assert set(SAMPLES) == set(MEDIA_TYPES)
    assert KNOWN == "MP3, M4A, MP4, Ogg, FLAC, WAV, AIFF"


@pytest.mark.parametrize("fmt", LISTED, ids=lambda f: f.type.suffix)
def test_probe_reports_what_the_entry_declares(tmp_path: Path, fmt: Format) -> None:
    path = make_sample(fmt.type, tmp_path / f"sample{fmt.type.suffix}")
    info = probe(path)
    assert (info.mime_type, info.container, info.extension) == (
        fmt.type.mime_type,
        fmt.container,
        fmt.type.suffix,
    )
    assert info.publishable is fmt.type.publishable
    master = f"{fmt.container} is a master format: encode it to MP3 or M4A before publishing it"
    assert info.warnings == (() if fmt.type.publishable else (master,))
    # the content decides, the name never does: the same bytes under every other declared suffix
    for other in {s for t in MEDIA_TYPES for s in t.suffixes} - set(fmt.type.suffixes):
        liar = tmp_path / f"liar{other}"
        liar.write_bytes(path.read_bytes())
        moved = probe(liar)
        assert (moved.mime_type, moved.extension) == (fmt.type.mime_type, fmt.type.suffix)
        assert moved.warnings[0] == (
            f"the name ends in {other} but the content is {fmt.container} ({fmt.type.mime_type})"
        )


@pytest.mark.parametrize("fmt", LISTED, ids=lambda f: f.type.suffix)
def test_sniffing_offers_the_entry_and_no_other_magic_matches(tmp_path: Path, fmt: Format) -> None:
    head = head_after_id3(make_sample(fmt.type, tmp_path / f"sample{fmt.type.suffix}"))
    # an entry without classes (MP4 with video) is read through the entry that links to it
    readers = fmt.classes or next(f.classes for f in FORMATS if f.with_video is fmt)
    assert set(readers) <= set(sniff(head) or ())
    matching = {f.magic for f in FORMATS if f.magic is not None and f.magic(head)}
    assert len(matching) == 1, [f.name for f in FORMATS if f.magic in matching]


def test_model_reads_publishability_and_suffixes_from_the_table() -> None:
    assert {t.mime_type for t in MEDIA_TYPES if t.publishable} == PUBLISHABLE_MIME_TYPES
    for media_type in PUBLISHABLE.values():
        media = EpisodeMedia(Path("x"), "0" * 64, 1, media_type.mime_type, 1.0)
        assert media.extension == media_type.suffix


def test_serve_sends_the_declared_content_types(tmp_path: Path) -> None:
    root = tmp_path / "site"
    root.mkdir()
    expected = {**{t.suffix: t.mime_type for t in PUBLISHABLE.values()}, **SITE_TYPES}
    for suffix in expected:
        (root / f"file{suffix}").write_bytes(b"x")
    server = make_server(root, port=0, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        for suffix, content_type in expected.items():
            url = f"http://127.0.0.1:{server.server_address[1]}/file{suffix}"
            with urllib.request.urlopen(url, timeout=5) as response:
                assert response.headers["Content-Type"] == content_type, suffix
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_media_types_and_suffixes_are_spelled_only_in_media_types() -> None:
    spelled = {t.mime_type for t in MEDIA_TYPES} | {s for t in MEDIA_TYPES for s in t.suffixes}
    pattern = re.compile("[\"'](" + "|".join(re.escape(s) for s in sorted(spelled)) + ")[\"']")
    found = {
        str(path.relative_to(SRC)): match[1]
        for path in SRC.rglob("*.py")
        if path != SRC / "media" / "types.py"
        for match in pattern.finditer(path.read_text(encoding="utf-8"))
    }
    assert found == {}, found
