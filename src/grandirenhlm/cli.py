"""The `grandirenhlm` command: each subcommand parses its options, calls one function of the
library's API (`grandirenhlm.site`), prints.

User mistakes (`GrandirError`) become `error: <file or setting>: <what is wrong>` on stderr and
exit status 1, without a traceback. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import gc as collector  # `gc` is also a command here
import json
import signal
import sys
import threading
from datetime import UTC, datetime, tzinfo
from pathlib import Path

import click

from grandirenhlm import __version__, site
from grandirenhlm.errors import (
    EncodeInterrupted,
    GrandirError,
    Terminated,
    ValidationError,
    interrupt_exit_code,
)


class ErrorReportingGroup(click.Group):
    """User mistakes as `error:` lines and exit status 1; Ctrl-C and SIGTERM as one `error:` line
    and 130 or 143, after the command cleaned up (manifest saved, lock released)."""

    def invoke(self, ctx: click.Context):
        previous = _terminate_like_ctrl_c()
        try:
            return super().invoke(ctx)
        except ValidationError as exc:
            for problem in exc.problems:
                click.echo(f"error: {problem}", err=True)
            ctx.exit(1)
        except GrandirError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(1)
        except KeyboardInterrupt as exc:
            what = "terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted"
            click.echo(f"error: {what}; what was done is kept: run the command again to finish", err=True)
            ctx.exit(interrupt_exit_code(exc))
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)


def _terminate_like_ctrl_c():
    """SIGTERM raises `Terminated` (a KeyboardInterrupt) in the main thread; returns the handler
    it replaced (None when not in the main thread, where handlers cannot be set)."""

    def terminated(signum, frame):
        raise Terminated()

    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, terminated)


def _project(ctx: click.Context):
    root = ctx.obj.get("project_dir")
    return site.open_project(Path(root) if root else None)


def _parse_moment(value: str | None, zone: tzinfo = UTC) -> datetime | None:
    """`--at`: a date or date-time; without an offset, in the project's time zone (`zone`)."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise GrandirError(
            f"--at: expected a date like 2023-06-26 or 2023-06-26T10:00+02:00, got {value!r}"
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


@click.group(cls=ErrorReportingGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="grandirenhlm")
@click.option(
    "--project",
    "project_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Project folder (holds feeds/ and episodes/). Default: found from the current folder.",
)
@click.pass_context
def main(ctx: click.Context, project_dir: str | None) -> None:
    """Ingest podcast media, build RSS feeds and pages, publish them to a folder or S3."""
    ctx.ensure_object(dict)["project_dir"] = project_dir


_DEFAULT_GC = collector.get_threshold()


def run() -> None:
    """The console script and `python -m grandirenhlm`: `main` in a process of its own.

    A command is a short-lived process that builds a large graph of long-lived objects (at 10,000
    episodes, millions: the catalog, the pages' bookkeeping) and lets it go at exit. Each full
    collection of the cyclic garbage collector walks all of it again and finds nothing: eight of
    them were 1.3 s of a cold build at 10,000 episodes, 0.4 to 0.6 s of a build after one edit.
    Young garbage (a page's rendering) is still collected; only full collections are put off,
    in this process alone (not in a program or a test that calls `main` itself). `serve`, which
    does not end, restores the default."""
    collector.set_threshold(_DEFAULT_GC[0], _DEFAULT_GC[1], 1_000_000)
    main()


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object (one file) or array.")
@click.option("--jsonl", is_flag=True, help="Print one JSON object per line.")
@click.option("--loudness", is_flag=True, help="Also measure loudness and true peak (decodes the file).")
def inspect(files: tuple[Path, ...], as_json: bool, jsonl: bool, loudness: bool) -> None:
    """Show what mutagen reads from media FILES: duration, format, tags, cover, chapters."""
    results, failed = [], False
    for path in files:
        try:
            data = site.inspect_file(path, loudness=loudness)
        except GrandirError as exc:
            click.echo(f"error: {exc}", err=True)
            failed = True
            continue
        if jsonl:
            click.echo(json.dumps(data, ensure_ascii=False))
        elif as_json:
            results.append(data)
        else:
            _print_info(data)
    if as_json and results:
        click.echo(json.dumps(results[0] if len(files) == 1 else results, ensure_ascii=False, indent=2))
    if failed:
        sys.exit(1)


