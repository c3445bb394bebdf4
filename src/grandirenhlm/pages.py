"""Jinja2 pages: the home page, one page per show, one per episode, and what they lead to.

Templates come from the project's `templates/` first, then the packaged defaults, so a project
overrides them file by file (`{% extends "default:base.html" %}` reaches the packaged one).
Autoescape is on and undefined variables are errors.

Besides the pages people read (home, show, episode, subscribe page, statements), a show's episodes
each get a small player page for iframes on other sites and its oEmbed JSON, and the site gets the
feeds' XSLT stylesheet: all rendered here, through the same `PageCache`.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import html
import io
import itertools
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Protocol, TypeVar
from urllib.parse import quote, urlsplit

import jinja2
import nh3
from markupsafe import Markup

from grandirenhlm import cachekey, layout
from grandirenhlm.artifact import Stored
from grandirenhlm.catalog import episode_order
from grandirenhlm.config import Project
from grandirenhlm.episodecache import hashed as _hashed  # the episodes' own spellings are made there
from grandirenhlm.errors import ConfigError
from grandirenhlm.feed import _URL as WEB_ADDRESS  # the feed's pattern: the same addresses become links
from grandirenhlm.feed import APPLE_TAGS
from grandirenhlm.files import write_atomic
from grandirenhlm.images import CoverSet, Rendition
from grandirenhlm.media.types import CONTENT_TYPES, HTML, XML
from grandirenhlm.model import Episode, Show
from grandirenhlm.pagestore import PageStore
from grandirenhlm.records import is_web_url
from grandirenhlm.text import (
    clock,
    date_fr,
    duration_fr,
    first_sentence,
    iso_duration,
    size_fr,
    text_to_html,
    typo_fr,
)
from grandirenhlm.theme import DARK_BACKGROUNDS, DEFAULT, Theme
from grandirenhlm.transcripts import FORMATS, Transcript, load_transcript

# Pages outside the shows. Their URLs are French, like the pages.
ACCESSIBILITY_PAGE = "accessibilite/index.html"
LEGAL_PAGE = "mentions-legales/index.html"
NOT_FOUND_PAGE = "404.html"
SITE_PAGES = {"accessibility": ACCESSIBILITY_PAGE, "legal": LEGAL_PAGE}  # `pages` in templates

# Listening platforms a show definition may name under `[links]`: the key, the label shown, how
# an ID (anything not starting with https://) becomes the show's URL there, and its icon in
# templates/assets/icons.svg.
PLATFORMS = (
    ("apple_podcasts", "Apple Podcasts", "https://podcasts.apple.com/fr/podcast/id{}", "apple-podcasts"),
    ("spotify", "Spotify", "https://open.spotify.com/show/{}", "spotify"),
    ("deezer", "Deezer", "https://www.deezer.com/fr/show/{}", "deezer"),
    ("amazon_music", "Amazon Music", "https://music.amazon.fr/podcasts/{}", "amazon-music"),
    ("youtube", "YouTube", "https://www.youtube.com/playlist?list={}", "youtube"),  # a podcast is a playlist
    ("podcast_index", "Podcast Index", "https://podcastindex.org/podcast/{}", "podcast-index"),
)
OTHER_PLATFORM_ICON = "link"  # `[links]` entries with other names

# The player page an iframe shows: its size in the iframe code and the oEmbed JSON.
EMBED_WIDTH = 640
EMBED_HEIGHT = {"audio": 320, "video": 640}


def default_templates_dir() -> Path:
    """Packaged defaults: the repository's `templates/` in a source checkout (an editable install
    copies them into site-packages once, so that copy would go stale as they are edited), else the
    copy inside the wheel."""
    checkout = Path(__file__).resolve().parents[2] / "templates"
    if (checkout / "base.html").is_file():
        return checkout
    return Path(str(resources.files("grandirenhlm") / "templates"))


class _QuietBytecodeCache(jinja2.FileSystemBytecodeCache):
    """Jinja2's cache, whose files carry this user's MAC (`cachekey`): compiled code is loaded only
    from files this user's runs wrote, never from a cache committed with the project (loading it
    runs it). Write failures (a full disk) cost the next run a compile, not this one."""

    def _file(self, bucket: jinja2.bccache.Bucket) -> str:
        return os.path.join(self.directory, self.pattern % (bucket.key,))

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            with open(self._file(bucket), "rb") as fh:
                blob = fh.read()
        except OSError:
            return
        data = cachekey.verified(blob)
        if data is not None:
            bucket.bytecode_from_string(data)  # Jinja2 checks its own header and the source checksum

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):
            write_atomic(Path(self._file(bucket)), cachekey.sign(bucket.bytecode_to_string()), durable=False)


def _bytecode_cache(project: Project) -> jinja2.BytecodeCache | None:
    """Compiled templates kept between processes (`.grandirenhlm/templates/`), keyed by Jinja2 by
    each template's name and a checksum of its source: a build saves compiling them again."""
    folder = project.cache_dir / "templates"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # a read-only project builds without it
    return _QuietBytecodeCache(str(folder))


