"""The pipeline as a library: one function per command, used alike by the CLI, the tests and the
benchmarks, so that what is tested and measured is what users run.

    files ─ingest─▶ records ─check─▶ findings
    records + templates ─render─▶ [Artifact] ─build─▶ a folder
    [Artifact] + target manifest ─plan─▶ Plan ─publish─▶ storage (media → pages → feeds → manifest)

| function | command |
|---|---|
| `open_project(folder)` | `--project`, or the nearest project above the working directory |
| `inspect_file(path, loudness)` | `inspect` |
| `ingest(project, show, paths, IngestOptions)` | `ingest` |
| `check(project, deep, loudness, target)` | `check` (and the first step of `publish`) |
| `render(project, base_url, at)` | the site's objects in memory, nothing written |
| `build(project, output, base_url, at)` | `build`: writes a folder |
| `resolve_target(project, to, **flags)` | the target of `publish`/`setup` |
| `serves_folder_indexes(target)` | whether its pages link to folders (`show/`) or to `index.html` |
| `plan(project, target, at, prune)` | `publish --dry-run` |
| `publish(project, target, PublishOptions)` | `publish` |
| `setup(project, target)` | `setup` |
| `stats(project, logs, StatsOptions)` | `stats` |
| `serve(root, port)` | `serve` |
| `import_podcast(project, source, show, ImportOptions)` | `import` |
| `export(project, show, folder, base_url, at)` | `export` |

Every function raises `GrandirError` (or a subclass) for what the user can fix.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from grandirenhlm import fingerprint
from grandirenhlm.config import Project, Target, find_project, load_project, with_overrides
from grandirenhlm.errors import GrandirError
from grandirenhlm.files import CACHE_FOLDER, display_path
from grandirenhlm.memory import give_back
from grandirenhlm.progress import Reporter, make_reporter
from grandirenhlm.storage import all_options, another_project, backend, open_storage

if TYPE_CHECKING:
    from grandirenhlm.artifact import Artifact
    from grandirenhlm.catalog import Catalog
    from grandirenhlm.check import Finding
    from grandirenhlm.importing.options import ImportOptions, ImportReport
    from grandirenhlm.plan import Plan
    from grandirenhlm.publish import PublishResult

# The pipeline's modules (feedgen, lxml, Jinja2, mutagen, boto3 behind them) are imported by the
# functions that use them, not here: a command whose inputs did not change answers from its saved
# fingerprint (fingerprint.py) before any of them is loaded, in the time it takes to stat the files.
_LAZY = {
    "Finding": "grandirenhlm.check",
    "ImportOptions": "grandirenhlm.importing.options",
    "ImportReport": "grandirenhlm.importing.options",
    "Plan": "grandirenhlm.plan",
    "PublishResult": "grandirenhlm.publish",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load_catalog(project: Project) -> Catalog:
    """Every show and episode record of the project (`catalog.load_catalog`)."""
    from grandirenhlm.catalog import load_catalog as load

    return load(project)


__all__ = [
    "BuildResult",
    "Finding",
    "ImportOptions",
    "ImportReport",
    "IngestOptions",
    "Plan",
    "PublishOptions",
    "PublishResult",
    "StatsOptions",
    "build",
    "check",
    "display_path",
    "export",
    "import_podcast",
    "import_report_lines",
    "import_switch_over",
    "ingest",
    "inspect_file",
    "make_reporter",
    "open_project",
    "plan",
    "platforms",
    "public_base_url",
    "publish",
    "render",
    "resolve_target",
    "serve",
    "serves_folder_indexes",
    "setup",
    "stale_note",
    "stats",
    "target_options",
]


def open_project(folder: Path | None = None) -> Project:
    """The project in `folder`, or the nearest one holding the working directory."""
    return load_project(Path(folder).resolve() if folder else find_project(Path.cwd()))


def now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------- inspect, ingest


def inspect_file(path: Path, loudness: bool = False) -> dict:
    """What `inspect --json` prints for one file; `loudness` decodes it to measure."""
    from grandirenhlm.media import probe, to_json

    info = probe(path)
    data = to_json(info)
    if loudness:
        from grandirenhlm.loudness import default_target, loudness_problems, measure_loudness

        value = measure_loudness(info.path)
        data["loudness"] = {
            **value.to_json(),
            "target_lufs": default_target(info.channels),
            "problems": loudness_problems(value, info.channels),
        }
    return data


@dataclass(frozen=True)
class IngestOptions:
    slug: str | None = None
    title: str | None = None
    force: bool = False
    encode: bool = False
    normalize: bool | None = None
    format: str | None = None
    jobs: int | None = None  # None: the number of cores
    quiet: bool = False


def expand_paths(paths: Sequence[Path]) -> list[Path]:
    """Folders become the files in them (recursively, hidden ones skipped), in name order; a FIFO,
    socket or device among them is kept, for ingest to name it ("not a regular file")."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if not p.is_dir() and not any(part[0] == "." for part in p.relative_to(path).parts)
                )
            )
        else:
            out.append(path)
    return out


