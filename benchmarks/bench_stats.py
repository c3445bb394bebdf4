"""Issue 15's figures: `stats --json` over a Ceph ops log against a bare `json.loads` loop, and memory.

    python benchmarks/bench_stats.py [--lines 200000 --lines 1000000] [--rounds 5] [--json FILE]

1. Makes a realistic Ceph RADOS Gateway ops log for each size (the gateway's own field set and
   order; 30 days of traffic for the demo's 8 media files, keys as published under a bucket and a
   target prefix): 30 % feed polls, 20 % whole-file GETs, the rest Apple-style sessions (a
   `bytes=0-1` probe then ranges of 64 KiB to 1 MiB, some abandoned), 20,000 listeners of which
   20 % on IPv6 and 5 % crawlers or empty User-Agents, a few hundred distinct User-Agents.
2. Times, each in a new process, in interleaved rounds (product, loop, product, loop...; medians):
   - `product`: `python -m grandirenhlm --project DEMO stats --json LOG` when the command exists,
     else a `python -c` that does what it will do: load the demo catalog (`stats.episode_refs`),
     `stats.count_downloads([LOG], refs)`, `json.dumps(report.to_json(), sort_keys=True)` to stdout;
   - `loop`: `python -c` reading the same file line by line and calling `json.loads` on each line,
     nothing else (the floor of any Python that looks at every line).
   The ratio product / loop must be at most 1.0. Start-up and imports are inside both figures.
3. Peak memory: the child's ru_maxrss from wait4 (its own peak RSS, not the benchmark's), at each
   size; it must stay under 300 MB and not grow with the log.
The load average is noted before and after; run it on a quiet machine for figures to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MIB = 1024 * 1024

APPS = [
    "Podcasts/1700.1 CFNetwork/1474 Darwin/23.0.0",
    "AppleCoreMedia/1.0.0.21A329 (iPhone; U; CPU OS 17_0 like Mac OS X; fr_fr)",
    "Spotify/8.8.{v} iOS/17.{v} (iPhone15,2)",
    "Deezer/7.0.{v} (Android; 13; Mobile; fr)",
    "AntennaPod/3.{v}.0",
    "Overcast/3.0 (+http://overcast.fm/; iOS podcast app)",
    "PocketCasts/1.0 (Pocket Casts Feed Parser; +http://pocketcasts.com/)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/12{v}.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_{v} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
    "Castro 2022.{v}/1200 CFNetwork",
]
BOTS = [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "",
]


def demo_files() -> list[tuple[str, int]]:
    """(key, size) of the demo's published media files, as `stats` will know them."""
    from grandirenhlm.catalog import load_catalog
    from grandirenhlm.config import load_project
    from grandirenhlm.stats import episode_refs

    refs = episode_refs(load_catalog(load_project(REPO)), REPO)
    return [(f.key, f.size) for r in refs for f in r.files]


