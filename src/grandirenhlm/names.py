"""The one rule for show and episode names (slugs): they name files (`feeds/<show>.toml`,
`episodes/<show>/<slug>.toml`, `media/<show>/<slug>-<hash>.<ext>`) and URL paths, so they are
lowercase ASCII letters and digits joined by single hyphens: never a path (`..`, `/`), never
anything a URL must escape."""

from __future__ import annotations

import hashlib
import re

from slugify import slugify

from grandirenhlm.errors import ConfigError

SLUG_RULE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
SLUG_RULE_TEXT = "lowercase ASCII letters, digits and single hyphens"
MAX_SLUG = 80
_SUFFIX = 6  # hex digits of the hash that keeps long slugs apart
# python-slugify's own dependency, named: its default ("auto") prefers Unidecode when that happens to
# be installed, so the same title could give another slug on another machine, and it tries to import
# Unidecode again for every title with an accent (a search of sys.path each time: 0.15 ms a title).
_TRANSLITERATION = "text-unidecode"


def make_slug(text: str) -> str:
    """ASCII-only, lowercase, hyphenated: what URLs and file names made from French titles need.

    A slug longer than `MAX_SLUG` is cut at a word boundary and ends with a short hash of the
    whole slug, so two long titles that differ only after the cut still give two slugs (and the
    same title always gives the same one)."""
    # Elisions split words (« l’école » -> l-ecole); « n° » is a number sign, not "deg".
    replacements = [["’", "-"], ["'", "-"], ["°", ""]]
    full = slugify(text, replacements=replacements, backend=_TRANSLITERATION) or "episode"
    if len(full) <= MAX_SLUG:
        return full
    suffix = hashlib.sha256(full.encode("ascii")).hexdigest()[:_SUFFIX]
    cut = slugify(full, max_length=MAX_SLUG - _SUFFIX - 1, word_boundary=True, backend=_TRANSLITERATION)
    return f"{cut}-{suffix}"


def require_slug(value: str, option: str) -> None:
    """Refuse a slug given by the user that breaks the rule, suggesting the valid one."""
    problem = slug_problem(value)
    if problem:
        raise ConfigError(f"{option}: {problem}")


def slug_problem(value: str) -> str | None:
    """Why `value` is not a valid name, with the valid one to use, or None."""
    if SLUG_RULE.fullmatch(value) and len(value) <= MAX_SLUG:
        return None
    return f"{value!r} is not a valid name ({SLUG_RULE_TEXT}, at most {MAX_SLUG}); use {make_slug(value)!r}"
