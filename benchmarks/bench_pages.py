"""Time N episode pages against a bare Jinja2 loop over the same template and data, and a rebuild.

    python benchmarks/bench_pages.py                       # N = 10000, best of 3
    python benchmarks/bench_pages.py --episodes 1000 --repeat 5 --json results.json

Rows (all in this process, same in-memory episodes, best of `--repeat` runs; see
benchmarks/README.md):
- `ref: bare Jinja2 loop`: `template.render(...)` of the packaged `episode.html` for every
  episode, its context (`pages.episode_values`) prepared before the clock starts: Jinja2 alone;
- `render_episode, no cache`: grandirenhlm's `pages.render_episode` for every episode: the
  context made (JSON-LD, share links, transcript links...) and the page rendered;
- `render_episode, one episode changed (memory)`: every page asked again through a `PageCache`
  warm from the previous build, after one episode got a new title: that page and its two
  neighbours (which show its title) are rendered, the others reused;
- `render_episode, one episode changed (disk)`: the same with the cache on disk, as
  `grandirenhlm build` and `publish` use it (`.grandirenhlm/pages/`), read back by a new cache
  object as a new process would.
Targets (issue 7): no cache <= 1.2x the bare loop; the rebuild renders exactly 3 pages and gives
the bytes of a fresh render. The exit status is 1 if a target is missed or an output is wrong.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_feed  # noqa: E402  # a sibling script, not a package

from grandirenhlm import layout  # noqa: E402
from grandirenhlm.config import Project  # noqa: E402
from grandirenhlm.files import cache_folder  # noqa: E402
from grandirenhlm.images import CoverSet, Rendition  # noqa: E402
from grandirenhlm.model import Chapter, Episode, Owner, Show  # noqa: E402
from grandirenhlm.pages import (  # noqa: E402
    SITE_PAGES,
    PageCache,
    episode_values,
    render_episode,
    template_environment,
)

BASE = "http://127.0.0.1:8000/"
DESCRIPTION = (
    "Témoignage n° {n} de la série « Banc d’essai » : une description de taille ordinaire, "
    "avec des accents, des guillemets et une esperluette & pour que l’échappement compte.\n\n"
    "Un second paragraphe, comme dans les notes d’épisode réelles ?"
)


def make_show() -> Show:
    return Show(
        slug="bench",
        source=ROOT / "feeds" / "bench.toml",
        title="Banc d’essai",
        description="Un site de démonstration pour mesurer le rendu des pages.",
        language="fr",
        author="Banc d’essai grandirenhlm",
        owner=Owner("Banc d’essai grandirenhlm", "bench@example.org"),
        image=ROOT / "feeds" / "art" / "grandir-en-hlm.jpg",
        category="Technology",
        show_type="serial",
    )


def make_cover() -> CoverSet:
    """Keys and sizes only: the pages never read the images' bytes."""
    renditions = tuple(
        Rendition(f"bench/cover-0123456789ab-{w}.{ext}", w, w, mime, b"")
        for w in (300, 600, 1200)
        for mime, ext in (("image/webp", "webp"), ("image/jpeg", "jpg"))
    )
    return CoverSet("bench/cover-0123456789ab.jpg", 1400, 1400, renditions)


CHAPTERS = (
    Chapter(0.0, "Présentation"),
    Chapter(300.0, "Le témoignage"),
    Chapter(1500.0, "Pour aller plus loin"),
)


def make_episodes(n: int) -> list[Episode]:
    """The feed benchmark's episodes, with chapters and a question mark (French spacing) added."""
    return bench_feed.make_episodes(n, DESCRIPTION, CHAPTERS)


def neighbours(episodes: list[Episode]):
    for i, episode in enumerate(episodes):
        yield episode, episodes[i - 1] if i else None, episodes[i + 1] if i + 1 < len(episodes) else None


def best_of(repeat: int, setup, work) -> tuple[float, object]:
    """Best wall-clock seconds of `work()` over `repeat` runs, each after `setup()`."""
    best, result = float("inf"), None
    for _ in range(repeat):
        setup()
        started = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - started)
    return best, result


