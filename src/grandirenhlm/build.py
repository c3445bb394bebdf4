"""Catalog + templates -> the list of `Artifact`s of a site. Nothing is written here."""

from __future__ import annotations

import hashlib
import mimetypes
import operator
import os
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from grandirenhlm import layout
from grandirenhlm.artifact import IMMUTABLE, Artifact, Stage, Stored, Written
from grandirenhlm.catalog import Catalog, is_visible
from grandirenhlm.config import Project
from grandirenhlm.errors import ValidationError
from grandirenhlm.feed import FeedPage, episode_files, render_feed_pages
from grandirenhlm.files import display_path, escapes_project, resolving_folders_once, sha256_file
from grandirenhlm.helper import TailHelper
from grandirenhlm.helper import wanted as helper_wanted
from grandirenhlm.images import CoverSet, favicon_ico, resize_cover
from grandirenhlm.media.types import CONTENT_TYPES, HTML, XML
from grandirenhlm.model import Episode, Show
from grandirenhlm.opml import OPML_TYPE, render_opml
from grandirenhlm.pages import (
    OEMBED_TYPE,
    PageCache,
    ShowCard,
    Sink,
    default_templates_dir,
    render_embed,
    render_episode,
    render_home,
    render_oembed,
    render_subscribe,
    show_pages,
    site_pages,
    template_environment,
)
from grandirenhlm.theme import Theme, load_theme