def ingest(project: Project, show: str, paths: Sequence[Path], options: IngestOptions = IngestOptions()):
    """Ingest files (folders expanded) into `show`: [(path, IngestResult or the GrandirError that
    file met)], in order. Raises `EncodeInterrupted` on Ctrl-C, after cleaning up.

    When the same files were ingested with the same options by a run that succeeded, and neither
    they nor the project changed since, every file is answered `unchanged` from that run without
    reading anything (`--force` always runs)."""
    from grandirenhlm.model import IngestResult

    asked = ("ingest", show, [os.path.abspath(p) for p in paths], replace(options, jobs=None, quiet=False))
    saved = None if options.force else fingerprint.Saved(project, asked, now(), reads=paths)
    hit = saved.unchanged() if saved is not None else None
    if hit is not None:
        return [
            (Path(src), IngestResult(Path(src), Path(rec), "unchanged", sha))
            for src, rec, sha in hit["files"]
        ]
    results = _ingest(project, show, paths, options)
    return results if saved is None else _remembered(saved, results)


def _remembered(saved: fingerprint.Saved, results: Iterable) -> Iterator:
    """`results` as they come; saved for the next run only if every file went in."""
    done = []
    for path, result in results:
        done.append((str(path), str(getattr(result, "record", "")), getattr(result, "sha256", None)))
        yield path, result
    if all(sha is not None for _, _, sha in done):
        saved.remember({"files": done}, wrote_inputs=True)


def _ingest(project: Project, show: str, paths: Sequence[Path], options: IngestOptions):
    from grandirenhlm.encode import load_settings, make_encode_reporter
    from grandirenhlm.ingest import ingest_file, ingest_files, require_show

    files = expand_paths(paths)
    if (options.slug or options.title) and len(files) > 1:
        raise GrandirError("--slug/--title: give them with a single file only")
    require_show(project, show)
    settings = load_settings(project.root, show, format=options.format, normalize=options.normalize)
    common = {
        "force": options.force,
        "encode": options.encode,
        "settings": settings,
        "reporter": make_encode_reporter(options.quiet),
    }
    if options.slug or options.title:
        result = ingest_file(project, show, files[0], slug=options.slug, title=options.title, **common)
        return [(files[0], result)]
    return ingest_files(project, show, files, jobs=options.jobs or _cores(), **common)


def _cores() -> int:
    """The cores this process may run on (a container's CPU set, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # no sched_getaffinity on this system
        return os.cpu_count() or 1


# ---------------------------------------------------------------- import


def import_podcast(
    project: Project,
    source: str,
    show: str,
    options: ImportOptions | None = None,
    log: Callable[[str], None] = lambda line: None,
) -> ImportReport:
    """`import`: the podcast whose feed is at `source` (URL or file) becomes show `show`; with
    `options.dry_run` nothing is written. `log` gets retries and progress lines."""
    from grandirenhlm.importing.run import import_feed

    return import_feed(project, source, show, options or ImportOptions(), log)


def import_report_lines(report: ImportReport) -> list[str]:
    """What `import` prints about what it did."""
    from grandirenhlm.importing.run import report_lines

    return report_lines(report)


def import_switch_over() -> str:
    """The steps that move the audience to the imported show's new feed."""
    from grandirenhlm.importing.run import SWITCH_OVER

    return SWITCH_OVER


