"""Text that reaches feeds and pages: control characters in records, show definitions and the
project file are one `error:` line each from `check` and `build` (never a traceback); feed
descriptions (items and channel) carry sanitised HTML; only http(s) and mailto links (and the
site's own relative ones) reach a page or a feed."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import podcastparser
import pytest
from lxml import etree

from grandirenhlm.pages import PLATFORMS
from grandirenhlm.records import PLATFORM_LINKS
from tests.test_records_containment import cli, edit, error_lines

EPISODE = "episodes/grandir-en-hlm/temoignage-1.toml"
SHOW = "feeds/grandir-en-hlm.toml"
CONFIG = "grandirenhlm.toml"
TITLE = 'title = "Témoignage n° 1"'


@pytest.mark.parametrize(
    ("name", "old", "new", "key", "char"),
    [
        (EPISODE, TITLE, 'title = "Témoignage\\u0007 n° 1"', "title", "U+0007"),
        (EPISODE, 'description = """', 'description = """Un\\u000b saut\n', "description", "U+000B"),
        (EPISODE, 'description = """', 'description = """\\r\n', "description", "U+000D"),
        (EPISODE, '{ start_seconds = 0.0, title = "', '{ start_seconds = 0.0, title = "\\u001b[31m', "chapters[0].title", "U+001B"),
        (EPISODE, "[media]", '[[person]]\nname = "A\\u0000B"\n\n[media]', "person[0].name", "U+0000"),
        (SHOW, 'author = "', 'author = "Fin\\uFFFE', "author", "U+FFFE"),
        (SHOW, 'author = "', 'author = "Fin\\uFFFF', "author", "U+FFFF"),
        (SHOW, "[owner]", '[links]\n"a\\u0007b" = "https://exemple.fr/"\n\n[owner]', "'links.a\\x07b'", "U+0007"),
        (SHOW, "[owner]", '[links]\nspotify = "abc\\u0008"\n\n[owner]', "links.spotify", "U+0008"),
        (SHOW, "[owner]", '[links]\n"a\\nb" = "https://exemple.fr/"\n\n[owner]', "'links.a\\nb'", "U+000A"),
        (CONFIG, 'publisher = "', 'publisher = "\\u0001', "site.legal.publisher", "U+0001"),
    ],
)  # fmt: skip
def test_a_control_character_is_one_line_from_check_and_build(
    demo_project: Path, name: str, old: str, new: str, key: str, char: str
):
    edit(demo_project, name, old, new)
    what = "the key holds" if key.startswith("'") else "holds"
    expected = [f"error: {name}: {key}: {what} the control character {char}; remove it"]
    assert error_lines(cli(demo_project, "check")) == expected
    out = demo_project.parent / "site"
    assert error_lines(cli(demo_project, "build", "--output", str(out))) == expected
    assert not out.exists()


def test_a_lone_surrogate_cannot_even_be_written_in_toml(demo_project: Path):
    """TOML has no way to hold a lone surrogate: the escape and the raw bytes are both refused."""
    path = demo_project / EPISODE
    original = path.read_bytes()
    edit(demo_project, EPISODE, TITLE, 'title = "A\\uD800"')
    assert error_lines(cli(demo_project, "check")) == [
        f"error: {EPISODE}: invalid TOML: Escaped character is not a Unicode scalar value (at line 1, column 17)"
    ]
    path.write_bytes(original)
    path.write_bytes(path.read_bytes().replace("Témoignage".encode(), b"T\xed\xa0\x80moignage", 1))
    assert error_lines(cli(demo_project, "check")) == [f"error: {EPISODE}: not UTF-8 text"]


HOSTILE = (
    'Voir <script>alert(1)</script> <img src=x onerror="alert(2)"> '
    '<a href="javascript:alert(3)">ici</a> <iframe src="data:text/html,x"></iframe>\n\n'
    "Lien : https://exemple.fr/notes?a=1&b=2"
)


def _hostile_line(_: re.Match[str]) -> str:
    return f'description = """{HOSTILE}"""'


def _html_of(text: str) -> etree._Element:
    return etree.fromstring(f"<div>{text}</div>", etree.HTMLParser())


def _assert_inert(html: str) -> None:
    """HTML as an app renders a description: nothing runs, every link is http(s) or mailto."""
    tree = _html_of(html)
    assert {el.tag for el in tree.iter()} <= {"html", "body", "div", "p", "ol", "ul", "li", "a"}, html
    for el in tree.iter():
        for attr, value in el.attrib.items():
            assert not attr.startswith("on"), (attr, html)
            if attr in ("href", "src"):
                assert urlsplit(value).scheme in ("http", "https", "mailto"), value


def test_feed_descriptions_of_items_and_channel_are_sanitised(demo_project: Path):
    for name in (EPISODE, SHOW):
        path = demo_project / name
        text = re.sub(r'description = """.*?"""', _hostile_line, path.read_text(), count=1, flags=re.S)
        path.write_text(text, encoding="utf-8")
    out = demo_project.parent / "site"
    proc = cli(demo_project, "build", "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    data = (out / "grandir-en-hlm/feed.xml").read_bytes()
    channel = etree.fromstring(data).find("channel")
    item = next(i for i in channel.iter("item") if i.findtext("title") == "Témoignage n° 1")
    for html in (channel.findtext("description"), item.findtext("description")):
        _assert_inert(html)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown as text, never run
        assert '<a href="https://exemple.fr/notes?a=1&amp;b=2">' in html  # a web link stays a link
    # both parsers read it back as HTML with the text intact
    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    entry = next(e for e in parsed.entries if e.title == "Témoignage n° 1")
    assert "<script>alert(1)</script>" in _text(entry.summary)
    channel_html = podcastparser.parse("http://x/feed.xml", io.BytesIO(data))["description"]
    _assert_inert(channel_html)
    assert "<script>alert(1)</script>" in _text(channel_html)


def _text(html: str) -> str:
    return "".join(_html_of(html).itertext())


@pytest.mark.parametrize(
    ("name", "old", "new", "message"),
    [
        (SHOW, "[owner]", '[links]\nmastodon = "javascript:alert(1)"\n\n[owner]',
         "links.mastodon: 'javascript:alert(1)' is not an http(s) URL"),
        (SHOW, "[owner]", '[links]\nmastodon = "mastodon.social/@hlm"\n\n[owner]',
         "links.mastodon: 'mastodon.social/@hlm' is not an http(s) URL"),
        (SHOW, "[owner]", '[links]\napple_podcasts = "javascript:alert(1)"\n\n[owner]',
         "links.apple_podcasts: 'javascript:alert(1)' is neither an ID (letters, digits, - _ .) nor an http(s) URL"),
        (SHOW, "[owner]", '[links]\nspotify = "data:text/html,<b>x</b>"\n\n[owner]',
         "links.spotify: 'data:text/html,<b>x</b>' is neither an ID (letters, digits, - _ .) nor an http(s) URL"),
        (SHOW, 'language = "fr"', 'language = "fr"\nwebsite = "javascript:alert(1)"',
         "website: 'javascript:alert(1)' is not an http(s) URL"),
        (SHOW, "[owner]", '[[funding]]\nurl = "vbscript:msgbox"\ntext = "Dons"\n\n[owner]',
         "funding[0].url: 'vbscript:msgbox' is not an http(s) URL"),
        (EPISODE, TITLE, TITLE + '\nlicense_url = "file:///etc/passwd"',
         "license_url: 'file:///etc/passwd' is not an http(s) URL"),
        (EPISODE, "[media]", '[[person]]\nname = "Ana"\nhref = "javascript:alert(1)"\n\n[media]',
         "person[0].href: 'javascript:alert(1)' is not an http(s) URL"),
        (CONFIG, 'contact = "podcasts@example.org"  # placeholder for the demo: put the real address here\ntext = """\nCe',
         'contact = "javascript:alert(1)//@x.fr"\ntext = """\nCe',
         "site.legal.contact: 'javascript:alert(1)//@x.fr' is not an email address or an http(s) URL"),
        (CONFIG, 'contact = "podcasts@example.org"', 'contact = "JavaScript:alert(document.domain)"',
         "site.accessibility.contact: 'JavaScript:alert(document.domain)' is not an email address or an "
         "http(s) URL"),
    ],
)  # fmt: skip
def test_a_link_that_is_not_http_or_mailto_is_refused(demo_project: Path, name, old, new, message):
    edit(demo_project, name, old, new)
    assert error_lines(cli(demo_project, "check")) == [f"error: {name}: {message}"]
    out = demo_project.parent / "site"
    assert error_lines(cli(demo_project, "build", "--output", str(out))) == [f"error: {name}: {message}"]


