"""Which of a file's comments is the one a person wrote: iTunes and other taggers store technical data
(loudness, gapless timing, CD database ids) as comments too, and none of it may become a description.

An iTunes-tagged MP3 has several COMM frames, the first usually `iTunNORM` (Sound Check gains, a row
of hex numbers), then `iTunSMPB` (encoder delay and padding), `iTunPGAP`, `iTunes_CDDB_IDs`...; an
MP4 has the same data in `----:com.apple.iTunes:<name>` atoms.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

# Descriptions (COMM) and freeform atom names (MP4 `----`) under which taggers store data, not text:
# iTunes (iTunNORM, iTunSMPB, iTunPGAP, iTunMOVI, iTunes_CDDB_IDs, iTunes_CDDB_1...), MusicMatch,
# MediaMonkey/Songs-DB, and the CD database and rip-verification ids other rippers add.
_TECHNICAL_NAME = re.compile(
    r"^(itun|musicmatch_|songs-db|cddb|accuraterip|ctdb|musicbrainz|acoustid)", re.IGNORECASE
)
# What iTunNORM and iTunSMPB hold, whatever they are filed under (some converters drop the
# description): only hex words, at least four of them.
_HEX_ROW = re.compile(r"^\s*(?:[0-9A-Fa-f]{8,16}\s+){3,}[0-9A-Fa-f]{8,16}\s*$")


@dataclass(frozen=True)
class Comment:
    """One comment as stored: its description (ID3) or atom name (MP4), language and text."""

    text: str
    name: str = ""
    language: str = ""


def is_technical(comment: Comment) -> bool:
    """True for data a tagger stored as a comment (see `_TECHNICAL_NAME`, `_HEX_ROW`)."""
    return bool(_TECHNICAL_NAME.match(comment.name.strip()) or _HEX_ROW.match(comment.text))


def pick_comment(comments: Iterable[Comment], language: str = "") -> str | None:
    """The comment a person wrote: the first without a description (or name), else the first that is
    not technical data; among those, the first in the file's `language` (ISO 639-2 as in ID3, B or T
    form, or 639-1) if any is. Technical data is never returned."""
    texts = [c for c in comments if c.text.strip() and not is_technical(c)]
    pool = [c for c in texts if not c.name.strip()] or texts
    if language and len(pool) > 1:
        wanted = _language(language)
        pool = [c for c in pool if _language(c.language) == wanted] or pool
    return pool[0].text.strip() if pool else None


def _language(code: str) -> str:
    """One spelling per language: ID3 uses ISO 639-2, where French is `fre` (bibliographic) or `fra`
    (terminology); CLDR's aliases (shipped with Babel) map both, and 639-1 codes, to one code."""
    code = code.strip().lower()
    return _aliases().get(code, code)


@cache
def _aliases() -> dict[str, str]:
    from babel.core import get_global  # only when several comments compete: Babel's data loads slowly

    return dict(get_global("language_aliases"))