def make_log(path: Path, lines: int, sessions: int = 40_000, seed: int = 15) -> None:
    """A Ceph ops log of `lines` requests over 30 days from `sessions` listening sessions (a listener,
    a file, a day): the audience. 30 % of the lines are feed polls; each session is a whole-file GET
    (80 % complete) or a `bytes=0-1` probe then ranges of 64 KiB to 1 MiB through the file (15 %
    abandoned after the probe); a busier log of the same audience has more ranges per session
    (seeks, re-listens), a bigger audience more sessions."""
    rnd = random.Random(seed)
    files = demo_files()
    listeners = []
    for _ in range(20_000):
        if rnd.random() < 0.8:
            ip = f"{rnd.randrange(1, 224)}.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(256)}"
        else:
            ip = f"2a01:cb00:{rnd.randrange(65536):x}:{rnd.randrange(65536):x}::{rnd.randrange(65536):x}"
        ua = rnd.choice(BOTS) if rnd.random() < 0.05 else rnd.choice(APPS).format(v=rnd.randrange(40))
        listeners.append((ip, ua))
    t0, span = datetime(2026, 6, 1, tzinfo=UTC), 30 * 86400
    plan = sorted((rnd.uniform(0, span), rnd.choice(listeners), rnd.choice(files)) for _ in range(sessions))
    per_session = lines * 0.7 / sessions  # media lines per session, on average
    written = 0

    def line(
        t: datetime, ip: str, ua: str, uri: str, status: int, sent: int, size: int, rng: str | None
    ) -> str:
        headers = ([{"HTTP_RANGE": rng}] if rng else []) + [{"HTTP_X_FORWARDED_FOR": ip}]
        stamp = t.strftime("%Y-%m-%dT%H:%M:%S.%f")
        record = {
            "bucket": "podcasts", "time": stamp + "Z", "time_local": stamp + "+0000", "remote_addr": ip,
            "object_owner": "podcast", "user": "anonymous", "operation": "get_obj", "uri": uri,
            "http_status": str(status), "error_code": "", "bytes_sent": sent, "bytes_received": 0,
            "object_size": size, "total_time": rnd.randrange(1, 40), "user_agent": ua, "referrer": "",
            "http_x_headers": headers, "trans_id": f"tx{written:021x}-006b0d469b-100c-default",
            "authentication_type": "Local", "temp_url": False,
        }  # fmt: skip
        return json.dumps(record, separators=(",", ":")) + "\n"

    feed = "GET /podcasts/hlm/grandir-en-hlm/feed.xml HTTP/1.1"
    with path.open("w", encoding="utf-8") as fh:
        for i, (offset, (ip, ua), (key, size)) in enumerate(plan):
            t = t0 + timedelta(seconds=offset)
            target = round(lines * (i + 1) / sessions)  # lines written once this session is done
            media = max(1, int(per_session) + (rnd.random() < per_session % 1))
            uri = f"GET /podcasts/hlm/{key} HTTP/1.1"
            out = []
            if media == 1 or rnd.random() < 0.2:
                out.append(
                    line(t, ip, ua, uri, 200, size if rnd.random() < 0.8 else rnd.randrange(size), size, None)
                )
            else:
                out.append(line(t, ip, ua, uri, 206, 2, size, "bytes=0-1"))
                start = 0
                while len(out) < media and rnd.random() > (0.15 if len(out) == 1 else 0):
                    end = min(size - 1, start + rnd.choice([65535, 524287, 1048575]))
                    spec = f"bytes={start}-{end}" if rnd.random() < 0.9 else f"bytes={start}-"
                    out.append(line(t, ip, ua, uri, 206, end - start + 1, size, spec))
                    start = 0 if end == size - 1 else end + 1  # seek back: a re-listen
            while written + len(out) < target:  # feed polls fill the rest, at the same time
                out.insert(rnd.randrange(len(out) + 1), line(t, ip, ua, feed, 200, 41234, 41234, None))
            fh.writelines(out)
            written += len(out)


PRODUCT_API = """
import json, sys
from pathlib import Path
from grandirenhlm import stats
from grandirenhlm.catalog import load_catalog
from grandirenhlm.config import load_project
root = Path(sys.argv[1])
refs = stats.episode_refs(load_catalog(load_project(root)), root)
report = stats.count_downloads([Path(sys.argv[2])], refs)
sys.stdout.write(json.dumps(report.to_json(), sort_keys=True, ensure_ascii=False, indent=2) + "\\n")
"""
LOOP = """
import json, sys
with open(sys.argv[1], "rb") as fh:
    for line in fh:
        json.loads(line)
"""


def has_stats_command() -> bool:
    done = subprocess.run([sys.executable, "-m", "grandirenhlm", "stats", "--help"], capture_output=True)
    return done.returncode == 0


