"""`grandirenhlm check`: what would go wrong on the platforms, found before publishing.

Errors in the files themselves (types, missing keys, unknown keys) are raised while loading the
catalog (`load_catalog`). This linter then applies the platforms' rules, one finding per problem,
each naming the show or episode file and the field:

- Apple Podcasts: its category list, description <= 4000 bytes once rendered as content:encoded,
  an RSS language code, ASCII-only http(s) URLs, artwork (warnings);
- PSP-1 / Podcasting 2.0: podcast:guid a UUIDv5, person groups of the Podcast Taxonomy, the
  purpose of a txt (the rules of `namespace.py`, which the feed applies too), updateFrequency on a
  complete series, transcripts that parse;
- chapters: strictly increasing, inside the media, first at 0 and at least three (what Apple
  and Spotify need to read them; warnings);
- with `deep`, media files re-hashed against their records.

`publish` runs it first and publishes nothing if it finds an error.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from lxml import etree
from PIL import Image

from grandirenhlm import chapters as chaps
from grandirenhlm import layout
from grandirenhlm import namespace as ns
from grandirenhlm.catalog import Catalog
from grandirenhlm.config import Project, is_loopback_url
from grandirenhlm.errors import ConfigError, GrandirError, ValidationError
from grandirenhlm.feed import MAX_DESCRIPTION_BYTES, description_html, episode_description
from grandirenhlm.files import display_path, sha256_file
from grandirenhlm.images import open_image
from grandirenhlm.media import artwork_problems
from grandirenhlm.model import Cover, Episode, Person, Show
from grandirenhlm.names import slug_problem
from grandirenhlm.theme import theme_problems
from grandirenhlm.transcripts import load_transcript

# RSS language codes (https://www.rssboard.org/rss-language-codes) and their BCP 47 forms: fr, fr-FR, fr-ca.
LANGUAGE = re.compile(r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$")

# Apple Podcasts categories (https://podcasters.apple.com/support/1691-apple-podcasts-categories).
APPLE_CATEGORIES: dict[str, tuple[str, ...]] = {
    "Arts": ("Books", "Design", "Fashion & Beauty", "Food", "Performing Arts", "Visual Arts"),
    "Business": ("Careers", "Entrepreneurship", "Investing", "Management", "Marketing", "Non-Profit"),
    "Comedy": ("Comedy Interviews", "Improv", "Stand-Up"),
    "Education": ("Courses", "How To", "Language Learning", "Self-Improvement"),
    "Fiction": ("Comedy Fiction", "Drama", "Science Fiction"),
    "Government": (),
    "History": (),
    "Health & Fitness": (
        "Alternative Health",
        "Fitness",
        "Medicine",
        "Mental Health",
        "Nutrition",
        "Sexuality",
    ),
    "Kids & Family": ("Education for Kids", "Parenting", "Pets & Animals", "Stories for Kids"),
    "Leisure": (
        "Animation & Manga",
        "Automotive",
        "Aviation",
        "Crafts",
        "Games",
        "Hobbies",
        "Home & Garden",
        "Video Games",
    ),
    "Music": ("Music Commentary", "Music History", "Music Interviews"),
    "News": (
        "Business News",
        "Daily News",
        "Entertainment News",
        "News Commentary",
        "Politics",
        "Sports News",
        "Tech News",
    ),
    "Religion & Spirituality": (
        "Buddhism",
        "Christianity",
        "Hinduism",
        "Islam",
        "Judaism",
        "Religion",
        "Spirituality",
    ),
    "Science": (
        "Astronomy",
        "Chemistry",
        "Earth Sciences",
        "Life Sciences",
        "Mathematics",
        "Natural Sciences",
        "Nature",
        "Physics",
        "Social Sciences",
    ),
    "Society & Culture": (
        "Documentary",
        "Personal Journals",
        "Philosophy",
        "Places & Travel",
        "Relationships",
    ),
    "Sports": (
        "Baseball",
        "Basketball",
        "Cricket",
        "Fantasy Sports",
        "Football",
        "Golf",
        "Hockey",
        "Rugby",
        "Running",
        "Soccer",
        "Swimming",
        "Tennis",
        "Volleyball",
        "Wilderness",
        "Wrestling",
    ),
    "Technology": (),
    "True Crime": (),
    "TV & Film": ("After Shows", "Film History", "Film Interviews", "Film Reviews", "TV Reviews"),
}


@dataclass(frozen=True)
class Finding:
    level: str  # "error" or "warning"
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.where}: {self.message}"


class _Findings(list):
    def error(self, where: str, message: str) -> None:
        self.append(Finding("error", where, message))

    def warning(self, where: str, message: str) -> None:
        self.append(Finding("warning", where, message))


def check_catalog(
    catalog: Catalog, deep: bool = False, loudness: bool = False, published: Path | None = None
) -> list[Finding]:
    """Every platform rule the catalog breaks: errors stop `publish`, warnings are advice.

    `loudness` decodes every audio file to measure it (slow: asked for with `check --loudness`).
    `published`: the folder of the last local publish (`public/`); an episode whose GUID differs
    from the one its feed there carries is an error, since apps would list it twice."""
    findings = _Findings()
    if loudness:
        from grandirenhlm.loudness import episode_loudness_problems

        for slug in sorted(catalog.episodes):
            for episode in catalog.episodes[slug]:
                for where, message in episode_loudness_problems(episode):
                    findings.warning(where, message)
    for slug, show in sorted(catalog.shows.items()):
        _check_show(show, findings)
        for message in theme_problems(show):  # the pages' colours: WCAG AA contrast
            findings.error(display_path(show.source), message)
        episodes = catalog.episodes[slug]
        for name, source in ((slug, show.source), *((e.slug, e.source) for e in episodes)):
            if problem := slug_problem(name):  # the file name is the slug in every URL
                findings.error(display_path(source), f"file name: {problem} (rename the file)")
        if not any(e.media is not None and not e.draft for e in episodes):
            findings.warning(display_path(show.source), "no episodes yet: Apple refuses an empty feed")
        for episode in episodes:
            _check_episode(show, episode, findings, deep)
        if published is not None:
            _check_guids_kept(show, episodes, published / layout.feed(show), findings)
            _check_complete_kept(show, episodes, published / layout.feed(show), findings)
        if show.show_type == "serial":
            numbers = sorted(e.number for e in episodes if e.number is not None and e.season is None)
            if numbers and numbers != list(range(1, len(numbers) + 1)):
                findings.warning(
                    display_path(show.source),
                    f"type: serial, but episode numbers {numbers} do not run 1, 2, 3… without gaps",
                )
    return list(findings)


def template_findings(templates_dir: Path, catalog: Catalog) -> list[Finding]:
    """A project's own `show.html` that does not link the pages of a long list (made before the
    lists were paged): the shows with more episodes than a page holds would list only one block."""
    from grandirenhlm.pages import SHOW_PAGE_EPISODES

    own = templates_dir / "show.html"
    long = sorted(slug for slug, eps in catalog.episodes.items() if len(eps) > SHOW_PAGE_EPISODES)
    if not long or not own.is_file():
        return []
    try:
        text = own.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    if "paging" in text:
        return []
    return [
        Finding(
            "warning",
            display_path(own),
            f"does not link the other pages of episodes (`paging`): {', '.join(long)} "
            f"list{'s' if len(long) == 1 else ''} only {SHOW_PAGE_EPISODES} episodes on each page "
            "and nothing leads to the rest; copy the pager of the packaged show.html",
        )
    ]


# Addresses that cannot be anyone's: RFC 2606 / RFC 6761 reserved names.
_RESERVED_DOMAINS = ("example.com", "example.org", "example.net")
_RESERVED_SUFFIXES = (".test", ".invalid", ".example", ".localhost", ".local")


def is_placeholder_email(email: str) -> bool:
    """An address at a reserved example domain (podcasts@example.org), *.test, *.invalid or localhost."""
    domain = email.rpartition("@")[2].strip().lower().rstrip(".")
    return (
        domain in _RESERVED_DOMAINS
        or domain.endswith(tuple("." + d for d in _RESERVED_DOMAINS))
        or domain.endswith(_RESERVED_SUFFIXES)
        or domain in ("localhost", "test", "invalid", "example")
    )


def placeholder_findings(
    project: Project, catalog: Catalog, base_url: str | None, base_url_key: str, level: str = "warning"
) -> list[Finding]:
    """What must not go out to listeners: an owner or contact address at a placeholder domain,
    feeds whose public base URL is this machine. `base_url_key` names where the URL is set."""
    findings = []
    for _, show in sorted(catalog.shows.items()):
        if show.owner and is_placeholder_email(show.owner.email):
            findings.append(
                Finding(
                    level,
                    display_path(show.source),
                    f"owner.email: {show.owner.email} is a placeholder (a reserved domain); put the "
                    "address the platforms write to (Apple and Spotify send ownership codes there)",
                )
            )
    config = project.config_display
    for name, notice in (("accessibility", project.accessibility), ("legal", project.legal)):
        if "@" in notice.contact and is_placeholder_email(notice.contact):
            findings.append(
                Finding(
                    level,
                    config,
                    f"site.{name}.contact: {notice.contact} is a placeholder (a reserved domain); "
                    "put the address listeners may write to",
                )
            )
    if is_loopback_url(base_url):
        findings.append(
            Finding(
                level,
                base_url_key,
                f"{base_url} is this machine: feeds and pages built with it work only here; "
                "set the address listeners reach the site at",
            )
        )
    return findings


def published_guids(feed: Path) -> dict[str, str]:
    """Episode slug -> GUID, as a feed built by this program carries them (slug from the item's link)."""
    try:
        root = etree.parse(str(feed)).getroot()
    except (OSError, etree.XMLSyntaxError):
        return {}
    out = {}
    for item in root.iter("item"):
        link, guid = item.findtext("link"), item.findtext("guid")
        parts = (link or "").split("/")
        if guid and len(parts) >= 2 and parts[-1] == "index.html":
            out[unquote(parts[-2])] = guid
    return out


def _check_guids_kept(show: Show, episodes, feed: Path, findings: _Findings) -> None:
    if not feed.is_file():
        return
    before = published_guids(feed)
    for episode in episodes:
        old = before.get(episode.slug)
        if old is not None and old != episode.guid:
            findings.error(
                display_path(episode.source),
                f"guid: {episode.guid!r} differs from {old!r} in the published {display_path(feed)}; "
                "apps would list the episode twice: put the published GUID back",
            )


def _check_tags(episode: Episode, where: str, findings: _Findings) -> None:
    """Embedded tags (TIT2, COMM, CHAP) that no longer say what the record says (`check --deep`)."""
    from grandirenhlm.mediastore import tag_differences

    try:
        differences = tag_differences(episode)
    except GrandirError as exc:
        findings.error(where, f"media.file: {exc}")
        return
    if differences and episode.media is not None:
        findings.warning(
            where,
            f"media.file: {episode.media.path.name}: embedded tags differ from the record "
            f"({', '.join(differences)}); grandirenhlm retag writes the record's into a new copy",
        )


def _check_complete_kept(show: Show, episodes, feed: Path, findings: _Findings) -> None:
    """A show that went out marked complete and then gains an episode: apps that stopped polling
    it (Apple does for complete shows) never see the new one."""
    if not show.complete or not feed.is_file():
        return
    before = set(published_guids(feed).values())
    if not before:
        return
    added = [e.slug for e in episodes if e.media is not None and not e.draft and e.guid not in before]
    if added:
        findings.warning(
            display_path(show.source),
            f"complete: true, but {', '.join(sorted(added))} came after the feed in {display_path(feed)} "
            "was published; set complete = false and update_frequency to the new rhythm, or apps "
            "that stopped checking a complete show will not see it",
        )


def _check_url(findings: _Findings, where: str, field: str, url: str | None) -> None:
    if url is None:
        return
    if not url.isascii():
        findings.error(where, f"{field}: {url!r} is not ASCII; percent-encode it (Apple rejects other URLs)")
    elif not url.startswith(("https://", "http://")):
        findings.error(where, f"{field}: {url!r} is not an http(s) URL")


def _check_persons(findings: _Findings, where: str, persons: tuple[Person, ...]) -> None:
    for i, p in enumerate(persons):
        _check_rule(findings, where, f"person[{i}].group", ns.person_group, p.group)
        _check_url(findings, where, f"person[{i}].href", p.href)
        _check_url(findings, where, f"person[{i}].img", p.img)


def _check_rule(findings: _Findings, where: str, key: str, rule: Callable[[str], str], value: str) -> None:
    """A `namespace` rule the file may break and still load: its refusal is an error finding."""
    try:
        rule(value)
    except ns.NamespaceError as exc:
        findings.error(where, f"{key}: {exc.problem}")


def _check_show(show: Show, findings: _Findings) -> None:
    where = display_path(show.source)
    if show.category not in APPLE_CATEGORIES:
        findings.error(where, f"category: {show.category!r} is not an Apple Podcasts category")
    elif show.subcategory and show.subcategory not in APPLE_CATEGORIES[show.category]:
        findings.error(where, f"subcategory: {show.subcategory!r} is not a subcategory of {show.category!r}")
    if not LANGUAGE.match(show.language):
        findings.error(where, f"language: {show.language!r} is not an RSS language code like fr or fr-FR")
    size = len(show.description.encode("utf-8"))
    if size > MAX_DESCRIPTION_BYTES:
        findings.error(where, f"description: {size} bytes, Apple allows at most {MAX_DESCRIPTION_BYTES}")
    if show.podcast_guid is None:
        findings.warning(
            where,
            "podcast_guid: missing; compute it once from the first feed URL and keep it when the show moves",
        )
    else:
        _check_rule(findings, where, "podcast_guid", ns.guid, show.podcast_guid)
    for field in ("website", "new_feed_url", "license_url"):
        _check_url(findings, where, field, getattr(show, field))
    for i, f in enumerate(show.funding):
        _check_url(findings, where, f"funding[{i}].url", f.url)
    for i, (_, purpose) in enumerate(show.txt):
        if purpose:
            _check_rule(findings, where, f"txt[{i}].purpose", ns.txt_purpose, purpose)
    _check_persons(findings, where, show.persons)
    if show.complete and not show.update_frequency:
        findings.warning(
            where,
            'update_frequency: missing; a complete series says so with podcast:updateFrequency complete="true"',
        )
    if show.block and show.new_feed_url:
        findings.warning(
            where, "block: true while new_feed_url is set; Apple follows no moved feed it blocks"
        )
    try:
        with open_image(show.image, f"image: {show.image.name}") as img:
            cover = Cover(Image.MIME.get(img.format, "?"), img.width, img.height)
            mode = img.mode
        for problem in artwork_problems(cover, mode):
            # Apple Podcasts rejects a show whose artwork breaks these rules: an error, not advice
            findings.error(where, f"image: {problem}")
    except GrandirError as exc:
        findings.error(where, str(exc))


def _check_episode(show: Show, episode: Episode, findings: _Findings, deep: bool) -> None:
    where = display_path(episode.source)
    if not episode.description:
        findings.warning(where, "description: empty; apps show nothing under the title")
    html_size = len(description_html(episode_description(episode)).encode("utf-8"))
    if html_size > MAX_DESCRIPTION_BYTES:
        findings.error(
            where,
            f"description: {html_size} bytes as HTML with its chapter timestamps, "
            f"Apple allows at most {MAX_DESCRIPTION_BYTES}",
        )
    if not (episode.guid.isascii() and episode.guid.strip() == episode.guid and " " not in episode.guid):
        findings.error(
            where, f"guid: {episode.guid!r} must be ASCII without spaces; it can never change once published"
        )
    _check_url(findings, where, "license_url", episode.license_url)
    _check_persons(findings, where, episode.persons)
    if episode.publish_at and episode.publish_at < episode.pub_date:
        findings.warning(where, "publish_at: before pub_date, so the episode appears at pub_date")
    media = episode.media
    if media is None:
        if episode.live and episode.live.status == "ended":
            findings.warning(
                where, "live: ended, but no [media] yet; ingest the replay to publish it as an episode"
            )
        _check_url(findings, where, "live.url", episode.live.url if episode.live else None)
        return
    if media.duration_seconds <= 0:
        findings.error(where, "media.duration_seconds: 0; apps need a duration")
    for level, message in chaps.chapter_problems(episode.chapters, media.duration_seconds):  # record order
        findings.append(Finding(level, where, message))
    if episode.transcript is not None:
        try:
            transcript = load_transcript(episode.transcript, show.language)
        except ValidationError as exc:
            for problem in exc.problems:
                findings.error(where, f"transcript: {problem}")
        except ConfigError as exc:
            findings.error(where, f"transcript: {exc}")
        else:
            if transcript.duration > media.duration_seconds + 1:
                findings.warning(
                    where,
                    f"transcript: its last cue ends at {transcript.duration:.3f} s, "
                    f"after the media ({media.duration_seconds:.3f} s)",
                )
    elif media.is_video:
        findings.warning(where, "transcript: missing; a video replay should carry captions")
    if episode.poster is not None and episode.poster.is_file():
        try:  # a poster goes on the page as it is: an image within the pixel budget
            with open_image(episode.poster, f"poster: {episode.poster.name}"):
                pass
        except GrandirError as exc:
            findings.error(where, str(exc))
    if deep:
        for field, m in (
            ("media.file", media),
            *((f"alternate[{i}].file", a) for i, a in enumerate(episode.alternates)),
        ):
            if sha256_file(m.path) != m.sha256:
                findings.error(
                    where, f"{field}: {m.path.name} changed since ingest (sha256 differs); ingest it again"
                )
        _check_tags(episode, where, findings)
