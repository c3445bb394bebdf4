"""`import`: an existing podcast's feed -> a show definition and one episode record per item, its
identity intact (podcast:guid, every item's guid string and isPermaLink, dates).

    read every page (RFC 5005 atom:link rel="next", loop-safe) ─▶ [SourcePage]
    refuse: locked without --owner-confirmed, a podcast:guid or item guid of another show
    plan: new guids only (a re-import adds what is new and changes nothing else)
    --dry-run stops here, having written nothing
    cover ─▶ feeds/art/<show>.<ext>, feeds/<show>.toml (first import only)
    media, in parallel (resumable, retried) ─▶ probe ─▶ media/<show>/<slug>-<sha256[:12]>.<ext>
    chapters (JSON, else Podlove) and transcript (VTT/JSON/SRT ─▶ our .vtt) ─▶ the record, written last

Each download worker writes its item's record, through `records`, once the item's files are in
place; a failed item is reported and left out, so the next run imports it.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

from grandirenhlm import namespace as ns
from grandirenhlm.config import Project
from grandirenhlm.errors import ConfigError, GrandirError
from grandirenhlm.files import display_path, move_into_place, record_files, write_atomic
from grandirenhlm.importing import convert
from grandirenhlm.importing.fetch import Fetcher, FetchError, describe_size, is_http, read_local
from grandirenhlm.importing.options import ImportOptions, ImportReport, Mismatch
from grandirenhlm.importing.parse import SourceItem, SourcePage, SourcePerson, parse_page
from grandirenhlm.media.types import canonical_type
from grandirenhlm.model import (
    Chapter,
    Episode,
    EpisodeMedia,
    Funding,
    Location,
    Owner,
    Person,
    Show,
)
from grandirenhlm.records import EpisodeRecord, read_toml, write_episode, write_show

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# What a show without an owner address in its feed gets: a reserved domain, which `check` warns
# about and a publish to a remote target refuses, so it is replaced before the show goes out.
PLACEHOLDER_EMAIL = "owner@example.invalid"
DEFAULT_CATEGORY = "Society & Culture"
COVER_TYPES = {"JPEG": (".jpg", "image/jpeg"), "PNG": (".png", "image/png")}


@dataclass(frozen=True)
class _Planned:
    item: SourceItem
    slug: str
    record: Path
    title: str  # the item's title as our plain text (`_title`), made once


@dataclass(frozen=True)
class _Ready:
    planned: _Planned
    media: EpisodeMedia
    alternates: tuple[EpisodeMedia, ...]
    chapters: tuple[Chapter, ...]
    transcript: Path | None
    mismatches: tuple[Mismatch, ...]
    notes: list[str]  # _episode adds what it leaves out


def import_feed(
    project: Project,
    source: str,
    show: str,
    options: ImportOptions | None = None,
    log: Callable[[str], None] = lambda line: None,
) -> ImportReport:
    """Import the podcast whose feed is at `source` (an http(s) URL or a file) as `show`."""
    options = options or ImportOptions()
    if not SLUG.match(show):
        raise ConfigError(f"--show: {show!r} is not a slug (lowercase letters, digits and hyphens)")
    fetcher = Fetcher(options.limits, log)
    report = ImportReport(show=show, source=source, dry_run=options.dry_run)
    pages = read_pages(fetcher, source, report)
    first = pages[0]
    _refuse_locked(first, source, options)
    feed_url = source if is_http(source) else first.self_url
    if first.podcast_guid:
        report.podcast_guid = first.podcast_guid
    elif feed_url and is_http(feed_url):
        report.podcast_guid = ns.podcast_guid(feed_url)
        report.podcast_guid_computed = True
    else:
        raise GrandirError(
            f'{source}: the feed has no podcast:guid and no atom:link rel="self" to compute it from; '
            "import it from its URL"
        )
    items = _merge_items(pages, report)
    show_path = project.feeds_dir / f"{show}.toml"
    ours, others = _known_guids(project, show, report.podcast_guid)
    planned = _plan_items(project, show, items, ours, others, report)
    for p in planned:
        if p.item.image and p.item.image != first.image:  # our records have no artwork per episode
            report.notes.append(
                f"{p.slug}: its own image ({p.item.image}) not imported; the show's cover is used"
            )
    if not show_path.is_file():
        report.show_created = True
        new_show = _show_from(project, show, first, report)
    if options.dry_run:
        report.media_bytes = sum(p.item.enclosure.length or 0 for p in planned if p.item.enclosure)
        report.imported = [display_path(p.record) for p in planned]
        return report
    if report.show_created:
        # Not fsynced, as the records are not: a show definition or cover a crash loses is made again
        # by the next run (the show file is missing); each fsync held the serial start of a 300-item
        # import for 7 to 40 ms on the bench's machine, before any download began.
        image = _download_cover(fetcher, first, project, show, report)
        write_show(show_path, _with_image(new_show, image), durable=False)
    _import_items(project, fetcher, show, planned, report, options, log)
    return report


# ---------------------------------------------------------------- the feed


def read_pages(fetcher: Fetcher, source: str, report: ImportReport) -> list[SourcePage]:
    """Every page of the feed, following `atom:link rel="next"` until none, a page seen before, or
    the page limit."""
    limits = fetcher.limits
    pages: list[SourcePage] = []
    seen: set[str] = set()
    location: str | None = source
    while location is not None:
        if location in seen:
            report.notes.append(f"page {location} links back to a page already read: paging stopped there")
            break
        if len(pages) >= limits.max_pages:
            raise GrandirError(f"{source}: more than {limits.max_pages} pages, stopped")
        seen.add(location)
        if is_http(location):
            fetched = fetcher.fetch(location, limits.feed_bytes, "feed page")
            data, where = fetched.data, location
        else:
            data, where = read_local(Path(location), limits.feed_bytes, "feed"), location
        page = parse_page(data, where)
        pages.append(page)
        location = _next_location(location, page.next_url)
    report.pages = len(pages)
    return pages


def _next_location(current: str, next_url: str | None) -> str | None:
    if not next_url:
        return None
    if is_http(current):
        absolute = urljoin(current, next_url)
        if not is_http(absolute):  # a web feed must never make us read a local file
            raise FetchError(f"{current}: its next page {next_url!r} is not an http(s) URL", True)
        return absolute
    if is_http(next_url):
        return next_url
    if "://" in next_url:
        raise FetchError(f"{current}: its next page {next_url!r} is not an http(s) URL or a file", True)
    return str(Path(current).parent / next_url)


def _refuse_locked(page: SourcePage, source: str, options: ImportOptions) -> None:
    if page.locked and not options.owner_confirmed:
        owner = page.locked_owner or page.owner_email or "its owner"
        raise GrandirError(
            f"{source}: the feed is locked (podcast:locked) by {owner}; only that owner may move it: "
            "rerun with --owner-confirmed if that is you"
        )


def _merge_items(pages: list[SourcePage], report: ImportReport) -> list[SourceItem]:
    """Items of every page, once per guid (a page may repeat an item of the one before it)."""
    out: list[SourceItem] = []
    seen: set[str] = set()
    for n, page in enumerate(pages, start=1):
        for item in page.items:
            report.items += 1
            guid = item.guid or (item.enclosure.url if item.enclosure else None)
            label = item.title or guid or f"item on page {n}"
            if guid is None:
                report.dropped.append((label, "no guid and no enclosure"))
                continue
            if guid in seen:
                report.dropped.append((label, f"guid {guid!r} repeated on page {n}"))
                continue
            seen.add(guid)
            out.append(item)
    return out


def _known_guids(project: Project, show: str, podcast_guid: str) -> tuple[set[str], dict[str, str]]:
    """(the guids the show already has, guid -> the record of another show that has it); refuses a
    podcast:guid of another show, or one that differs from the show's own."""
    ours: set[str] = set()
    for path in project.show_files():
        value = read_toml(path).get("podcast_guid")
        if path.stem == show:
            if value is not None and value != podcast_guid:
                raise GrandirError(
                    f"{display_path(path)}: podcast_guid is {value}, the feed's is {podcast_guid}: "
                    "another podcast; import it under another --show"
                )
        elif value == podcast_guid:
            raise GrandirError(
                f"{display_path(path)}: already has podcast_guid {podcast_guid}: this podcast is show "
                f"{path.stem!r}; import again with --show {path.stem}"
            )
    others: dict[str, str] = {}
    folders = sorted(p for p in project.episodes_dir.glob("*/") if not p.name.startswith("."))
    for path in (path for folder in folders for path in record_files(folder)):
        guid = read_toml(path).get("guid")
        if not isinstance(guid, str):
            continue
        if path.parent.name == show:
            ours.add(guid)
        else:
            others[guid] = display_path(path)
    return ours, others


