"""Every show's feed in one OPML 2.0 file (http://opml.org/spec2.opml), for apps that import a list.

Deterministic like the feeds: shows in slug order, `dateCreated` from the newest episode, no clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from feedgen.util import formatRFC2822
from lxml import etree

from grandirenhlm import layout
from grandirenhlm.model import Show

OPML_TYPE = "text/x-opml; charset=utf-8"


def render_opml(title: str, shows: Sequence[Show], base_url: str, newest: datetime | None = None) -> bytes:
    """An OPML document with one `rss` outline per show: its title, feed URL and page URL."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = title
    if newest is not None:
        etree.SubElement(head, "dateCreated").text = formatRFC2822(newest)
    body = etree.SubElement(root, "body")
    for show in sorted(shows, key=lambda s: s.slug):
        outline = etree.SubElement(body, "outline")
        outline.attrib["type"] = "rss"
        outline.attrib["text"] = show.title
        outline.attrib["title"] = show.title
        outline.attrib["xmlUrl"] = layout.absolute(base_url, layout.feed(show))
        outline.attrib["htmlUrl"] = show.website or layout.absolute(base_url, layout.show_page(show))
        outline.attrib["language"] = show.language
    return etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8")
