"""One chapter source, every output: the episode record's chapters (which `ingest` copies from the
media file's ID3 CHAP / MP4 chapters) -> three identical forms:

- a JSON chapters file (`application/json+chapters`, Podcast Index spec
  https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/examples/chapters/jsonChapters.md),
  announced with `podcast:chapters`;
- Podlove Simple Chapters inline in the item (`psc:chapters`, https://podlove.org/simple-chapters/),
  what Spotify and many apps read;
- timestamps in the description ("00:00 Présentation"), what Apple Podcasts, Spotify and YouTube
  read; their rules: the first at 00:00, at least three, in ascending order.

The same start times and titles in all three; the description shows them to the second.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Sequence

from grandirenhlm.model import Chapter, Episode
from grandirenhlm.namespace import JSON_CHAPTERS_MIME as JSON_CHAPTERS_MIME  # the chapters' types, declared
from grandirenhlm.namespace import PSC_NS as PSC_NS  # once there and re-exported with the chapters
from grandirenhlm.text import clock

MIN_DESCRIPTION_CHAPTERS = 3  # Apple/Spotify/YouTube ignore fewer timestamps
HEADING = "Chapitres :"  # shipped content is French


def episode_chapters(episode: Episode) -> tuple[Chapter, ...]:
    """The episode's chapters in time order, each with its end: the next start, or the media's end."""
    chapters = sorted(episode.chapters, key=lambda c: c.start_seconds)
    duration = episode.media.duration_seconds if episode.media else None
    out = []
    for i, chapter in enumerate(chapters):
        following = chapters[i + 1].start_seconds if i + 1 < len(chapters) else duration
        end = chapter.end_seconds if chapter.end_seconds is not None else following
        out.append(Chapter(chapter.start_seconds, chapter.title, end))
    return tuple(out)


def to_json_chapters(chapters: Sequence[Chapter]) -> str:
    """The Podcast Index JSON chapters file (version 1.2.0)."""
    items = []
    for c in chapters:
        item: dict[str, object] = {"startTime": _num(c.start_seconds)}
        if c.end_seconds is not None:
            item["endTime"] = _num(c.end_seconds)
        item["title"] = c.title
        items.append(item)
    return json.dumps({"version": "1.2.0", "chapters": items}, ensure_ascii=False, indent=2) + "\n"


def _num(seconds: float) -> float | int:
    value = round(seconds, 3)
    return int(value) if value == int(value) else value


def npt(seconds: float) -> str:
    """Normal Play Time as Podlove Simple Chapters writes it: HH:MM:SS.mmm."""
    return clock(seconds, hours=True, pad=True, millis=True)


def parse_npt(value: str) -> float:
    """Inverse of `npt` (also accepts MM:SS and fractions of any length)."""
    parts = value.split(":")
    seconds = float(parts[-1])
    for i, part in enumerate(reversed(parts[:-1]), start=1):
        seconds += int(part) * 60**i
    return seconds


def timestamp(seconds: float, with_hours: bool) -> str:
    """00:04 or 01:02:03: a description timestamp, to the second (floored, as players seek)."""
    return clock(seconds, hours=with_hours, pad=True)


def description_ready(chapters: Sequence[Chapter]) -> bool:
    """Whether the platforms would read these chapters from the description."""
    starts = [c.start_seconds for c in chapters]
    return (
        len(starts) >= MIN_DESCRIPTION_CHAPTERS
        and int(starts[0]) == 0
        and all(int(a) < int(b) for a, b in itertools.pairwise(starts))
    )


def description_timestamps(chapters: Sequence[Chapter]) -> str:
    """The chapter paragraph appended to the description, or "" when the platforms would ignore it."""
    if not description_ready(chapters):
        return ""
    with_hours = max(c.start_seconds for c in chapters) >= 3600
    # A title that itself starts like a separator ("- »") gets one in front, which readers drop.
    lines = [
        f"{timestamp(c.start_seconds, with_hours)} {'– ' if _SEPARATOR.match(c.title) else ''}{c.title}"
        for c in chapters
    ]
    return "\n".join([HEADING, *lines])


def with_timestamps(description: str, chapters: Sequence[Chapter]) -> str:
    """The description followed by its chapter timestamps (a paragraph of its own)."""
    block = description_timestamps(chapters)
    return f"{description.rstrip()}\n\n{block}" if block else description


_SEPARATOR = re.compile(r"[-–—][ \t]")
_TIMESTAMP_LINE = re.compile(
    r"^\(?((?:\d{1,2}:)?\d{1,2}:\d{2})\)?[ \t]+(?:[-–—][ \t]+)?(\S.*)$", re.MULTILINE
)


def parse_description_timestamps(text: str) -> list[tuple[float, str]]:
    """(seconds, title) of every "mm:ss Title" line, as platforms read them from a description."""
    return [(parse_npt(m.group(1)), m.group(2).strip()) for m in _TIMESTAMP_LINE.finditer(text)]


def chapter_problems(chapters: Sequence[Chapter], duration: float | None) -> list[tuple[str, str]]:
    """(level, message) for each rule of the chapter specs and platforms these chapters break."""
    problems: list[tuple[str, str]] = []
    if not chapters:
        return problems
    starts = [c.start_seconds for c in chapters]
    if starts != sorted(starts) or len(set(starts)) != len(starts):
        problems.append(("error", "chapters: start times must strictly increase"))
    if duration is not None:
        for i, c in enumerate(chapters):
            if c.start_seconds >= duration:
                problems.append(
                    (
                        "error",
                        f"chapters[{i}].start_seconds: {c.start_seconds} is past the end ({duration:.3f} s)",
                    )
                )
    if starts[0] != 0:
        problems.append(
            ("warning", "chapters: the first must start at 0 (Apple and Spotify ignore them otherwise)")
        )
    if len(chapters) < MIN_DESCRIPTION_CHAPTERS:
        problems.append(
            (
                "warning",
                f"chapters: {len(chapters)}, at least {MIN_DESCRIPTION_CHAPTERS} for Apple and Spotify",
            )
        )
    for i, c in enumerate(chapters):
        if len(c.title) > 255:
            problems.append(("error", f"chapters[{i}].title: {len(c.title)} characters, at most 255"))
        if "\n" in c.title or "\r" in c.title:
            problems.append(
                ("error", f"chapters[{i}].title: one line only (a description timestamp is one line)")
            )
    return problems
