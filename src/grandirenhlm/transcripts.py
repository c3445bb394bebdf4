"""One transcript source, every output: a WebVTT file with speaker voices -> VTT, SRT, JSON, HTML.

The source is a WebVTT file beside the episode record (`transcript = "temoignage-1.vtt"`), each cue
naming its speaker with a voice span (`<v Name>text`). Parsing is webvtt-py's (timings, cue
settings, voice spans, tags); this module keeps the parsed result as plain values and writes the
four formats the Podcast Index transcript specification lists
(https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/examples/transcripts/transcripts.md):

    transcript = load_transcript(Path("episodes/grandir-en-hlm/temoignage-1.vtt"), language="fr")
    for cue in transcript.cues:            # Cue(start, end, speaker, text), seconds as floats
        ...
    to_vtt(transcript)   # str, text/vtt                  (timed: rel="captions")
    to_srt(transcript)   # str, application/x-subrip      (timed: rel="captions")
    to_json(transcript)  # str, application/json          (timed: rel="captions")
    to_html(transcript)  # str, text/html fragment: <cite>, <time>, <p> per cue
    FORMATS              # the four formats: extension, MIME type, whether timed, writer

Every writer escapes the text for its format; the source's entities (`&amp;`) are decoded once.
A bad file raises `ConfigError` naming the file and the cue.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import srt
import webvtt
from webvtt.errors import MalformedCaptionError, MalformedFileError

from grandirenhlm.characters import control_character
from grandirenhlm.errors import ConfigError, ValidationError
from grandirenhlm.files import display_path
from grandirenhlm.text import clock


@dataclass(frozen=True)
class Cue:
    """One timed line: seconds from the start of the media, who speaks (or None), plain text."""

    start: float
    end: float
    speaker: str | None
    text: str  # plain text (no tags, entities decoded); may hold "\n" between lines


@dataclass(frozen=True)
class Transcript:
    cues: tuple[Cue, ...]
    language: str | None = None  # e.g. "fr": announced in podcast:transcript's language
    source: Path | None = None  # the .vtt it was read from

    @property
    def speakers(self) -> tuple[str, ...]:
        """Every speaker once, in order of first appearance."""
        return tuple(dict.fromkeys(c.speaker for c in self.cues if c.speaker))

    @property
    def duration(self) -> float:
        return max((c.end for c in self.cues), default=0.0)

    def text(self) -> str:
        """The whole transcript as plain text, one cue per line."""
        return "\n".join(c.text for c in self.cues)


def load_transcript(path: Path, language: str | None = None) -> Transcript:
    """Read a WebVTT file; raise `ConfigError` (one line per problem) if it is not a usable one."""
    where = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{where}: no such file") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{where}: not UTF-8 text") from exc
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read: {exc.strerror}") from exc
    return parse_vtt(text, where, language=language, source=path)


def parse_vtt(text: str, where: str, language: str | None = None, source: Path | None = None) -> Transcript:
    """Parse WebVTT text; `where` names it in error messages."""
    try:
        captions = webvtt.from_string(text.lstrip("\ufeff"))
    except (MalformedFileError, MalformedCaptionError) as exc:
        raise ConfigError(f"{where}: not a WebVTT file: {exc}") from exc
    problems: list[str] = []
    cues: list[Cue] = []
    previous_start = 0.0
    for n, caption in enumerate(captions, start=1):
        start, end = _seconds(caption.start_time), _seconds(caption.end_time)
        label = f"{where}: cue {n} ({caption.start})"
        body = html.unescape(caption.text).strip()
        if end <= start:
            problems.append(f"{label}: ends at {caption.end}, not after it starts")
        if start < previous_start:
            problems.append(f"{label}: starts before the cue above it; cues must be in time order")
        if not body:
            problems.append(f"{label}: no text")
        previous_start = start
        speaker = html.unescape(caption.voice).strip() if caption.voice else None
        bad = control_character(body) or control_character(speaker or "")  # pages and JSON carry them
        if bad is not None:
            problems.append(f"{label}: holds the control character {bad}; remove it")
        cues.append(Cue(start=start, end=end, speaker=speaker or None, text=body))
    if not cues and not problems:
        problems.append(f"{where}: no cues")
    if problems:
        raise ValidationError(problems)
    return Transcript(cues=tuple(cues), language=language, source=source)


def _seconds(ts) -> float:
    hours, minutes, seconds, millis = ts.to_tuple()
    # whole milliseconds first: 2 + 663 / 1000 would give 2.6630000000000003
    return (((hours * 60 + minutes) * 60 + seconds) * 1000 + millis) / 1000


def to_vtt(transcript: Transcript) -> str:
    """WebVTT with a voice span per cue, written by webvtt-py."""
    captions = []
    for cue in transcript.cues:
        body = "\n".join(html.escape(line, quote=False) for line in cue.text.split("\n"))
        if cue.speaker:
            body = f"<v {html.escape(cue.speaker, quote=False)}>{body}"
        captions.append(
            webvtt.Caption(
                clock(cue.start, hours=True, pad=True, millis=True),
                clock(cue.end, hours=True, pad=True, millis=True),
                body,
            )
        )
    return webvtt.WebVTT(captions=captions).content


def to_srt(transcript: Transcript) -> str:
    """SubRip, written by the `srt` library; SRT has no voices, so "Speaker: text" as players show it.

    Not webvtt-py's SRT writer: it drops the voice and strips any "<…>" of the text as if a tag.
    """
    subtitles = [
        srt.Subtitle(
            index=n,
            start=timedelta(milliseconds=round(cue.start * 1000)),
            end=timedelta(milliseconds=round(cue.end * 1000)),
            content=f"{cue.speaker}: {cue.text}" if cue.speaker else cue.text,
        )
        for n, cue in enumerate(transcript.cues, start=1)
    ]
    return srt.compose(subtitles, reindex=False)


def to_json(transcript: Transcript) -> str:
    """The Podcast Index JSON transcript: {"version": "1.0.0", "segments": [...]}."""
    segments = []
    for cue in transcript.cues:
        segment: dict[str, object] = {}
        if cue.speaker:
            segment["speaker"] = cue.speaker
        segment.update(startTime=round(cue.start, 3), endTime=round(cue.end, 3), body=cue.text)
        segments.append(segment)
    return json.dumps({"version": "1.0.0", "segments": segments}, ensure_ascii=False, indent=2) + "\n"


def to_html(transcript: Transcript) -> str:
    """The Podcast Index HTML transcript: per cue `<cite>Speaker:</cite>` (when the speaker changes),
    `<time>m:ss</time>` and `<p>text</p>`; an escaped fragment, safe to embed in a page."""
    out, speaker = [], None
    for cue in transcript.cues:
        if cue.speaker and cue.speaker != speaker:
            out.append(f"<cite>{html.escape(cue.speaker)}:</cite>")
        speaker = cue.speaker
        out.append(f"<time>{clock(cue.start)}</time>")
        out.append("<p>" + html.escape(cue.text).replace("\n", "<br>") + "</p>")
    return "\n".join(out) + "\n"


@dataclass(frozen=True)
class Format:
    """One published transcript format, as `podcast:transcript` announces it."""

    extension: str  # ".vtt"
    mime_type: str  # podcast:transcript type
    timed: bool  # timed formats are announced with rel="captions"
    write: Callable[[Transcript], str]


# Order matters: the feed lists them in this order, captions first.
FORMATS: tuple[Format, ...] = (
    Format(".vtt", "text/vtt", True, to_vtt),
    Format(".srt", "application/x-subrip", True, to_srt),
    Format(".json", "application/json", True, to_json),
    Format(".html", "text/html", False, to_html),
)
