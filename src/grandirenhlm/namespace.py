"""The Podcast Index `podcast:` namespace (https://podcastindex.org/namespace/1.0): its constants and
the rules of its values, each written once.

A validator returns the value as the namespace writes it (a lowercase person group, an uppercase
country code) and raises `NamespaceError` on a value the namespace refuses. Three callers:

- `records.py`, reading a show or an episode file: the error is a problem naming the file and the
  key, and the file does not load;
- `check.py`, for the rules a file may break and still load (podcast:guid, person groups, the
  purpose of a txt): the error is a finding, which stops `publish`;
- the feedgen extensions of `podcast_namespace.py`: the error propagates and the feed renderer
  names the record.

No I/O, no feedgen: `records` and `check` import this module without loading the feed writer.
"""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Any

PODCAST_NS = "https://podcastindex.org/namespace/1.0"
# Podlove Simple Chapters (https://podlove.org/simple-chapters/), which mirror podcast:chapters.
PSC_NS = "http://podlove.org/simple-chapters"
JSON_CHAPTERS_MIME = "application/json+chapters"  # podcast:chapters type
# The namespace UUID the spec fixes for podcast:guid (UUIDv5 of the feed URL).
PODCAST_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")

MEDIUMS = ("podcast", "music", "video", "film", "audiobook", "newsletter", "blog")
DEFAULT_MEDIUM = "podcast"
# podcast:transcript types the spec lists; rel="captions" only for the timed ones.
TRANSCRIPT_TYPES = ("text/vtt", "application/x-subrip", "application/json", "text/html", "text/plain")
LIVE_STATUSES = ("pending", "live", "ended")
LOCATION_RELS = ("subject", "creator")
# Groups of the Podcast Taxonomy Project (https://podcasttaxonomy.com), lowercase as the spec writes them.
PERSON_GROUPS = (
    "cast", "writing", "audio production", "audio post-production", "administration", "visuals",
    "community", "misc.", "video production",
)  # fmt: skip
DEFAULT_PERSON_ROLE = "host"
DEFAULT_PERSON_GROUP = "cast"

MAX_TEXT = 128  # person, location, license, funding, trailer, updateFrequency, txt purpose
MAX_TXT = 4000  # podcast:txt
MAX_ALTERNATE_TITLE = 32  # podcast:alternateEnclosure title


class NamespaceError(ValueError):
    """A value the namespace refuses.

    `str()` states the rule for the tag ("podcast:guid must be a UUID, got 'x'"): what the feed
    extensions raise. `problem` says the same after a file's key ("'x' is not a UUID"): what
    `records` and `check` report.
    """

    def __init__(self, rule: str, problem: str):
        super().__init__(rule)
        self.problem = problem


def podcast_guid(feed_url: str) -> str:
    """podcast:guid as the spec computes it: UUIDv5 of the feed URL without scheme and trailing slashes."""
    bare = feed_url.split("://", 1)[-1].rstrip("/")
    return str(uuid.uuid5(PODCAST_GUID_NAMESPACE, bare))


def guid(value: str) -> str:
    """podcast:guid: a version 5 UUID (computed once from the first feed URL, kept when the show moves)."""
    try:
        parsed = uuid.UUID(value)
    except ValueError as exc:
        raise NamespaceError(
            f"podcast:guid must be a UUID, got {value!r}", f"{value!r} is not a UUID"
        ) from exc
    if parsed.version != 5:
        raise NamespaceError(
            f"podcast:guid must be a version 5 UUID, got version {parsed.version}",
            f"a version 5 UUID is required, this one is version {parsed.version}",
        )
    return str(parsed)


def text(tag: str, value: str, limit: int = MAX_TEXT) -> str:
    """The text of a tag: 1 to `limit` characters."""
    if not value or len(value) > limit:
        raise NamespaceError(
            f"{tag} must be 1 to {limit} characters, got {len(value)}",
            f"{len(value)} characters, the podcast namespace allows {limit}",
        )
    return value


def url(tag: str, value: str) -> str:
    """A URL the namespace points at: absolute and ASCII (an IRI must be percent-encoded first)."""
    if not value.isascii() or "://" not in value:
        raise NamespaceError(
            f"{tag} must be an absolute ASCII URL, got {value!r}",
            f"expected an absolute ASCII URL, got {value!r}",
        )
    return value


def whole_number(tag: str, value: Any) -> int:
    """podcast:season and podcast:episode (and their iTunes twins): a whole number >= 1."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise NamespaceError(
            f"{tag} must be a whole number >= 1, got {value!r}",
            f"expected a whole number >= 1, got {value!r}",
        )
    return value


def season(value: Any) -> int:
    return whole_number("podcast:season", value)


def episode(value: Any) -> int:
    return whole_number("podcast:episode", value)


def medium(value: Any) -> str:
    """podcast:medium: what the feed is (a podcast, music, a video…)."""
    if value not in MEDIUMS:
        choices = ", ".join(MEDIUMS)
        raise NamespaceError(
            f"podcast:medium must be one of {choices}, got {value!r}",
            f"expected one of {choices}, got {value!r}",
        )
    return value


# ---------------------------------------------------------------- podcast:person


def person_name(value: str) -> str:
    return text("podcast:person", value)


def taxonomy_name(value: str) -> str:
    """A person's role or group as the Podcast Taxonomy writes it: lowercase ("Host" is "host")."""
    return value.lower()


