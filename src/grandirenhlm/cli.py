"""The `grandirenhlm` command: each subcommand parses its options, calls one function, prints.

User mistakes (`GrandirError`) become `error: <file or setting>: <what is wrong>` on stderr and
exit status 1, without a traceback. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from grandirenhlm import __version__
from grandirenhlm.errors import GrandirError, ValidationError


class ErrorReportingGroup(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ValidationError as exc:
            for problem in exc.problems:
                click.echo(f"error: {problem}", err=True)
            ctx.exit(1)
        except GrandirError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(1)


def _project(ctx: click.Context):
    from grandirenhlm.config import find_project, load_project

    root = ctx.obj.get("project_dir")
    return load_project(Path(root).resolve() if root else find_project(Path.cwd()))


def _parse_moment(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise GrandirError(
            f"--at: expected a date like 2023-06-26 or 2023-06-26T10:00+02:00, got {value!r}"
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


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


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object (one file) or array.")
@click.option("--jsonl", is_flag=True, help="Print one JSON object per line.")
@click.option("--loudness", is_flag=True, help="Also measure loudness and true peak (decodes the file).")
def inspect(files: tuple[Path, ...], as_json: bool, jsonl: bool, loudness: bool) -> None:
    """Show what mutagen reads from media FILES: duration, format, tags, cover, chapters."""
    from grandirenhlm.media import probe, to_json

    results, failed = [], False
    for path in files:
        try:
            info = probe(path)
        except GrandirError as exc:
            click.echo(f"error: {exc}", err=True)
            failed = True
            continue
        data = to_json(info)
        if loudness:
            try:
                data["loudness"] = _loudness_json(info)
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


def _loudness_json(info) -> dict:
    """`loudness` in `inspect --json`: the measurement, the target for its channels, what is off."""
    from grandirenhlm.loudness import default_target, loudness_problems, measure_loudness

    value = measure_loudness(info.path)
    return {
        **value.to_json(),
        "target_lufs": default_target(info.channels),
        "problems": loudness_problems(value, info.channels),
    }


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
@click.option("--jobs", "-j", type=click.IntRange(1), help="Encodes run in parallel (default: cores).")
@click.option("--quiet", "-q", is_flag=True, help="No progress, only results and errors.")
@click.pass_context
def ingest(
    ctx, files: tuple[Path, ...], show: str, slug: str | None, title: str | None, force: bool,
    encode: bool, normalize: bool | None, fmt: str | None, jobs: int | None, quiet: bool,
) -> None:  # fmt: skip
    """Store media FILES (or folders of them) for SHOW and write their episode records.

    Masters (WAV, FLAC, AIFF, or anything ffmpeg reads) are encoded to the show's [encoding]
    settings first; a video also gets its audio-only version and a poster.
    """
    from grandirenhlm.encode import load_settings, make_encode_reporter
    from grandirenhlm.ffmpeg import EncodeInterrupted
    from grandirenhlm.files import display_path
    from grandirenhlm.ingest import ingest_file, ingest_files, require_show

    project = _project(ctx)
    paths = _expand(files)
    if (slug or title) and len(paths) > 1:
        raise GrandirError("--slug/--title: give them with a single file only")
    require_show(project, show)
    settings = load_settings(project.root, show, format=fmt, normalize=normalize)
    reporter = make_encode_reporter(quiet)
    options = {"force": force, "encode": encode, "settings": settings, "reporter": reporter}
    try:
        if slug or title:
            results = [(paths[0], ingest_file(project, show, paths[0], slug=slug, title=title, **options))]
        else:
            results = ingest_files(project, show, paths, jobs=jobs or os.cpu_count() or 1, **options)
        failures = 0
        for path, result in results:
            if isinstance(result, EncodeInterrupted):
                raise result
            if isinstance(result, GrandirError):
                click.echo(f"error: {result}", err=True)
                failures += 1
            else:
                click.echo(f"{result.action}: {display_path(result.record)} <- {display_path(path)}")
    except KeyboardInterrupt:
        click.echo("error: interrupted; nothing partial was left in the media store", err=True)
        sys.exit(130)
    if failures:
        click.echo(f"error: {failures} of {len(paths)} file(s) not ingested", err=True)
        sys.exit(1)


def _expand(files: tuple[Path, ...]) -> list[Path]:
    """Folders become the files in them (recursively, hidden ones skipped), in name order."""
    out: list[Path] = []
    for path in files:
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")))
        else:
            out.append(path)
    return out


@main.command()
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@click.option("--deep", is_flag=True, help="Also re-hash every media file against its record.")
@click.option("--loudness", is_flag=True, help="Also measure every episode's loudness against the target.")
@click.pass_context
def check(ctx, strict: bool, deep: bool, loudness: bool) -> None:
    """Validate show definitions and episode records before anything is published."""
    findings = _run_checks(_project(ctx), deep, loudness)
    errors = [f for f in findings if f.level == "error" or strict]
    if errors:
        sys.exit(1)
    click.echo(f"ok: {len(findings)} warning(s)" if findings else "ok: no problems found")


def _run_checks(project, deep: bool = False, loudness: bool = False, target=None):
    """Print every finding. Placeholders (an owner address at example.org, a loopback base URL)
    are warnings for `check` (without `target`), errors for a `target` on another machine, and
    not reported for a publish that stays on this machine (a folder, a test server)."""
    from grandirenhlm.catalog import load_catalog
    from grandirenhlm.check import check_catalog, placeholder_findings

    catalog = load_catalog(project)
    findings = check_catalog(catalog, deep=deep, loudness=loudness, published=project.output_dir)
    remote = target is not None and target.is_remote
    placeholders = []
    if target is None or remote:
        target = target or project.target(None)
        base_url = target.public_base_url or (_default_base_url(target) if target.is_s3 else None)
        key = (
            f"{project.config_display}: targets.{target.name}.public_base_url"
            if target.name in project.targets
            else "--public-base-url"
        )
        level = "error" if remote else "warning"
        placeholders = placeholder_findings(project, catalog, base_url, key, level=level)
    for finding in [*findings, *placeholders]:
        click.echo(str(finding), err=True)
    if remote and placeholders:
        raise GrandirError(
            f"{target.url}: not published: this storage is not on this machine, and the "
            "placeholders above would reach listeners"
        )
    return findings + placeholders


def _default_base_url(target) -> str:
    from grandirenhlm.storage.s3 import default_public_base_url

    return default_public_base_url(target)


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
    from grandirenhlm.config import Target, ensure_slash

    project = _project(ctx)
    out = output.resolve() if output else project.output_dir
    target = Target(
        name=str(out),
        url=str(out),
        public_base_url=ensure_slash(base_url or project.targets["local"].public_base_url),
    )
    result = _publish(project, target, at=_parse_moment(at), quiet=True)
    click.echo(f"built {result.summary()['uploaded']} new file(s), {result.skipped} unchanged, in {out}")


def target_options(command):
    """The options that choose and reach a publish target, shared by `publish` and `setup`."""
    options = [
        click.option(
            "--to", "to", help="Target name from grandirenhlm.toml, a folder, or s3://BUCKET/PREFIX."
        ),
        click.option("--endpoint-url", help="S3 API endpoint (MinIO, Ceph, R2, OVHcloud, Scaleway...)."),
        click.option("--region", help="S3 region."),
        click.option("--profile", help="AWS profile for credentials."),
        click.option("--addressing-style", type=click.Choice(["auto", "path", "virtual"]), default=None),
        click.option(
            "--acl",
            type=click.Choice(["none", "private", "public-read"]),
            default=None,
            help="Canned ACL to set on objects (default: none; many providers refuse ACLs).",
        ),
        click.option(
            "--public-base-url", help="URL listeners reach the target at (CDN or website endpoint)."
        ),
        click.option("--storage-class", help="S3 storage class of new objects (STANDARD_IA, ONEZONE_IA...)."),
        click.option(
            "--multipart-threshold-mb",
            type=click.IntRange(5),
            default=None,
            help="S3: files from this size (MiB) go up in parts of this size (default 16).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _target(project, to, **overrides):
    from grandirenhlm.config import with_overrides

    return with_overrides(project.target(to), **overrides)


@main.command()
@target_options
@click.pass_context
def setup(ctx, to, **overrides) -> None:
    """Make an S3 bucket ready for the site: create it, public read (the manifest kept private),
    CORS, website configuration; then check it from outside."""
    project = _project(ctx)
    target = _target(project, to, **overrides)
    for line in _setup(project, target, "setup"):
        click.echo(line, err=line.startswith("warning: "))


def _setup(project, target, option: str) -> list[str]:
    from grandirenhlm.storage import open_storage
    from grandirenhlm.verify import Verifier

    if not target.is_s3:
        raise GrandirError(
            f"{option}: {target.url} is a folder; the command is for s3:// targets "
            "(serve a folder with `grandirenhlm serve` or any static web server)"
        )
    base_url = target.public_base_url or _default_base_url(target)
    return open_storage(project, target).setup(Verifier(base_url).readable)


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
    ctx, to, dry_run, prune, at, setup_bucket, no_verify, as_json, quiet, wait_seconds, break_lock,
    **overrides,
) -> None:  # fmt: skip
    """Check, build and upload the site to a target (default: the local public/ folder)."""
    project = _project(ctx)
    target = _target(project, to, **overrides)
    if setup_bucket and not target.is_s3:
        raise GrandirError(f"--setup-bucket: {target.url} is a folder; the option is for s3:// targets")
    findings = _run_checks(project, target=target)
    if any(f.level == "error" for f in findings):
        raise GrandirError("check found errors: nothing published")
    if setup_bucket and not dry_run:
        for line in _setup(project, target, "--setup-bucket"):
            if not quiet or line.startswith("warning: "):
                click.echo(line, err=True)
    result = _publish(
        project, target, at=_parse_moment(at), prune=prune, dry_run=dry_run, quiet=quiet,
        verify=target.is_s3 and not no_verify, wait_seconds=wait_seconds, break_lock=break_lock,
    )  # fmt: skip
    if result is None:
        return
    if result.stale and not quiet:
        click.echo(_stale_note(result.stale), err=True)
    if as_json:
        click.echo(json.dumps(result.summary()))
    elif not quiet:
        s = result.summary()
        updated = f"{s['updated']} updated, " if s["updated"] else ""
        click.echo(
            f"published to {target.url}: {s['uploaded']} uploaded, {updated}{s['skipped']} unchanged, "
            f"{s['deleted']} deleted, {s['bytes']} bytes in {s['seconds']} s"
        )
        if not target.is_s3:
            click.echo(f"site: {(project.root / target.url).resolve()}/index.html")
            click.echo(f"run `grandirenhlm serve` and open {target.public_base_url}")


def _publish(
    project,
    target,
    at: datetime,
    prune: bool = False,
    dry_run: bool = False,
    quiet: bool = False,
    verify: bool = False,
    wait_seconds: float = 0.0,
    break_lock: bool = False,
):
    from grandirenhlm.build import build_site
    from grandirenhlm.catalog import load_catalog
    from grandirenhlm.plan import plan_publish
    from grandirenhlm.progress import make_reporter
    from grandirenhlm.publish import publish_artifacts
    from grandirenhlm.storage import open_storage

    catalog = load_catalog(project)
    base_url = target.public_base_url or _default_base_url(target)
    from grandirenhlm.pages import PageCache

    artifacts = build_site(project, catalog, base_url, at, cache=PageCache.for_project(project, base_url))
    storage = open_storage(project, target)
    if dry_run:
        plan = plan_publish(artifacts, storage.read_manifest(), prune=prune, settings=storage.settings)
        for line in plan.lines():
            click.echo(line)
        if plan.stale:
            click.echo(_stale_note(len(plan.stale)), err=True)
        return None
    from grandirenhlm.verify import Verifier

    return publish_artifacts(
        artifacts, storage, prune=prune, reporter=make_reporter(quiet),
        verifier=Verifier(base_url) if verify else None,
        wait_seconds=wait_seconds, break_lock=break_lock, base_url=base_url,
    )  # fmt: skip


def _stale_note(count: int) -> str:
    return (
        f"note: {count} object(s) on the target are no longer part of the site (unpublished "
        "episodes, replaced files); `grandirenhlm publish --prune` deletes them"
    )


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
    from grandirenhlm.serve import make_server

    root = directory or _project(ctx).output_dir
    if not root.is_dir():
        raise GrandirError(f"{root}: no such folder; run `grandirenhlm publish` or `build` first")
    try:
        server = make_server(root, port)
    except OSError as exc:
        raise GrandirError(f"--port: cannot listen on 127.0.0.1:{port}: {exc.strerror}") from exc
    host, real_port = server.server_address[:2]
    click.echo(f"serving {root} at http://{host}:{real_port}/ (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
