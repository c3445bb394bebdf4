"""Time inspect, ingest, build and publish over N short episodes, next to plain reference loops.

    python benchmarks/bench_pipeline.py --episodes 100 --episodes 1000 [--json results.json]

Every stage runs in a fresh child process (multiprocessing, 'spawn'), so that its peak RSS is its
own: the child reports its RSS when the timed work starts and its peak RSS during it (see `Clock`).
Imports and setup happen before the clock starts. See benchmarks/README.md for what each row
measures and how to read the table.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SHOW = "bench"
BASE_URL = "http://127.0.0.1:8000/"
S3_PREFIX = "site"
REFERENCE_PREFIX = "reference"
MIB = 1024 * 1024

SHOW_TOML = """\
title = "Banc d’essai"
description = "Épisodes courts générés pour mesurer le pipeline de publication."
language = "fr"
author = "Banc d’essai grandirenhlm"
category = "Technology"
type = "episodic"
image = "cover.jpg"

[owner]
name = "Banc d’essai grandirenhlm"
email = "bench@example.org"
"""


# ---------------------------------------------------------------- in the child process


class Clock:
    """Times the work inside `with clock:`; `split(name)` records laps inside it.

    Memory: the RSS when the work starts (imports and setup done) and the peak RSS during the
    work, from Linux's VmHWM after resetting it through /proc/self/clear_refs. `ru_maxrss` is only
    a fallback: Linux carries it over from the parent through fork and exec, so a child spawned by
    a 100 MiB parent reports at least 100 MiB whatever it does.
    """

    def __init__(self, trace: bool):
        self.trace = trace
        self.seconds = 0.0
        self.splits: dict[str, float] = {}
        self.rss_start = self.rss_peak = 0
        self.rss_method = "VmHWM"
        self.py_peak: int | None = None

    def __enter__(self) -> Clock:
        self.rss_start = _proc_status("VmRSS") or 0
        try:
            Path("/proc/self/clear_refs").write_text("5")  # peak RSS := current RSS
        except OSError:
            self.rss_method = "VmHWM since start"  # the peak of the imports, if higher, shows too
        if self.trace:
            tracemalloc.start()
        self.started = self.lap = time.perf_counter()
        return self

    def split(self, name: str) -> None:
        now = time.perf_counter()
        self.splits[name] = now - self.lap
        self.lap = now

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.started
        if self.trace:
            self.py_peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        peak = _proc_status("VmHWM")
        if peak is None:
            self.rss_method = "ru_maxrss"
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            peak = peak if sys.platform == "darwin" else peak * 1024  # Linux reports KiB
        self.rss_peak = peak


def _proc_status(key: str) -> int | None:
    """A `kB` value of /proc/self/status in bytes (Linux), or None."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _files(ctx: dict) -> list[Path]:
    return sorted(Path(ctx["corpus"]).glob("*.mp3"))[: ctx["n"]]


def _project(ctx: dict):
    from grandirenhlm.config import load_project

    return load_project(Path(ctx["project"]))


def stage_mutagen(ctx: dict, clock: Clock) -> dict:
    import mutagen

    files = _files(ctx)
    with clock:
        opened = sum(mutagen.File(path) is not None for path in files)
    return {"files": opened}


def stage_mutagen_sha(ctx: dict, clock: Clock) -> dict:
    import hashlib

    import mutagen

    files = _files(ctx)
    with clock:
        opened = 0
        for path in files:
            opened += mutagen.File(path) is not None
            with path.open("rb") as fh:
                hashlib.file_digest(fh, "sha256").hexdigest()
    return {"files": opened}


def stage_inspect(ctx: dict, clock: Clock) -> dict:
    from grandirenhlm.media import probe

    files = _files(ctx)
    with clock:
        hashes = {probe(path).sha256 for path in files}
    return {"distinct sha256": len(hashes)}


def stage_ingest(ctx: dict, clock: Clock) -> dict:
    from grandirenhlm.ingest import ingest_files

    project, files = _project(ctx), _files(ctx)
    with clock:
        actions = Counter(
            result.action if hasattr(result, "action") else "failed"
            for _, result in ingest_files(project, SHOW, files)
        )
    return {action: actions[action] for action in ("created", "updated", "unchanged")}