def build_site(
    project: Project,
    catalog: Catalog,
    base_url: str,
    at: datetime,
    cache: PageCache | None = None,
    *,
    folders: bool = True,
) -> list[Artifact]:
    """Every object of the site as published at `at`, in publish order.

    With a `cache`, pages whose inputs did not change since the build that filled it are reused
    instead of rendered (see `pages.PageCache`). `folders`: the target answers a folder's address
    with its index.html, so pages link to `show/` rather than `show/index.html`."""
    refuse_outside_files(project, catalog)
    if cache is not None:
        cache.spellings = catalog.spellings
    env = template_environment(project, cache=cache is not None and cache.folder is not None)
    helped = cache is not None and cache.stored and helper_wanted()  # a second core for the pages
    artifacts: list[Artifact] = list(_assets(project))
    home: list[ShowCard] = []
    site_icon: CoverSet | None = None  # the first show's cover: the icon of the pages of no show
    for slug, show in sorted(catalog.shows.items()):
        episodes = catalog.published(slug, at)
        theme = load_theme(show)
        look = {"folders": folders, "theme": theme}
        cover_sha = sha256_file(show.image)
        cover_key = layout.cover(show, cover_sha)
        artifacts.append(
            Artifact(
                cover_key,
                Stage.ASSET,
                _guess_type(show.image),
                IMMUTABLE,
                cover_sha,
                show.image.stat().st_size,
                source=show.image,
            )
        )
        # The pages' renditions (kept beside the page cache); the feed keeps the original.
        cover = resize_cover(show.image, cover_key, cache.images if cache else None)
        for r in cover.renditions:
            artifacts.append(Artifact.from_bytes(r.key, Stage.ASSET, r.content_type, r.data, cache=IMMUTABLE))
        site_icon = site_icon or cover
        refs: dict[str, tuple[str, ...]] = {}  # guid -> keys its feed item points at

        episode_pages = partial(
            _episode_pages, env, project, base_url, show, cover, episodes, cache, folders, theme
        )
        live = catalog.live_items(slug, at)
        # RFC 5005 pages; with a page cache on disk, rendered items are kept beside it for the next build
        store = project.cache_dir / "feeds" if cache is not None and cache.folder is not None else None
        announce = (project.notify.websub_hubs, bool(project.notify.podping_url))
        feed_pages = partial(
            render_feed_pages,
            show,
            episodes,
            base_url,
            cover_key,
            live,
            store=store,
            announce=announce,
            digests=catalog.record_digests,
        )
        list_pages = show_pages(env, project, base_url, show, cover, episodes, cache=cache, **look)
        # after the episodes' pages, the show's list pages and its feed: items of the same loop
        tail = _Tail(cache, list_pages, feed_pages, episodes)
        helper: TailHelper | None = None
        rendered = cache.rendered if cache is not None else 0
        try:
            for i, episode in enumerate(episodes):
                if i == 1 and helped and len(episodes) >= HELPER_MIN_EPISODES and cache.rendered > rendered:
                    # The first episode's pages were rendered, not found in the cache (a cold
                    # build, new templates), and its templates are compiled: a second core renders
                    # from the end (the feed first, then the list pages, then episodes' pages). A
                    # build that found them there (an edit elsewhere) renders a handful of pages:
                    # a fork costs it more than it saves.
                    assert cache is not None
                    tail.make_ahead(0)  # the show's page: its template compiled here too, not in the child
                    helper = _shared(len(episodes), _captured(cache, episode_pages), _adopted(cache), tail)
                if helper is not None:
                    helper.before(i)
                artifacts += _episode_objects(episode, show.language, refs)
                plays = (refs[episode.guid][0],)  # the media its page and player page point at
                (page_key, page), (embed_key, embed), (oembed_key, oembed) = episode_pages(i)
                artifacts.append(Artifact.from_bytes(page_key, Stage.PAGE, HTML, page, references=plays))
                # The player page for other sites' iframes, and its oEmbed description.
                artifacts.append(Artifact.from_bytes(embed_key, Stage.PAGE, HTML, embed, references=plays))
                artifacts.append(Artifact.from_bytes(oembed_key, Stage.PAGE, OEMBED_TYPE, oembed))
            listed, feeds = tail.made_here(helper, len(episodes))
        finally:
            if helper is not None:
                helper.close()
        for key, page in listed:
            artifacts.append(Artifact.from_bytes(key, Stage.PAGE, HTML, page))
        page = render_subscribe(env, project, base_url, show, cover, cache, **look)
        artifacts.append(Artifact.from_bytes(layout.subscribe_page(show), Stage.PAGE, HTML, page))
        for feed in feeds:
            # everything the feed points at, which must answer before the feed goes out
            references = (cover_key, *(key for e in feed.episodes for key in refs[e.guid]))
            statuses = (
                tuple((e.guid, e.live.status) for e in live if e.live)
                if feed.key == layout.feed(show)
                else ()
            )
            # Served as XML, which browsers render with the feed's stylesheet (media/types.py); a
            # show that moved: its feed's old URL answers with a redirect where the target can.
            moved = show.new_feed_url if feed.key == layout.feed(show) else None
            artifacts.append(
                Artifact.from_bytes(
                    feed.key, Stage.FEED, XML, feed.data, references, live=statuses, redirect=moved
                )
            )
        latest = max(episodes, key=lambda e: e.pub_date, default=None)
        home.append(ShowCard(show, cover, len(episodes), latest))
    home_page = render_home(env, project, base_url, home, cache, folders=folders, icon=site_icon)
    artifacts.append(Artifact.from_bytes("index.html", Stage.PAGE, HTML, home_page))
    if site_icon is not None and (ico := favicon_ico(site_icon)) is not None:
        artifacts.append(
            Artifact.from_bytes(layout.FAVICON, Stage.ASSET, _guess_type(Path(layout.FAVICON)), ico)
        )
    # Accessibility statement, legal notice, 404, the feeds' stylesheet, then sitemap.xml and
    # robots.txt over every page people search for (not the player pages, not transcript fragments).
    pages = [a.key for a in artifacts if a.key.endswith("index.html") and "/lecteur/" not in a.key]
    for key, content_type, data in site_pages(
        env, project, base_url, pages, cache=cache, folders=folders, icon=site_icon
    ):
        artifacts.append(Artifact.from_bytes(key, Stage.PAGE, content_type, data))
    newest = max(  # of what listeners see now: no draft, nothing scheduled later
        (e.pub_date for eps in catalog.episodes.values() for e in eps if is_visible(e, at)), default=None
    )
    opml = render_opml(project.site_title, list(catalog.shows.values()), base_url, newest)
    # With the pages, like the home page that also links to every feed: feeds stay the last objects up.
    artifacts.append(Artifact.from_bytes(layout.OPML, Stage.PAGE, OPML_TYPE, opml))
    if cache is not None:
        cache.prune()
    return sorted(artifacts, key=lambda a: (a.stage, a.key))


def _episode_pages(
    env, project: Project, base_url: str, show: Show, cover: CoverSet, episodes: Sequence[Episode],
    cache: PageCache | None, folders: bool, theme: Theme | None, i: int,
) -> tuple[tuple[str, bytes | Stored], tuple[str, bytes | Stored], tuple[str, bytes | Stored]]:  # fmt: skip
    """Episode `i`'s page, player page and oEmbed description as (key, rendered or from the
    cache): each key one string for the page, its artifact and the cache's bookkeeping."""
    episode = episodes[i]
    previous = episodes[i - 1] if i > 0 else None
    following = episodes[i + 1] if i + 1 < len(episodes) else None
    look = {"folders": folders, "theme": theme}
    page, embed, oembed = layout.episode_page(episode), layout.embed_page(episode), layout.oembed(episode)
    rendered = render_episode(
        env, project, base_url, show, cover, episode, previous, following, cache=cache, key=page, **look
    )
    return (
        (page, rendered),
        (embed, render_embed(env, project, base_url, show, cover, episode, cache=cache, key=embed, **look)),
        (oembed, render_oembed(project, base_url, show, cover, episode, cache, folders=folders, key=oembed)),
    )


