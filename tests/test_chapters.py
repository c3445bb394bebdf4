"""chapters.py: one chapter source -> JSON chapters file, Podlove Simple Chapters, description timestamps."""

from __future__ import annotations

import io
import itertools
import json
from datetime import UTC, datetime
from pathlib import Path

import lxml.html
import podcastparser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from mutagen.id3 import CHAP, CTOC, ID3, TIT2, CTOCFlags

from grandirenhlm import chapters as chaps
from grandirenhlm import site
from grandirenhlm.catalog import load_catalog
from grandirenhlm.config import load_project
from grandirenhlm.model import Chapter
from tests.support import make_mp3, run_cli

NS = {"psc": chaps.PSC_NS, "podcast": "https://podcastindex.org/namespace/1.0"}
BASE = "http://127.0.0.1:8000/"
NOW = datetime(2030, 1, 1, tzinfo=UTC)


def three_outputs(artifacts: dict, item) -> tuple[list, list, list]:
    """(start, title) from the JSON file, from psc:chapters and from the description's timestamps."""
    url = item.find("podcast:chapters", NS).get("url")
    from_json = [
        (c["startTime"], c["title"]) for c in json.loads(artifacts[url.removeprefix(BASE)].data)["chapters"]
    ]
    from_psc = [
        (chaps.parse_npt(c.get("start")), c.get("title"))
        for c in item.findall("psc:chapters/psc:chapter", NS)
    ]
    from_text = chaps.parse_description_timestamps(description_text(item))
    return from_json, from_psc, from_text


def description_text(item) -> str:
    """The item's <description> as an app shows it: its HTML paragraphs, one per line."""
    fragment = lxml.html.fragment_fromstring(item.findtext("description"), create_parent="div")
    return "\n".join(p.text_content() for p in fragment.iter("p"))


def build(root: Path) -> dict:
    project = load_project(root)
    return {a.key: a for a in site.render(project, BASE, NOW, cache=False)}


def test_demo_chapters_are_identical_in_all_three_outputs(demo_project: Path):
    artifacts = build(demo_project)
    catalog = load_catalog(load_project(demo_project))
    for show in ("grandir-en-hlm", "l-emission"):
        episodes = {e.guid: e for e in catalog.episodes[show]}
        root = etree.fromstring(artifacts[f"{show}/feed.xml"].data)
        assert len(list(root.iter("item"))) == len(episodes) == {"grandir-en-hlm": 6, "l-emission": 1}[show]
        for item in root.iter("item"):
            episode = episodes[item.findtext("guid")]
            from_json, from_psc, from_text = three_outputs(artifacts, item)
            expected = [(c.start_seconds, c.title) for c in episode.chapters]
            assert len(expected) >= 3
            assert from_json == expected
            assert from_psc == expected
            assert from_text == [(int(s), t) for s, t in expected]  # to the second
            assert from_text[0][0] == 0  # what Apple and Spotify need


def test_json_chapters_file_follows_the_spec(demo_project: Path):
    artifacts = build(demo_project)
    artifact = artifacts["grandir-en-hlm/temoignage-1/chapters.json"]
    assert artifact.content_type == "application/json+chapters"
    data = json.loads(artifact.data)
    assert data["version"] == "1.2.0"
    chapters = data["chapters"]
    assert chapters[0] == {"startTime": 0, "endTime": 4.596, "title": "Présentation"}
    assert chapters[-1]["endTime"] == 30.824  # the last ends with the media
    assert all(a["endTime"] == b["startTime"] for a, b in itertools.pairwise(chapters))