def stage_build(ctx: dict, clock: Clock) -> dict:
    """`site.render`: the build step of `grandirenhlm build` and `publish` (catalog, feeds, pages,
    with the project's caches as the commands use them), nothing written."""
    from grandirenhlm import site
    from grandirenhlm.catalog import load_catalog

    project = _project(ctx)
    with clock:
        catalog = load_catalog(project)
        clock.split("load_catalog")
        artifacts = site.render(project, BASE_URL, catalog=catalog)
        clock.split("render")
    return {"artifacts": len(artifacts), "bytes": sum(a.size for a in artifacts)}


def _publish(ctx: dict, clock: Clock, target) -> dict:
    """`site.publish`: what `grandirenhlm publish` runs (check, build, plan under the lock, upload,
    manifest), without the check from outside (the targets here are not served)."""
    from grandirenhlm import site
    from grandirenhlm.progress import QuietReporter

    project = _project(ctx)
    options = site.PublishOptions(verify=False, reporter=QuietReporter())
    with clock:
        result = site.publish(project, target, options)
    return {"PUT": len(result.uploaded), "skipped": result.skipped, "bytes": result.bytes_uploaded}


def stage_publish_local(ctx: dict, clock: Clock) -> dict:
    from grandirenhlm.config import Target

    return _publish(ctx, clock, Target(name="bench-local", url="public", public_base_url=BASE_URL))


def _s3_target(ctx: dict):
    from grandirenhlm.config import Target

    return Target(
        name="bench",
        url=f"s3://{ctx['bucket']}/{S3_PREFIX}",
        public_base_url=BASE_URL,
        options={"endpoint_url": ctx["endpoint"], "addressing_style": "path"},
    )


def stage_publish_s3(ctx: dict, clock: Clock) -> dict:
    return _publish(ctx, clock, _s3_target(ctx))


def boto3_upload_loop(
    endpoint: str, bucket: str, root: Path, files: list[Path], prefix: str, concurrency: int
) -> list[int]:
    """The plain-boto3 peer of the publish benchmarks: a client and a pool of `concurrency` threads
    calling `upload_file` with a Content-Type for every file; returns the sizes uploaded. It uses
    the same checksum mode as S3Storage for a custom endpoint, so only the orchestration differs."""
    import mimetypes
    from concurrent.futures import ThreadPoolExecutor

    import boto3
    from botocore.config import Config

    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        config=Config(
            s3={"addressing_style": "path"},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            max_pool_connections=max(10, concurrency * 2),
        ),
    )

    def upload(path: Path) -> int:
        key = f"{prefix}/{path.relative_to(root).as_posix()}"
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        s3.upload_file(str(path), bucket, key, ExtraArgs={"ContentType": content_type})
        return path.stat().st_size

    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(upload, files))


def stage_boto3(ctx: dict, clock: Clock) -> dict:
    """Plain boto3: upload_file every file of the local publish (media, pages, feed, manifest)."""
    root = Path(ctx["project"]) / "public"
    files = sorted(p for p in root.rglob("*") if p.is_file())
    concurrency = _s3_target(ctx).option("max_concurrency", 8)  # the S3 backend's default
    with clock:  # client creation inside the clock, as it is for the publish
        sizes = boto3_upload_loop(ctx["endpoint"], ctx["bucket"], root, files, REFERENCE_PREFIX, concurrency)
    return {"PUT": len(sizes), "bytes": sum(sizes)}


def run_in_child(stage: str, ctx: dict, trace: bool) -> dict:
    """Entry point of the child process: run one stage, report time and memory."""
    clock = Clock(trace)
    info = STAGES[stage].run(ctx, clock)
    return {
        "seconds": clock.seconds,
        "splits": clock.splits,
        "rss_start": clock.rss_start,
        "rss_peak": clock.rss_peak,
        "rss_method": clock.rss_method,
        "py_peak": clock.py_peak,
        "info": info,
    }


# ---------------------------------------------------------------- stages and what they are compared to


@dataclass(frozen=True)
class StageDef:
    label: str  # row name in the table
    short: str  # name in other rows' ratio column
    run: Any  # (ctx, clock) -> info dict, in the child
    compare: tuple[str, ...] = ()  # stage ids this one is shown as a ratio of
    expect: Any = None  # n -> what `info` must hold (None: no check)


