"""`audio_offset`: the bytes before the audio (rule R6), read from real files and checked against
mutagen's own reading of the ID3 tag and of the MP4 atoms; and EpisodeRefs built from the demo."""

from __future__ import annotations

from pathlib import Path

import pytest
from mutagen.id3 import ID3
from mutagen.mp4 import Atoms

from grandirenhlm.catalog import load_catalog
from grandirenhlm.config import load_project
from grandirenhlm.errors import MediaError
from grandirenhlm.stats import (
    EpisodeRef,
    MediaFile,
    audio_offset,
    episode_refs,
    load_media_history,
    remember_media,
)
from tests.support import make_cover, make_mp3, make_mp4


def test_mp3_offset_is_the_id3_tag(tmp_path: Path):
    cover = tmp_path / "cover.jpg"
    make_cover(cover, size=600)
    mp3 = make_mp3(tmp_path / "a.mp3", title="Témoignage", comment="x" * 3000, cover=cover.read_bytes())
    offset = audio_offset(mp3)
    assert offset == ID3(mp3).size > 3000
    assert mp3.read_bytes()[offset] == 0xFF  # an MPEG frame starts there


def test_mp3_without_tag_and_stacked_tags(tmp_path: Path):
    bare = make_mp3(tmp_path / "bare.mp3")
    assert audio_offset(bare) == 0
    tagged = make_mp3(tmp_path / "t.mp3", title="Un")
    first = ID3(tagged).size
    stacked = tmp_path / "stacked.mp3"
    stacked.write_bytes(tagged.read_bytes()[:first] + tagged.read_bytes())  # two tags, one after the other
    assert audio_offset(stacked) == 2 * first


@pytest.mark.parametrize("video", [False, True], ids=["m4a", "mp4"])
def test_mp4_offset_is_the_mdat_payload(tmp_path: Path, video: bool):
    path = make_mp4(tmp_path / ("a.mp4" if video else "a.m4a"), video=video)
    with path.open("rb") as fh:
        (mdat,) = [a for a in Atoms(fh).atoms if a.name == b"mdat"]
    expected = mdat.offset + mdat.length - mdat.datalength
    assert audio_offset(path) == expected > 1000  # faststart: the moov box comes first


def test_other_files_have_no_offset_and_unreadable_ones_are_a_media_error(tmp_path: Path):
    other = tmp_path / "x.bin"
    other.write_bytes(b"RIFF....WAVE")
    assert audio_offset(other) == 0
    with pytest.raises(MediaError, match=r"missing.mp3: cannot read \(No such file or directory\)"):
        audio_offset(tmp_path / "missing.mp3")


def test_episode_refs_of_the_demo_and_the_media_history(demo_project: Path):
    catalog = load_catalog(load_project(demo_project))
    refs = {r.slug: r for r in episode_refs(catalog)}
    assert len(refs) == 7
    replay = refs["replay-2023"]
    assert [f.key.rsplit(".", 1)[1] for f in replay.files] == ["mp4", "m4a"]
    mp3 = refs["temoignage-1"].files[0]
    assert mp3.key.startswith("media/grandir-en-hlm/temoignage-1-") and mp3.key.endswith(".mp3")
    assert mp3.audio_offset == ID3(demo_project / mp3.key).size
    assert mp3.threshold == mp3.size  # 30 s: shorter than a minute
    remember_media(demo_project, refs.values())
    history = load_media_history(demo_project)
    assert history[replay.guid] == replay.files
    # after a re-encode the catalog has a new file; the old one is still counted for the GUID
    old = MediaFile("media/grandir-en-hlm/temoignage-1-000000000000.mp3", 1000, 0, 64000, 30.0)
    remember_media(
        demo_project, [EpisodeRef(mp3_guid := refs["temoignage-1"].guid, "grandir-en-hlm", "t", "t", (old,))]
    )
    assert old in load_media_history(demo_project)[mp3_guid]
    again = {r.slug: r for r in episode_refs(catalog, demo_project)}
    assert [f.key for f in again["temoignage-1"].files] == [mp3.key, old.key]
