"""Every media (MIME) type and file suffix the project reads or serves, declared once.

A `MediaType` pairs a MIME type with the suffixes that agree with it (the first is the one a file of
that type is given) and says whether podcast apps play it as an enclosure. `media/formats.py` gives
each one its readers; `model`, `serve`, `build`, `encode` and `tagging` read types and suffixes from
here. No project imports: `model` imports this module.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MediaType:
    mime_type: str  # as Apple spells it
    suffixes: tuple[str, ...]  # the first names a file of this type; the others raise no warning
    publishable: bool = False  # an enclosure every podcast app plays (Apple's list)
    codec: str | None = None  # set when one codec of a shared MIME type has a suffix of its own

    @property
    def suffix(self) -> str:
        """The suffix a file of this type is given (ingest names stored media with it)."""
        return self.suffixes[0]


# Enclosures every podcast app plays. Everything else (Ogg, FLAC, WAV, AIFF) is a master: `inspect`
# reads it, but it must be encoded before it is published (Ogg/Opus are not supported by Apple
# Podcasts, the lossless ones are far too large).
AUDIO_MPEG = MediaType("audio/mpeg", (".mp3",), publishable=True)
AUDIO_M4A = MediaType("audio/x-m4a", (".m4a", ".m4b", ".mp4", ".aac"), publishable=True)
VIDEO_MP4 = MediaType("video/mp4", (".mp4", ".m4v", ".mov"), publishable=True)
AUDIO_OGG = MediaType("audio/ogg", (".ogg", ".oga", ".opus"))
AUDIO_OPUS = MediaType("audio/ogg", (".opus", ".ogg", ".oga"), codec="opus")  # Ogg Opus is named .opus
AUDIO_FLAC = MediaType("audio/flac", (".flac",))
AUDIO_WAV = MediaType("audio/wav", (".wav", ".wave"))
AUDIO_AIFF = MediaType("audio/aiff", (".aiff", ".aif", ".aifc"))

MEDIA_TYPES = (AUDIO_MPEG, AUDIO_M4A, VIDEO_MP4, AUDIO_OGG, AUDIO_OPUS, AUDIO_FLAC, AUDIO_WAV, AUDIO_AIFF)
PUBLISHABLE = {t.mime_type: t for t in MEDIA_TYPES if t.publishable}  # MIME type -> its type

_BY_MIME = {t.mime_type: t for t in MEDIA_TYPES if t.codec is None}
_BY_CODEC = {(t.mime_type, t.codec): t for t in MEDIA_TYPES if t.codec is not None}


# Other spellings of these types that feeds carry and apps treat alike (import compares with them).
ALIASES = {
    "audio/mp3": AUDIO_MPEG.mime_type,
    "audio/mp4": AUDIO_M4A.mime_type,
    "audio/m4a": AUDIO_M4A.mime_type,
}


def canonical_type(mime_type: str) -> str:
    """`mime_type` as this project spells it (`audio/mp3` -> `audio/mpeg`)."""
    return ALIASES.get(mime_type, mime_type)


def media_type(mime_type: str, codec: str | None = None) -> MediaType | None:
    """The declared type of a file of `mime_type` whose codec is `codec`, or None if undeclared."""
    return _BY_CODEC.get((mime_type, codec)) or _BY_MIME.get(mime_type)


# The site's other files, by suffix: what a host sends as their Content-Type (text in UTF-8).
HTML = "text/html; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"  # what `<link rel="alternate">` announces a feed as
# Feeds, sitemap and the feeds' XSLT stylesheet are served as XML: browsers render it (and apply the
# feed's stylesheet), where Chromium shows application/rss+xml as plain text. Podcast apps read both.
XML = "application/xml; charset=utf-8"
SITE_TYPES = {
    ".xml": XML,
    ".xsl": XML,
    ".vtt": "text/vtt; charset=utf-8",
    ".srt": "application/x-subrip",
    ".html": HTML,
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
}
# Every file a published site holds, media by the suffix ingest gives them.
CONTENT_TYPES = {**{t.suffix: t.mime_type for t in PUBLISHABLE.values()}, **SITE_TYPES}