def _ingested(created: int = 0, unchanged: int = 0) -> dict:
    return {"created": created, "updated": 0, "unchanged": unchanged}


# Run in this order for each N. A site has 4N + SITE_FIXED objects: per episode its media file,
# page, player page and oEmbed JSON; then the cover, its 6 renditions and 2 icons, the feed, the show
# and subscribe pages, the 3 assets, the feeds' stylesheet, favicon.ico, the home, accessibility,
# legal and 404 pages, sitemap.xml, robots.txt and the OPML: 24 (+ the manifest, not counted).
SITE_FIXED = 24  # what does not grow with N, as listed above
STAGES: dict[str, StageDef] = {
    "mutagen": StageDef("ref: mutagen.File loop", "mutagen", stage_mutagen, expect=lambda n: {"files": n}),
    "mutagen_sha": StageDef(
        "ref: mutagen.File + sha256 loop", "mutagen+sha256", stage_mutagen_sha, expect=lambda n: {"files": n}
    ),
    "inspect": StageDef(
        "inspect (media.probe)",
        "inspect",
        stage_inspect,
        ("mutagen", "mutagen_sha"),
        lambda n: {"distinct sha256": n},
    ),
    "ingest": StageDef(
        "ingest, first", "ingest first", stage_ingest, ("inspect",), lambda n: _ingested(created=n)
    ),
    "reingest": StageDef(
        "ingest, again (unchanged)",
        "ingest again",
        stage_ingest,
        ("ingest",),
        lambda n: _ingested(unchanged=n),
    ),
    "build": StageDef(
        "build (load_catalog + build_site)",
        "build",
        stage_build,
        expect=lambda n: {"artifacts": 4 * n + SITE_FIXED},
    ),
    "local": StageDef(
        "publish local, first",
        "local first",
        stage_publish_local,
        ("build",),
        lambda n: {"PUT": 4 * n + SITE_FIXED, "skipped": 0},
    ),
    "local_noop": StageDef(
        "publish local, no-op",
        "local no-op",
        stage_publish_local,
        ("local",),
        lambda n: {"PUT": 0, "skipped": 4 * n + SITE_FIXED},
    ),
    "boto3": StageDef(
        "ref: boto3 upload_file loop",
        "boto3 loop",
        stage_boto3,
        expect=lambda n: {
            "PUT": 4 * n + SITE_FIXED + 1
        },  # every file of the local publish, manifest included
    ),
    "s3": StageDef(
        "publish S3, first",
        "S3 first",
        stage_publish_s3,
        ("boto3",),
        lambda n: {"PUT": 4 * n + SITE_FIXED, "skipped": 0},
    ),
    "s3_noop": StageDef(
        "publish S3, no-op",
        "S3 no-op",
        stage_publish_s3,
        ("s3",),
        lambda n: {"PUT": 0, "skipped": 4 * n + SITE_FIXED},
    ),
}


# ---------------------------------------------------------------- in the parent process


@dataclass
class Measure:
    stage: str
    label: str
    n: int
    seconds: float
    ms_per_episode: float
    rss_peak_mib: float  # peak RSS of the child during the timed work
    rss_start_mib: float  # RSS of the child when the timed work starts (imports and setup done)
    rss_method: str  # "VmHWM" (Linux) or "ru_maxrss" (elsewhere; may include the parent's RSS)
    python_peak_mib: float | None  # tracemalloc peak (only with --tracemalloc)
    splits: dict[str, float]
    info: dict
    ratios: dict[str, float] = field(default_factory=dict)
    problem: str | None = None