def export(
    project: Project, show: str, folder: Path, base_url: str | None = None, at: datetime | None = None
):
    """`export`: the show's merged feed, published files and records in `folder` (new or empty), for
    moving elsewhere; on failure nothing of the export is left. Returns `export.ExportResult`."""
    from grandirenhlm.export import export_show, remove_partial

    base = base_url or public_base_url(project.target(None))
    base = base if base.endswith("/") else base + "/"
    was_empty = folder.is_dir() and not any(folder.iterdir())
    try:
        return export_show(project, show, folder, base, at or now())
    except BaseException:
        if was_empty or not folder.exists():
            remove_partial(folder, keep_folder=was_empty)
        raise


# ---------------------------------------------------------------- check


def check(
    project: Project,
    *,
    deep: bool = False,
    loudness: bool = False,
    target: Target | None = None,
    catalog: Catalog | None = None,
) -> list[Finding]:
    """Every finding about the project, errors and warnings, in order.

    Placeholders (an owner address at example.org, a public base URL on this machine) are warnings
    without a `target`, errors for a target on another machine, and not reported for a target on
    this machine (a folder, a test server)."""
    findings, placeholders = _findings(project, catalog or load_catalog(project), target, deep, loudness)
    return findings + placeholders


def retag(project: Project, show: str | None = None):
    """Re-tag every stored MP3/M4A whose embedded tags differ from its record (what `check --deep`
    reports): [mediastore.Retagged]."""
    from grandirenhlm.mediastore import retag as retag_media

    return retag_media(project, show)


def gc(project: Project, dry_run: bool = False) -> list[Path]:
    """The media store's files no record references, removed unless `dry_run` (never a master)."""
    from grandirenhlm.mediastore import collect_garbage

    return collect_garbage(project, dry_run)


def _findings(
    project: Project, catalog: Catalog, target: Target | None, deep: bool = False, loudness: bool = False
) -> tuple[list[Finding], list[Finding]]:
    from grandirenhlm.check import check_catalog, placeholder_findings, template_findings

    findings = check_catalog(catalog, deep=deep, loudness=loudness, published=project.output_dir)
    findings += template_findings(project.templates_dir, catalog)
    remote = target is not None and backend(target.url).is_remote(target)
    if target is not None and not remote:
        return findings, []
    target = target or project.target(None)
    key = (
        f"{project.config_display}: targets.{target.name}.public_base_url"
        if target.name in project.targets
        else "--public-base-url"
    )
    level = "error" if remote else "warning"
    return findings, placeholder_findings(project, catalog, public_base_url(target), key, level=level)


# ---------------------------------------------------------------- render, build


def render(
    project: Project,
    base_url: str,
    at: datetime | None = None,
    catalog: Catalog | None = None,
    cache: bool = True,
    *,
    folders: bool = True,
) -> list[Artifact]:
    """Every object of the site as published at `at` (default: now), in publish order; nothing is
    written but the project's caches (none with `cache=False`: everything rendered anew).

    `folders`: whoever serves `base_url` answers a folder's address with its index.html (`serve`,
    a website endpoint, a CDN), so links and canonical URLs end at the folder; False for a bare S3
    endpoint (see `serves_folder_indexes`)."""
    artifacts, pages = _render(project, base_url, at, catalog, cache, folders)
    if pages is not None:  # the artifacts hold their bytes: the store's file is let go now, not at
        pages.close()  # the next garbage collection (a cycle keeps the cache alive until then)
    return artifacts