# A show with fewer episodes renders them in less time than a fork and its pipe cost to set up.
HELPER_MIN_EPISODES = 100


def _episode_objects(episode: Episode, language: str, refs: dict[str, tuple[str, ...]]) -> list[Artifact]:
    """An episode's media, other renditions, poster, chapters and transcripts; `refs` gets the keys
    its feed item points at."""
    media = episode.media
    media_key = layout.media(episode)  # one string for the artifact, and the pages and feed pointing at it
    item_refs = [media_key]
    objects = [
        Artifact(
            media_key, Stage.MEDIA, media.mime_type, IMMUTABLE, media.sha256, media.size, source=media.path
        )
    ]
    for alt in episode.alternates:  # other renditions: the audio of a video replay
        key = layout.alternate_media(episode, alt.path.name)
        item_refs.append(key)
        objects.append(
            Artifact(key, Stage.MEDIA, alt.mime_type, IMMUTABLE, alt.sha256, alt.size, source=alt.path)
        )
    if episode.poster:  # a video's poster frame: content-addressed, like the media
        objects.append(
            Artifact.from_bytes(
                layout.poster(episode),
                Stage.ASSET,
                mimetypes.guess_type(episode.poster.name)[0] or "image/jpeg",
                episode.poster.read_bytes(),
                cache=IMMUTABLE,
            )
        )
    for key, content_type, data in episode_files(episode, language):  # chapters, transcripts
        item_refs.append(key)
        objects.append(Artifact.from_bytes(key, Stage.ASSET, content_type, data))
    refs[episode.guid] = tuple(item_refs)
    return objects


class _Tail:
    """A show's list pages (`pages.show_pages`), then its feed pages: the last items of the loop
    over its episodes (`build_site`), which a helper's child takes from the end. The child thus
    makes the feed first, then list pages from the last one down, then episodes' pages, while the
    build renders episodes' pages from the first: the feed (1.35 s at 10,000 episodes) is made
    beside the episodes' pages, not after them with the build waiting for it, and in a child forked
    before the build held the pages' bookkeeping (its memory peaked 30 MiB higher)."""

    def __init__(
        self,
        cache: PageCache | None,
        list_pages: Sequence[Callable[[], tuple[str, bytes | Stored]]],
        feed_pages: Callable[[], list[FeedPage]],
        episodes: Sequence[Episode],
    ) -> None:
        self.list_pages, self.feed_pages, self.episodes = list_pages, feed_pages, episodes
        self.count = len(list_pages) + 1  # the feed is the last item
        self.made: list = [None] * self.count
        self.failed: dict[int, Exception] = {}  # items made ahead whose error waits for their turn
        self.sink = cache.sink if cache is not None else None
        self._captured = _captured(cache, lambda j: list_pages[j]()) if cache is not None else None
        self._adopted = _adopted(cache) if cache is not None else None

    def work(self, j: int) -> object:
        """In the helper's child: item `j`, sent to the build (None: made before the fork)."""
        if self.made[j] is not None:
            return None
        if j == len(self.list_pages):
            return _sent_feed(self.feed_pages(), self.episodes, self.sink)
        assert self._captured is not None
        return self._captured(j)

    def adopt(self, j: int, result: Any) -> None:
        """In the build: what the child made of item `j`, taken as the build's own."""
        if result is None:
            return
        if j == len(self.list_pages):
            self.made[j] = _taken_feed(result, self.episodes, self.sink)
        else:
            assert self._adopted is not None
            self._adopted(j, result)

    def made_here(
        self, helper: TailHelper | None, offset: int
    ) -> tuple[list[tuple[str, bytes | Stored]], list[FeedPage]]:
        """The list pages and the feed pages, made by the build or taken from the child (whose
        items these are from `offset` on)."""
        for j in range(self.count):
            if helper is not None:
                helper.before(offset + j)
            self.make(j)
        return self.made[:-1], self.made[-1]

    def make_ahead(self, j: int) -> None:
        """`make(j)` before the loop reaches it; its error is raised when it does, so that the
        build fails on the error a build without the helper meets first (an episode's)."""
        try:
            self.make(j)
        except Exception as exc:
            self.failed[j] = exc

    def make(self, j: int) -> None:
        """Item `j` made by the build, unless it was made (a list page the child made is taken
        from the cache's adopted ones)."""
        failed = self.failed.pop(j, None)
        if failed is not None:
            raise failed
        if self.made[j] is None:
            self.made[j] = self.list_pages[j]() if j < len(self.list_pages) else self.feed_pages()


def _shared(
    count: int, work: Callable[[int], object], adopt: Callable[[int, Any], None], tail: _Tail
) -> TailHelper | None:
    """A helper for `count` items and then the items of `tail`."""
    return TailHelper.start(
        count + tail.count,
        lambda i: work(i) if i < count else tail.work(i - count),
        lambda i, result: adopt(i, result) if i < count else tail.adopt(i - count, result),
        "pages",
    )


