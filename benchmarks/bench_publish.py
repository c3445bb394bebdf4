"""Time the first and the no-op publish of N short episodes to S3, next to a plain boto3 loop.

    python benchmarks/bench_publish.py                      # N = 1000, 3 rounds
    python benchmarks/bench_publish.py --episodes 200 --rounds 1

One moto S3 server on 127.0.0.1 serves every row; a WSGI middleware in front of it counts the
requests each row makes by method, so "0 PUT" is what the server saw, not what we believe we sent.
Each row runs in a fresh child process (spawn); imports, the project configuration and the file
list are ready before the clock starts. Rounds alternate which of the reference and the publish
goes first, each round into fresh prefixes, and the table gives the median. See
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pipeline import (  # a sibling script, not a package
    BASE_URL,
    SHOW,
    boto3_upload_loop,
    environment,
    isolate_aws_env,
    make_corpus,
    make_project,
)

from grandirenhlm.files import CACHE_FOLDER, cache_folder

MIB = 1024 * 1024
GOALS = {"first": 1.2, "noop": 0.05}  # issue 6: within 1.2x of the loop; a no-op under 5 %


# ---------------------------------------------------------------- the S3 server, counted


class CountingMotoServer:
    """moto's S3 application on 127.0.0.1 behind a middleware counting requests per method and
    key prefix (the first path segment after the bucket)."""

    def __enter__(self) -> CountingMotoServer:
        import logging

        from moto.server import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.counts: Counter[tuple[str, str]] = Counter()
        self.lock = threading.Lock()
        app = DomainDispatcherApplication(create_backend_app)

        def counting(environ, start_response):
            parts = environ.get("PATH_INFO", "").split("/")
            prefix = parts[2] if len(parts) > 2 else ""
            with self.lock:
                self.counts[(environ["REQUEST_METHOD"], prefix)] += 1
            return app(environ, start_response)

        self.server = make_server("127.0.0.1", 0, counting, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        return self

    def requests(self, prefix: str) -> dict[str, int]:
        with self.lock:
            return {m: n for (m, p), n in sorted(self.counts.items()) if p == prefix}

    def create_bucket(self, name: str) -> None:
        import boto3

        boto3.client("s3", endpoint_url=self.endpoint).create_bucket(Bucket=name)

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------- in the child process


def _target(ctx: dict, prefix: str):
    from grandirenhlm.config import Target

    return Target(
        name="bench",
        url=f"s3://{ctx['bucket']}/{prefix}",
        public_base_url=BASE_URL,
        options={"endpoint_url": ctx["endpoint"], "addressing_style": "path"},
    )


def child_publish(ctx: dict, prefix: str) -> dict:
    """What `grandirenhlm publish --to s3://...` does after `check`: load, build, plan under the
    lock, upload media, pages and feed, then the manifest."""
    from grandirenhlm import site
    from grandirenhlm.progress import QuietReporter

    project = site.open_project(Path(ctx["project"]))
    target = _target(ctx, prefix)
    options = site.PublishOptions(verify=False, reporter=QuietReporter())
    started = time.perf_counter()
    result = site.publish(project, target, options)  # what the CLI runs: check, build, plan, upload
    ended = time.perf_counter()
    built = started + result.build_seconds
    artifacts = range(len(result.uploaded) + len(result.updated) + result.skipped)
    return {
        "seconds": ended - started,
        "build_seconds": built - started,
        "objects": len(artifacts),
        "uploaded": len(result.uploaded),
        "skipped": result.skipped,
        "bytes": result.bytes_uploaded,
        "pages_rendered": result.pages_rendered,
        "pages_reused": result.pages_reused,
    }


def child_boto3(ctx: dict, prefix: str) -> dict:
    """The reference: a boto3 client and a pool of the same concurrency calling `upload_file` for
    every file of the same site (written to a folder beforehand), with a Content-Type each."""
    root = Path(ctx["site"])
    files = sorted(p for p in root.rglob("*") if p.is_file() and CACHE_FOLDER not in p.parts)
    concurrency = _target(ctx, prefix).option("max_concurrency", 8)  # the S3 backend's default
    started = time.perf_counter()
    sizes = boto3_upload_loop(ctx["endpoint"], ctx["bucket"], root, files, prefix, concurrency)
    return {"seconds": time.perf_counter() - started, "uploaded": len(sizes), "bytes": sum(sizes)}


def in_child(function, *args) -> dict:
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


# ---------------------------------------------------------------- in the parent process


def forget_build_caches(project: Path) -> None:
    """Everything a build keeps for the next one (pages, feed items, cover renditions, parsed
    records); only the ingest cache stays, since ingest is not part of the publish."""
    state = cache_folder(project)
    for name in ("pages", "feeds", "covers"):
        shutil.rmtree(state / name, ignore_errors=True)
    (state / "records.json").unlink(missing_ok=True)


def prepare(workdir: Path, n: int) -> dict:
    """Corpus, project with N ingested episodes, and the same site written to a folder."""

    from grandirenhlm import site
    from grandirenhlm.config import Target, load_project
    from grandirenhlm.ingest import ingest_files
    from grandirenhlm.progress import QuietReporter

    corpus, root = workdir / "corpus", workdir / "project"
    made = make_corpus(corpus, n)
    make_project(root)
    project = load_project(root)
    started = time.perf_counter()
    failures = [
        r for _, r in ingest_files(project, SHOW, sorted(corpus.glob("*.mp3"))) if isinstance(r, Exception)
    ]
    if failures:
        raise SystemExit(f"ingest failed: {failures[0]}")
    ingested = time.perf_counter() - started
    # The reference uploads exactly these files: the site as a folder publish writes it.
    folder = Target(name="site", url=str(workdir / "site"), public_base_url=BASE_URL)
    site.publish(project, folder, site.PublishOptions(reporter=QuietReporter()))
    print(f"corpus {made:.1f} s, ingest of {n} episodes {ingested:.1f} s", file=sys.stderr)
    return {"project": str(root), "site": str(workdir / "site")}


def run(args: argparse.Namespace, workdir: Path) -> dict:
    ctx = prepare(workdir, args.episodes)
    rounds = []
    with CountingMotoServer() as server:
        ctx["endpoint"] = server.endpoint
        for number in range(args.rounds):
            bucket = f"bench-{uuid.uuid4().hex[:8]}"
            server.create_bucket(bucket)
            ctx["bucket"] = bucket
            row: dict[str, dict] = {}
            order = ["boto3", "first"] if number % 2 == 0 else ["first", "boto3"]
            for name in [*order, "noop"]:
                prefix = "reference" if name == "boto3" else "site"
                function = child_boto3 if name == "boto3" else child_publish
                if name == "first":  # a first publish starts cold: no cache from a round before
                    forget_build_caches(Path(ctx["project"]))
                before = server.requests(prefix)
                result = in_child(function, ctx, prefix)
                after = server.requests(prefix)
                result["requests"] = {m: after.get(m, 0) - before.get(m, 0) for m in after}
                result["requests"] = {m: c for m, c in result["requests"].items() if c}
                row[name] = result
                print(
                    f"  round {number + 1}: {name:6} {result['seconds']:7.2f} s  requests {result['requests']}",
                    file=sys.stderr,
                    flush=True,
                )
            rounds.append(row)
    return {"episodes": args.episodes, "rounds": rounds}


def summarise(report: dict) -> tuple[str, list[str]]:
    rounds = report["rounds"]
    med = {k: statistics.median(r[k]["seconds"] for r in rounds) for k in ("boto3", "first", "noop")}
    first_ratio = statistics.median(r["first"]["seconds"] / r["boto3"]["seconds"] for r in rounds)
    noop_ratio = statistics.median(r["noop"]["seconds"] / r["first"]["seconds"] for r in rounds)
    last = rounds[-1]
    n = report["episodes"]
    lines = [
        f"N = {n} episodes, {len(rounds)} round(s), medians; requests as the S3 server counted them",
        "",
        f"{'row':34} {'seconds':>8}  {'ratio':>24}  requests (last round)",
        f"{'ref: boto3 upload_file loop':34} {med['boto3']:8.2f}  {'':>24}  {last['boto3']['requests']}",
        f"{'publish S3, first':34} {med['first']:8.2f}  {first_ratio:9.2f}x boto3 loop (<= {GOALS['first']}x)  "
        f"{last['first']['requests']}",
        f"{'publish S3, no-op':34} {med['noop']:8.2f}  {noop_ratio:9.1%} of first (< {GOALS['noop']:.0%})  "
        f"{last['noop']['requests']}",
        "",
        f"first publish: {last['first']['uploaded']} objects, {last['first']['bytes'] / MIB:.1f} MiB "
        f"(build {statistics.median(r['first']['build_seconds'] for r in rounds):.2f} s of it, "
        f"{last['first']['pages_rendered']} pages rendered); no-op: build "
        f"{statistics.median(r['noop']['build_seconds'] for r in rounds):.2f} s, "
        f"{last['noop']['pages_reused']} pages read back from the page cache; "
        f"reference: {last['boto3']['uploaded']} files, {last['boto3']['bytes'] / MIB:.1f} MiB",
    ]
    problems = []
    for number, r in enumerate(rounds, 1):
        writes = {m: c for m, c in r["noop"]["requests"].items() if m in ("PUT", "POST", "DELETE")}
        if writes or r["noop"]["uploaded"]:
            problems.append(f"round {number}: the no-op publish wrote: {writes}")
        if r["first"]["uploaded"] != r["first"]["objects"]:
            problems.append(f"round {number}: the first publish uploaded {r['first']['uploaded']} objects")
    # Goals missed are findings, printed under the table; wrong counts are failures (exit 1).
    if first_ratio > GOALS["first"]:
        lines.append(
            f"goal missed: first publish is {first_ratio:.2f}x the boto3 loop (goal {GOALS['first']}x)"
        )
    if noop_ratio >= GOALS["noop"]:
        lines.append(
            f"goal missed: no-op takes {noop_ratio:.1%} of the first publish (goal < {GOALS['noop']:.0%})"
        )
    return "\n".join(lines), problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=1000, metavar="N", help="episodes (default 1000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, median reported (default 3)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write every measure as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the working folder")
    args = parser.parse_args(argv)
    if args.episodes < 1 or args.rounds < 1:
        parser.error("--episodes and --rounds: expected whole numbers >= 1")
    workdir = Path(tempfile.mkdtemp(prefix="grandirenhlm-bench-publish-"))
    try:
        isolate_aws_env(workdir)
        report = run(args, workdir)
    except BaseException:
        print(f"benchmark failed; working folder kept: {workdir}", file=sys.stderr)
        raise
    if args.keep:
        print(f"working folder kept: {workdir}", file=sys.stderr)
    else:
        shutil.rmtree(workdir)
    table, problems = summarise(report)
    print()
    print(table)
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    if args.json:
        report["environment"] = environment()
        report["problems"] = problems
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
