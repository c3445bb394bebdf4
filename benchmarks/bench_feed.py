"""Time one show's feed of N episodes against a bare feedgen loop, and a rebuild after one change.

    python benchmarks/bench_feed.py                       # N = 10000, best of 3
    python benchmarks/bench_feed.py --episodes 1000 --repeat 5 --json results.json

Rows (all in this process, same data, best of `--repeat` runs; see benchmarks/README.md):
- `ref: bare feedgen loop`: FeedGenerator + feedgen's own podcast extension, fed the same N items
  (title, GUID, link, date, enclosure, description, its paragraphs escaped as content:encoded,
  duration, image, episode number and type, explicit) with no checks, no sanitising, no cache;
- `render_feed, full build`: grandirenhlm's `render_feed` with an empty item cache;
- `render_feed, one episode changed`: the same feed after one of the N episodes got a new title,
  the item cache warm from the previous build: what a rebuild costs in one process;
- `one changed, next process (disk)`: the same in a new process: the memory cache empty, the items
  read back from the disk store the previous build wrote (records are real files, one edited).
Targets (issue 5): full build <= 1.5x the bare loop, rebuild <= 10 % of a full build. The exit
status is 1 if a target is missed or if the outputs are not what they should be.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from feedgen.feed import FeedGenerator  # noqa: E402

from grandirenhlm import feed as feed_module  # noqa: E402
from grandirenhlm.model import Episode, EpisodeMedia, Owner, Show  # noqa: E402

BASE = "http://127.0.0.1:8000/"
DESCRIPTION = (
    "Témoignage n° {n} de la série « Banc d’essai » : une description de taille ordinaire, "
    "avec des accents, des guillemets et une esperluette & pour que l’échappement compte.\n\n"
    "Un second paragraphe, comme dans les notes d’épisode réelles."
)


def make_show() -> Show:
    return Show(
        slug="bench",
        source=ROOT / "feeds" / "bench.toml",
        title="Banc d’essai",
        description="Un flux de démonstration pour mesurer la construction.",
        language="fr",
        author="Banc d’essai grandirenhlm",
        owner=Owner("Banc d’essai grandirenhlm", "bench@example.org"),
        image=ROOT / "feeds" / "art" / "grandir-en-hlm.jpg",
        category="Technology",
        show_type="serial",
        podcast_guid="3e37be38-ef1c-5ad4-8f56-6990ae707657",
    )


def make_episodes(n: int, description: str = DESCRIPTION, chapters: tuple = ()) -> list[Episode]:
    """N episodes as their records would load: the same for the feed and the pages benchmarks."""
    start = datetime(2020, 1, 1, 9, 0, tzinfo=UTC)
    return [
        Episode(
            show="bench",
            slug=f"episode-{i}",
            source=ROOT / "episodes" / "bench" / f"episode-{i}.toml",
            guid=f"urn:uuid:00000000-0000-4000-8000-{i:012d}",
            title=f"Épisode {i} : « l’enfance & les Hlm »",
            pub_date=start + timedelta(hours=i),
            description=description.format(n=i),
            media=EpisodeMedia(
                path=Path(f"/media/bench/episode-{i}-{i:012x}.mp3"),
                sha256=f"{i:064x}",
                size=1_000_000 + i,
                mime_type="audio/mpeg",
                duration_seconds=1800.0 + i % 600,
                bitrate=64000,
            ),
            number=i,
            explicit=False,
            chapters=chapters,
        )
        for i in range(1, n + 1)
    ]


def bare_feedgen(show: Show, episodes: list[Episode]) -> bytes:
    """The peer: the same items fed to feedgen directly, as a hand-written script would."""
    from grandirenhlm.text import text_to_html  # the plain escape-to-<p> a hand-written script would do

    fg = FeedGenerator()
    fg.load_extension("podcast")
    fg.title(show.title)
    fg.link(href=BASE + "bench/feed.xml", rel="self")
    fg.link(href=BASE + "bench/index.html", rel="alternate")
    fg.description(show.description)
    fg.language(show.language)
    fg.podcast.itunes_author(show.author)
    fg.podcast.itunes_owner(name=show.owner.name, email=show.owner.email)
    fg.podcast.itunes_category(show.category)
    fg.podcast.itunes_explicit("no")
    fg.podcast.itunes_type(show.show_type)
    for e in episodes:
        fe = fg.add_entry()
        fe.guid(e.guid, permalink=False)
        fe.title(e.title)
        fe.link(href=f"{BASE}bench/{e.slug}/index.html")
        fe.pubDate(e.pub_date)
        fe.enclosure(f"{BASE}media/bench/{e.media.path.name}", str(e.media.size), e.media.mime_type)
        fe.description(e.description)
        fe.content(text_to_html(e.description), type="CDATA")
        fe.podcast.itunes_duration(round(e.media.duration_seconds))
        fe.podcast.itunes_image(BASE + "bench/cover.jpg")
        fe.podcast.itunes_episode(e.number)
        fe.podcast.itunes_episode_type(e.episode_type)
        fe.podcast.itunes_explicit("no")
    return fg.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True)


def next_process_rebuild(
    show: Show, episodes: list[Episode], middle: int, repeat: int
) -> tuple[float, bytes]:
    """A rebuild in a new process: the memory cache empty, the items in the disk store that the
    previous build wrote, one record edited since (its file's size and time change)."""
    with tempfile.TemporaryDirectory() as tmp:
        records = Path(tmp) / "records"
        records.mkdir()
        on_disk = []
        for e in episodes:
            source = records / f"{e.slug}.toml"
            source.write_text(e.guid, encoding="utf-8")
            on_disk.append(replace(e, source=source))
        store = Path(tmp) / "feeds"
        best, data = float("inf"), b""
        for _ in range(repeat):
            feed_module.clear_cache()
            feed_module.render_feed_pages(show, on_disk, BASE, "bench/cover.jpg", store=store)  # fills it
            edited = list(on_disk)
            edited[middle] = replace(edited[middle], title="Titre corrigé après publication")
            edited[middle].source.write_text(edited[middle].guid + " edited", encoding="utf-8")
            feed_module.clear_cache()  # a new process
            started = time.perf_counter()
            (page,) = feed_module.render_feed_pages(show, edited, BASE, "bench/cover.jpg", store=store)
            best = min(best, time.perf_counter() - started)
            data = page.data
            edited[middle].source.write_text(edited[middle].guid, encoding="utf-8")
        return best, data


def run(n: int, repeat: int) -> dict:
    """The three rows, interleaved: each repetition times the peer, the full build and the rebuild
    one after the other, so that load from other processes falls on all three alike; best of each."""
    show, episodes = make_show(), make_episodes(n)
    changed = list(episodes)
    middle = n // 2
    changed[middle] = replace(changed[middle], title="Titre corrigé après publication")
    best = {"ref": float("inf"), "full": float("inf"), "rebuild": float("inf")}
    for _ in range(repeat):
        started = time.perf_counter()
        ref_xml = bare_feedgen(show, episodes)
        best["ref"] = min(best["ref"], time.perf_counter() - started)

        feed_module.clear_cache()
        started = time.perf_counter()
        full_xml = feed_module.render_feed(show, episodes, BASE, "bench/cover.jpg")
        best["full"] = min(best["full"], time.perf_counter() - started)

        # the cache as that full build left it; one episode changed since
        started = time.perf_counter()
        rebuilt = feed_module.render_feed(show, changed, BASE, "bench/cover.jpg")
        best["rebuild"] = min(best["rebuild"], time.perf_counter() - started)
    ref_s, full_s, rebuild_s = best["ref"], best["full"], best["rebuild"]
    feed_module.clear_cache()
    fresh = feed_module.render_feed(show, changed, BASE, "bench/cover.jpg")
    next_s, from_disk = next_process_rebuild(show, episodes, middle, repeat)

    problems = []
    if rebuilt != fresh:
        problems.append("the rebuild's bytes differ from a fresh render of the same episodes")
    if from_disk.count(b"<item>") != n or b"Titre corrig" not in from_disk:
        problems.append("the rebuild from the disk store lacks items or the changed title")
    if full_xml.count(b"<item>") != n or ref_xml.count(b"<item>") != n:
        problems.append("a feed does not have N items")
    if b"Titre corrig\xc3\xa9 apr\xc3\xa8s publication" not in rebuilt:
        problems.append("the changed title is not in the rebuilt feed")
    full_ratio, rebuild_ratio = full_s / ref_s, rebuild_s / full_s
    if full_ratio > 1.5:
        problems.append(f"full build is {full_ratio:.2f}x the bare feedgen loop (target <= 1.5x)")
    if rebuild_ratio > 0.10:
        problems.append(f"rebuild is {rebuild_ratio:.1%} of a full build (target <= 10 %)")
    return {
        "n": n,
        "repeat": repeat,
        "rows": [
            {"label": "ref: bare feedgen loop", "seconds": ref_s, "bytes": len(ref_xml), "ratio": None},
            {
                "label": "render_feed, full build",
                "seconds": full_s,
                "bytes": len(full_xml),
                "ratio": full_ratio,
                "against": "ref: bare feedgen loop",
                "target": 1.5,
            },
            {
                "label": "render_feed, one episode changed",
                "seconds": rebuild_s,
                "bytes": len(rebuilt),
                "ratio": rebuild_ratio,
                "against": "render_feed, full build",
                "target": 0.10,
            },
            {
                "label": "one changed, next process (disk)",
                "seconds": next_s,
                "bytes": len(from_disk),
                "ratio": next_s / full_s,
                "against": "render_feed, full build",
                "target": None,
            },
        ],
        "problems": problems,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=10_000, help="episodes in the feed (default 10000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per row; the best counts (default 3)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    report = run(args.episodes, args.repeat)
    print(f"feed of N = {report['n']} episodes, best of {report['repeat']}")
    print(f"{'row':<36} {'seconds':>9} {'ms/episode':>11} {'ratio':>8}  against (target)")
    for row in report["rows"]:
        ratio = "" if row["ratio"] is None else f"{row['ratio']:.3f}"
        target = f" (<= {row['target']})" if row.get("target") is not None else ""
        against = f"{row['against']}{target}" if row["ratio"] is not None else ""
        ms = row["seconds"] * 1000 / report["n"]
        print(f"{row['label']:<36} {row['seconds']:>9.3f} {ms:>11.4f} {ratio:>8}  {against}")
    for problem in report["problems"]:
        print(f"warning: {problem}", file=sys.stderr)
    if args.json:
        report["environment"] = {"python": platform.python_version(), "platform": platform.platform()}
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 1 if report["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
