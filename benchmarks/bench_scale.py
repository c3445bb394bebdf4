"""Whole commands at scale (issue 19), side by side with bare library loops, in interleaved rounds.

    python benchmarks/bench_scale.py --episodes 1000 --episodes 10000 [--rounds 3] [--json FILE]

Every row is a new process, timed from its start to its exit (start-up and imports included, as a
user meets it), with its peak RSS from `wait4`. In each round the rows run one after the other,
product and references alternating, and the table gives each row's median over the rounds and the
load average seen during the run. Ratios, with the target the issue sets:

| ratio | target |
|---|---|
| build / publish / ingest with nothing changed ÷ `ref: scan+stat` | ≤ 4 |
| build after one record edited ÷ cold build | ≤ 0.25 |
| cold build ÷ (`ref: feedgen+mutagen` + `ref: jinja2 pages`) | ≤ 1.5 |
| cold build peak RSS ÷ `ref: feedgen+mutagen` peak RSS | ≤ 1.2 |
| first ingest ÷ `ref: mutagen+sha256+copy` | ≤ 1.8 |

The references: `scan+stat` walks the project's folders and stats every file (where dir2cast
stands); `feedgen+mutagen` reads every media file with mutagen and writes one feed with feedgen;
`jinja2 pages` renders one small page per episode from a template and writes it; `mutagen+sha256
+copy` reads, hashes and copies every file into a folder. They do the least the product must do.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHOW = "bench"


# ---------------------------------------------------------------- references (child processes)


def ref_scan(project: Path) -> None:
    count = 0
    stack = [str(project / name) for name in ("feeds", "episodes", "media", "templates")]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except FileNotFoundError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                stack.append(entry.path)
            else:
                entry.stat()
                count += 1
    (project / "grandirenhlm.toml").exists()
    print(count)


def ref_feed(project: Path, out: Path) -> None:
    import mutagen
    from feedgen.feed import FeedGenerator

    fg = FeedGenerator()
    fg.load_extension("podcast")
    fg.title("Banc d’essai")
    fg.link(href="http://127.0.0.1:8000/")
    fg.description("Épisodes courts générés pour mesurer.")
    for path in sorted((project / "corpus").iterdir()):
        audio = mutagen.File(path)
        entry = fg.add_entry()
        entry.id(path.stem)
        entry.title(str(audio.tags["TIT2"]))
        entry.description(str(audio.tags["COMM::fra"]))
        entry.enclosure(f"http://127.0.0.1:8000/{path.name}", str(path.stat().st_size), "audio/mpeg")
        entry.podcast.itunes_duration(round(audio.info.length))
    out.mkdir(parents=True, exist_ok=True)
    fg.rss_file(str(out / "feed.xml"))


PAGE = """<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>{{ title }}</title>
<link rel="stylesheet" href="../style.css"></head><body><main><h1>{{ title }}</h1>
<audio controls preload="none" src="{{ src }}"></audio><p>{{ description }}</p>
<nav>{% if previous %}<a href="../{{ previous }}/">précédent</a>{% endif %}</nav></main></body></html>"""


def ref_pages(project: Path, out: Path) -> None:
    import jinja2

    template = jinja2.Environment(autoescape=True).from_string(PAGE)
    previous = None
    for path in sorted((project / "corpus").iterdir()):
        folder = out / path.stem
        folder.mkdir(parents=True, exist_ok=True)
        title = f"Épisode {path.stem}"
        html = template.render(title=title, src=f"../{path.name}", description=title, previous=previous)
        (folder / "index.html").write_text(html, encoding="utf-8")
        previous = path.stem


def ref_ingest(project: Path, out: Path) -> None:
    import hashlib

    import mutagen

    out.mkdir(parents=True, exist_ok=True)
    for path in sorted((project / "corpus").iterdir()):
        mutagen.File(path)
        with path.open("rb") as fh:
            hashlib.file_digest(fh, "sha256")
        shutil.copyfile(path, out / path.name)


REFS = {"scan": ref_scan, "feed": ref_feed, "pages": ref_pages, "ingest": ref_ingest}
REF_ROWS = {"feed": "feedgen+mutagen", "pages": "jinja2 pages", "ingest": "mutagen+sha256+copy"}


# ---------------------------------------------------------------- running rows


# Children run as an installed package does: with Python's bytecode cache. A shell that sets
# PYTHONDONTWRITEBYTECODE (some CI images do) would make every row recompile the project from source
# at start-up, a cost users do not pay and the references (installed libraries) do not either.
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(args: list[str], cwd: Path) -> tuple[float, float]:
    """Like `run`, with the child's own peak RSS (Popen reaps the child: wait4 is called first).
    The disk's pending writes are flushed first (`sync`, untimed), so that no row pays for the
    write-back of the files the row before it made (40,000 after a cold build or a first publish)."""
    os.sync()
    started = time.perf_counter()
    proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_ENV)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"error: {' '.join(args)} failed:\n{err}")
    return seconds, usage.ru_maxrss / 1024


def cli(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "grandirenhlm"), *args]


def ref(name: str, project: Path, out: Path | None = None) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--child", name, str(project)] + (
        [str(out)] if out else []
    )


def prepare(root: Path, n: int, corpus: Path) -> Path:
    """A project with `n` ingested episodes, built once (caches warm)."""
    sys.path.insert(0, str(HERE))
    from bench_pipeline import make_project

    project = root / f"n{n}"
    make_project(project)
    (project / "corpus").mkdir()
    for path in sorted(corpus.iterdir())[:n]:
        os.link(path, project / "corpus" / path.name)
    timed(cli("ingest", "--quiet", "--show", SHOW, "corpus"), project)
    return project


def bench(project: Path, rounds: int) -> dict[str, list[tuple[float, float]]]:
    rows: dict[str, list[tuple[float, float]]] = {}
    records = sorted((project / "episodes" / SHOW).glob("*.toml"))
    record = records[len(records) // 2]  # an episode in the middle: its page, its neighbours' and the feed
    scratch = project.parent / f"{project.name}-scratch"
    refs = project.parent / f"{project.name}-refs"
    trash = project.parent / f"{project.name}-trash"

    def discard(path: Path) -> None:
        """Out of the way, deleted after the last round. On ext4 without a journal (this machine's
        disk), a file created within a minute or more of many being deleted is slow to make: the
        inode allocator skips every inode freed in that time (`recently_deleted`), so a row that
        ran after a deletion paid for it (10 to 40 s of kernel time at 10,000 episodes). Nothing is
        deleted while rows run (`main` deletes the working folder after the last size), and every
        row that writes a site or a store writes it into a new folder."""
        if path.exists() or path.is_symlink():
            trash.mkdir(exist_ok=True)
            path.rename(trash / f"{len(list(trash.iterdir()))}-{path.name}")

    def add(name: str, args: list[str], before=None) -> None:
        if before:
            before()
        rows.setdefault(name, []).append(timed(args, project))

    def cold() -> None:
        from grandirenhlm.files import cache_folder  # here: the reference children import no grandirenhlm

        discard(cache_folder(project))
        discard(project / "out")

    def edit() -> None:
        """A real edit: the title changes (and changes back in the next round), so its page, its
        neighbours' (which link to it), the show's pages and the feed must be made again."""
        text = record.read_text(encoding="utf-8")
        title = next(line for line in text.splitlines() if line.startswith("title = "))
        edited = (
            title[:-1] + ' (corrigé)"'
            if not title.endswith(' (corrigé)"')
            else title.replace(" (corrigé)", "")
        )
        record.write_text(text.replace(title, edited, 1), encoding="utf-8")

    def fresh_ingest() -> None:
        discard(scratch)
        scratch.mkdir()
        shutil.copytree(project / "feeds", scratch / "feeds")
        os.symlink(project / "corpus", scratch / "corpus")

    def reference(name: str) -> None:
        """A reference row writes into a new folder, as the cold build and the first ingest do."""
        discard(refs / name)
        add(f"ref: {REF_ROWS[name]}", ref(name, project, refs / name))

    for i in range(rounds):
        print(f"  round {i + 1}/{rounds}", file=sys.stderr)
        add("ref: scan+stat", ref("scan", project))
        add("build, cold", cli("build", "--output", "out"), cold)
        reference("feed")
        reference("pages")
        add("build, nothing changed", cli("build", "--output", "out"))
        add("ref: scan+stat ", ref("scan", project))
        add("build, one record edited", cli("build", "--output", "out"), edit)
        add("publish local, first", cli("publish", "--quiet"), lambda: discard(project / "public"))
        add("publish local, nothing changed", cli("publish", "--quiet"))
        ingest = cli("ingest", "--quiet", "--show", SHOW, "corpus")
        timed(ingest, project)  # after the edit above, a first rerun takes in the changed records
        add("ingest, nothing changed", ingest)
        fresh_ingest()
        rows.setdefault("ingest, first", []).append(
            timed(cli("ingest", "--quiet", "--show", SHOW, "corpus"), scratch)
        )
        reference("ingest")
    built = len(list((project / "out" / SHOW).glob("*/index.html")))
    print(f"  the site has {built} episode pages for {len(records)} records", file=sys.stderr)
    # the two scan rows are one reference measured twice per round (before and after the builds)
    rows["ref: scan+stat"] += rows.pop("ref: scan+stat ")
    return rows  # what was discarded goes with the working folder, after the last size


def report(n: int, rows: dict[str, list[tuple[float, float]]], load: tuple[float, float]) -> dict:
    med = {name: statistics.median(s for s, _ in values) for name, values in rows.items()}
    rss = {name: statistics.median(r for _, r in values) for name, values in rows.items()}
    ratios = {
        "build nothing changed / scan+stat (<= 4)": med["build, nothing changed"] / med["ref: scan+stat"],
        "publish nothing changed / scan+stat (<= 4)": med["publish local, nothing changed"]
        / med["ref: scan+stat"],
        "ingest nothing changed / scan+stat (<= 4)": med["ingest, nothing changed"] / med["ref: scan+stat"],
        "one edit / cold build (<= 0.25)": med["build, one record edited"] / med["build, cold"],
        "cold build / (feedgen+mutagen + jinja2) (<= 1.5)": med["build, cold"]
        / (med["ref: feedgen+mutagen"] + med["ref: jinja2 pages"]),
        "cold build RSS / feedgen+mutagen RSS (<= 1.2)": rss["build, cold"] / rss["ref: feedgen+mutagen"],
        "no-change build peak RSS MiB (< 60)": rss["build, nothing changed"],
        "first ingest / mutagen+sha256+copy (<= 1.8)": med["ingest, first"] / med["ref: mutagen+sha256+copy"],
    }
    print(f"\nN = {n} episodes, load average {load[0]:.2f} before, {load[1]:.2f} after")
    print("| row | median s | ms/episode | peak RSS MiB | rounds |\n|---|---:|---:|---:|---:|")
    for name in rows:
        print(
            f"| {name} | {med[name]:.3f} | {med[name] * 1000 / n:.3f} | {rss[name]:.0f} | {len(rows[name])} |"
        )
    print("\n| ratio (target) | measured |\n|---|---:|")
    for name, value in ratios.items():
        print(f"| {name} | {value:.2f} |")
    return {"n": n, "load": load, "median_seconds": med, "peak_rss_mib": rss, "ratios": ratios}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--episodes", type=int, action="append", help="corpus size (repeatable; default 1000)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--workdir", type=Path, help="working folder (default: a new temporary folder)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        name, *paths = args.child
        REFS[name](*map(Path, paths))
        return 0
    sizes = sorted(args.episodes or [1000])
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-scale-"))
    sys.path.insert(0, str(HERE))
    from bench_pipeline import make_corpus

    print(f"making a corpus of {max(sizes)} MP3 files in {workdir}", file=sys.stderr)
    make_corpus(workdir / "corpus", max(sizes))
    results = []
    for n in sizes:
        print(f"N = {n}: ingest and first build", file=sys.stderr)
        project = prepare(workdir, n, workdir / "corpus")
        before = os.getloadavg()[0]
        rows = bench(project, args.rounds)
        results.append(report(n, rows, (before, os.getloadavg()[0])))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