def test_chapters_from_the_media_file_reach_every_output(project: Path, tmp_path: Path):
    """ID3 CHAP frames -> ingest -> the record -> JSON, psc and description."""
    audio = make_mp3(tmp_path / "a.mp3", seconds=4.0, title="Chapitré", track="1")
    tags = ID3(audio)
    ids = ["c0", "c1", "c2"]
    tags.add(CTOC(element_id="toc", flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED, child_element_ids=ids))
    for cid, (start, end, title) in zip(
        ids, [(0, 1000, "Ouverture"), (1000, 2500, "Milieu & « fin »"), (2500, 4000, "Clôture")], strict=True
    ):
        tags.add(
            CHAP(element_id=cid, start_time=start, end_time=end, sub_frames=[TIT2(encoding=3, text=title)])
        )
    tags.save(audio, v2_version=4)
    assert run_cli(project, "ingest", "--show", "grandir-en-hlm", str(audio)).exit_code == 0
    artifacts = build(project)
    data = artifacts["grandir-en-hlm/feed.xml"].data
    item = etree.fromstring(data).find("channel/item")
    from_json, from_psc, from_text = three_outputs(artifacts, item)
    expected = [(0, "Ouverture"), (1, "Milieu & « fin »"), (2.5, "Clôture")]
    assert from_json == expected and from_psc == expected
    assert from_text == [(0, "Ouverture"), (1, "Milieu & « fin »"), (2, "Clôture")]
    parsed = podcastparser.parse(f"{BASE}grandir-en-hlm/feed.xml", io.BytesIO(data))["episodes"][0]
    assert [c["title"] for c in parsed["chapters"]] == ["Ouverture", "Milieu & « fin »", "Clôture"]


def test_description_timestamps_only_when_platforms_would_read_them():
    two = [Chapter(0, "A"), Chapter(10, "B")]
    late = [Chapter(5, "A"), Chapter(10, "B"), Chapter(20, "C")]
    same_second = [Chapter(0, "A"), Chapter(10.2, "B"), Chapter(10.7, "C")]
    good = [Chapter(0, "A"), Chapter(10, "B"), Chapter(3700, "C")]
    assert chaps.description_timestamps(two) == ""
    assert chaps.description_timestamps(late) == ""
    assert chaps.description_timestamps(same_second) == ""
    assert chaps.description_timestamps(good) == "Chapitres :\n00:00:00 A\n00:00:10 B\n01:01:40 C"
    assert chaps.with_timestamps("Texte.", two) == "Texte."


def test_chapter_problems():
    assert chaps.chapter_problems([Chapter(0, "A"), Chapter(5, "B"), Chapter(9, "C")], 10.0) == []
    assert chaps.chapter_problems([Chapter(3, "A"), Chapter(2, "B")], 2.5) == [
        ("error", "chapters: start times must strictly increase"),
        ("error", "chapters[0].start_seconds: 3 is past the end (2.500 s)"),
        ("warning", "chapters: the first must start at 0 (Apple and Spotify ignore them otherwise)"),
        ("warning", "chapters: 2, at least 3 for Apple and Spotify"),
    ]
    assert chaps.chapter_problems([Chapter(0, "x" * 256), Chapter(1, "B"), Chapter(2, "C")], None) == [
        ("error", "chapters[0].title: 256 characters, at most 255"),
    ]


@pytest.mark.parametrize("seconds", [0, 0.001, 4.596, 59.999, 3599.5, 3600, 86399.999])
def test_npt_round_trip(seconds):
    assert chaps.parse_npt(chaps.npt(seconds)) == pytest.approx(seconds, abs=0.0005)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(1, 7200_000),
            st.text(
                alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp", "Zs")),
                min_size=1,
                max_size=30,
            ),
        ),
        min_size=2,
        max_size=8,
    )
)
def test_description_timestamps_parse_back(raw):
    starts = sorted({ms // 1000 * 1000 for ms, _ in raw} | {0})
    titles = [t for _, t in raw] + ["x"] * len(starts)
    chapters = [Chapter(s / 1000, titles[i]) for i, s in enumerate(starts)]
    text = chaps.description_timestamps(chapters)
    if len(chapters) < 3:
        assert text == ""
        return
    assert chaps.parse_description_timestamps(text) == [(int(c.start_seconds), c.title) for c in chapters]


@pytest.mark.parametrize("title", ["- »", "– suite", "— fin", "-sans espace"])
def test_a_title_that_starts_like_a_separator_survives_the_description(title: str) -> None:
    """Found by Hypothesis: "00:10 - »" was read back as "»" (the dash taken for a separator)."""
    from grandirenhlm.chapters import parse_description_timestamps, with_timestamps

    chapters = [Chapter(0.0, "Début"), Chapter(10.0, title), Chapter(20.0, "Milieu"), Chapter(30.0, "Fin")]
    text = with_timestamps("Notes.", chapters)
    assert parse_description_timestamps(text) == [(c.start_seconds, c.title) for c in chapters]