# What a helper's child sends of one feed page: its key; its bytes, or None when it wrote them
# itself (`Sink.write_here`); their sha256 and size; its episodes as the run of the show's they
# are (start, stop).
SentFeedPage = tuple[str, bytes | None, str, int, int, int]


def _sent_feed(
    pages: list[FeedPage], episodes: Sequence[Episode], sink: Sink | None = None
) -> list[SentFeedPage]:
    """Feed pages as the helper's child sends them: each page's episodes as the run of the show's
    they are (a page of an RFC 5005 feed lists consecutive episodes), not as copies of them; with
    a `sink` (a new output folder), each page written there by the child, its bytes not sent (a
    show's feed is 8.6 MB at 10,000 episodes: pickled, sent, then held by the build until the end,
    they were a tenth of its peak memory)."""
    where = {id(e): i for i, e in enumerate(episodes)}
    sent: list[SentFeedPage] = []
    for page in pages:
        assert isinstance(page.data, bytes)
        start = where[id(page.episodes[0])] if page.episodes else 0
        stop = start + len(page.episodes)
        run = episodes[start:stop]
        if len(run) != len(page.episodes) or any(map(operator.is_not, run, page.episodes)):
            raise ValueError(f"{page.key}: its episodes are not a run of the show's")  # the build makes it
        sha256 = hashlib.sha256(page.data).hexdigest()
        data = None if sink is not None and sink.write_here(page.key, page.data) else page.data
        sent.append((page.key, data, sha256, len(page.data), start, stop))
    return sent


def _taken_feed(
    sent: list[SentFeedPage], episodes: Sequence[Episode], sink: Sink | None = None
) -> list[FeedPage]:
    """The feed pages `_sent_feed` sent, with their episodes, in the build; a page the child wrote
    is told to `sink`, and stands for its file."""
    taken = []
    for key, data, sha256, size, start, stop in sent:
        made: bytes | Written
        if data is None:
            assert sink is not None
            sink.written_here(key, sha256)
            made = Written(sink.file(key), sha256, size)
        else:
            made = data
        taken.append(FeedPage(key, made, tuple(episodes[start:stop])))
    return taken


def _captured(cache: PageCache, pages: Callable[[int], object]) -> Callable[[int], list]:
    """In the helper's child: what `pages(i)` made or found in the cache, to send to the build."""

    def work(i: int) -> list:
        cache.capture = []
        pages(i)
        return cache.capture

    return work


def _adopted(cache: PageCache) -> Callable[[int, list], None]:
    return lambda i, captured: cache.adopt(captured)


def refuse_outside_files(project: Project, catalog: Catalog) -> None:
    """Raise one `ValidationError` naming every file of the catalog outside the project.

    The records were checked when they were read; this asks again right before the files are read
    (a symlink swapped since, a catalog built in code), so nothing from elsewhere reaches a site."""
    problems = []
    named: list[tuple[Path, str, Path | None]] = []
    for show in catalog.shows.values():
        named.append((show.source, "image", show.image))
    for episodes in catalog.episodes.values():
        for e in episodes:
            named.append((e.source, "media.file", e.media.path if e.media else None))
            named += [(e.source, f"alternate[{i}].file", a.path) for i, a in enumerate(e.alternates)]
            named += [(e.source, "poster", e.poster), (e.source, "transcript", e.transcript)]
    with resolving_folders_once():
        for source, key, path in named:
            if path is None or escapes_project(path, project.root, "") is None:
                continue
            # named relative to the project, as the link itself (display_path would follow it)
            why = escapes_project(path, project.root, repr(os.path.relpath(path, project.root)))
            problems.append(f"{display_path(source)}: {key}: {why}")
    if problems:
        raise ValidationError(problems)


def _assets(project: Project) -> Iterator[Artifact]:
    """Static files of `templates/assets/` (project first, then packaged defaults)."""
    seen: dict[str, Path] = {}
    for folder in (project.templates_dir / "assets", default_templates_dir() / "assets"):
        if folder.is_dir():
            for path in sorted(folder.iterdir()):
                if path.is_file() and not path.name.startswith("."):
                    seen.setdefault(path.name, path)
    for name, path in sorted(seen.items()):
        data = path.read_bytes()
        yield Artifact.from_bytes(f"assets/{name}", Stage.ASSET, _guess_type(path), data)


def _guess_type(path: Path) -> str:
    declared = CONTENT_TYPES.get(path.suffix.lower())  # the site's own types first (media/types.py)
    if declared is not None:
        return declared
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if content_type.startswith("text/") or content_type == "application/javascript":
        content_type += "; charset=utf-8"
    return content_type