def _plan_items(
    project: Project,
    show: str,
    items: list[SourceItem],
    known: set[str],
    others: dict[str, str],
    report: ImportReport,
) -> list[_Planned]:
    from grandirenhlm.names import make_slug

    folder = project.episodes_dir / show
    taken = {p.stem for p in folder.glob("*.toml")} if folder.is_dir() else set()
    clashes = [f"{item.guid!r} ({others[item.guid]})" for item in items if item.guid in others]
    if clashes:
        more = f" and {len(clashes) - 3} more" if len(clashes) > 3 else ""
        raise GrandirError(
            f"{report.source}: item guid {', '.join(clashes[:3])}{more} already belongs to another show"
        )
    planned = []
    for item in reversed(items):  # oldest first: slugs of a re-import stay those of the first run
        guid = item.guid or item.enclosure.url  # type: ignore[union-attr]
        label = item.title or guid
        if guid in known:
            report.already += 1
            continue
        if item.enclosure is None:
            report.dropped.append((label, "no enclosure (no media to import)"))
            continue
        if item.pub_date is None:
            report.dropped.append((label, f"pubDate {item.pub_date_text!r} is not a date"))
            continue
        title = _title(item)
        if not title:
            report.dropped.append((label, "no title"))
            continue
        if title != item.title.strip():
            report.notes.append(f"title {item.title.strip()!r} imported as {title!r} (markup or entities)")
        base = make_slug(title)
        slug, n = base, 2
        while slug in taken:
            slug, n = f"{base}-{n}", n + 1
        taken.add(slug)
        planned.append(_Planned(item, slug, folder / f"{slug}.toml", title))
    return planned