def _render(project, base_url, at, catalog, cache, folders=True, stored=False, sink=None):
    """`stored`: pages stay in the page cache's files (`artifact.Stored`) until they are written
    or sent, so that memory does not grow with the site (build, publish); `sink` is told each page
    rendered (`PageCache.sink`: a new output folder's `EarlyWriter`)."""
    from grandirenhlm.build import build_site
    from grandirenhlm.pages import PageCache

    catalog = catalog or load_catalog(project)
    pages = PageCache.for_project(project, base_url, stored=stored) if cache else None
    if pages is not None:
        pages.sink = sink
    artifacts = build_site(project, catalog, base_url, at or now(), cache=pages, folders=folders)
    if stored:  # nor the feed's items, kept in the item store on disk (a whole feed's size besides)
        from grandirenhlm import feed

        feed.clear_cache()
    return artifacts, pages


@dataclass(frozen=True)
class BuildResult:
    folder: Path
    written: int
    unchanged: int


def build(
    project: Project, output: Path | None = None, base_url: str | None = None, at: datetime | None = None
) -> BuildResult:
    """Write the site into a folder (default `public/`): only the files whose bytes changed since
    the last build or publish there. No lock, no check from outside, nothing deleted. When nothing
    it reads changed since the last build into that folder, nothing is loaded or written."""
    folder = output or project.output_dir
    refuse_project_folder(project, folder, "--output")
    base = base_url or project.targets["local"].public_base_url
    base = base if base.endswith("/") else base + "/"
    where = Path(os.path.abspath(project.root / folder))
    saved = fingerprint.Saved(project, ("build", str(where), base, at), now())
    from grandirenhlm.storage.local import EarlyWriter, folder_state, write_folder

    cache_dir = project.cache_dir
    hit = saved.unchanged(output_stamp=lambda: folder_state(where, cache_dir))
    if hit is not None:
        return BuildResult(folder, 0, hit["objects"])

    with saved.forgotten_on_failure():
        catalog = load_catalog(project)
        saved.loaded(catalog)
        early = EarlyWriter.for_build(folder)  # a new folder: pages written as they are rendered
        try:
            artifacts, pages = _render(project, base, at or saved.now, catalog, True, stored=True, sink=early)
            try:
                give_back()  # what the pages were rendered with, before the rest is written
                written, unchanged = write_folder(artifacts, folder, base, _shows(catalog), early)
            finally:
                pages.close()
        except BaseException:
            if early is not None:
                early.abort()
            raise
    until = None if at else fingerprint.next_change(catalog, saved.now)
    objects = len(artifacts)
    # The site is written: what it was made from (the catalog, 40,000 artifacts, the keys the
    # page writer wrote) is let go before the output is stamped, which reads its 20,000 folders
    del catalog, artifacts, pages, early
    give_back()
    saved.remember({"objects": objects}, output_stamp=folder_state(where, cache_dir), until=until)
    return BuildResult(folder, written, unchanged)


def _shows(catalog: Catalog) -> dict[str, str]:
    """Whose site a target holds: show slug -> podcast:guid (see `storage.Manifest`)."""
    return {slug: show.podcast_guid or "" for slug, show in catalog.shows.items()}


# ---------------------------------------------------------------- targets: plan, publish, setup


def refuse_project_folder(project: Project, folder: Path, where: str) -> None:
    """A site folder may not be the project, hold it, or be inside what the project reads: a
    build there would mix the site with the records, and a prune could delete them."""
    out = Path(os.path.abspath(project.root / folder))
    root = Path(os.path.abspath(project.root))
    read = {
        name: root / name for name in ("episodes", "feeds", "media", "masters", "templates", CACHE_FOLDER)
    }
    shown = display_path(out) if out != Path.cwd() else "."
    if out == root or root.is_relative_to(out):
        raise GrandirError(f"{where}: {shown} holds the project itself; the site needs a folder of its own")
    for name, path in read.items():
        if out.is_relative_to(path):
            raise GrandirError(f"{where}: {shown} is inside the project's {name}/; choose another folder")


