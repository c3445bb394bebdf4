"""Golden files: the demo shows' feeds, OPML, chapters and transcripts, byte for byte.

A change to the output shows up here as a diff; `pytest --update-golden` rewrites tests/golden/
from the current output, and the diff is reviewed like code.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from grandirenhlm import feed, site
from grandirenhlm.config import load_project

BASE = "http://127.0.0.1:8000/"
AT = datetime(2024, 1, 1, tzinfo=UTC)
GOLDEN = {
    "grandir-en-hlm/feed.xml": "grandir-en-hlm.feed.xml",
    "l-emission/feed.xml": "l-emission.feed.xml",
    "shows.opml": "shows.opml",
    "grandir-en-hlm/temoignage-1/chapters.json": "temoignage-1.chapters.json",
    "grandir-en-hlm/temoignage-1/transcript.vtt": "temoignage-1.transcript.vtt",
    "grandir-en-hlm/temoignage-1/transcript.srt": "temoignage-1.transcript.srt",
    "grandir-en-hlm/temoignage-1/transcript.json": "temoignage-1.transcript.json",
    "grandir-en-hlm/temoignage-1/transcript.html": "temoignage-1.transcript.html",
}


@pytest.fixture(scope="module")
def outputs() -> dict[str, bytes]:
    project = load_project(Path(__file__).resolve().parents[1])
    feed.clear_cache()
    return {a.key: a.data for a in site.render(project, BASE, AT, cache=False) if a.data is not None}


@pytest.mark.parametrize("key", sorted(GOLDEN))
def test_demo_output_matches_golden_file(outputs: dict[str, bytes], golden, key: str):
    golden(GOLDEN[key], outputs[key])


def test_building_twice_gives_the_same_bytes(outputs: dict[str, bytes]):
    project = load_project(Path(__file__).resolve().parents[1])
    feed.clear_cache()  # without the item cache, too
    again = {a.key: a.data for a in site.render(project, BASE, AT, cache=False) if a.data is not None}
    for key in GOLDEN:
        assert again[key] == outputs[key], key


@pytest.mark.parametrize("batch", [1, 2, 5])
def test_items_rendered_in_batches_give_the_same_feed(outputs: dict[str, bytes], monkeypatch, batch: int):
    """A big archive's items are rendered a batch at a time (memory): the feed is byte for byte the
    one rendered with every item in one feedgen tree, whether the batches divide the items or not."""
    monkeypatch.setattr(feed, "_BATCH", batch)
    project = load_project(Path(__file__).resolve().parents[1])
    feed.clear_cache()
    again = {a.key: a.data for a in site.render(project, BASE, AT, cache=False) if a.data is not None}
    assert len(again["grandir-en-hlm/feed.xml"].split(b"<item>")) - 1 > batch  # several batches
    for key in ("grandir-en-hlm/feed.xml", "l-emission/feed.xml"):
        assert again[key] == outputs[key], key


def test_last_build_date_moves_only_with_content(outputs: dict[str, bytes]):
    project = load_project(Path(__file__).resolve().parents[1])
    later = {a.key: a.data for a in site.render(project, BASE, datetime(2030, 1, 1, tzinfo=UTC), cache=False)}
    assert later["grandir-en-hlm/feed.xml"] == outputs["grandir-en-hlm/feed.xml"]  # nothing new: same bytes
    assert (
        b"<lastBuildDate>Mon, 26 Jun 2023 09:06:00 +0000</lastBuildDate>"
        in outputs["grandir-en-hlm/feed.xml"]
    )