def _title(item: SourceItem) -> str:
    return " ".join(convert.html_to_text(item.title).split())


# ---------------------------------------------------------------- the show


def _show_from(project: Project, show: str, page: SourcePage, report: ImportReport) -> Show:
    notes = report.notes
    email = page.owner_email or _email_in(page.managing_editor)
    if not email:
        notes.append(f"the feed names no owner address: owner.email is {PLACEHOLDER_EMAIL}, replace it")
        email = PLACEHOLDER_EMAIL
    category, subcategory = page.categories[0] if page.categories else (DEFAULT_CATEGORY, None)
    if not page.categories:
        notes.append(f"the feed has no itunes:category: category is {DEFAULT_CATEGORY!r}, check it")
    if page.new_feed_url:
        notes.append(
            f"the feed already says it moved to {page.new_feed_url} (itunes:new-feed-url): not copied"
        )
    author = page.author or page.owner_name or page.title
    medium = page.medium if page.medium in ns.MEDIUMS else ns.DEFAULT_MEDIUM
    return Show(
        slug=show,
        source=project.feeds_dir / f"{show}.toml",
        title=_one_line(page.title),
        description=convert.html_to_text(page.description_html) or _one_line(page.title),
        language=(page.language or project.language).strip().lower(),
        author=_one_line(author),
        owner=Owner(_one_line(page.owner_name or author), email),
        image=project.feeds_dir / "art" / f"{show}.jpg",  # replaced by the downloaded cover's name
        category=category,
        subcategory=subcategory,
        explicit=bool(page.explicit),
        show_type=page.show_type if page.show_type in ("episodic", "serial") else "episodic",
        complete=page.complete,
        subtitle=_one_line(page.subtitle) if page.subtitle else None,
        copyright=page.copyright,
        website=page.link if page.link and is_http(page.link) else None,
        podcast_guid=report.podcast_guid,
        medium=medium,
        license=_checked(page.license, ns.license_name, "podcast:license", notes),
        license_url=page.license_url if page.license else None,
        update_frequency=_checked(
            page.update_frequency, ns.update_frequency, "podcast:updateFrequency", notes
        ),
        update_rrule=page.update_rrule,
        location=_location(page.location, notes),
        persons=_persons(page.persons, notes),
        funding=tuple(
            Funding(url, text)
            for url, text in page.funding
            if _checked(text, ns.funding_text, "podcast:funding", notes) and is_http(url)
        ),
    )


def _one_line(text: str) -> str:
    return " ".join(convert.html_to_text(text).split())