def person_group(value: str) -> str:
    """A group of the Podcast Taxonomy. Records load with any group; `check` and the feed refuse others."""
    group = taxonomy_name(value)
    if group not in PERSON_GROUPS:
        raise NamespaceError(
            f"podcast:person group must be one of {', '.join(PERSON_GROUPS)}, got {value!r}",
            f"{value!r} is not a Podcast Taxonomy group ({', '.join(PERSON_GROUPS)})",
        )
    return group


# ---------------------------------------------------------------- podcast:location


def location_name(value: str) -> str:
    return text("podcast:location", value)


def location_rel(value: Any) -> str:
    """What the location is: the show's subject, or where it is made (its creator)."""
    if value not in LOCATION_RELS:
        raise NamespaceError(
            f"podcast:location rel must be subject or creator, got {value!r}",
            f"expected subject or creator, got {value!r}",
        )
    return value


def location_geo(value: str) -> str:
    """An RFC 5870 geo URI, e.g. geo:48.8566,2.3522."""
    if not value.startswith("geo:"):
        raise NamespaceError(
            f"podcast:location geo must be a geo: URI, got {value!r}",
            f"expected a geo URI like geo:48.8566,2.3522, got {value!r}",
        )
    return value


def location_osm(value: str) -> str:
    """An OpenStreetMap type letter (node, way, relation) and id, e.g. R2202162 (an optional #revision)."""
    if not (value[:1] in ("N", "W", "R") and value[1:].split("#")[0].isdigit()):
        raise NamespaceError(
            f"podcast:location osm must be an OpenStreetMap type and id, got {value!r}",
            f"expected an OpenStreetMap type and id like R2202162, got {value!r}",
        )
    return value


def location_country(value: str) -> str:
    """An ISO 3166-1 alpha-2 code, written uppercase."""
    if not (len(value) == 2 and value.isascii() and value.isalpha()):
        raise NamespaceError(
            f"podcast:location country must be an ISO 3166 alpha-2 code, got {value!r}",
            f"expected a two-letter ISO 3166 code like FR, got {value!r}",
        )
    return value.upper()


# ---------------------------------------------------------------- license, funding, txt, updateFrequency


def license_name(value: str) -> str:
    """podcast:license: an SPDX identifier or a licence's name."""
    return text("podcast:license", value)


def funding_text(value: str) -> str:
    return text("podcast:funding", value)


def txt_text(value: str) -> str:
    return text("podcast:txt", value, MAX_TXT)


def txt_purpose(value: str) -> str:
    return text("podcast:txt purpose", value)


def update_frequency(value: str) -> str:
    return text("podcast:updateFrequency", value)


# ---------------------------------------------------------------- podcast:liveItem

LIVE_STATUSES_TEXT = "pending, live or ended"


def live_status(value: Any) -> str:
    if value not in LIVE_STATUSES:
        raise NamespaceError(
            f"podcast:liveItem status must be one of {', '.join(LIVE_STATUSES)}, got {value!r}",
            f"expected {LIVE_STATUSES_TEXT}, got {value!r}",
        )
    return value


def live_times(start: datetime, end: datetime) -> None:
    """A live item ends after it starts (the error is about its `end`)."""
    if end <= start:
        raise NamespaceError("podcast:liveItem end must be after start", "is not after start")


# ---------------------------------------------------------------- items: transcripts, alternates


def transcript_type(value: str) -> str:
    if value not in TRANSCRIPT_TYPES:
        raise NamespaceError(
            f"podcast:transcript type must be one of {', '.join(TRANSCRIPT_TYPES)}, got {value!r}",
            f"expected one of {', '.join(TRANSCRIPT_TYPES)}, got {value!r}",
        )
    return value


def alternate_title(value: str) -> str:
    return text("podcast:alternateEnclosure title", value, MAX_ALTERNATE_TITLE)


def integrity(hex_digest: str) -> str:
    """podcast:integrity's Subresource Integrity value (sha256-<base64>) from a hex SHA-256."""
    try:
        digest = bytes.fromhex(hex_digest)
    except ValueError:
        digest = b""
    if len(hex_digest) != 64 or len(digest) != 32:
        raise NamespaceError(
            f"podcast:integrity needs a hex SHA-256, got {hex_digest!r}",
            f"expected 64 hexadecimal digits, got {hex_digest!r}",
        )
    return "sha256-" + base64.b64encode(digest).decode("ascii")
