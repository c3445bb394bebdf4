"""Properties of import's pure parts: whatever bytes a host sends, parsing a page either gives
values or a one-line `FeedError`; a description our feed writer made (HTML paragraphs, chapter
timestamps appended) comes back as the text it was made from; scripts never reach the text."""

from __future__ import annotations

import html

from hypothesis import given, settings
from hypothesis import strategies as st

from grandirenhlm import chapters as chaps
from grandirenhlm.feed import description_html
from grandirenhlm.importing import convert
from grandirenhlm.importing.parse import FeedError, parse_page
from grandirenhlm.model import Chapter

WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzéèàçœ«»’ABCXYZ0123456789,.?!'&", min_size=1, max_size=12)
LINES = st.lists(WORDS, min_size=1, max_size=8).map(" ".join)
PARAGRAPHS = st.lists(st.lists(LINES, min_size=1, max_size=3).map("\n".join), min_size=1, max_size=4)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_give_a_page_or_a_feed_error(data: bytes):
    try:
        page = parse_page(data, "feed.xml")
    except FeedError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("feed.xml: ")
    else:
        assert isinstance(page.items, tuple)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(WORDS, st.text(alphabet="<>&\"' abc", max_size=10)), max_size=5),
    st.sampled_from(["<item>", "<channel>", "<rss>", "<rss version='2.0'><channel><item>"]),
)
def test_truncated_or_broken_feeds_are_feed_errors(parts, opening: str):
    body = opening + "".join(f"<{tag}>{text}" for tag, text in parts)
    try:
        parse_page(body.encode(), "x.xml")
    except FeedError:
        return
    # a well-formed document: it must have been an RSS one to get here
    assert body.startswith("<rss")


@settings(max_examples=200, deadline=None)
@given(
    PARAGRAPHS,
    st.lists(st.integers(1, 7200), min_size=2, max_size=6, unique=True),
    st.lists(LINES, min_size=6, max_size=6),
)
def test_our_description_with_timestamps_comes_back_as_written(paragraphs, starts, titles):
    text = "\n\n".join(paragraphs)
    starts = [0, *sorted(starts)]
    chapters = tuple(Chapter(float(s), t) for s, t in zip(starts, titles, strict=False))
    published = description_html(chaps.with_timestamps(text, chapters))
    back = convert.without_chapter_block(convert.html_to_text(published), chapters)
    # the feed writes one <p> per line; lines of a paragraph come back as paragraphs of their own
    assert back == "\n\n".join(line for p in paragraphs for line in p.split("\n"))


@settings(max_examples=200, deadline=None)
@given(LINES, st.text(max_size=40))
def test_script_and_style_bodies_never_reach_the_text(visible: str, hidden: str):
    marker = f"SECRET{hidden}SECRET"
    source = (
        f"<p>{html.escape(visible)}</p><script>{html.escape(marker)}</script>"
        f"<style>{html.escape(marker)}</style><iframe>{html.escape(marker)}</iframe>"
    )
    text = convert.html_to_text(source)
    assert "SECRET" not in text
    assert text == " ".join(visible.split())


@given(st.integers(0, 99 * 3600))
def test_itunes_durations_in_every_spelling(seconds: int):
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    assert convert.parse_duration(str(seconds)) == seconds
    assert convert.parse_duration(f"{h:02d}:{m:02d}:{s:02d}") == seconds
    if h == 0:
        assert convert.parse_duration(f"{m}:{s:02d}") == seconds