def make_corpus(folder: Path, count: int) -> float:
    """`count` copies of one 2 s mono 64 kbps MP3, each with its own ID3 tags (so its own sha256)."""
    import math
    import struct
    from datetime import datetime, timedelta

    import lameenc
    from mutagen.id3 import COMM, ID3, TALB, TDRC, TIT2, TPE1, TRCK

    started = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    rate, seconds = 44100, 2.0
    frames = int(rate * seconds)
    pcm = struct.pack(
        f"<{frames}h", *(int(12000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(frames))
    )
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(64)
    encoder.set_in_sample_rate(rate)
    encoder.set_channels(1)
    encoder.set_quality(7)
    master = folder / ".master.mp3"
    master.write_bytes(bytes(encoder.encode(pcm) + encoder.flush()))

    first_date = datetime(2020, 1, 6, 7, 0, 0)
    for i in range(1, count + 1):
        path = folder / f"ep-{i:05d}.mp3"
        shutil.copyfile(master, path)
        tags = ID3()
        tags.add(TIT2(encoding=3, text=f"Épisode {i:05d} : banc d’essai"))
        tags.add(TPE1(encoding=3, text="Banc d’essai grandirenhlm"))
        tags.add(TALB(encoding=3, text="Banc d’essai"))
        tags.add(TRCK(encoding=3, text=str(i)))
        # an hour apart: 10,000 episodes all lie in the past, so every one is published
        tags.add(TDRC(encoding=3, text=(first_date + timedelta(hours=i)).isoformat()))
        tags.add(COMM(encoding=3, lang="fra", desc="", text=f"Épisode court numéro {i}, pour mesurer."))
        tags.save(path, v2_version=4)
    master.unlink()
    return time.perf_counter() - started


def make_project(root: Path) -> None:
    from PIL import Image

    (root / "feeds").mkdir(parents=True)
    (root / "feeds" / f"{SHOW}.toml").write_text(SHOW_TOML, encoding="utf-8")
    Image.new("RGB", (1400, 1400), (0, 82, 156)).save(root / "feeds" / "cover.jpg", "JPEG")


class MotoServer:
    """moto's S3 server on 127.0.0.1 (a free port), in a thread of this process."""

    def __enter__(self) -> MotoServer:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        return self

    def create_bucket(self, name: str) -> None:
        import boto3

        boto3.client("s3", endpoint_url=self.endpoint).create_bucket(Bucket=name)

    def __exit__(self, *exc: object) -> None:
        self.server.stop()


def isolate_aws_env(workdir: Path) -> None:
    """Test credentials only; never read the user's AWS config or a global endpoint override."""
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=str(workdir / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(workdir / "no-aws-credentials"),
    )
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        os.environ.pop(name, None)


def run_stage(stage: str, n: int, ctx: dict, trace: bool) -> Measure:
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        raw = pool.submit(run_in_child, stage, ctx, trace).result()
    definition = STAGES[stage]
    problem = None
    if definition.expect:
        wanted = definition.expect(n)
        if {k: raw["info"].get(k) for k in wanted} != wanted:
            problem = f"{definition.label}: expected {wanted}, got {raw['info']}"
    return Measure(
        stage=stage,
        label=definition.label,
        n=n,
        seconds=raw["seconds"],
        ms_per_episode=raw["seconds"] * 1000 / n,
        rss_peak_mib=raw["rss_peak"] / MIB,
        rss_start_mib=raw["rss_start"] / MIB,
        rss_method=raw["rss_method"],
        python_peak_mib=None if raw["py_peak"] is None else raw["py_peak"] / MIB,
        splits=raw["splits"],
        info=raw["info"],
        problem=problem,
    )


def bench_one_size(n: int, workdir: Path, corpus: Path, moto: MotoServer, trace: bool) -> list[Measure]:
    project = workdir / f"n{n}" / "project"
    make_project(project)
    bucket = f"bench-{n}-{uuid.uuid4().hex[:8]}"
    moto.create_bucket(bucket)
    ctx = {
        "n": n,
        "corpus": str(corpus),
        "project": str(project),
        "endpoint": moto.endpoint,
        "bucket": bucket,
    }
    done: dict[str, Measure] = {}
    for stage in STAGES:
        m = run_stage(stage, n, ctx, trace)
        for ref in STAGES[stage].compare:
            m.ratios[ref] = m.seconds / done[ref].seconds if done[ref].seconds else float("inf")
        done[stage] = m
        print(
            f"  N={n:<5} {m.label:36} {m.seconds:8.3f} s  {m.rss_peak_mib:6.1f} MiB",
            file=sys.stderr,
            flush=True,
        )
        if m.problem:
            print(f"  warning: {m.problem}", file=sys.stderr, flush=True)
    return list(done.values())


# ---------------------------------------------------------------- report


def _notes(m: Measure) -> str:
    parts = []
    info = {k: v for k, v in m.info.items() if k != "bytes"}
    parts.append(", ".join(f"{v} {k}" for k, v in info.items()))
    if "bytes" in m.info:
        parts.append(f"{m.info['bytes'] / MIB:.1f} MiB")
    if m.splits:
        parts.append(" + ".join(f"{k} {v:.2f}s" for k, v in m.splits.items()))
    return "; ".join(p for p in parts if p)


def _ratio_text(m: Measure) -> str:
    return ", ".join(f"{r:.2f}x {STAGES[ref].short}" for ref, r in m.ratios.items())


def format_table(measures: list[Measure], trace: bool) -> str:
    header = ["stage", "N", "total s", "ms/episode", "peak RSS MiB", "RSS growth"]
    if trace:
        header.append("py peak MiB")
    header += ["ratio", "notes"]
    rows: list[list[str] | None] = []
    last_n = None
    for m in measures:
        if last_n is not None and m.n != last_n:
            rows.append(None)
        last_n = m.n
        row = [
            m.label,
            str(m.n),
            f"{m.seconds:.3f}",
            f"{m.ms_per_episode:.2f}",
            f"{m.rss_peak_mib:.1f}",
            f"{m.rss_peak_mib - m.rss_start_mib:+.1f}",
        ]
        if trace:
            row.append(f"{m.python_peak_mib:.1f}" if m.python_peak_mib is not None else "")
        row += [_ratio_text(m), _notes(m)]
        rows.append(row)
    widths = [max(len(header[i]), *(len(r[i]) for r in rows if r)) for i in range(len(header))]
    numeric = set(range(1, len(header) - 2))

    def line(cells: list[str]) -> str:
        out = [
            c.rjust(w) if i in numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(out).rstrip()

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), sep, *(line(r) if r else "" for r in rows)])


