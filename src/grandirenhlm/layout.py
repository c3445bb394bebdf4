"""Where each object lives in a published site. One place, so feeds, pages and publish agree.

index.html                              home page: every show
<show>/index.html                       show page
<show>/feed.xml                         RSS feed
<show>/cover-<sha256[:12]>.<ext>        show artwork (content-addressed)
<show>/<episode>/index.html             episode page
media/<show>/<slug>-<sha256[:12]>.<ext> enclosure (content-addressed, never overwritten)
<show>/<episode>/chapters.json          JSON chapters (application/json+chapters)
<show>/<episode>/transcript.<ext>       transcript: vtt, srt, json, html
<show>/feed-<n>.xml                     page n >= 2 of an RFC 5005 paged feed
<show>/abonnement/index.html            how to subscribe: apps, the feed address to copy
<show>/<episode>/lecteur/index.html     the episode's player for an iframe on another site
<show>/<episode>/oembed.json            its oEmbed description (discovered from the episode page)
shows.opml                              OPML list of every show's feed
assets/<name>                           stylesheet, script and icons of the pages
assets/feed.xsl                         the feeds' XSLT stylesheet: a feed opened in a browser
favicon.ico                             the site's icon, from the first show's cover
"""

from __future__ import annotations

import re
from urllib.parse import quote

from grandirenhlm.model import Episode, Show

FEED_NAME = "feed.xml"
FEED_STYLESHEET = "assets/feed.xsl"
FAVICON = "favicon.ico"
INDEX = "index.html"
_SAFE_KEY = re.compile(r"[A-Za-z0-9/._~-]*")  # what quote(key, safe="/-._~") leaves unchanged


def show_page(show: Show, page: int | None = None) -> str:
    """The show's page, or page `page` of its list of episodes, `show/page/N/` (see
    `pages.show_blocks`)."""
    return f"{show.slug}/index.html" if page is None else f"{show.slug}/page/{page}/index.html"


def show_dir(show: Show) -> str:
    return f"{show.slug}/"


def feed(show: Show) -> str:
    return f"{show.slug}/{FEED_NAME}"


def cover(show: Show, sha256: str) -> str:
    return f"{show.slug}/cover-{sha256[:12]}{show.image.suffix.lower()}"


def episode_page(episode: Episode) -> str:
    return f"{episode.show}/{episode.slug}/index.html"


def subscribe_page(show: Show) -> str:
    """How to subscribe to the show: where the pages' subscribe links lead (never the raw feed)."""
    return f"{show.slug}/abonnement/index.html"


def embed_page(episode: Episode) -> str:
    """The episode's small player page, for an iframe on another site."""
    return f"{episode.show}/{episode.slug}/lecteur/index.html"


def oembed(episode: Episode) -> str:
    """The episode's oEmbed 1.0 JSON (type rich: the iframe of `embed_page`)."""
    return f"{episode.show}/{episode.slug}/oembed.json"


def episode_dir(episode: Episode) -> str:
    return f"{episode.show}/{episode.slug}/"


def media(episode: Episode) -> str:
    return f"media/{episode.show}/{episode.media.path.name}"


def alternate_media(episode: Episode, path_name: str) -> str:
    """Another rendition of an episode's media (the audio of a video replay), content-addressed too."""
    return f"media/{episode.show}/{path_name}"


def poster(episode: Episode) -> str | None:
    """The poster frame of a video episode (named by ingest after its content), or None."""
    return f"media/{episode.show}/{episode.poster.name}" if episode.poster else None


def chapters(episode: Episode) -> str:
    """The episode's JSON chapters file (chapters.py)."""
    return f"{episode.show}/{episode.slug}/chapters.json"


def transcript(episode: Episode, extension: str) -> str:
    """The episode's transcript in one format: extension ".vtt", ".srt", ".json" or ".html"."""
    return f"{episode.show}/{episode.slug}/transcript{extension}"


def feed_page(show: Show, page: int) -> str:
    """Page `page` (2, 3, ...) of a show's RFC 5005 paged feed; page 1 is `feed(show)`."""
    return feed(show) if page == 1 else f"{show.slug}/feed-{page}.xml"


OPML = "shows.opml"  # every show's feed, for apps that import a list


def absolute(base_url: str, key: str) -> str:
    """A public URL: the base URL plus the key, percent-encoded so it stays ASCII-only.

    Page URLs keep their `index.html`: a bare S3 endpoint and file:// serve no index documents.
    """
    if _SAFE_KEY.fullmatch(key):  # slugs and content-addressed names: nothing to encode (fast path)
        return base_url + key
    return base_url + quote(key, safe="/-._~")


def relative(from_key: str, to_key: str) -> str:
    """A link from the page at `from_key` to `to_key`, so the site works from any base URL."""
    depth = from_key.count("/")
    if _SAFE_KEY.fullmatch(to_key):  # nothing to encode (fast path, as in `absolute`)
        return "../" * depth + to_key
    return "../" * depth + quote(to_key, safe="/-._~")


def folder(key: str) -> str:
    """A page's key as linked where the server answers a folder's address with its index.html (a
    website endpoint, a CDN, `serve`): `show/` for `show/index.html`, "" for the home page."""
    if key == INDEX or key.endswith("/" + INDEX):
        return key[: -len(INDEX)]
    return key
