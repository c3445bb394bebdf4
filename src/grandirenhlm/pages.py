"""Jinja2 pages: the home page, one page per show and one per episode.

Templates come from the project's `templates/` first, then the packaged defaults, so a project
overrides them file by file (`{% extends "default:base.html" %}` reaches the packaged one).
Autoescape is on and undefined variables are errors.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup

from grandirenhlm import layout
from grandirenhlm.catalog import episode_order
from grandirenhlm.config import Project
from grandirenhlm.errors import ConfigError
from grandirenhlm.files import write_atomic
from grandirenhlm.images import CoverSet
from grandirenhlm.model import Episode, Show
from grandirenhlm.records import is_web_url
from grandirenhlm.text import clock, date_fr, duration_fr, iso_duration, size_fr, text_to_html, typo_fr
from grandirenhlm.transcripts import FORMATS, Transcript, load_transcript

# Pages outside the shows. Their URLs are French, like the pages.
ACCESSIBILITY_PAGE = "accessibilite/index.html"
LEGAL_PAGE = "mentions-legales/index.html"
NOT_FOUND_PAGE = "404.html"
SITE_PAGES = {"accessibility": ACCESSIBILITY_PAGE, "legal": LEGAL_PAGE}  # `pages` in templates

# Listening platforms a show definition may name under `[links]`: the key, the label shown,
# and how an ID (anything not starting with https://) becomes the show's URL there.
PLATFORMS = (
    ("apple_podcasts", "Apple Podcasts", "https://podcasts.apple.com/fr/podcast/id{}"),
    ("spotify", "Spotify", "https://open.spotify.com/show/{}"),
    ("deezer", "Deezer", "https://www.deezer.com/fr/show/{}"),
    ("amazon_music", "Amazon Music", "https://music.amazon.fr/podcasts/{}"),
    ("podcast_index", "Podcast Index", "https://podcastindex.org/podcast/{}"),
)


def default_templates_dir() -> Path:
    """Packaged defaults: the repository's `templates/` in a source checkout (an editable install
    copies them into site-packages once, so that copy would go stale as they are edited), else the
    copy inside the wheel."""
    checkout = Path(__file__).resolve().parents[2] / "templates"
    if (checkout / "base.html").is_file():
        return checkout
    return Path(str(resources.files("grandirenhlm") / "templates"))


def template_environment(project: Project) -> jinja2.Environment:
    default = jinja2.FileSystemLoader(default_templates_dir())
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(
            [
                jinja2.FileSystemLoader(project.templates_dir),
                default,
                jinja2.PrefixLoader({"default": default}, delimiter=":"),  # "default:base.html"
            ]
        ),
        autoescape=jinja2.select_autoescape(["html", "xml"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # one build, templates fixed: no stat() of every template on each page
    )
    env.filters.update(
        date_fr=date_fr,
        duration_fr=duration_fr,
        size_fr=size_fr,
        iso_duration=iso_duration,
        fr=typo_fr,
        paragraphs=lambda text: Markup(text_to_html(typo_fr(text))),
        clock=clock,
        jsonld=jsonld,
    )
    return env


def jsonld(data: dict) -> Markup:
    """A schema.org object for `<script type="application/ld+json">`; `<` is escaped so that no
    text can close the script element."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def subscribe_links(show: Show) -> list[tuple[str, str]]:
    """(label, URL) of the listening platforms the show definition names, in a fixed order;
    `[links]` entries with other names follow, labelled by their name."""
    known = {key for key, _, _ in PLATFORMS}
    out = []
    for key, label, template in PLATFORMS:
        value = show.links.get(key)
        if value:
            out.append((label, value if is_web_url(value) else template.format(value)))
    for name, url in sorted(show.links.items()):
        if name not in known and is_web_url(url):  # records refuse the others; a Show made in code too
            out.append((name, url))
    return out


@dataclass(frozen=True)
class PageContext:
    """What every page knows: where it is, and how to reach the others."""

    project: Project
    key: str
    base_url: str
    rooted: bool = False  # links from the site's root path: for the 404 page, served at any path

    def href(self, key: str) -> str:
        """Relative link from this page, so the site works from a folder or any base URL."""
        if self.rooted:
            return (urlsplit(self.base_url).path or "/") + layout.relative("", key)
        return layout.relative(self.key, key)

    def url(self, key: str) -> str:
        return layout.absolute(self.base_url, key)

    @property
    def canonical(self) -> str:
        """The page's public URL, `…/show/` rather than `…/show/index.html` where the server
        answers for a folder, which `layout.absolute` keeps for bare S3 endpoints."""
        return self.url(self.key)


