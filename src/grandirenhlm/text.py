"""Text helpers shared by feeds and pages: plain text to HTML, French dates, durations, sizes."""

from __future__ import annotations

import html
import re
from datetime import date, datetime
from functools import lru_cache

# Babel (CLDR data, about 20 ms to import) is loaded by the two French formatters that use it:
# `clock`, which import, encode and the chapter and transcript writers need, must not pay for it.


def text_to_html(text: str) -> str:
    """Plain text with blank-line paragraphs -> escaped HTML paragraphs."""
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    return "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)


def date_fr(moment: datetime) -> str:
    """« 26 juin 2023 »: a long French date, from Babel's CLDR data (the day as the moment's own
    zone sees it)."""
    return _long_date(moment.date())


@lru_cache(maxsize=4096)  # the same dates and sizes are shown on several pages (CLDR formatting is slow)
def _long_date(day: date) -> str:
    from babel.dates import format_date

    return format_date(day, format="long", locale=_french())


@lru_cache(maxsize=1)
def _french():
    """Babel's fr_FR locale, parsed once: given as a string, it is parsed again on every call (two
    thirds of formatting a date, which an archive of 10,000 episodes does 10,000 times)."""
    from babel import Locale

    return Locale.parse("fr_FR")


def clock(seconds: float, *, hours: bool | None = None, pad: bool = False, millis: bool = False) -> str:
    """The one clock formatter: a position in the audio as each audience reads it.

    - players, transcripts, encode progress: `clock(62)` -> "1:02", `clock(3723)` -> "1:02:03"
      (whole seconds, floored, as players seek; hours only when there are some);
    - description timestamps: `clock(4, hours=False, pad=True)` -> "00:04";
    - Podlove NPT and WebVTT: `clock(4.662, hours=True, pad=True, millis=True)` -> "00:00:04.662".
    """
    total = round(seconds * 1000) if millis else int(seconds) * 1000
    h, rest = divmod(total, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    if h > 0 if hours is None else hours:
        text = f"{h:02d}:{m:02d}:{s:02d}" if pad else f"{h}:{m:02d}:{s:02d}"
    else:
        text = f"{m:02d}:{s:02d}" if pad else f"{m}:{s:02d}"
    return f"{text}.{ms:03d}" if millis else text


def duration_fr(seconds: float) -> str:
    """« 1 h 02 min », « 12 min 30 s », « 45 s »: French abbreviations with non-breaking spaces."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    nbsp = "\u00a0"
    if hours:
        return f"{hours}{nbsp}h{nbsp}{minutes:02d}{nbsp}min"
    if minutes:
        return f"{minutes}{nbsp}min{nbsp}{secs:02d}{nbsp}s" if secs else f"{minutes}{nbsp}min"
    return f"{secs}{nbsp}s"


@lru_cache(maxsize=4096)
def size_fr(size: int) -> str:
    """« 1,2 Mo »: a file size in French decimal units."""
    from babel.numbers import format_decimal

    nbsp = "\u00a0"
    for unit, factor in (("Go", 10**9), ("Mo", 10**6), ("ko", 10**3)):
        if size >= factor:
            return f"{format_decimal(size / factor, format='#,##0.#', locale=_french())}{nbsp}{unit}"
    return f"{size}{nbsp}octets"


def iso_duration(seconds: float) -> str:
    """ISO 8601 duration (PT12M30S), as schema.org wants it."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + f"{secs}S"


NNBSP = "\u202f"  # narrow no-break space: French typography before ; ! ? and inside « »
_SPACE_BEFORE = re.compile(r"[ \u00a0\u202f]*([;:!?»])")
_SPACE_AFTER = re.compile(r"«[ \u00a0\u202f]*")


@lru_cache(maxsize=4096)  # the site's and the shows' titles are set on every page
def typo_fr(text: str) -> str:
    """French typographic spacing: a narrow no-break space before : ; ! ? » and after «.

    Only where a word and the sign are already apart, or for the guillemets, so that URLs
    (`https://`), times (`12:30`) and `?!`-free code-like text are left as they are.
    """

    def before(match: re.Match[str]) -> str:
        start = match.start()
        sign = match.group(1)
        if sign == "»":
            return NNBSP + sign
        # Keep "https://", "12:30", "a?b": only a sign that already had a space before it moves.
        if match.end(0) - start == 1 or start == 0:
            return match.group(0)
        return NNBSP + sign

    text = _SPACE_BEFORE.sub(before, text)
    return _SPACE_AFTER.sub("«" + NNBSP, text)


# A sentence ends at . ! ? or … followed by a space and a capital, a digit or an opening guillemet
# ("n° 3." inside a sentence is rare; "M. Dupont" would cut early, which an excerpt tolerates).
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[A-ZÀ-ÖØ-Þ0-9«])")


def first_sentence(text: str, limit: int = 200) -> str:
    """The first sentence of a text's first paragraph, for an excerpt: cut at a word boundary with
    « … » when it is longer than `limit` characters."""
    paragraph = next((p.strip() for p in text.split("\n\n") if p.strip()), "")
    sentence = _SENTENCE_END.split(" ".join(paragraph.split()), maxsplit=1)[0]
    if len(sentence) <= limit:
        return sentence
    cut = sentence[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:")
    return cut + "…"