_LINK = re.compile(rb'(href|src|url|poster|content)="([^"]*)"')


def test_every_link_of_a_built_site_is_http_mailto_or_relative(demo_project: Path):
    """The demo with platform IDs, a contact URL and a description naming `javascript:`: every
    link in every page and feed is http(s), mailto or the site's own relative path."""
    edit(demo_project, SHOW, "[owner]", '[links]\napple_podcasts = "1234567890"\ndeezer = "98765"\n\n[owner]')
    edit(demo_project, CONFIG, 'contact = "podcasts@example.org"', 'contact = "https://exemple.fr/contact"')
    edit(
        demo_project,
        EPISODE,
        'description = """',
        'description = """javascript:alert(1) n’est pas un lien.\n',
    )
    out = demo_project.parent / "site"
    proc = cli(demo_project, "build", "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    seen = 0
    for dirpath, _dirs, files in os.walk(out):
        for file in files:
            if file.endswith((".html", ".xml", ".opml")):
                for attr, raw in _LINK.findall((Path(dirpath) / file).read_bytes()):
                    value = raw.decode().strip()
                    if attr == b"content" and any(c.isspace() for c in value):
                        continue  # a meta description, not a URL
                    scheme = urlsplit(value).scheme if re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", value) else ""
                    if scheme:
                        assert scheme in ("http", "https", "mailto"), (file, value)
                    seen += 1
    assert seen > 100
    show_page = (out / "grandir-en-hlm/index.html").read_text(encoding="utf-8")
    assert 'href="https://podcasts.apple.com/fr/podcast/id1234567890"' in show_page
    assert 'href="https://exemple.fr/contact"' in (out / "accessibilite/index.html").read_text(
        encoding="utf-8"
    )


def test_pages_and_records_know_the_same_platforms():
    assert tuple(platform[0] for platform in PLATFORMS) == PLATFORM_LINKS


def test_a_control_character_in_a_transcript_is_one_line(demo_project: Path):
    """A transcript's text reaches pages and JSON: `check` names the cue, `build` refuses."""
    vtt = "episodes/grandir-en-hlm/temoignage-1.vtt"
    edit(demo_project, vtt, "Témoignage numéro 1 sur six.", "Témoignage\x07 numéro 1 sur six.\ufffe")
    where = f"{vtt}: cue 2 (00:00:01.607): holds the control character U+0007; remove it"
    assert error_lines(cli(demo_project, "check")) == [f"error: {EPISODE}: transcript: {where}"]
    out = demo_project.parent / "site"
    (line,) = error_lines(cli(demo_project, "build", "--output", str(out)))
    assert line.endswith(where), line
    assert not out.exists()


def test_control_characters_in_tags_are_dropped_on_ingest(demo_project: Path):
    """An MP3's title and chapter titles can carry any byte: ingest keeps the text without them,
    so what it writes always passes check and builds."""
    import json

    from mutagen.id3 import CHAP, ID3, TIT2

    from tests.support import make_mp3

    path = make_mp3(demo_project.parent / "bruit.mp3", seconds=2.0, title="Titre\x07 sonore\x1b", track="7")
    tags = ID3(path)
    tags.add(CHAP(element_id="c0", start_time=0, end_time=1000, sub_frames=[TIT2(text=["Début\x00"])]))
    tags.save(path)
    inspected = json.loads(cli(demo_project, "inspect", "--json", str(path)).stdout)
    assert inspected["tags"]["title"] == "Titre sonore"
    assert [c["title"] for c in inspected["chapters"]] == ["Début"]
    ingested = cli(demo_project, "ingest", "--show", "grandir-en-hlm", str(path))
    assert ingested.returncode == 0, ingested.stderr
    record = (demo_project / "episodes/grandir-en-hlm/titre-sonore.toml").read_text(encoding="utf-8")
    assert 'title = "Titre sonore"' in record and "\x07" not in record
    assert cli(demo_project, "check").returncode == 0