def target_options() -> list:
    """The settings every backend accepts, for the command line (`storage.OptionSpec`s)."""
    seen: dict[str, object] = {}
    for _, spec in all_options():
        seen.setdefault(spec.name, spec)
    return list(seen.values())


def resolve_target(project: Project, to: str | None = None, *, public_base_url: str | None = None, **flags):
    """A configured target by name, a folder or a storage URL, with command-line flags on top."""
    target = with_overrides(project.target(to), public_base_url=public_base_url, **flags)
    if target.is_folder:
        refuse_project_folder(project, Path(target.url), "--to" if to else f"targets.{target.name}.url")
    return target


def public_base_url(target: Target) -> str:
    """Where listeners reach the target: its `public_base_url`, else its backend's default."""
    return target.public_base_url or backend(target.url).default_base_url(target)


def serves_folder_indexes(target: Target) -> bool:
    """Whether the target's public base URL answers a folder's address (`show/`) with its
    index.html: the pages then link to folders. The target's `index_documents` setting says so
    (`yes`, `no`); `auto` (the default) says yes for a folder (what `serve` serves) and for any
    address but the storage's own API endpoint: a bare S3 endpoint (path or virtual-host style,
    AWS or not) serves no index documents, a website endpoint (`s3-website`), a CDN or a custom
    domain in front of the bucket does."""
    setting = target.option("index_documents", "auto")
    if setting in ("yes", "no"):
        return setting == "yes"
    if target.is_folder:
        return True
    public = urlsplit(public_base_url(target))
    api = urlsplit(backend(target.url).default_base_url(target)).netloc.lower()
    netloc, host = public.netloc.lower(), public.hostname or ""
    aws_api = host.endswith(".amazonaws.com") and "s3-website" not in host and ".s3" in "." + host
    return not (netloc == api or netloc.endswith("." + api) or aws_api)


def plan(project: Project, target: Target, *, at: datetime | None = None, prune: bool = False) -> Plan:
    """What a publish would do (`--dry-run`): reads the target's manifest, writes nothing."""
    from grandirenhlm.plan import plan_publish

    storage = open_storage(project, target)
    catalog = load_catalog(project)
    artifacts = render(project, public_base_url(target), at, catalog, folders=serves_folder_indexes(target))
    manifest = storage.read_manifest()
    if manifest.belongs_to_another(_shows(catalog)):
        raise GrandirError(another_project(storage.name, manifest))
    return plan_publish(artifacts, manifest.objects, prune=prune, settings=storage.settings, now=now())


@dataclass(frozen=True)
class PublishOptions:
    at: datetime | None = None
    prune: bool = False
    verify: bool = True  # where the backend can (S3): check from outside before feeds go up
    setup: bool = False  # run `setup` on the target first
    wait_seconds: float = 0.0
    break_lock: bool = False
    reporter: Reporter | None = None  # progress and notes (default: lines on stderr)