def run_child(argv: list[str]) -> tuple[float, int, bytes]:
    """(wall seconds, the child's own peak RSS in bytes, its stdout) of one new process."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(argv, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage: its peak RSS
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            err.seek(0)
            raise SystemExit(f"{argv[:4]} failed ({child.returncode}): {err.read().decode()[-2000:]}")
        out.seek(0)
        return seconds, usage.ru_maxrss * 1024, out.read()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--log",
        action="append",
        metavar="LINES[:SESSIONS]",
        help="a log of LINES lines from SESSIONS listening sessions (default 40000); repeat for several "
        "(default: 200000, 1000000 (the same audience, busier) and 1000000:200000 (5 times the audience))",
    )
    parser.add_argument(
        "--rounds", type=int, default=5, help="interleaved rounds per size; medians (default 5)"
    )
    parser.add_argument("--workdir", type=Path, help="where the logs go (default: a new temporary folder)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    specs = args.log or ["200000", "1000000", "1000000:200000"]
    sizes = [(int(x.split(":")[0]), int(x.split(":")[1]) if ":" in x else 40_000) for x in specs]
    work = args.workdir or Path(tempfile.mkdtemp(prefix="grandirenhlm-bench-stats-"))
    work.mkdir(parents=True, exist_ok=True)
    command = has_stats_command()
    how = (
        "python -m grandirenhlm stats --json"
        if command
        else "python -c (episode_refs + count_downloads + json.dumps)"
    )
    results: dict = {
        "product": how,
        "rounds": args.rounds,
        "cpus": os.cpu_count(),
        "load_before": os.getloadavg(),
    }
    print(
        f"product: {how}; loop: json.loads per line; {args.rounds} interleaved rounds, medians",
        file=sys.stderr,
    )
    print(
        "\n| lines | sessions | log MiB | loop s | product s | product / loop | loop peak RSS | product peak RSS "
        "| downloads |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    rows = []
    try:
        for lines, sessions in sizes:
            log = work / f"ops-{lines}-{sessions}.log"
            if not log.exists():
                print(f"making {log} ...", file=sys.stderr)
                make_log(log, lines, sessions)
            product = (
                [sys.executable, "-m", "grandirenhlm", "--project", str(REPO), "stats", "--json", str(log)]
                if command
                else [sys.executable, "-c", PRODUCT_API, str(REPO), str(log)]
            )
            loop = [sys.executable, "-c", LOOP, str(log)]
            run_child(loop)  # warm-up: the page cache, .pyc files
            first = run_child(product)
            times: dict[str, list[float]] = {"loop": [], "product": []}
            peaks: dict[str, list[int]] = {"loop": [], "product": []}
            for _ in range(args.rounds):
                for name, cmd in (("product", product), ("loop", loop)):
                    seconds, peak, out = run_child(cmd)
                    times[name].append(seconds)
                    peaks[name].append(peak)
                    if name == "product":
                        assert out == first[2], "stats --json gave other bytes for the same log"
            doc = json.loads(first[2])
            row = {
                "lines": lines,
                "sessions": sessions,
                "bytes": log.stat().st_size,
                "loop_s": statistics.median(times["loop"]),
                "product_s": statistics.median(times["product"]),
                "loop_peak_rss": max(peaks["loop"]),
                "product_peak_rss": max(peaks["product"]),
                "downloads": doc["downloads"],
                "times": times,
            }
            row["ratio"] = row["product_s"] / row["loop_s"]
            rows.append(row)
            print(
                f"| {lines:,} | {sessions:,} | {row['bytes'] / MIB:.0f} | {row['loop_s']:.2f} | {row['product_s']:.2f} | "
                f"{row['ratio']:.2f}× | {row['loop_peak_rss'] / MIB:.0f} MiB | {row['product_peak_rss'] / MIB:.0f} MiB | "
                f"{row['downloads']:,} |"
            )
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    results["logs"] = rows
    results["load_after"] = os.getloadavg()
    print(
        f"\nload average before {results['load_before']}, after {results['load_after']} ({os.cpu_count()} CPUs)"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    worst = max(r["ratio"] for r in rows)
    if worst > 1.0:
        print(f"warning: stats --json took {worst:.2f} times the json.loads loop", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