class PageCache:
    """Pages of earlier builds, by a fingerprint of everything a page is made from.

    The fingerprint covers the templates and assets (project and packaged), the code of this
    package, and the page's own inputs (its show, episode, neighbours, cover, transcript file,
    base URL, site settings). A build asks for each page: an unchanged page is read back, a
    changed one rendered and stored. `folder=None` keeps pages in memory only (one process).
    Entries a build did not ask for are removed by `prune()`, so the cache holds one site.
    """

    def __init__(self, project: Project, folder: Path | None = None):
        self.folder = folder
        self.images: Path | None = None  # where resized covers are kept (images.resize_cover)
        self.rendered = 0  # pages rendered by templates during this build
        self.reused = 0  # pages taken from the cache
        self.rendered_keys: list[str] = []
        self._memory: dict[str, bytes] = {}
        self._used: set[str] = set()
        self._salt = _code_and_templates_fingerprint(project)

    @classmethod
    def for_project(cls, project: Project, base_url: str) -> PageCache:
        """The project's cache on disk (`.grandirenhlm/pages/`), one folder per base URL so that
        building for two targets in turn does not evict the other's pages."""
        scope = hashlib.sha256(base_url.encode("utf-8")).hexdigest()[:12]
        cache = cls(project, project.root / ".grandirenhlm" / "pages" / scope)
        cache.images = project.root / ".grandirenhlm" / "covers"
        return cache

    def page(self, key: str, inputs: tuple, render_page: Callable[[], bytes]) -> bytes:
        digest = hashlib.sha256(repr((self._salt, key, inputs)).encode("utf-8")).hexdigest()
        self._used.add(digest)
        data = self._memory.get(digest)
        if data is None and self.folder is not None:
            try:
                data = (self.folder / f"{digest}.html").read_bytes()
            except OSError:
                data = None
        if data is not None:
            self.reused += 1
            return data
        data = render_page()
        self.rendered += 1
        self.rendered_keys.append(key)
        self._memory[digest] = data
        if self.folder is not None:
            write_atomic(self.folder / f"{digest}.html", data, durable=False)  # no half page read back
        return data

    def prune(self) -> None:
        """Forget the pages this build did not ask for (old versions)."""
        self._memory = {k: v for k, v in self._memory.items() if k in self._used}
        if self.folder is not None and self.folder.is_dir():
            for path in self.folder.iterdir():
                if path.suffix == ".html" and path.stem not in self._used:
                    path.unlink(missing_ok=True)


def _code_and_templates_fingerprint(project: Project) -> str:
    """Hash of every template and asset file and of this package's code: any edit re-renders all."""
    digest = hashlib.sha256()
    folders = (project.templates_dir, default_templates_dir(), Path(__file__).resolve().parent)
    for folder in folders:
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                if path.is_file() and path.suffix in (".py", ".html", ".xml", ".txt", ".css", ".js"):
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


def _cover_id(cover: CoverSet) -> tuple:
    return (cover.original, cover.width, cover.height, tuple(r.key for r in cover.renditions))


def _neighbour_id(episode: Episode | None) -> tuple | None:
    return None if episode is None else (episode.show, episode.slug, episode.title)


def _cached(cache: PageCache | None, key: str, inputs: tuple, render_page: Callable[[], bytes]) -> bytes:
    return render_page() if cache is None else cache.page(key, inputs, render_page)


def render(env: jinja2.Environment, name: str, ctx: PageContext, **values: object) -> bytes:
    try:
        template = env.get_template(name)
        return template.render(page=ctx, site=ctx.project, layout=layout, pages=SITE_PAGES, **values).encode(
            "utf-8"
        )
    except jinja2.TemplateNotFound as exc:
        raise ConfigError(f"templates/{exc.name}: template not found") from exc
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(f"{exc.filename or exc.name}:{exc.lineno}: template error: {exc.message}") from exc
    except jinja2.UndefinedError as exc:
        raise ConfigError(f"templates/{name}: {exc.message}") from exc


def render_home(
    env,
    project: Project,
    base_url: str,
    shows: Sequence[tuple[Show, CoverSet, int]],
    cache: PageCache | None = None,
) -> bytes:
    """`shows`: (show, cover, number of published episodes)."""
    ctx = PageContext(project, "index.html", base_url)
    inputs = (project, base_url, [(s, _cover_id(c), n) for s, c, n in shows])
    return _cached(cache, ctx.key, inputs, lambda: render(env, "home.html", ctx, shows=shows))


def ordered_episodes(show: Show, episodes: Sequence[Episode]) -> list[Episode]:
    """Series order for a serial, newest first otherwise."""
    if show.show_type == "serial":
        return sorted(episodes, key=lambda e: (e.season or 0, e.number or 0, e.pub_date))
    return sorted(episodes, key=episode_order, reverse=True)