def environment() -> dict:
    from importlib.metadata import version

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "packages": {
            p: version(p) for p in ("grandirenhlm", "mutagen", "boto3", "moto", "feedgen", "jinja2")
        },
    }


# ---------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--episodes",
        type=int,
        action="append",
        metavar="N",
        help="corpus size; repeat for several sizes (default: 100)",
    )
    parser.add_argument("--workdir", type=Path, help="working folder (default: a new temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the working folder at the end")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="also measure the peak of Python allocations (slows allocation-heavy stages down)",
    )
    args = parser.parse_args(argv)
    args.episodes = sorted(set(args.episodes or [100]))
    if any(n < 1 for n in args.episodes):
        parser.error("--episodes: expected a whole number >= 1")
    if args.workdir and args.workdir.exists() and any(args.workdir.iterdir()):
        parser.error(f"--workdir: {args.workdir} is not empty")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    created = args.workdir is None or not args.workdir.exists()
    workdir = Path(tempfile.mkdtemp(prefix="grandirenhlm-bench-")) if args.workdir is None else args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    workdir = workdir.resolve()
    keep = args.keep
    measures: list[Measure] = []
    try:
        isolate_aws_env(workdir)
        corpus = workdir / "corpus"
        count = max(args.episodes)
        corpus_info = {"files": count, "seconds_to_make": make_corpus(corpus, count)}
        corpus_info["bytes_per_file"] = sum(p.stat().st_size for p in corpus.glob("*.mp3")) // count
        print(
            f"corpus: {count} MP3 files of {corpus_info['bytes_per_file'] / 1024:.1f} KiB in {corpus} "
            f"({corpus_info['seconds_to_make']:.1f} s to make)",
            file=sys.stderr,
        )
        with MotoServer() as moto:
            print(f"S3: moto server at {moto.endpoint}", file=sys.stderr)
            for n in args.episodes:
                measures += bench_one_size(n, workdir, corpus, moto, args.tracemalloc)
    except BaseException:
        keep = True
        print(f"benchmark failed; working folder kept: {workdir}", file=sys.stderr)
        raise
    finally:
        if not keep:
            for path in [workdir] if created else list(workdir.iterdir()):
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink()
    print()
    print(format_table(measures, args.tracemalloc))
    problems = [m.problem for m in measures if m.problem]
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    if keep:
        print(f"\nworking folder kept: {workdir}", file=sys.stderr)
    if args.json:
        report = {
            "environment": environment(),
            "corpus": corpus_info,
            "results": [asdict(m) for m in measures],
        }
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