def _email_in(text: str | None) -> str | None:
    match = re.search(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", text or "")
    return match.group(0) if match else None


def _checked(value: str | None, rule: Callable[[str], str], tag: str, notes: list[str]) -> str | None:
    if not value:
        return None
    try:
        return rule(value)
    except ns.NamespaceError as exc:
        notes.append(f"{tag} {value!r} left out: {exc.problem}")
        return None


def _persons(persons: tuple[SourcePerson, ...], notes: list[str]) -> tuple[Person, ...]:
    out = []
    for p in persons:
        name = _checked(p.name, ns.person_name, "podcast:person", notes)
        if name:
            out.append(
                Person(
                    name=name,
                    role=ns.taxonomy_name(p.role or ns.DEFAULT_PERSON_ROLE),
                    group=ns.taxonomy_name(p.group or ns.DEFAULT_PERSON_GROUP),
                    href=p.href if p.href and is_http(p.href) else None,
                    img=p.img if p.img and is_http(p.img) else None,
                )
            )
    return tuple(out)


def _location(loc, notes: list[str]) -> Location | None:
    if loc is None:
        return None
    try:
        return Location(
            ns.location_name(loc.name),
            ns.location_geo(loc.geo) if loc.geo else None,
            ns.location_osm(loc.osm) if loc.osm else None,
            ns.location_country(loc.country) if loc.country else None,
            ns.location_rel(loc.rel) if loc.rel else None,
        )
    except ns.NamespaceError as exc:
        notes.append(f"podcast:location {loc.name!r} left out: {exc.problem}")
        return None


def _download_cover(fetcher: Fetcher, page: SourcePage, project: Project, show: str, report) -> Path:
    """The channel's image, checked to be a JPEG or PNG picture, saved as `feeds/art/<show>.<ext>`."""
    from PIL import Image, UnidentifiedImageError

    if not page.image or not is_http(page.image):
        raise GrandirError(f"{report.source}: the feed has no cover image (itunes:image) to import")
    fetched = fetcher.fetch(page.image, fetcher.limits.file_bytes, "cover image")
    try:
        with Image.open(io.BytesIO(fetched.data)) as picture:
            picture.verify()  # the whole file decodes: a truncated download is caught here
            fmt, size, mode = picture.format, picture.size, picture.mode
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise GrandirError(f"{page.image}: the cover image is not a picture Pillow can read") from exc
    if fmt not in COVER_TYPES:
        raise GrandirError(f"{page.image}: the cover image is {fmt}; podcast platforms take JPEG or PNG")
    from grandirenhlm.media import artwork_problems
    from grandirenhlm.model import Cover

    for problem in artwork_problems(Cover(COVER_TYPES[fmt][1], *size), mode):
        report.notes.append(f"cover: {problem}")
    target = project.feeds_dir / "art" / f"{show}{COVER_TYPES[fmt][0]}"
    write_atomic(target, fetched.data, durable=False)
    return target


def _with_image(show: Show, image: Path) -> Show:
    from dataclasses import replace

    return replace(show, image=image)


# ---------------------------------------------------------------- the items


def _import_items(project, fetcher, show, planned, report: ImportReport, options: ImportOptions, log) -> None:
    if not planned:
        return
    parts = project.cache_dir / "import" / show
    # Every record is in one folder: resolved once, not once per record (two realpaths each).
    shown = Path(display_path(project.episodes_dir / show))
    done: dict[int, _Ready | GrandirError] = {}
    with ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
        # Each worker downloads, probes and writes its own record (its own file: slugs were given
        # out before), so records go to disk while other media still download.
        futures = {
            pool.submit(_import_item, project, fetcher, show, p, parts): n for n, p in enumerate(planned)
        }
        try:
            for future in as_completed(futures):
                try:
                    done[futures[future]] = result = future.result()
                    log(f"imported {shown / result.planned.record.name}")
                except GrandirError as exc:
                    done[futures[future]] = exc
        except BaseException:  # Ctrl-C, SIGTERM: start nothing more, stop the transfers in flight
            fetcher.stop.set()
            for future in futures:
                future.cancel()
            raise
    # The report in the feed's order (oldest first), whatever order the downloads finished in.
    for n, p in enumerate(planned):
        result = done[n]
        if isinstance(result, GrandirError):
            report.dropped.append((p.title, f"not imported: {str(result).splitlines()[0]}"))
            continue
        report.mismatches.extend(result.mismatches)
        report.notes.extend(result.notes)
        report.media_bytes += result.media.size + sum(a.size for a in result.alternates)
        report.imported.append(str(shown / p.record.name))


def _import_item(project: Project, fetcher: Fetcher, show: str, p: _Planned, parts: Path) -> _Ready:
    ready = _fetch_item(project, fetcher, show, p, parts)
    # Not fsynced: a record a crash loses is imported again by the next run (its guid is still new),
    # and an fsync per record would cost as much as the download of a short episode.
    write_episode(p.record, EpisodeRecord(_episode(show, p, ready, ready.notes)), durable=False)
    return ready


def _fetch_item(project: Project, fetcher: Fetcher, show: str, p: _Planned, parts: Path) -> _Ready:
    """Download and probe one item's media (into the store) and its chapters and transcript."""
    item, enclosure = p.item, p.item.enclosure
    assert enclosure is not None
    info, target = _download_media(project, fetcher, show, enclosure.url, parts, p.slug)
    mismatches = []
    if enclosure.length is not None and enclosure.length != info.size:
        mismatches.append(Mismatch(p.slug, "length", f"{enclosure.length} bytes", f"{info.size} bytes"))
    declared_type = (enclosure.mime_type or "").split(";")[0].strip().lower()
    if declared_type and declared_type != info.mime_type and not _same_type(declared_type, info.mime_type):
        mismatches.append(Mismatch(p.slug, "type", declared_type, info.mime_type))
    declared = convert.parse_duration(item.duration_text)
    if declared is not None and abs(declared - info.duration_seconds) > max(
        2.0, 0.01 * info.duration_seconds
    ):
        mismatches.append(
            Mismatch(
                p.slug,
                "duration",
                convert.seconds_text(declared),
                convert.seconds_text(info.duration_seconds),
            )
        )
    media = EpisodeMedia.of(info, target)
    notes: list[str] = []
    chapters = _chapters(fetcher, item, p.slug, notes)
    transcript = _transcript(fetcher, item, p, notes)
    alternates = []
    for n, alternate in enumerate(a for a in item.alternates if a.url != enclosure.url):
        try:
            alt_info, alt_target = _download_media(
                project, fetcher, show, alternate.url, parts, f"{p.slug}-alternate-{n + 1}"
            )
        except GrandirError as exc:
            notes.append(f"{p.slug}: alternate enclosure not imported: {exc}")
            continue
        alternates.append(EpisodeMedia.of(alt_info, alt_target))
    return _Ready(p, media, tuple(alternates), chapters, transcript, tuple(mismatches), notes)


def _download_media(project: Project, fetcher: Fetcher, show: str, url: str, parts: Path, slug: str):
    """Download, probe and store one media file: (MediaInfo, its path in the media store)."""
    from grandirenhlm.media import probe

    got = fetcher.download(url, parts / f"{slug}.part", fetcher.limits.media_bytes)
    try:
        info = probe(got.path, (got.size, got.sha256) if got.sha256 else None)
    except GrandirError as exc:
        raise GrandirError(f"{url}: {str(exc).split(': ', 1)[-1]}") from exc
    if not info.publishable:
        raise GrandirError(f"{url}: {info.mime_type} is not a type podcast apps play as an enclosure")
    target = project.media_dir / show / f"{slug}-{info.sha256[:12]}{info.extension}"
    try:
        move_into_place(got.path, target, durable=False)
    except FileNotFoundError:  # the store's folder, made by the first item that needs it
        target.parent.mkdir(parents=True, exist_ok=True)
        move_into_place(got.path, target, durable=False)
    return info, target


def _same_type(declared: str, real: str) -> bool:
    """Spellings of one type that apps treat alike (audio/mp4 for an M4A, audio/mp3 for MPEG)."""
    return canonical_type(declared) == real


def _chapters(fetcher: Fetcher, item: SourceItem, slug: str, notes: list[str]) -> tuple[Chapter, ...]:
    if item.chapters is not None:
        try:
            data = fetcher.fetch(item.chapters.url, fetcher.limits.file_bytes, "chapters file").data
            return convert.json_chapters(data, item.chapters.url)
        except GrandirError as exc:
            notes.append(
                f"{slug}: chapters: {exc}" + ("; Podlove chapters used" if item.psc_chapters else "")
            )
    if item.psc_chapters:
        try:
            return convert.psc_chapters(item.psc_chapters, f"{slug}: psc:chapters")
        except GrandirError as exc:
            notes.append(str(exc))
    return ()


def _transcript(fetcher: Fetcher, item: SourceItem, p: _Planned, notes: list[str]) -> Path | None:
    def rank(link) -> int:
        kind = (link.mime_type or "").split(";")[0].strip().lower()
        pref = convert.TRANSCRIPT_PREFERENCE
        return pref.index(kind) if kind in pref else len(pref)

    candidates = sorted(
        (t for t in item.transcripts if rank(t) < len(convert.TRANSCRIPT_PREFERENCE)), key=rank
    )
    if item.transcripts and not candidates:
        kinds = ", ".join(sorted({t.mime_type or "no type" for t in item.transcripts}))
        notes.append(f"{p.slug}: transcript ({kinds}) not imported: not a timed format")
    for link in candidates:
        try:
            data = fetcher.fetch(link.url, fetcher.limits.file_bytes, "transcript").data
            vtt = convert.transcript_to_vtt(data, link.mime_type or "", link.url)
        except GrandirError as exc:
            notes.append(f"{p.slug}: transcript: {exc}")
            continue
        target = p.record.with_suffix(".vtt")
        write_atomic(target, vtt.encode("utf-8"))
        return target
    return None


def _episode(show: str, p: _Planned, ready: _Ready, notes: list[str]) -> Episode:
    item = p.item
    number = _rule(item.episode, ns.episode)
    season = _rule(item.season, ns.season)
    description = convert.html_to_text(item.description_html)
    description = convert.without_chapter_block(description, ready.chapters)
    return Episode(
        show=show,
        slug=p.slug,
        source=Path(os.path.abspath(p.record)),
        guid=item.guid or item.enclosure.url,  # type: ignore[union-attr]
        guid_is_permalink=item.guid_is_permalink,
        title=p.title,
        pub_date=item.pub_date,  # type: ignore[arg-type]  # items without one were dropped
        description=description,
        media=ready.media,
        alternates=ready.alternates,
        number=number,
        season=season,
        episode_type=item.episode_type if item.episode_type in ("full", "trailer", "bonus") else "full",
        explicit=item.explicit,
        block=item.block,
        chapters=ready.chapters,
        transcript=ready.transcript,
        persons=_persons(item.persons, notes),
        location=_location(item.location, notes),
        license=_checked(item.license, ns.license_name, "podcast:license", notes),
        license_url=item.license_url if item.license else None,
    )


def _rule(value: str | None, rule: Callable) -> int | None:
    if value is None:
        return None
    try:
        return rule(int(value))
    except (ValueError, ns.NamespaceError):
        return None


# ---------------------------------------------------------------- the report


SWITCH_OVER = """\
Switch-over, once `grandirenhlm check` passes:
  1. grandirenhlm publish (the new feed goes up; its items keep the old guids, so apps download nothing twice)
  2. at the old host, set itunes:new-feed-url to the new feed URL where it allows it, and make the old feed
     URL answer 301 Moved Permanently to the new one
  3. keep the old URL redirecting for at least four weeks (Apple's advice), better for good; then update the
     feed URL in Apple Podcasts Connect, Spotify for Creators, Deezer, Amazon Music and Podcast Index
     if they have not followed it yet (see README, "Moving a podcast in")"""


def report_lines(report: ImportReport) -> list[str]:
    """The report `import` prints, one fact per line."""
    verb = "would import" if report.dry_run else "imported"
    guid_note = " (computed from the feed URL)" if report.podcast_guid_computed else ""
    lines = [
        f"source: {report.source} ({report.pages} page(s), {report.items} item(s))",
        f"podcast:guid: {report.podcast_guid}{guid_note}",
        f"show {report.show}: " + ("new" if report.show_created else "already in the project, unchanged"),
        f"{verb}: {len(report.imported)} item(s), media {describe_size(report.media_bytes)}"
        + (" declared" if report.dry_run else ""),
    ]
    if report.already:
        lines.append(f"already imported: {report.already} item(s), unchanged")
    for m in report.mismatches:
        lines.append(f"mismatch: {m.slug}: {m.what} declared {m.declared}, real {m.real}")
    for label, why in report.dropped:
        lines.append(f"dropped: {label}: {why}")
    lines.extend(f"note: {note}" for note in report.notes)
    return lines
