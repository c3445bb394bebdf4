"""Catalog -> RSS bytes with feedgen, carrying what Apple Podcasts requires.

Deterministic: the same catalog gives the same bytes. `lastBuildDate` is the newest episode's
date (or the show file's content when there is none), never the clock.
"""

from __future__ import annotations

from collections.abc import Sequence

from feedgen.feed import FeedGenerator

from grandirenhlm import layout
from grandirenhlm.model import Episode, Show
from grandirenhlm.podcast_namespace import (
    ItunesEntryExtension,
    ItunesExtension,
    PodcastIndexEntryExtension,
    PodcastIndexExtension,
)
from grandirenhlm.text import text_to_html


def render_feed(show: Show, episodes: Sequence[Episode], base_url: str, cover_key: str) -> bytes:
    """The RSS 2.0 feed of one show, newest episode first, with absolute ASCII-only URLs."""
    fg = FeedGenerator()
    fg.register_extension("itunes", ItunesExtension, ItunesEntryExtension, atom=False)
    fg.register_extension("podcast", PodcastIndexExtension, PodcastIndexEntryExtension, atom=False)

    feed_url = layout.absolute(base_url, layout.feed(show))
    page_url = show.website or layout.absolute(base_url, layout.show_page(show))
    cover_url = layout.absolute(base_url, cover_key)

    fg.title(show.title)
    # feedgen writes the *last* link as RSS <link>: the self link first, the web page last.
    fg.link(href=feed_url, rel="self")
    fg.link(href=page_url, rel="alternate")
    fg.description(show.description)
    fg.language(show.language)
    fg.generator("grandirenhlm", uri="https://pypi.org/project/grandirenhlm/")
    fg.image(url=cover_url, title=show.title, link=page_url)
    if show.copyright:
        fg.copyright(show.copyright)
    newest = max((e.pub_date for e in episodes), default=None)
    if newest is not None:
        fg.lastBuildDate(newest)
        fg.pubDate(newest)

    it = fg.itunes
    it.itunes_author(show.author)
    it.itunes_owner(name=show.owner.name, email=show.owner.email)
    it.itunes_image(cover_url)
    it.itunes_category(show.category, show.subcategory)
    it.itunes_explicit("yes" if show.explicit else "no")
    it.itunes_type(show.show_type)
    if show.subtitle:
        it.itunes_subtitle(show.subtitle)
    if show.complete:
        it.itunes_complete("yes")

    if show.podcast_guid:
        fg.podcast.guid(show.podcast_guid)
    fg.podcast.locked(True, show.owner.email)
    fg.podcast.medium(show.medium)

    # feedgen writes entries in reverse order of addition: add oldest first, newest ends on top.
    for episode in episodes:
        _add_entry(fg, show, episode, base_url)
    return fg.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True)


def _add_entry(fg: FeedGenerator, show: Show, episode: Episode, base_url: str) -> None:
    fe = fg.add_entry()
    fe.guid(episode.guid, permalink=False)
    fe.title(episode.title)
    fe.link(href=layout.absolute(base_url, layout.episode_page(episode)))
    fe.pubDate(episode.pub_date)
    media = episode.media
    fe.enclosure(layout.absolute(base_url, layout.media(episode)), str(media.size), media.mime_type)
    description = episode.description or episode.title
    fe.description(description)
    fe.content(text_to_html(description), type="CDATA")
    it = fe.itunes
    it.itunes_duration(round(media.duration_seconds))
    it.itunes_episode_type(episode.episode_type)
    if episode.number is not None:
        it.itunes_episode(episode.number)
        fe.podcast.episode(episode.number)
    if episode.season is not None:
        it.itunes_season(episode.season)
        fe.podcast.season(episode.season)
    if episode.explicit is not None:
        it.itunes_explicit("yes" if episode.explicit else "no")