def _print_info(data: dict) -> None:
    click.echo(f"{data['path']}")
    for key in (
        "mime_type",
        "container",
        "codec",
        "duration_seconds",
        "bitrate",
        "sample_rate",
        "channels",
        "size",
        "sha256",
    ):
        click.echo(f"  {key:17} {data[key]}")
    if data["video"]:
        click.echo(f"  {'video':17} {data['video']['width']}x{data['video']['height']}")
    for key, value in data["tags"].items():
        if value:
            click.echo(f"  tag {key:13} {value}")
    cover = data["cover"]
    click.echo(
        f"  {'cover':17} "
        + (f"{cover['mime']} {cover['width']}x{cover['height']}" if cover["present"] else "none")
    )
    for chapter in data["chapters"]:
        click.echo(f"  chapter {chapter['start_seconds']:>9.3f} {chapter['title']}")
    click.echo(f"  {'publishable':17} {'yes' if data['publishable'] else 'no (a master: encode it first)'}")
    if "loudness" in data:
        lo = data["loudness"]
        click.echo(f"  {'loudness':17} {lo['integrated_lufs']} LUFS (target {lo['target_lufs']:g})")
        click.echo(f"  {'true peak':17} {lo['true_peak_dbtp']} dBTP")
        for problem in lo["problems"]:
            click.echo(f"warning: {data['path']}: {problem}", err=True)
    for warning in data["warnings"]:
        click.echo(f"warning: {data['path']}: {warning}", err=True)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--show", "show", required=True, help="Slug of the show (the name of its feeds/<show>.toml).")
@click.option("--slug", help="Episode slug (one file only). Default: from the title tag or file name.")
@click.option("--title", help="Episode title (one file only). Default: the title tag or file name.")
@click.option("--force", is_flag=True, help="Replace the media of an existing episode (its GUID is kept).")
@click.option("--encode", is_flag=True, help="Re-encode publishable MP3/M4A too (default: kept as they are).")
@click.option("--normalize", is_flag=True, default=None, help="Normalise loudness while encoding (two-pass).")
@click.option("--format", "fmt", type=click.Choice(["mp3", "m4a"]), help="Encode to this format.")
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(1),
    help="Encodes at once; a big batch is also read by N - 1 worker processes (default: cores).",
)
@click.option(
    "--quiet",
    "-q",
    is_flag=True,
    help="Print nothing but errors (no progress, no line per file).",
)
@click.pass_context
def ingest(
    ctx, files: tuple[Path, ...], show: str, slug: str | None, title: str | None, force: bool,
    encode: bool, normalize: bool | None, fmt: str | None, jobs: int | None, quiet: bool,
) -> None:  # fmt: skip
    """Store media FILES (or folders of them) for SHOW and write their episode records.

    Masters (WAV, FLAC, AIFF, or anything ffmpeg reads) are encoded to the show's [encoding]
    settings first; a video also gets its audio-only version and a poster.
    """
    options = site.IngestOptions(slug, title, force, encode, normalize, fmt, jobs, quiet)
    failures = total = 0
    try:
        for path, result in site.ingest(_project(ctx), show, files, options):
            total += 1
            if isinstance(result, EncodeInterrupted):
                raise result
            if isinstance(result, GrandirError):
                click.echo(f"error: {result}", err=True)
                failures += 1
            elif not quiet:  # quiet: errors only, whatever changed (a timer over 10,000 files)
                click.echo(
                    f"{result.action}: {site.display_path(result.record)} <- {site.display_path(path)}"
                )
    except KeyboardInterrupt as exc:
        click.echo("error: interrupted; nothing partial was left in the media store", err=True)
        sys.exit(interrupt_exit_code(exc))
    if failures:
        click.echo(f"error: {failures} of {total} file(s) not ingested", err=True)
        sys.exit(1)