def run(n: int, repeat: int, workdir: Path) -> dict:
    project = Project(root=workdir, site_title="Banc d’essai", site_description="Mesure du rendu.")
    env = template_environment(project)
    show, cover, episodes = make_show(), make_cover(), make_episodes(n)
    noop = lambda: None  # noqa: E731

    # The peer: the same template and values, Jinja2 alone.
    template = env.get_template("episode.html")
    contexts = [episode_values(project, BASE, show, cover, e, p, f) for e, p, f in neighbours(episodes)]

    def bare() -> list[bytes]:
        return [
            template.render(page=ctx, site=project, layout=layout, pages=SITE_PAGES, **values).encode("utf-8")
            for ctx, values in contexts
        ]

    def ours(pages_of: list[Episode], cache: PageCache | None = None) -> list[bytes]:
        return [
            render_episode(env, project, BASE, show, cover, e, p, f, cache=cache)
            for e, p, f in neighbours(pages_of)
        ]

    # Interleaved, so that a noisy neighbour on a shared machine slows both rows alike.
    ref_s = full_s = float("inf")
    for _ in range(repeat):
        seconds, ref_pages = best_of(1, noop, bare)
        ref_s = min(ref_s, seconds)
        seconds, full_pages = best_of(1, noop, lambda: ours(episodes))
        full_s = min(full_s, seconds)

    middle = n // 2
    changed = list(episodes)
    changed[middle] = replace(changed[middle], title="Titre corrigé après publication")
    fresh = ours(changed)

    state: dict = {}

    def warm_memory() -> None:  # the cache as the previous build left it
        state["cache"] = cache = PageCache(project)
        ours(episodes, cache)
        cache.rendered, cache.reused, cache.rendered_keys = 0, 0, []

    mem_s, mem_pages = best_of(repeat, warm_memory, lambda: ours(changed, state["cache"]))
    mem_rendered = sorted(state["cache"].rendered_keys)

    folder = cache_folder(workdir) / "pages"

    def warm_disk() -> None:  # the previous build wrote the cache; this is a new process's cache
        if "cache" in state:
            state["cache"].close()  # the last repeat's, before its folder goes
        shutil.rmtree(folder, ignore_errors=True)
        previous = PageCache(project, folder)
        ours(episodes, previous)
        previous.close()  # as `build` does: its last pages committed, the store's file let go
        state["cache"] = PageCache(project, folder)

    disk_s, disk_pages = best_of(repeat, warm_disk, lambda: ours(changed, state["cache"]))
    disk_rendered = sorted(state["cache"].rendered_keys)
    state["cache"].close()

    expected = sorted(layout.episode_page(changed[i]) for i in (middle - 1, middle, middle + 1))
    problems = []
    if ref_pages != full_pages:
        problems.append("render_episode's pages differ from the bare loop's")
    if len(full_pages) != n or not all(b"</html>" in p for p in full_pages):
        problems.append("not N complete pages")
    for label, pages, rendered in (("memory", mem_pages, mem_rendered), ("disk", disk_pages, disk_rendered)):
        if pages != fresh:
            problems.append(f"the rebuild ({label}) differs from a fresh render of the same episodes")
        if rendered != expected:
            problems.append(f"the rebuild ({label}) rendered {len(rendered)} pages, expected {expected}")
    full_ratio = full_s / ref_s
    if full_ratio > 1.2:
        problems.append(f"render_episode is {full_ratio:.2f}x the bare Jinja2 loop (target <= 1.2x)")
    return {
        "n": n,
        "repeat": repeat,
        "bytes_per_page": sum(map(len, full_pages)) // n,
        "rows": [
            {"label": "ref: bare Jinja2 loop", "seconds": ref_s, "ratio": None, "rendered": n},
            {
                "label": "render_episode, no cache",
                "seconds": full_s,
                "ratio": full_ratio,
                "against": "ref: bare Jinja2 loop",
                "target": 1.2,
                "rendered": n,
            },
            {
                "label": "one episode changed (memory)",
                "seconds": mem_s,
                "ratio": mem_s / full_s,
                "against": "render_episode, no cache",
                "rendered": len(mem_rendered),
            },
            {
                "label": "one episode changed (disk)",
                "seconds": disk_s,
                "ratio": disk_s / full_s,
                "against": "render_episode, no cache",
                "rendered": len(disk_rendered),
            },
        ],
        "problems": problems,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=10_000, help="episode pages (default 10000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per row; the best counts (default 3)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    if args.episodes < 3:
        parser.error("--episodes: at least 3 (the changed episode has two neighbours)")
    workdir = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    try:
        report = run(args.episodes, args.repeat, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"{report['n']} episode pages ({report['bytes_per_page']} bytes each), best of {report['repeat']}")
    print(f"{'row':<32} {'seconds':>9} {'ms/page':>8} {'rendered':>9} {'ratio':>7}  against (target)")
    for row in report["rows"]:
        ratio = "" if row["ratio"] is None else f"{row['ratio']:.3f}"
        against = ""
        if row["ratio"] is not None:
            against = row["against"] + (f" (<= {row['target']})" if "target" in row else "")
        ms = row["seconds"] * 1000 / report["n"]
        print(
            f"{row['label']:<32} {row['seconds']:>9.3f} {ms:>8.4f} {row['rendered']:>9} {ratio:>7}  {against}"
        )
    for problem in report["problems"]:
        print(f"warning: {problem}", file=sys.stderr)
    if args.json:
        report["environment"] = {"python": platform.python_version(), "platform": platform.platform()}
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 1 if report["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