def publish(
    project: Project,
    target: Target,
    options: PublishOptions = PublishOptions(),
    warn: Callable[[str], None] = lambda line: None,
) -> PublishResult:
    """Check, render and upload the site to `target`. Every finding of the check goes to `warn`;
    errors stop the run before anything is written. When nothing the publish reads changed since
    the last one to `target` succeeded, and the target is as that run left it, the answer is that
    run's (its warnings repeated), with nothing loaded or sent."""
    from grandirenhlm.publish import PublishResult, Run, publish_artifacts

    started = time.perf_counter()
    base_url = public_base_url(target)
    asked = ("publish", target.url, base_url, target.options, options.at, options.prune, options.verify)
    # check compares each show's GUIDs with the feed last built into the project's public/
    last_feeds = [project.output_dir / path.stem / "feed.xml" for path in project.show_files()]
    saved = fingerprint.Saved(project, asked, now(), reads=last_feeds)
    hit = (
        None if options.setup else saved.unchanged(output_stamp=lambda: open_storage(project, target).state())
    )
    if hit is not None:
        for line in hit["warnings"]:
            warn(line)
        prune_after = datetime.fromisoformat(hit["prune_after"]) if hit["prune_after"] else None
        return PublishResult(
            target.url, skipped=hit["objects"], stale=hit["stale"], prune_after=prune_after,
            seconds=time.perf_counter() - started,
        )  # fmt: skip
    with saved.forgotten_on_failure():
        catalog = load_catalog(project)  # once, for the check and the build
        saved.loaded(catalog)
        findings, placeholders = _findings(project, catalog, target)
        for finding in findings + placeholders:
            warn(str(finding))
        if placeholders:  # only reported, as errors, for storage on another machine
            raise GrandirError(
                f"{target.url}: not published: this storage is not on this machine, and the "
                "placeholders above would reach listeners"
            )
        if any(f.level == "error" for f in findings):
            raise GrandirError("check found errors: nothing published")
        reporter = options.reporter or Reporter()
        if options.setup:
            for line in setup(project, target):
                (warn if line.startswith("warning: ") else reporter.log)(line)
        artifacts, pages = _render(
            project,
            base_url,
            options.at or saved.now,
            catalog,
            True,
            serves_folder_indexes(target),
            stored=True,
        )
        storage = open_storage(project, target)
        verifier = backend(target.url).verifier(target, base_url) if options.verify else None
        built = time.perf_counter()
        run = Run(
            prune=options.prune, reporter=reporter, verifier=verifier, wait_seconds=options.wait_seconds,
            break_lock=options.break_lock, base_url=base_url, shows=_shows(catalog),
        )  # fmt: skip
        try:
            result = publish_artifacts(artifacts, storage, run)
        finally:
            pages.close()  # its pages are sent: other builds may prune them
    result.build_seconds = built - started
    result.seconds += result.build_seconds
    result.pages_rendered, result.pages_reused = pages.rendered, pages.reused
    _remember_media(project, catalog)
    result.notifications = _announce(project, catalog, artifacts, result, base_url, warn)
    notes = [
        f"note: {a.key} moved to {a.redirect}: {note}"
        for a in artifacts
        if a.redirect and (note := backend(target.url).redirect_note(target, base_url))
    ]
    for line in notes:
        warn(line)
    due = [] if options.at else [fingerprint.next_change(catalog, saved.now)]
    if options.prune and result.prune_after:
        due.append(result.prune_after)  # kept objects become deletable then
    saved.remember(
        {
            "objects": len(artifacts),
            "stale": result.stale,
            "prune_after": result.prune_after.isoformat() if result.prune_after else None,
            "warnings": [str(f) for f in findings + placeholders] + notes,
        },
        output_stamp=storage.state(),
        wrote_reads=True,  # the feeds in public/ its check compares with, as this run left them
        until=min((d for d in due if d is not None), default=None),
    )
    return result


def _announce(project, catalog, artifacts, result: PublishResult, base_url: str, warn) -> list:
    """Tell the configured directories about the feeds this publish changed (see notify.py)."""
    from grandirenhlm import layout, notify

    if not project.notify.any:
        return []
    by_key = {a.key: a for a in artifacts}
    changed = []
    for show in sorted(catalog.shows.values(), key=lambda s: s.slug):
        key = layout.feed(show)
        if key not in result.uploaded:
            continue
        new = dict(by_key[key].live)
        old = result.feeds_before.get(key, {}).get("live", {})
        if any(status == "live" and old.get(guid) != "live" for guid, status in new.items()):
            reason = "live"
        elif any(status == "live" and new.get(guid) != "live" for guid, status in old.items()):
            reason = "liveEnd"
        else:
            reason = "update"
        changed.append(notify.ChangedFeed(layout.absolute(base_url, key), by_key[key].sha256, reason))
    return notify.notify(project.notify, changed, warn=lambda line: warn(f"warning: {line}"))