@main.command("import")
@click.argument("source", metavar="FEED_URL|FILE")
@click.option(
    "--show", "show", required=True, help="Slug of the show to create (feeds/<show>.toml) or complete."
)
@click.option(
    "--dry-run", is_flag=True, help="Read the feed and report what would be imported; write nothing."
)
@click.option(
    "--owner-confirmed", is_flag=True, help="Import a feed marked podcast:locked: you are its owner."
)
@click.option(
    "--jobs", "-j", type=click.IntRange(1, 32), default=4, show_default=True, help="Downloads at once."
)
@click.option("--quiet", "-q", is_flag=True, help="Only the report, no progress lines.")
@click.pass_context
def import_(
    ctx, source: str, show: str, dry_run: bool, owner_confirmed: bool, jobs: int, quiet: bool
) -> None:
    """Import an existing podcast from its feed (every page), keeping its guids, dates and podcast:guid."""
    options = site.ImportOptions(dry_run=dry_run, owner_confirmed=owner_confirmed, jobs=jobs)
    log = (lambda line: None) if quiet else (lambda line: click.echo(line, err=True))
    report = site.import_podcast(_project(ctx), source, show, options, log)
    for line in site.import_report_lines(report):
        click.echo(line)
    if report.failed:
        click.echo("error: some items were not imported (see above); run the same import again", err=True)
        sys.exit(1)
    if not dry_run:
        click.echo(site.import_switch_over())


@main.command()
@click.argument("folder", metavar="DIR", type=click.Path(file_okay=False, path_type=Path))
@click.option("--show", "show", required=True, help="Slug of the show to export.")
@click.option("--base-url", help="Public URL the site is served at (default: the default target's).")
@click.option("--at", "at", help="Export the show as it is at this date-time (scheduled episodes).")
@click.pass_context
def export(ctx, folder: Path, show: str, base_url: str | None, at: str | None) -> None:
    """Write a show's merged feed, media, chapters, transcripts, cover and records into a new folder."""
    result = site.export(_project(ctx), show, folder.resolve(), base_url, _parse_moment(at))
    click.echo(
        f"exported {show}: {result.episodes} episode(s), {result.files} file(s), "
        f"{result.bytes} bytes, in {result.folder}"
    )


@main.command()
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@click.option("--deep", is_flag=True, help="Also re-hash every media file against its record.")
@click.option("--loudness", is_flag=True, help="Also measure every episode's loudness against the target.")
@click.pass_context
def check(ctx, strict: bool, deep: bool, loudness: bool) -> None:
    """Validate show definitions and episode records before anything is published."""
    findings = site.check(_project(ctx), deep=deep, loudness=loudness)
    for finding in findings:
        click.echo(str(finding), err=True)
    if any(f.level == "error" or strict for f in findings):
        sys.exit(1)
    click.echo(f"ok: {len(findings)} warning(s)" if findings else "ok: no problems found")


@main.command()
@click.option("--show", default=None, help="Only this show's episodes.")
@click.pass_context
def retag(ctx, show: str | None) -> None:
    """Write each record's title, description and chapters into its stored MP3/M4A again.

    The tagged copy gets a new content-addressed name and the record points at it; the old file
    stays in the media store until `grandirenhlm gc`."""
    for done in site.retag(_project(ctx), show):
        click.echo(f"retagged {site.display_path(done.record)}: {done.old.name} -> {done.new.name}")


@main.command()
@click.option("--dry-run", is_flag=True, help="List the files, remove nothing.")
@click.pass_context
def gc(ctx, dry_run: bool) -> None:
    """Remove media store files that no episode record references (never a master)."""
    found = site.gc(_project(ctx), dry_run)
    for path in found:
        click.echo(f"{'would remove' if dry_run else 'removed'} {site.display_path(path)}")
    if not found:
        click.echo("nothing to remove")


