"""Characters no text the site publishes may carry, written once: C0 controls but tab and newline
(XML 1.0 cannot carry them: lxml refuses the whole feed), the noncharacters U+FFFE and U+FFFF, and
lone surrogates. Records and transcripts report them (`check`); text read from media tags and
imported feeds loses them (`strip_control`)."""

from __future__ import annotations

import re

CONTROL = re.compile("[\x00-\x08\x0b-\x1f\ufffe\uffff\ud800-\udfff]")


def control_character(text: str) -> str | None:
    """The first character of `text` no feed or page may carry, as `U+0007`, or None."""
    found = CONTROL.search(text)
    return None if found is None else f"U+{ord(found.group()):04X}"


def strip_control(text: str) -> str:
    """`text` without those characters (a carriage return before a newline included)."""
    return CONTROL.sub("", text)