def template_environment(project: Project, cache: bool = False) -> jinja2.Environment:
    """The pages' Jinja2 environment; `cache`: compiled templates kept in the project cache."""
    default = jinja2.FileSystemLoader(default_templates_dir())
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(
            [
                jinja2.FileSystemLoader(project.templates_dir),
                default,
                jinja2.PrefixLoader({"default": default}, delimiter=":"),  # "default:base.html"
            ]
        ),
        autoescape=jinja2.select_autoescape(["html", "xml", "xsl"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # one build, templates fixed: no stat() of every template on each page
        # a plain dict of the few templates, not a locked LRU list moved on each of the four or
        # five lookups a page makes (its template, what it extends, what it imports)
        cache_size=-1,
        bytecode_cache=_bytecode_cache(project) if cache else None,
    )
    env.filters.update(
        date_fr=date_fr,
        duration_fr=duration_fr,
        size_fr=size_fr,
        iso_duration=iso_duration,
        fr=typo_fr,
        paragraphs=lambda text: Markup(text_to_html(typo_fr(text))),
        notes=notes_html,
        first_sentence=first_sentence,
        clock=clock,
        jsonld=jsonld,
        numbered=numbered,
    )
    env.globals["memo"] = fragment_memo()
    return env


def fragment_memo() -> Callable[..., Markup]:
    """`memo` in templates: a fragment that many pages share byte for byte, rendered once per
    build for each place it is linked from.

        {% call memo("picture", cover.original, width, alt) %} ...the fragment... {% endcall %}

    The arguments are the fragment's key: they must name everything its text depends on besides
    where the page stands (its relative links: the page's depth, whether it is linked from the
    site's root, the base URL and whether folders are linked as folders, which `memo` adds). A
    site of 10,000 episodes renders the cover's `<picture>`, the subscribe block and the footer
    once per show instead of once per page (a third of rendering an episode page)."""
    kept: dict[tuple, Markup] = {}

    @jinja2.pass_context
    def memo(context: jinja2.runtime.Context, *key: object, caller: jinja2.runtime.Macro) -> Markup:
        page = context["page"]
        full = (key, page.rooted, page.folders, page.base_url, page.key.count("/"))
        try:
            made = kept.get(full)
        except TypeError:  # a project's template keyed it by a list or a dict: made every time
            return caller()
        if made is None:
            made = kept[full] = caller()
        return made

    return memo


def jsonld(data: dict) -> Markup:
    """A schema.org object for `<script type="application/ld+json">`; `<` is escaped so that no
    text can close the script element."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def notes_html(text: str, page: PageContext) -> Markup:
    """An episode's plain-text notes as HTML paragraphs, web addresses made links as in the feed's
    content:encoded, through the same sanitiser (nh3, the tags Apple allows, plus `<br>`); a link
    to another site gets `rel="noopener"`."""
    own = urlsplit(page.base_url)
    paragraphs = []
    for paragraph in (p.strip() for p in typo_fr(text).split("\n\n")):
        if not paragraph:
            continue
        escaped = html.escape(paragraph, quote=False)
        linked = WEB_ADDRESS.sub(lambda m: _link(m.group(0), own), escaped)
        paragraphs.append("<p>" + linked.replace("\n", "<br>") + "</p>")
    return Markup(_NOTES.clean("".join(paragraphs)))


# built once (`feed._APPLE`): the feed's rules, plus `<br>` and the `rel` links get here
_NOTES = nh3.Cleaner(
    tags=APPLE_TAGS | {"br"},
    attributes={"a": {"href", "rel"}},
    url_schemes={"http", "https", "mailto"},
    link_rel=None,
)


def _link(escaped_url: str, own) -> str:
    url = html.unescape(escaped_url)
    target = urlsplit(url)
    foreign = (target.scheme, target.netloc) != (own.scheme, own.netloc)
    rel = ' rel="noopener"' if foreign else ""
    return f'<a href="{html.escape(url)}"{rel}>{escaped_url}</a>'


_DIGITS = re.compile(r"\d+")


def numbered(title: str, number: int | None) -> bool:
    """Whether an episode's title already says its number ("Témoignage n° 3"): the pages then do
    not repeat "Épisode 3" beside it."""
    # The runs of digits compared as text (one pattern for every episode: a pattern per number
    # filled re's cache and compiled one per page).
    return number is not None and str(number) in _DIGITS.findall(title)


@dataclass(frozen=True)
class Platform:
    key: str
    label: str
    url: str
    icon: str  # a symbol of assets/icons.svg


def subscribe_links(show: Show) -> tuple[Platform, ...]:
    """The listening platforms the show definition names, in a fixed order; `[links]` entries with
    other names follow, labelled by their name. A tuple: templates key fragments by it (`memo`)."""
    known = {key for key, _, _, _ in PLATFORMS}
    out = []
    for key, label, template, icon in PLATFORMS:
        value = show.links.get(key)
        if value:
            url = value if is_web_url(value) else template.format(quote(value, safe=""))
            out.append(Platform(key, label, url, icon))
    for name, url in sorted(show.links.items()):
        if name not in known and is_web_url(url):  # records refuse the others; a Show made in code too
            out.append(Platform(name, name, url, OTHER_PLATFORM_ICON))
    return tuple(out)


@dataclass(frozen=True)
class PageContext:
    """What every page knows: where it is, how to reach the others, and how it looks."""

    project: Project
    key: str
    base_url: str
    rooted: bool = False  # links from the site's root path: for the 404 page, served at any path
    folders: bool = True  # the server answers a folder's address with its index.html
    theme: Theme | None = None  # the show's colours; the site's own when None
    icon: CoverSet | None = None  # the cover the favicon and touch icon are made from

    def href(self, key: str) -> str:
        """Relative link from this page, so the site works from a folder or any base URL."""
        target = layout.folder(key) if self.folders else key
        if self.rooted:
            return (urlsplit(self.base_url).path or "/") + layout.relative("", target)
        return layout.relative(self.key, target) or "./"

    def srcset(self, renditions: Sequence[Rendition]) -> str:
        """`srcset` of image renditions, linked from this page (`href 300w, href 600w`)."""
        return ", ".join(f"{self.href(r.key)} {r.width}w" for r in renditions)

    def url(self, key: str) -> str:
        """A public URL: pages by their folder where the server answers for one."""
        return layout.absolute(self.base_url, layout.folder(key) if self.folders else key)

    @property
    def canonical(self) -> str:
        """The page's public URL: `…/show/` where the server answers for a folder, else
        `…/show/index.html` (a bare S3 endpoint)."""
        return self.url(self.key)

    @property
    def colours(self) -> Theme:
        return self.theme or DEFAULT

    @property
    def dark_background(self) -> str:
        return DARK_BACKGROUNDS[0]

    def fingerprint(self) -> tuple:
        """What the page's bytes depend on besides its own inputs (for the PageCache)."""
        icons = tuple(r.key for r in self.icon.renditions) if self.icon else None
        return (self.folders, self.theme, icons)


class Sink(Protocol):
    """Where a build's rendered pages go as they are made (`storage.local.EarlyWriter`)."""

    def write(self, key: str, sha256: str, data: bytes) -> None: ...
    def write_here(self, key: str, data: bytes) -> bool: ...
    def written_here(self, key: str, sha256: str) -> None: ...
    def file(self, key: str) -> Path: ...


# What a rendering helper's child sends of one page: key, digest of its inputs, and for a page it
# rendered its sha256, bytes and whether it wrote them itself (`Sink.write_here`).
Captured = tuple[str, str, str | None, bytes | None, bool]


class PageCache:
    """Pages of earlier builds, by a fingerprint of everything a page is made from.

    The fingerprint covers the templates and assets (project and packaged), the code of this
    package, and the page's own inputs (its show, episode, neighbours, cover, transcript file,
    base URL, site settings). A build asks for each page: an unchanged page is read back, a
    changed one rendered and stored. `folder=None` keeps pages in memory only (one process).
    Entries a build did not ask for are removed by `prune()`, so the cache holds one site.
    """

    def __init__(self, project: Project, folder: Path | None = None, stored: bool = False):
        self.folder = folder
        # `stored` (with a folder): pages are handed out as `Stored` rows of the store, never held
        # in memory, so a build's memory does not grow with its pages; the store keeps their
        # sha256 and size, so a page reused is not even read.
        self.stored = stored and folder is not None
        self._lock: int | None = None
        self._store: PageStore | None = None
        self._index: dict[str, tuple[str, int]] = {}
        if folder is not None:
            if self.stored:
                self._hold()
            self._store = PageStore(folder)
            if self.stored:
                self._index = self._store.index()
        self.images: Path | None = None  # where resized covers are kept (images.resize_cover)
        # `stored`: told of each page rendered, to write it at once (`storage.local.EarlyWriter`:
        # `write(key, sha256, bytes)`; in a rendering helper's child, `write_here(key, bytes)`
        # writes it from there, and the build is told `written_here(key, sha256)`); a page reused
        # from the store is not
        self.sink: Sink | None = None
        self.rendered = 0  # pages rendered by templates during this build
        self.reused = 0  # pages taken from the cache
        self.rendered_keys: list[str] = []
        self._memory: dict[str, bytes] = {}
        # the hashed spellings of the large inputs, for the build (episodes included: the show's
        # list pages spell again the episodes their own pages did)
        self._reprs: dict[int, tuple[object, str]] = {}
        # the same, made before the build for the episodes that came through the episode cache
        # (`Catalog.spellings`: the entry's text, not a repr): (episode, spelling, without notes)
        self.spellings: Mapping[int, tuple[Episode, str, str]] = {}
        self._episode_repr = _last_one(repr)  # an episode's pages are made one after the other
        self._without_notes_spelled = _last_one(
            lambda value: _hashed(_spell_without_notes(self._episode_repr(value.episode), value.episode))
        )
        self._used: set[str] = set()
        self._salt = _code_and_templates_fingerprint(project)
        # A rendering helper (`helper.py`): in the child, what `page` made or found, by key; in the
        # build, the pages the child sent, by key: (digest, whether the child rendered it).
        self.capture: list[Captured] | None = None
        self._adopted: dict[str, tuple[str, bool]] = {}

    @classmethod
    def for_project(cls, project: Project, base_url: str, stored: bool = False) -> PageCache:
        """The project's cache on disk (`.grandirenhlm/pages/`), one folder per base URL so that
        building for two targets in turn does not evict the other's pages."""
        scope = hashlib.sha256(base_url.encode("utf-8")).hexdigest()[:12]
        cache = cls(project, project.cache_dir / "pages" / scope, stored)
        cache.images = project.cache_dir / "covers"
        return cache

    def _repr(self, value: object) -> str:
        """How one input is spelled in a page's key: its repr, or for the large ones (the project,
        the show, the cover, the episode) the SHA-256 of their repr. The project and the show,
        the same objects for every page of a build, are spelled once per build instead of once per
        page (a third of a rebuild's time), and an episode once for its three pages (page, player,
        oEmbed); hashed, they make each page's key a few hundred bytes to hash instead of a few
        thousand (30,000 keys at 10,000 episodes, most of them for pages that did not change)."""
        kind = type(value)  # by exact type: 270,000 inputs at 10,000 episodes, mostly text
        if kind in _SPELLED_AS_REPR:
            return repr(value)
        if kind is Episode:
            known = self.spellings.get(id(value))
            if known is not None and known[0] is value:
                return known[1]
            return self._hashed_once(value, self._episode_repr)
        if kind is tuple:
            if value and type(value[0]) is Episode:
                # a list page's episodes (100 of them, 10,000 across a show's pages), each spelled
                # once per build: repr-ing them again was half of a build after one edit
                return "(" + ", ".join(map(self._repr, value)) + ")"
            return repr(value)
        if kind is _WithoutNotes:
            known = self.spellings.get(id(value.episode))
            if known is not None and known[0] is value.episode:
                return known[2]
            return self._without_notes_spelled(value)
        if kind in _SPELLED_ONCE:
            return self._hashed_once(value, repr)
        return repr(value)

    def _hashed_once(self, value: object, spell: Callable[[object], str]) -> str:
        """`_hashed(spell(value))`, made once per build for each object (kept, so its id stays its)."""
        hit = self._reprs.get(id(value))
        if hit is None or hit[0] is not value:
            hit = self._reprs[id(value)] = (value, _hashed(spell(value)))
        return hit[1]

    def page(self, key: str, inputs: tuple, render_page: Callable[[], bytes]) -> bytes | Stored:
        adopted = self._adopted.pop(key, None)
        if adopted is not None:  # made (or found in the store) by the helper, for these same inputs
            digest, rendered = adopted
            self._used.add(digest)
            if not rendered:
                self.reused += 1
            assert self._store is not None
            return Stored(self._store, digest, *self._index[digest])
        spelled = ", ".join(map(self._repr, inputs))
        digest = hashlib.sha256(f"{self._salt}\0{key}\0{spelled}".encode()).hexdigest()
        self._used.add(digest)
        if self.stored:
            return self._stored(digest, key, render_page)
        data = self._memory.get(digest)
        if data is None and self._store is not None:
            data = self._store.get(digest)
        if data is not None:
            self.reused += 1
            return data
        data = self._render(key, render_page)
        self._memory[digest] = data
        if self._store is not None:
            self._store.put(digest, hashlib.sha256(data).hexdigest(), data)
        return data

    def _render(self, key: str, render_page: Callable[[], bytes]) -> bytes:
        self.rendered += 1
        self.rendered_keys.append(key)
        return render_page()

    def _stored(self, digest: str, key: str, render_page: Callable[[], bytes]) -> Stored:
        assert self._store is not None
        known = self._index.get(digest)
        if self.capture is not None:  # the helper's child: sent to the build, which stores it
            if known is not None:
                self.capture.append((key, digest, None, None, False))
                return Stored(self._store, digest, *known)
            data = render_page()
            sha256 = hashlib.sha256(data).hexdigest()
            written = self.sink is not None and self.sink.write_here(key, data)
            self.capture.append((key, digest, sha256, data, written))
            return Stored(self._store, digest, sha256, len(data))
        if known is not None:
            self.reused += 1
            return Stored(self._store, digest, *known)
        data = self._render(key, render_page)
        sha256 = hashlib.sha256(data).hexdigest()
        self._keep(key, digest, sha256, data)
        return Stored(self._store, digest, sha256, len(data))

    def _keep(self, key: str, digest: str, sha256: str, data: bytes, written: bool = False) -> None:
        assert self._store is not None
        self._store.put(digest, sha256, data)
        self._index[digest] = (sha256, len(data))
        if self.sink is not None:
            if written:
                self.sink.written_here(key, sha256)
            else:
                self.sink.write(key, sha256, data)

    def adopt(self, pages: list[Captured]) -> None:
        """Pages the helper's child captured (`capture`), taken as if this build had made them:
        stored and handed to `sink` now, handed out by `page` when the build asks for them."""
        for key, digest, sha256, data, written in pages:
            rendered = data is not None and digest not in self._index
            if rendered:
                assert sha256 is not None and data is not None
                self.rendered += 1
                self.rendered_keys.append(key)
                self._keep(key, digest, sha256, data, written)
            self._adopted[key] = (digest, rendered)

    def _hold(self) -> None:
        """Stored pages are rows a later step sends: while this build holds the folder (shared),
        no other build's `prune` deletes them; `close()` lets go."""
        assert self.folder is not None
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = os.open(
            self.folder / ".lock", os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644
        )
        fcntl.flock(self._lock, fcntl.LOCK_SH)

    def close(self) -> None:
        """The pages handed out are sent: other builds may prune them."""
        if self._store is not None:
            self._store.close()
            self._store = None
        if self._lock is not None:
            os.close(self._lock)  # releases the lock
            self._lock = None

    def prune(self) -> None:
        """Forget the pages this build did not ask for (old versions), unless another build is
        using the cache (its pages are then pruned by a later build). The build's last call: what
        found its pages is let go too (at 10,000 episodes, 30,000 rows of the index and as many
        digests), before the site is written; the store stays open for the pages it holds."""
        try:
            self._prune()
        finally:
            self._index, self._used, self._reprs, self.spellings = {}, set(), {}, {}

    def _prune(self) -> None:
        self._memory = {k: v for k, v in self._memory.items() if k in self._used}
        if self._store is None or self.folder is None:
            return
        lock = (
            self._lock
            if self._lock is not None
            else os.open(self.folder / ".lock", os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        )
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # ours alone (an upgrade of our shared hold)
        except BlockingIOError:
            self._store.commit()
            alone = False
        else:
            alone = True
        try:
            if alone:
                self._store.delete_except(self._used)
                for entry in os.scandir(self.folder):  # one file per page, as earlier versions kept them
                    if entry.name.endswith(".html") or entry.name == "index.json":
                        with contextlib.suppress(OSError):
                            os.unlink(entry.path)
        finally:
            if lock is self._lock:
                fcntl.flock(lock, fcntl.LOCK_SH)  # back to a shared hold until `close()`
            else:
                os.close(lock)


def _code_and_templates_fingerprint(project: Project) -> str:
    """Hash of every template and asset file and of this package's code: any edit re-renders all."""
    digest = hashlib.sha256()
    folders = (project.templates_dir, default_templates_dir(), Path(__file__).resolve().parent)
    for folder in folders:
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                if path.is_file() and path.suffix in (
                    ".py",
                    ".html",
                    ".xml",
                    ".xsl",
                    ".txt",
                    ".css",
                    ".js",
                    ".svg",
                ):
                    digest.update(str(path).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _file_stamp(path: Path | None) -> tuple | None:
    """A file's identity for the cache: path, size and modification time (as the ingest cache)."""
    if path is None:
        return None
    try:
        st = path.stat()
    except OSError:
        return (str(path), None)
    return (str(path), st.st_size, st.st_mtime_ns)


class _CoverId(tuple):
    """What a page's cache key holds of its cover; spelled like a tuple, made once per cover, so
    that `PageCache._repr` spells it once per build, as the show's."""

    __slots__ = ()


# Inputs of a page key spelled by their repr, and those spelled once per build (`PageCache._repr`).
_SPELLED_AS_REPR = frozenset({str, bool, int, float, type(None)})
_SPELLED_ONCE = frozenset({Project, Show, _CoverId})

T = TypeVar("T")
R = TypeVar("R")


def _last_one(make: Callable[[T], R]) -> Callable[[T], R]:
    """`make`, remembering its answer for the last argument (by identity): the pages of a build ask
    about the same cover, and the same episode two or three times in a row. Safe from any thread
    (the pair is read and replaced whole)."""
    last: list[tuple] = [(None, None)]

    def remembered(value: T) -> R:
        known, made = last[0]
        if known is not value:
            made = make(value)
            last[0] = (value, made)
        return made

    return remembered


@_last_one
def _cover_id(cover: CoverSet) -> _CoverId:
    return _CoverId((cover.original, cover.width, cover.height, tuple(r.key for r in cover.renditions)))


def _neighbour_id(episode: Episode | None) -> tuple | None:
    return None if episode is None else (episode.show, episode.slug, episode.title)


def _cached(cache: PageCache | None, key: str, inputs: tuple, render_page: Callable[[], bytes]) -> bytes:
    return render_page() if cache is None else cache.page(key, inputs, render_page)


def render(
    env: jinja2.Environment, name: str, ctx: PageContext, *, streamed: bool = False, **values: object
) -> bytes:
    """The page `name` renders for `ctx`. `streamed`: a long page (the sitemap's 20,000 URLs at
    10,000 episodes) encoded a thousand pieces at a time from Jinja2's stream, instead of the list
    of all its pieces (`render` joins one) and its whole text beside its bytes."""
    try:
        template = env.get_template(name)
        names = {"page": ctx, "site": ctx.project, "layout": layout, "pages": SITE_PAGES, **values}
        if not streamed:
            return template.render(**names).encode("utf-8")
        out = io.BytesIO()
        pieces = template.generate(**names)
        while batch := list(itertools.islice(pieces, 1000)):  # (a piece may be empty)
            out.write("".join(batch).encode("utf-8"))
        return out.getvalue()
    except jinja2.TemplateNotFound as exc:
        raise ConfigError(f"templates/{exc.name}: template not found") from exc
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(f"{exc.filename or exc.name}:{exc.lineno}: template error: {exc.message}") from exc
    except jinja2.UndefinedError as exc:
        raise ConfigError(f"templates/{name}: {exc.message}") from exc


@dataclass(frozen=True)
class ShowCard:
    """What the home page shows of one show."""

    show: Show
    cover: CoverSet
    count: int  # published episodes
    latest: Episode | None  # the newest of them


def render_home(
    env,
    project: Project,
    base_url: str,
    shows: Sequence[ShowCard],
    cache: PageCache | None = None,
    *,
    folders: bool = True,
    icon: CoverSet | None = None,
) -> bytes:
    """The home page: one card per show (`ShowCard`)."""
    ctx = PageContext(project, "index.html", base_url, folders=folders, icon=icon)
    inputs = (
        project,
        base_url,
        ctx.fingerprint(),
        [
            (c.show, _cover_id(c.cover), c.count, _neighbour_id(c.latest), c.latest and c.latest.pub_date)
            for c in shows
        ],
    )
    return _cached(cache, ctx.key, inputs, lambda: render(env, "home.html", ctx, shows=shows))


def ordered_episodes(show: Show, episodes: Sequence[Episode]) -> list[Episode]:
    """Series order for a serial, newest first otherwise."""
    if show.show_type == "serial":
        return sorted(episodes, key=lambda e: (e.season or 0, e.number or 0, e.pub_date))
    return sorted(episodes, key=episode_order, reverse=True)


# Episodes listed on one page of a show: an archive of 10,000 episodes is 100 pages of a few hundred
# KiB each, not one page of 12 MiB that a phone must load whole (and that any edit makes again).
SHOW_PAGE_EPISODES = 100


@dataclass(frozen=True)
class Paging:
    """Where a page of a show's list stands (`show.html` links its neighbours). Pages hold fixed
    blocks of `SHOW_PAGE_EPISODES`, counted from the show's first episode, so that a new episode
    changes one page (and, when it opens a new block, its neighbour's link), not every page."""

    number: int | None  # None: the show's own page
    previous: str | None  # the page before in reading order: newer episodes, or earlier in a serial
    next: str | None
    start: int  # the position, from the show's first episode, of the first one listed


def show_blocks(show: Show, episodes: Sequence[Episode]) -> list[tuple[int | None, list[Episode], int]]:
    """The show's list pages in reading order: (page number or None for the show's page, its
    episodes as listed, position of the first one listed counted from the show's first episode).

    A serial reads from its first episode: the show's page holds the first block, page 2 the next...
    and only the last page grows. Otherwise newest first: page 1 holds the oldest block, page 2 the
    next..., and the show's page the newest 100 to 199 (a block is archived once 100 newer episodes
    follow it), so that new episodes change only the show's page."""
    n, size = len(episodes), SHOW_PAGE_EPISODES
    if show.show_type == "serial":
        ordered = ordered_episodes(show, episodes)
        blocks = [ordered[i : i + size] for i in range(0, n, size)] or [[]]
        return [(None if k == 0 else k + 1, block, k * size + 1) for k, block in enumerate(blocks)]
    oldest_first = ordered_episodes(show, episodes)[::-1]
    archived = max(0, (n - size) // size)  # full blocks before the show page's 100 to 199
    pages = [(None, oldest_first[archived * size :][::-1], n)]
    for k in range(archived, 0, -1):
        pages.append((k, oldest_first[(k - 1) * size : k * size][::-1], k * size))
    return pages


def show_pages(
    env,
    project: Project,
    base_url: str,
    show: Show,
    cover: CoverSet,
    episodes: Sequence[Episode],
    cache: PageCache | None = None,
    *,
    folders: bool = True,
    theme: Theme | None = None,
) -> list[Callable[[], tuple[str, bytes | Stored]]]:
    """The show's list pages (`show_blocks`), the show's own page first (also when it has no
    episode yet): for each, a function that renders it (or finds it in `cache`) and gives (key,
    page), so that a build can share them with its helper (`build._show_tail`)."""
    blocks = show_blocks(show, episodes)
    keys = [layout.show_page(show, number) for number, _, _ in blocks]

    def page(i: int) -> tuple[str, bytes | Stored]:
        number, listed, start = blocks[i]
        paging = Paging(
            number,
            keys[i - 1] if i > 0 else None,
            keys[i + 1] if i + 1 < len(keys) else None,
            start,
        )
        ctx = PageContext(project, keys[i], base_url, folders=folders, theme=theme, icon=cover)
        inputs = (project, base_url, ctx.fingerprint(), show, _cover_id(cover), tuple(listed), paging)
        made = _cached(cache, keys[i], inputs, lambda: _render_show(env, ctx, show, cover, listed, paging))
        return keys[i], made

    return [partial(page, i) for i in range(len(blocks))]


def _render_show(env, ctx: PageContext, show: Show, cover: CoverSet, ordered, paging: Paging) -> bytes:
    data = {
        "@context": "https://schema.org",
        "@type": "PodcastSeries",
        "name": show.title,
        "description": show.description,
        "url": ctx.url(layout.show_page(show)),
        "webFeed": ctx.url(layout.feed(show)),
        "inLanguage": show.language,
        "author": {"@type": "Organization", "name": show.author},
        "image": ctx.url(_og_image(cover)),
    }
    return render(
        env,
        "show.html",
        ctx,
        show=show,
        cover=cover,
        episodes=ordered,
        players={e.guid: list_player(e) for e in ordered},
        platforms=subscribe_links(show),
        structured=data,
        og_image=_og_image(cover),
        paging=paging,
    )


def list_player(episode: Episode) -> tuple[str, str, str] | None:
    """(element, media key, MIME type) a list plays an episode with: its audio, or the audio-only
    version of a video when it has one (a row of videos would be heavy), else the video."""
    media = episode.media
    if media is None:
        return None
    if media.is_video:
        audio = next((a for a in episode.alternates if not a.is_video), None)
        if audio is not None:
            return ("audio", layout.alternate_media(episode, audio.path.name), audio.mime_type)
        return ("video", layout.media(episode), media.mime_type)
    return ("audio", layout.media(episode), media.mime_type)


def render_subscribe(
    env,
    project: Project,
    base_url: str,
    show: Show,
    cover: CoverSet,
    cache: PageCache | None = None,
    *,
    folders: bool = True,
    theme: Theme | None = None,
) -> bytes:
    """The show's subscribe page: the platforms of `[links]`, the feed address to copy, and how
    to add it in any podcast app. Every subscribe link of the pages leads here, never to raw XML."""
    ctx = PageContext(
        project, layout.subscribe_page(show), base_url, folders=folders, theme=theme, icon=cover
    )
    inputs = (project, base_url, ctx.fingerprint(), show, _cover_id(cover))
    return _cached(
        cache,
        ctx.key,
        inputs,
        lambda: render(env, "subscribe.html", ctx, show=show, cover=cover, platforms=subscribe_links(show)),
    )


def render_episode(
    env,
    project: Project,
    base_url: str,
    show: Show,
    cover: CoverSet,
    episode: Episode,
    previous: Episode | None,
    following: Episode | None,
    transcript: Transcript | None = None,
    cache: PageCache | None = None,
    *,
    folders: bool = True,
    theme: Theme | None = None,
    key: str | None = None,
) -> bytes:
    """`transcript`: the episode's, already loaded (else read from `episode.transcript`); `key`:
    the page's (`layout.episode_page`), when the caller made it (one string for the page's
    artifact and the cache's bookkeeping, not two: 30,000 pages at 10,000 episodes)."""
    key = key or layout.episode_page(episode)
    inputs = (
        project,
        base_url,
        (folders, theme),
        show,
        _cover_id(cover),
        episode,
        _neighbour_id(previous),
        _neighbour_id(following),
        _file_stamp(episode.transcript),
    )
    return _cached(
        cache,
        key,
        inputs,
        lambda: _render_episode(
            env, project, base_url, show, cover, episode, previous, following, transcript, folders, theme
        ),
    )


def _render_episode(
    env,
    project: Project,
    base_url: str,
    show: Show,
    cover: CoverSet,
    episode: Episode,
    previous: Episode | None,
    following: Episode | None,
    transcript: Transcript | None,
    folders: bool = True,
    theme: Theme | None = None,
) -> bytes:
    ctx, values = episode_values(
        project, base_url, show, cover, episode, previous, following, transcript, folders=folders, theme=theme
    )
    return render(env, "episode.html", ctx, **values)


def episode_values(
    project: Project,
    base_url: str,
    show: Show,
    cover: CoverSet,
    episode: Episode,
    previous: Episode | None,
    following: Episode | None,
    transcript: Transcript | None = None,
    *,
    folders: bool = True,
    theme: Theme | None = None,
    key: str | None = None,
) -> tuple[PageContext, dict]:
    """What `episode.html` (and, with `key`, the player page `embed.html`) is rendered with,
    besides `page`, `site`, `layout` and `pages`."""
    ctx = PageContext(
        project, key or layout.episode_page(episode), base_url, folders=folders, theme=theme, icon=cover
    )
    media = episode.media
    og_image = _og_image(cover)
    image_url = ctx.url(og_image)
    canonical = ctx.url(layout.episode_page(episode))
    if transcript is None and episode.transcript is not None:
        transcript = load_transcript(episode.transcript, language=show.language)
    transcript_links = (
        [
            (TRANSCRIPT_LABELS[f.extension], layout.transcript(episode, f.extension), f.mime_type)
            for f in FORMATS
        ]
        if transcript is not None
        else []
    )
    captions = next((key for _, key, mime in transcript_links if mime == "text/vtt"), None)
    data: dict = {
        "@context": "https://schema.org",
        "@type": "PodcastEpisode",
        "name": episode.title,
        "description": episode.description,
        "url": canonical,
        "datePublished": episode.pub_date.isoformat(),
        "inLanguage": show.language,
        "image": image_url,
        "partOfSeries": {
            "@type": "PodcastSeries",
            "name": show.title,
            "url": ctx.url(layout.show_page(show)),
        },
    }
    if episode.number is not None:
        data["episodeNumber"] = episode.number
    if media is not None:
        data["duration"] = iso_duration(media.duration_seconds)
        data["associatedMedia"] = {
            "@type": "VideoObject" if media.is_video else "AudioObject",
            "contentUrl": ctx.url(layout.media(episode)),
            "encodingFormat": media.mime_type,
            "contentSize": str(media.size),
            "duration": iso_duration(media.duration_seconds),
            "name": episode.title,
            "uploadDate": episode.pub_date.isoformat(),
            "description": episode.description,
            "thumbnailUrl": image_url,
        }
    return ctx, dict(
        show=show,
        cover=cover,
        episode=episode,
        previous=previous,
        following=following,
        transcript=transcript,
        transcript_links=transcript_links,
        captions=captions,
        alternates=[(m, f"media/{episode.show}/{m.path.name}") for m in episode.alternates],
        poster=layout.poster(episode)  # the video's own frame, else the show's cover
        or (
            (cover.nearest(1200, "image/webp") or cover.nearest(1200) or cover).key
            if cover.renditions
            else cover.original
        ),
        structured=data,
        og_image=og_image,
        platforms=subscribe_links(show),
        canonical=canonical,
        embed=embed_code(ctx, show, episode),
    )


TRANSCRIPT_LABELS = {".vtt": "WebVTT", ".srt": "SubRip (SRT)", ".json": "JSON", ".html": "HTML"}


def embed_size(episode: Episode) -> tuple[int, int]:
    """Width and height of the player page's iframe (the page scrolls inside when it is longer)."""
    video = episode.media is not None and episode.media.is_video
    return EMBED_WIDTH, EMBED_HEIGHT["video" if video else "audio"]


def embed_code(ctx: PageContext, show: Show, episode: Episode) -> str:
    """The iframe another site pastes to play the episode: the episode page offers it to copy,
    and the oEmbed JSON carries it."""
    width, height = embed_size(episode)
    title = f"Lecteur : {episode.title} ({show.title})"
    return (
        f'<iframe src="{html.escape(ctx.url(layout.embed_page(episode)))}" width="{width}" '
        f'height="{height}" title="{html.escape(typo_fr(title))}" loading="lazy" '
        'style="border: 0; max-width: 100%;"></iframe>'
    )


def render_embed(
    env,
    project: Project,
    base_url: str,
    show: Show,
    cover: CoverSet,
    episode: Episode,
    transcript: Transcript | None = None,
    cache: PageCache | None = None,
    *,
    folders: bool = True,
    theme: Theme | None = None,
    key: str | None = None,
) -> bytes:
    """The episode's player page for an iframe: player, title, show, cover, chapters and
    transcript that seek; nothing from another origin, no cookie, `preload="none"` (`key`: as
    for `render_episode`)."""
    key = key or layout.embed_page(episode)
    inputs = (
        project,
        base_url,
        (folders, theme),
        show,
        _cover_id(cover),
        _without_notes(episode),
        _file_stamp(episode.transcript),
    )

    def make() -> bytes:
        ctx, values = episode_values(
            project,
            base_url,
            show,
            cover,
            episode,
            None,
            None,
            transcript,
            folders=folders,
            theme=theme,
            key=key,
        )
        return render(env, "embed.html", ctx, **values)

    return _cached(cache, key, inputs, make)


def render_oembed(
    project: Project,
    base_url: str,
    show: Show,
    cover: CoverSet,
    episode: Episode,
    cache: PageCache | None = None,
    *,
    folders: bool = True,
    key: str | None = None,
) -> bytes:
    """The episode's oEmbed 1.0 JSON (https://oembed.com/, type `rich`), which the episode page
    announces with `<link rel="alternate" type="application/json+oembed">` (`key`: as for
    `render_episode`)."""
    key = key or layout.oembed(episode)
    ctx = PageContext(project, key, base_url, folders=folders)

    def make() -> bytes:
        width, height = embed_size(episode)
        thumbnail = cover.nearest(600) or None
        data = {
            "version": "1.0",
            "type": "rich",
            "title": typo_fr(episode.title),
            "author_name": show.author,
            "author_url": ctx.url(layout.show_page(show)),
            "provider_name": project.site_title,
            "provider_url": ctx.url("index.html"),
            "html": embed_code(ctx, show, episode),
            "width": width,
            "height": height,
            "cache_age": 86400,
        }
        if thumbnail is not None:
            data.update(
                thumbnail_url=ctx.url(thumbnail.key),
                thumbnail_width=thumbnail.width,
                thumbnail_height=thumbnail.height,
            )
        else:
            data.update(
                thumbnail_url=ctx.url(cover.original),
                thumbnail_width=cover.width,
                thumbnail_height=cover.height,
            )
        return _flat_json(data).encode("utf-8")

    inputs = (project, base_url, folders, show, _cover_id(cover), _without_notes(episode))
    return _cached(cache, key, inputs, make)


def _flat_json(data: dict[str, str | int]) -> str:
    """`json.dumps(data, ensure_ascii=False, indent=1)` and a newline, for a dict of strings and
    numbers, by the C encoder (with `indent`, json uses its pure-Python one: 30 us a document
    against 12, 10,000 oEmbed documents at 10,000 episodes). JSON strings hold no raw newline,
    so the separator can only stand between members."""
    assert all(isinstance(value, str | int | float) for value in data.values())
    members = json.dumps(data, ensure_ascii=False, separators=(",\n ", ": "))[1:-1]
    return "{\n " + members + "\n}\n" if members else "{}\n"


class _WithoutNotes:
    """The episode as its player page and oEmbed JSON see it, in their cache keys: they do not show
    its notes, so a corrected description re-renders neither. Spelled as the episode with an empty
    description (`PageCache._repr`: cut out of the episode's own spelling, made for its page)."""

    __slots__ = ("episode",)

    def __init__(self, episode: Episode) -> None:
        self.episode = episode

    def __repr__(self) -> str:
        return _spell_without_notes(repr(self.episode), self.episode)


# The same object for both pages (made one after the other), spelled once (`PageCache._repr`).
_without_notes = _last_one(_WithoutNotes)


def _spell_without_notes(spelled: str, episode: Episode) -> str:
    """`repr(replace(episode, description=""))`, from `spelled`, the episode's repr: its notes cut
    out where they appear once (they always appear where the field is, so once means there),
    else the copy made and spelled (notes also found in another field's text)."""
    notes = f", description={episode.description!r}, "
    at = spelled.find(notes)
    if at < 0 or spelled.find(notes, at + 1) >= 0:
        return repr(replace(episode, description=""))
    return f"{spelled[:at]}, description='', {spelled[at + len(notes) :]}"


OEMBED_TYPE = CONTENT_TYPES[".json"]  # oEmbed answers are application/json


def site_pages(
    env,
    project: Project,
    base_url: str,
    page_keys: Sequence[str],
    cache: PageCache | None = None,
    *,
    folders: bool = True,
    icon: CoverSet | None = None,
) -> list[tuple[str, str, bytes]]:
    """(key, content type, bytes) of the pages outside the shows, the feeds' XSLT stylesheet, then
    `sitemap.xml` listing `page_keys` and those pages (not the 404), and `robots.txt`. More pages
    than one sitemap may list (`SITEMAP_URLS`): numbered sitemaps of that many, and `sitemap.xml`
    is their index."""
    listed = sorted({*page_keys, ACCESSIBILITY_PAGE, LEGAL_PAGE} - {NOT_FOUND_PAGE})
    look = (folders, tuple(r.key for r in icon.renditions) if icon else None)

    def sitemap(key: str, keys: list[str], template: str = "sitemap.xml") -> tuple:
        # its page key holds the digest of what it lists, not its 20,000 keys spelled out
        listing = hashlib.sha256()
        for k in keys:
            listing.update(k.encode("utf-8", "surrogateescape") + b"\0")
        make = partial(render_sitemap, env, project, base_url, keys, folders, key, template)
        return (key, XML, ("listing", listing.hexdigest()), make)

    if len(listed) <= SITEMAP_URLS:
        sitemaps = [sitemap("sitemap.xml", listed)]
    else:
        parts = {
            sitemap_part(n): listed[start : start + SITEMAP_URLS]
            for n, start in enumerate(range(0, len(listed), SITEMAP_URLS), start=1)
        }
        sitemaps = [sitemap(key, keys) for key, keys in parts.items()]
        sitemaps.append(sitemap("sitemap.xml", list(parts), "sitemapindex.xml"))

    def page(key: str, template: str, **values: object) -> Callable[[], bytes]:
        return lambda: render_site_page(
            env, project, base_url, key, template, folders=folders, icon=icon, **values
        )

    made = [
        (ACCESSIBILITY_PAGE, HTML, (), page(ACCESSIBILITY_PAGE, "accessibility.html")),
        # its notice made only when the page is (the stats package is not imported for a page reused)
        (LEGAL_PAGE, HTML, (), lambda: page(LEGAL_PAGE, "legal.html", audience_notice=_audience_notice())()),
        (NOT_FOUND_PAGE, HTML, (), page(NOT_FOUND_PAGE, "404.html")),
        (layout.FEED_STYLESHEET, XML, (), page(layout.FEED_STYLESHEET, "feed.xsl")),
        *sitemaps,
        ("robots.txt", "text/plain; charset=utf-8", (), lambda: render_robots(env, project, base_url)),
    ]
    return [
        (key, content_type, _cached(cache, key, (project, base_url, look, extra), make))
        for key, content_type, extra, make in made
    ]


def render_site_page(
    env,
    project: Project,
    base_url: str,
    key: str,
    template: str,
    *,
    folders: bool = True,
    icon: CoverSet | None = None,
    **values: object,
) -> bytes:
    """A page of the site outside the shows: accessibility statement, legal notice, 404; and the
    feeds' XSLT stylesheet, whose links are relative to the feed it styles."""
    ctx = PageContext(project, key, base_url, rooted=key == NOT_FOUND_PAGE, folders=folders, icon=icon)
    return render(env, template, ctx, **values)


def _audience_notice() -> str:
    """The legal notice's paragraph on download counting (`[site.legal] audience_measurement`)."""
    from grandirenhlm.stats.report import privacy_notice_fr

    return privacy_notice_fr()


# sitemaps.org 0.9: a sitemap lists at most 50,000 URLs (a site of 25,000 episodes has more pages);
# more are listed by numbered sitemaps that a sitemap index names.
SITEMAP_URLS = 50_000


def sitemap_part(n: int) -> str:
    """The key of the `n`th sitemap (from 1) of a site whose pages need more than one."""
    return f"sitemap-{n}.xml"


def render_sitemap(
    env,
    project: Project,
    base_url: str,
    keys: Sequence[str],
    folders: bool = True,
    key: str = "sitemap.xml",
    template: str = "sitemap.xml",
) -> bytes:
    """`sitemap.xml` (sitemaps.org 0.9): the public URL of each page; with the template
    `sitemapindex.xml`, a sitemap index: the URL of each sitemap of `keys`."""
    ctx = PageContext(project, key, base_url, folders=folders)
    return render(env, template, ctx, streamed=True, keys=keys)


def render_robots(env, project: Project, base_url: str) -> bytes:
    ctx = PageContext(project, "robots.txt", base_url)
    return render(env, "robots.txt", ctx)


def _og_image(cover: CoverSet) -> str:
    """Open Graph and schema.org image: the 1200-px JPEG when there is one, else the original."""
    rendition = cover.nearest(1200, "image/jpeg")
    return rendition.key if rendition else cover.original