def _remember_media(project: Project, catalog: Catalog) -> None:
    """Keep the files each GUID was published with (`stats/media-history.json`), so downloads of
    an episode's files from before a re-encode still count for it. Nothing is read or written when
    every file is known already (a no-op publish)."""
    from grandirenhlm import layout
    from grandirenhlm import stats as measure

    known = {guid: {f.key for f in files} for guid, files in measure.load_media_history(project.root).items()}
    for episodes in catalog.episodes.values():
        for e in episodes:
            if e.media is None:
                continue
            keys = {layout.media(e), *(layout.alternate_media(e, a.path.name) for a in e.alternates)}
            if not keys <= known.get(e.guid, set()):
                measure.remember_media(project.root, measure.episode_refs(catalog))
                return


def stale_note(count: int, prune_after: datetime | None = None) -> str:
    """What a publish says about objects it left on the target."""
    when = (
        f" once feeds that listed them can no longer be cached (from {prune_after:%Y-%m-%d %H:%M} UTC)"
        if prune_after is not None and prune_after > now()
        else ""
    )
    return (
        f"note: {count} object(s) on the target are no longer part of the site (unpublished "
        f"episodes, replaced files); `grandirenhlm publish --prune` deletes them{when}"
    )


def setup(project: Project, target: Target) -> list[str]:
    """Make the target ready to serve the site (S3: bucket, policy, CORS, website), then check it
    from outside; the lines say what was done. A folder needs nothing: `GrandirError`."""
    from grandirenhlm.verify import Verifier

    return open_storage(project, target).setup(Verifier(public_base_url(target)).readable)


# ---------------------------------------------------------------- platforms


def platforms(project: Project, show: str | None = None, target: Target | None = None) -> list:
    """For each show (or `show`): (slug, feed URL, [platforms.Status]) for every directory."""
    from grandirenhlm import layout
    from grandirenhlm import platforms as directories

    catalog = load_catalog(project)
    if show is not None and show not in catalog.shows:
        known = ", ".join(sorted(catalog.shows)) or "none"
        raise GrandirError(f"--show: no show {show!r} (shows: {known})")
    base = public_base_url(target or project.target(None))
    out = []
    for slug in sorted(catalog.shows) if show is None else [show]:
        feed_url = layout.absolute(base, layout.feed(catalog.shows[slug]))
        out.append((slug, feed_url, directories.statuses(directories.facts(catalog, slug, feed_url, now()))))
    return out


# ---------------------------------------------------------------- stats


@dataclass(frozen=True)
class StatsOptions:
    since: date | None = None
    until: date | None = None
    record: bool = False  # keep the figures of these logs in the project, per UTC day
    output: Path | None = None  # write the French report (HTML) and the CSV there


def stats(
    project: Project,
    logs: Sequence[Path],
    options: StatsOptions = StatsOptions(),
    warn: Callable[[str], None] = lambda line: None,
):
    """Downloads counted from access logs (or, without `logs`, from the recorded days): a
    `stats.StatsReport`. Problems with the logs go to `warn`, one line each; `GrandirError` only
    when nothing could be read."""
    from grandirenhlm import stats as measure

    if options.since and options.until and options.since > options.until:
        raise GrandirError(f"--since {options.since} is after --until {options.until}")
    refs = measure.episode_refs(load_catalog(project), project.root)
    if logs:
        report = measure.count_downloads(
            list(logs), refs, since=options.since, until=options.until, warn=warn
        )
        if options.record:
            measure.record_days(report, project.root)
    else:
        if options.record:
            raise GrandirError("--record: give the access logs to record")
        report = measure.load_recorded(project.root, options.since, options.until, refs)
    if options.output:
        measure.write_report(report, options.output)
    return report


# ---------------------------------------------------------------- serve


def serve(root: Path, port: int = 8000):
    """An HTTP server for the folder `root` on 127.0.0.1 (not started: call `serve_forever`)."""
    from grandirenhlm.serve import make_server

    if not root.is_dir():
        raise GrandirError(f"{root}: no such folder; run `grandirenhlm publish` or `build` first")
    try:
        return make_server(root, port)
    except OSError as exc:
        raise GrandirError(f"--port: cannot listen on 127.0.0.1:{port}: {exc.strerror}") from exc