@main.command()
@click.option(
    "--output",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output folder. Default: public/ in the project.",
)
@click.option("--base-url", help="Public URL the folder will be served at (feeds need absolute URLs).")
@click.option("--at", "at", help="Build the site as it is at this date-time (scheduled episodes).")
@click.pass_context
def build(ctx, output: Path | None, base_url: str | None, at: str | None) -> None:
    """Write feeds, pages, covers and media into an output folder."""
    project = _project(ctx)
    moment = _parse_moment(at, project.timezone)
    result = site.build(project, output.resolve() if output else None, base_url, moment)
    click.echo(f"built {result.written} new file(s), {result.unchanged} unchanged, in {result.folder}")


def target_options(command):
    """`--to`, `--public-base-url` and every storage backend's settings (`storage.OptionSpec`),
    shared by `publish` and `setup`."""
    options = [
        click.option(
            "--to", "to", help="Target name from grandirenhlm.toml, a folder, or s3://BUCKET/PREFIX."
        ),
        click.option(
            "--public-base-url", help="URL listeners reach the target at (CDN or website endpoint)."
        ),
    ]
    for spec in site.target_options():
        if spec.kind == "choice":
            kind = click.Choice(list(spec.choices))
        elif spec.kind == "int":
            kind = click.IntRange(spec.minimum)
        else:
            kind = str
        options.append(click.option(spec.flag, spec.name, type=kind, default=None, help=spec.help))
    for option in reversed(options):
        command = option(command)
    return command


@main.command()
@target_options
@click.pass_context
def setup(ctx, to, public_base_url, **flags) -> None:
    """Make an S3 bucket ready for the site: create it, public read (the manifest kept private),
    CORS, website configuration; then check it from outside."""
    project = _project(ctx)
    target = site.resolve_target(project, to, public_base_url=public_base_url, **flags)
    if target.is_folder:
        raise GrandirError(f"setup: {target.url} is a folder; the command is for s3:// targets")
    for line in site.setup(project, target):
        click.echo(line, err=line.startswith("warning: "))


@main.command()
@target_options
@click.option(
    "--dry-run", is_flag=True, help="Print the plan (PUT, UPDATE, SKIP, DELETE per key); change nothing."
)
@click.option("--prune", is_flag=True, help="Delete objects no longer part of the site.")
@click.option("--at", "at", help="Publish the site as it is at this date-time.")
@click.option("--setup-bucket", is_flag=True, help="S3: first run `grandirenhlm setup` on the target.")
@click.option(
    "--no-verify", is_flag=True, help="S3: skip fetching what the feeds point at through the public URL."
)
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@click.option(
    "--wait",
    "wait_seconds",
    type=click.FloatRange(0),
    default=0,
    help="If another publish to the target is running, wait up to this many seconds for it.",
)
@click.option("--break-lock", is_flag=True, help="Remove a lock left by a publish that crashed.")
@click.pass_context
def publish(
    ctx, to, public_base_url, dry_run, prune, at, setup_bucket, no_verify, as_json, quiet, wait_seconds,
    break_lock, **flags,
) -> None:  # fmt: skip
    """Check, build and upload the site to a target (default: the local public/ folder)."""
    project = _project(ctx)
    target = site.resolve_target(project, to, public_base_url=public_base_url, **flags)
    if setup_bucket and target.is_folder:
        raise GrandirError(f"--setup-bucket: {target.url} is a folder; the option is for s3:// targets")
    moment = _parse_moment(at, project.timezone)
    if dry_run:
        for finding in site.check(project, target=target):
            click.echo(str(finding), err=True)
        plan = site.plan(project, target, at=moment, prune=prune)
        for line in plan.lines():
            click.echo(line)
        if plan.stale:
            click.echo(site.stale_note(len(plan.stale)), err=True)
        return
    options = site.PublishOptions(
        at=moment, prune=prune, verify=not no_verify, setup=setup_bucket, wait_seconds=wait_seconds,
        break_lock=break_lock, reporter=site.make_reporter(quiet),
    )  # fmt: skip
    result = site.publish(project, target, options, warn=lambda line: click.echo(line, err=True))
    if result.stale and not quiet:
        click.echo(site.stale_note(result.stale, result.prune_after), err=True)
    if as_json:
        click.echo(json.dumps(result.summary()))
    elif not quiet:
        s = result.summary()
        updated = f"{s['updated']} updated, " if s["updated"] else ""
        click.echo(
            f"published to {target.url}: {s['uploaded']} uploaded, {updated}{s['skipped']} unchanged, "
            f"{s['deleted']} deleted, {s['bytes']} bytes in {s['seconds']} s"
        )
        if target.is_folder:
            click.echo(f"site: {(project.root / target.url).resolve()}/index.html")
            click.echo(f"run `grandirenhlm serve` and open {site.public_base_url(target)}")