def render_show(
    env,
    project: Project,
    base_url: str,
    show: Show,
    cover: CoverSet,
    episodes: Sequence[Episode],
    cache: PageCache | None = None,
) -> bytes:
    key = layout.show_page(show)
    inputs = (project, base_url, show, _cover_id(cover), tuple(episodes))
    return _cached(cache, key, inputs, lambda: _render_show(env, project, base_url, show, cover, episodes))


def _render_show(env, project: Project, base_url: str, show: Show, cover: CoverSet, episodes) -> bytes:
    ctx = PageContext(project, layout.show_page(show), base_url)
    ordered = ordered_episodes(show, episodes)
    data = {
        "@context": "https://schema.org",
        "@type": "PodcastSeries",
        "name": show.title,
        "description": show.description,
        "url": ctx.canonical,
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
        platforms=subscribe_links(show),
        structured=data,
        og_image=_og_image(cover),
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
) -> bytes:
    """`transcript`: the episode's, already loaded (else read from `episode.transcript`)."""
    key = layout.episode_page(episode)
    inputs = (
        project,
        base_url,
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
            env, project, base_url, show, cover, episode, previous, following, transcript
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
) -> bytes:
    ctx, values = episode_values(project, base_url, show, cover, episode, previous, following, transcript)
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
) -> tuple[PageContext, dict]:
    """What `episode.html` is rendered with, besides `page`, `site`, `layout` and `pages`."""
    ctx = PageContext(project, layout.episode_page(episode), base_url)
    media = episode.media
    og_image = _og_image(cover)
    image_url = ctx.url(og_image)
    canonical = ctx.canonical
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
    )


TRANSCRIPT_LABELS = {".vtt": "WebVTT", ".srt": "SubRip (SRT)", ".json": "JSON", ".html": "HTML"}


def site_pages(
    env, project: Project, base_url: str, page_keys: Sequence[str], cache: PageCache | None = None
) -> list[tuple[str, str, bytes]]:
    """(key, content type, bytes) of the pages outside the shows, then `sitemap.xml` listing
    `page_keys` and those pages (not the 404), and `robots.txt`."""
    html = "text/html; charset=utf-8"
    listed = sorted({*page_keys, ACCESSIBILITY_PAGE, LEGAL_PAGE} - {NOT_FOUND_PAGE})
    made = [
        (
            ACCESSIBILITY_PAGE,
            html,
            (),
            lambda: render_site_page(env, project, base_url, ACCESSIBILITY_PAGE, "accessibility.html"),
        ),
        (
            LEGAL_PAGE,
            html,
            (),
            lambda: render_site_page(
                env, project, base_url, LEGAL_PAGE, "legal.html", audience_notice=_audience_notice()
            ),
        ),
        (
            NOT_FOUND_PAGE,
            html,
            (),
            lambda: render_site_page(env, project, base_url, NOT_FOUND_PAGE, "404.html"),
        ),
        (
            "sitemap.xml",
            "application/xml; charset=utf-8",
            tuple(listed),
            lambda: render_sitemap(env, project, base_url, listed),
        ),
        ("robots.txt", "text/plain; charset=utf-8", (), lambda: render_robots(env, project, base_url)),
    ]
    return [
        (key, content_type, _cached(cache, key, (project, base_url, extra), make))
        for key, content_type, extra, make in made
    ]


def render_site_page(
    env, project: Project, base_url: str, key: str, template: str, **values: object
) -> bytes:
    """A page of the site outside the shows: accessibility statement, legal notice, 404."""
    ctx = PageContext(project, key, base_url, rooted=key == NOT_FOUND_PAGE)
    return render(env, template, ctx, **values)


def _audience_notice() -> str:
    """The legal notice's paragraph on download counting (`[site.legal] audience_measurement`)."""
    from grandirenhlm.stats.report import privacy_notice_fr

    return privacy_notice_fr()


def render_sitemap(env, project: Project, base_url: str, keys: Sequence[str]) -> bytes:
    """`sitemap.xml` (sitemaps.org 0.9): the public URL of each page."""
    ctx = PageContext(project, "sitemap.xml", base_url)
    return render(env, "sitemap.xml", ctx, keys=keys)


def render_robots(env, project: Project, base_url: str) -> bytes:
    ctx = PageContext(project, "robots.txt", base_url)
    return render(env, "robots.txt", ctx)


def _og_image(cover: CoverSet) -> str:
    """Open Graph and schema.org image: the 1200-px JPEG when there is one, else the original."""
    rendition = cover.nearest(1200, "image/jpeg")
    return rendition.key if rendition else cover.original
