"""What a source feed says -> what our records hold: plain-text descriptions, chapters, WebVTT
transcripts. Pure functions over bytes and strings; nothing fetched or written here.

Descriptions: our records keep plain text (blank lines between paragraphs) and the feed writer
makes Apple's HTML from it, so a source's HTML is reduced to text by lxml's HTML parser: scripts,
styles and comments dropped, never executed; block elements become paragraphs, `<br>` a line
break, a link whose text is not its address keeps the address after it. Odd encodings are lxml's
to sort out (the page's declared charset, else UTF-8 with replacement characters).
"""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta
from typing import TYPE_CHECKING

import lxml.html
from lxml import etree

from grandirenhlm import chapters as chaps
from grandirenhlm.characters import strip_control
from grandirenhlm.errors import ConfigError, GrandirError
from grandirenhlm.model import Chapter

if TYPE_CHECKING:
    from grandirenhlm.transcripts import Transcript

_BLOCKS = {
    "p",
    "div",
    "ul",
    "ol",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "table",
    "tr",
}
_DROP = {"script", "style", "noscript", "template", "iframe", "object", "embed", "head", "title"}


class ConvertError(GrandirError):
    """A chapters or transcript file that cannot be read."""


def html_to_text(source: str) -> str:
    """An HTML (or plain) description as our plain text: paragraphs separated by blank lines."""
    source = strip_control((source or "").replace("\r\n", "\n")).strip()
    if not source:
        return ""
    if "<" not in source:  # plain text, maybe with entities
        return _tidy(html.unescape(source))
    try:
        root = lxml.html.fragment_fromstring(source, create_parent="div")
    except (etree.ParserError, ValueError):
        return _tidy(html.unescape(re.sub(r"<[^>]*>", " ", source)))
    parts: list[str] = []
    _walk(root, parts)
    return _tidy("".join(parts))


def _walk(node, out: list[str]) -> None:
    tag = node.tag.lower()
    if tag in _DROP:
        return
    if tag == "br":
        out.append("\n")
    elif tag in _BLOCKS:
        out.append("\n\n")
    if node.text:
        out.append(node.text)
    for child in node:
        if isinstance(child.tag, str):  # comments and processing instructions: only their tail is text
            _walk(child, out)
        if child.tail:
            out.append(child.tail)
    if tag == "a":
        href = (node.get("href") or "").strip()
        label = node.text_content().strip()
        if href.startswith(("http://", "https://", "mailto:")) and href.removeprefix("mailto:") not in label:
            out.append(f" ({href.removeprefix('mailto:')})")
    if tag in _BLOCKS:
        out.append("\n\n")


def _tidy(text: str) -> str:
    paragraphs = []
    for block in re.split(r"\n[ \t\u00a0]*\n", text.replace("\r\n", "\n").replace("\r", "\n")):
        lines = [re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in block.split("\n")]
        lines = [line for line in lines if line]
        if lines:
            paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def without_chapter_block(description: str, chapters: tuple[Chapter, ...]) -> str:
    """The description without its trailing chapter timestamps when they repeat `chapters` (our own
    feeds add them, one paragraph per line, and a rebuild adds them again from the record's chapters)."""
    if not chapters:
        return description
    lines = description.split("\n")
    cut = len(lines)
    stamps: list[tuple[float, str]] = []
    while cut > 0:
        line = lines[cut - 1].strip()
        found = chaps.parse_description_timestamps(line) if line else None
        if line and not found:
            break
        if found:
            stamps.insert(0, found[0])
        cut -= 1
    if cut > 0 and lines[cut - 1].strip().endswith(":"):
        cut -= 1  # the heading ("Chapitres :")
    if [int(s) for s, _ in stamps] != [int(c.start_seconds) for c in chapters]:
        return description
    if [t for _, t in stamps] != [c.title for c in chapters]:
        return description
    return "\n".join(lines[:cut]).strip()


def parse_duration(text: str | None) -> float | None:
    """itunes:duration: seconds, MM:SS or HH:MM:SS."""
    if not text:
        return None
    try:
        return chaps.parse_npt(text.strip())
    except ValueError:
        return None


def json_chapters(data: bytes, where: str) -> tuple[Chapter, ...]:
    """A Podcast Index JSON chapters file -> chapters (the ones with a title; `toc: false` ones too,
    as they still mark a place)."""
    try:
        doc = json.loads(data.decode("utf-8-sig"))
        items = doc["chapters"]
        out = []
        for item in items:
            title = str(item.get("title") or "").strip()
            start = float(item["startTime"])
            if title and start >= 0:
                out.append(Chapter(start, title))
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
        raise ConvertError(f"{where}: not a JSON chapters file ({type(exc).__name__}: {exc})") from exc
    return tuple(sorted(out, key=lambda c: c.start_seconds))


def psc_chapters(pairs: tuple[tuple[str, str], ...], where: str) -> tuple[Chapter, ...]:
    """Podlove Simple Chapters (start in Normal Play Time) -> chapters."""
    out = []
    for start, title in pairs:
        try:
            seconds = chaps.parse_npt(start)
        except ValueError as exc:
            raise ConvertError(f"{where}: psc:chapter start {start!r} is not a time") from exc
        if title.strip():
            out.append(Chapter(seconds, title.strip()))
    return tuple(sorted(out, key=lambda c: c.start_seconds))


# Preference among a source item's transcripts: the timed ones, speakers kept, first.
TRANSCRIPT_PREFERENCE = ("text/vtt", "application/json", "application/x-subrip", "application/srt")


def transcript_to_vtt(data: bytes, mime_type: str, where: str) -> str:
    """A transcript in one of the timed formats the namespace lists -> our WebVTT source text."""
    # loaded here: most items have no transcript, and webvtt and srt cost a feed's import 20 ms
    import srt

    from grandirenhlm.transcripts import Cue, Transcript, parse_vtt, to_vtt

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConvertError(f"{where}: transcript is not UTF-8 text") from exc
    kind = mime_type.split(";")[0].strip().lower()
    try:
        if kind == "text/vtt":
            transcript = parse_vtt(text, where)
        elif kind == "application/json":
            transcript = _from_json(text, where)
        elif kind in ("application/x-subrip", "application/srt"):
            transcript = Transcript(
                tuple(
                    Cue(s.start.total_seconds(), s.end.total_seconds(), None, s.content.strip())
                    for s in srt.parse(text)
                    if s.content.strip()
                )
            )
        else:
            raise ConvertError(f"{where}: transcript type {mime_type} cannot be converted to WebVTT")
    except ConfigError as exc:
        raise ConvertError(str(exc).splitlines()[0]) from exc
    except srt.SRTParseError as exc:
        raise ConvertError(f"{where}: not an SRT file: {exc}") from exc
    if not transcript.cues:
        raise ConvertError(f"{where}: transcript without cues")
    out = to_vtt(transcript)
    parse_vtt(out, where)  # what we write must read back
    return out


def _from_json(text: str, where: str) -> Transcript:
    from grandirenhlm.transcripts import Cue, Transcript

    try:
        segments = json.loads(text)["segments"]
        cues = tuple(
            Cue(
                float(s["startTime"]),
                float(s["endTime"]),
                str(s["speaker"]).strip() if s.get("speaker") else None,
                str(s["body"]).strip(),
            )
            for s in segments
            if str(s.get("body") or "").strip()
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConvertError(f"{where}: not a JSON transcript ({type(exc).__name__}: {exc})") from exc
    return Transcript(cues)


def seconds_text(seconds: float) -> str:
    """A duration for the report, to the second."""
    return str(timedelta(seconds=round(seconds)))