@main.command()
@click.option("--show", help="One show (its slug); default: every show.")
@click.option(
    "--to", "to", help="The target whose public address the feed has (default: the default target)."
)
@click.pass_context
def platforms(ctx, show: str | None, to: str | None) -> None:
    """What Apple Podcasts, Spotify, Deezer, Amazon Music, YouTube and Podcast Index require of
    each show's feed, whether it meets it now, and where to submit it."""
    project = _project(ctx)
    target = site.resolve_target(project, to) if to else None
    for slug, feed_url, statuses in site.platforms(project, show, target):
        click.echo(f"{slug}: {feed_url}")
        for status in statuses:
            d = status.directory
            state = (
                f"listed ({d.links_key} = {status.listed})"
                if status.listed
                else ("ready to submit" if status.ready else "not ready")
            )
            click.echo(f"  {d.name}: {state}")
            for text, ok in status.results:
                click.echo(f"    {'ok  ' if ok else 'FAIL'} {text}")
            if not status.listed:
                click.echo(f"    submit: {d.submit}")
                click.echo(f'    then: {d.links_key} = "<its id or URL>" under [links] in feeds/{slug}.toml')
            if d.note:
                click.echo(f"    note: {d.note}")


@main.command("stats")
@click.argument("logs", nargs=-1, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="First UTC day counted (YYYY-MM-DD).")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Last UTC day counted (YYYY-MM-DD).")
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write the French report (index.html) and the CSV (telechargements.csv) into this folder.",
)
@click.option("--record", is_flag=True, help="Also keep these logs' figures in the project (per UTC day).")
@click.pass_context
def stats_command(ctx, logs: tuple[Path, ...], as_json: bool, since, until, output, record: bool) -> None:
    """Count downloads from the storage's access logs (files, folders, .gz), to the IAB rules;
    without LOGS, report what was recorded."""
    from grandirenhlm.stats import render_table

    options = site.StatsOptions(since and since.date(), until and until.date(), record, output)
    report = site.stats(
        _project(ctx), logs, options, warn=lambda line: click.echo(f"warning: {line}", err=True)
    )
    if as_json:
        click.echo(json.dumps(report.to_json(), sort_keys=True, ensure_ascii=False, indent=2))
    else:
        click.echo(render_table(report))


@main.command()
@click.option("--port", "-p", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option(
    "--directory",
    "-d",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder to serve. Default: public/ in the project.",
)
@click.pass_context
def serve(ctx, port: int, directory: Path | None) -> None:
    """Serve the output folder on 127.0.0.1 with HTTP Range support (for players and apps)."""
    collector.set_threshold(*_DEFAULT_GC)  # a server does not end: full collections as usual (see `run`)
    root = directory or _project(ctx).output_dir
    server = site.serve(root, port)
    host, real_port = server.server_address[:2]
    click.echo(f"serving {root} at http://{host}:{real_port}/ (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
