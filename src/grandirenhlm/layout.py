"""Where each object lives in a published site. One place, so feeds, pages and publish agree.

index.html                              home page: every show
<show>/index.html                       show page
<show>/feed.xml                         RSS feed
<show>/cover-<sha256[:12]>.<ext>        show artwork (content-addressed)
<show>/<episode>/index.html             episode page
media/<show>/<slug>-<sha256[:12]>.<ext> enclosure (content-addressed, never overwritten)
assets/<name>                           stylesheet and script of the pages
"""

from __future__ import annotations

from urllib.parse import quote

from grandirenhlm.model import Episode, Show

FEED_NAME = "feed.xml"


def show_page(show: Show) -> str:
    return f"{show.slug}/index.html"


def show_dir(show: Show) -> str:
    return f"{show.slug}/"


def feed(show: Show) -> str:
    return f"{show.slug}/{FEED_NAME}"


def cover(show: Show, sha256: str) -> str:
    return f"{show.slug}/cover-{sha256[:12]}{show.image.suffix.lower()}"


def episode_page(episode: Episode) -> str:
    return f"{episode.show}/{episode.slug}/index.html"


def episode_dir(episode: Episode) -> str:
    return f"{episode.show}/{episode.slug}/"


def media(episode: Episode) -> str:
    return f"media/{episode.show}/{episode.media.path.name}"


def absolute(base_url: str, key: str) -> str:
    """A public URL: the base URL plus the key, percent-encoded so it stays ASCII-only.

    Page URLs keep their `index.html`: a bare S3 endpoint and file:// serve no index documents.
    """
    return base_url + quote(key, safe="/-._~")


def relative(from_key: str, to_key: str) -> str:
    """A link from the page at `from_key` to `to_key`, so the site works from any base URL."""
    depth = from_key.count("/")
    return "../" * depth + quote(to_key, safe="/-._~")
