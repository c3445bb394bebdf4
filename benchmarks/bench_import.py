"""Issue 16's figure: `grandirenhlm import` of an N-item feed (default 300) whose media a local server
serves, against a plain urllib loop fetching the same files at the same concurrency.

    python benchmarks/bench_import.py [--items 300] [--seconds 600 --seconds 20] [--no-info-header]
                                      [--jobs 4] [--rounds 3] [--json FILE] [--also NAME=SRC ...]

Two corpora by default, measured one after the other: 300 episodes of 10 minutes (1.4 GB, what a
podcast's feed holds: the target is judged on this one), then 300 items of 20 seconds (46 MiB),
where the per-item work and the start-up outweigh the transfers and the bare libraries alone take
about twice the urllib loop (printed, not judged). For each:
1. One real MP3 is encoded with lameenc (`--seconds` long, mono 64 kbit/s) and given the "Info"
   frame LAME and ffmpeg write in front of a constant-bitrate MP3 (`--no-info-header`: without
   it, as lameenc leaves it; import then counts the MPEG frames of each file to time it), then N
   copies are made, each with its own ID3 title (mutagen), so every file has its own sha256; a
   1400 px JPEG cover;
   a feed of N items (guid, pubDate, title, HTML description, enclosure with its true length).
2. A server is started in a child process: Python's ThreadingHTTPServer serving that folder on
   127.0.0.1 at a free port (the same server for both rows).
3. Rounds, interleaved (R times; the rows' order rotates from one round to the next, so that no row
   always follows the same one), each run in a fresh child process:
   - `ref: urllib loop`: a ThreadPoolExecutor(--jobs) calling urllib.request.urlopen on the feed and
     every enclosure and writing each body to a file (no parsing, no checks, no hashing);
   - `import`: `grandirenhlm --project P import FEED --show bench --jobs J -q` into a new project:
     every page read and parsed, the cover fetched and checked, every enclosure downloaded
     (resumable, bounded), probed (mutagen, sha256), moved into the media store, one record written.
   - `floor: bare libraries`: the least an import must do, with the same libraries and no checks, in
     the same thread pool: urllib fetching the feed and every enclosure (hashed with sha256 as it
     arrives), lxml parsing the feed, mutagen reading each file, the file renamed into a media
     folder, one record per item written with tomli-w. Not a target: it shows how much of the gap
     to the urllib loop is the required work itself, and how much is the tool.
   - `CLI start-up`: `grandirenhlm --version` in a fresh process, the fixed cost inside the import row.
   - with `--also NAME=SRC` (repeatable), the same import with SRC first on PYTHONPATH (another
     checkout's `src`, e.g. main's), in the same rounds: a change and its base measured together.
   The medians are compared. Target (issue 16): import <= 1.5x the urllib loop, on the first corpus.
Every child runs `sys.executable -m grandirenhlm` with this environment (PYTHONPATH included), so
the code measured is the one this interpreter imports.
The load average before and after is printed with each table; the exit status is 1 if an import did
not import N items or the target is missed on the first corpus.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SERVER = """
import functools, http.server, sys
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
handler.func.log_message = lambda *a: None
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""

REFERENCE = """
import sys, urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
urls, out, jobs = sys.argv[1].split(), Path(sys.argv[2]), int(sys.argv[3])
out.mkdir(parents=True)
def get(pair):
    n, url = pair
    with urllib.request.urlopen(url, timeout=30) as response, open(out / str(n), "wb") as fh:
        while chunk := response.read(256 * 1024):
            fh.write(chunk)
with ThreadPoolExecutor(jobs) as pool:
    list(pool.map(get, enumerate(urls)))
"""

FLOOR = """
import hashlib, os, sys, urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import mutagen, tomli_w
from lxml import etree
urls, out, jobs = sys.argv[1].split(), Path(sys.argv[2]), int(sys.argv[3])
(out / "media").mkdir(parents=True)
(out / "records").mkdir()
with urllib.request.urlopen(urls[0], timeout=30) as response:
    items = etree.fromstring(response.read()).findall("channel/item")
by_url = {item.find("enclosure").get("url"): item for item in items}
def get(url):
    item, part = by_url[url], out / (url.rsplit("/", 1)[-1] + ".part")
    digest = hashlib.sha256()
    with urllib.request.urlopen(url, timeout=30) as response, open(part, "wb") as fh:
        while chunk := response.read(256 * 1024):
            fh.write(chunk)
            digest.update(chunk)
    info = mutagen.File(part).info
    target = out / "media" / f"{part.stem}-{digest.hexdigest()[:12]}.mp3"
    os.replace(part, target)
    record = {"guid": item.findtext("guid"), "title": item.findtext("title"),
              "date": item.findtext("pubDate"), "description": item.findtext("description"),
              "media": {"file": target.name, "sha256": digest.hexdigest(), "size": target.stat().st_size,
                        "duration": info.length, "bitrate": info.bitrate}}
    (out / "records" / f"{part.stem}.toml").write_text(tomli_w.dumps(record), encoding="utf-8")
with ThreadPoolExecutor(jobs) as pool:
    list(pool.map(get, urls[1:]))
"""


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _with_info_header(audio: bytes) -> bytes:
    """The stream with the "Info" frame LAME and ffmpeg put in front of a constant-bitrate MP3 (frame
    and byte counts, from which players and mutagen take the duration); lameenc, a bare encoder,
    writes none. Mono MPEG-1 layer III: the fields start 4 + 17 bytes into the frame."""
    header = int.from_bytes(audio[:4], "big")
    assert header >> 21 == 0x7FF and (header >> 6) & 3 == 3, "a mono MPEG frame"
    bitrate = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)[(header >> 12) & 15] * 1000
    rate = (44100, 48000, 32000)[(header >> 10) & 3]
    frames, pos = 0, 0
    while pos + 4 <= len(audio):  # every frame of the stream (lameenc writes nothing else)
        h = int.from_bytes(audio[pos : pos + 4], "big")
        pos += 144 * bitrate // rate + ((h >> 9) & 1)
        frames += 1
    length = 144 * bitrate // rate
    first = (header & ~(1 << 9)).to_bytes(4, "big") + bytes(17)
    fields = (
        b"Info"
        + (3).to_bytes(4, "big")
        + frames.to_bytes(4, "big")
        + (length + len(audio)).to_bytes(4, "big")
    )
    return first + fields + bytes(length - len(first) - len(fields)) + audio


def make_corpus(folder: Path, items: int, seconds: float, base: str, info_header: bool = True) -> list[str]:
    """The media, cover and feed.xml; returns the URLs the reference fetches (feed + enclosures)."""
    import math
    import struct

    import lameenc
    from mutagen.id3 import ID3, TIT2
    from PIL import Image

    encoder = lameenc.Encoder()
    encoder.set_bit_rate(64)
    encoder.set_in_sample_rate(44100)
    encoder.set_channels(1)
    encoder.set_quality(7)
    frames = int(seconds * 44100)
    pcm = struct.pack(
        f"<{frames}h", *(int(9000 * math.sin(2 * math.pi * 220 * i / 44100)) for i in range(frames))
    )
    audio = bytes(encoder.encode(pcm) + encoder.flush())
    if info_header:
        audio = _with_info_header(audio)
    (folder / "media").mkdir(parents=True)
    Image.new("RGB", (1400, 1400), (0, 82, 156)).save(folder / "cover.jpg", "JPEG")
    start = datetime(2020, 1, 6, 8, 0, tzinfo=UTC)
    entries, urls = [], [f"{base}/feed.xml"]
    for n in range(1, items + 1):
        path = folder / "media" / f"episode-{n:04d}.mp3"
        path.write_bytes(audio)
        tags = ID3()
        tags.add(TIT2(encoding=3, text=f"Épisode {n}"))
        tags.save(path, v2_version=4)
        url = f"{base}/media/{path.name}"
        urls.append(url)
        entries.append(
            f'<item><title>Épisode {n}</title><guid isPermaLink="false">bench-{n:04d}</guid>'
            f"<pubDate>{format_datetime(start + timedelta(days=7 * n))}</pubDate>"
            f"<description><![CDATA[<p>Épisode <b>{n}</b> du banc d’essai.</p>]]></description>"
            f'<enclosure url="{url}" length="{path.stat().st_size}" type="audio/mpeg"/>'
            f"<itunes:duration>{int(seconds)}</itunes:duration></item>"
        )
    feed = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
        'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">\n<channel>'
        "<title>Banc d’essai</title><description>Import de N épisodes.</description><language>fr</language>"
        f'<itunes:image href="{base}/cover.jpg"/><itunes:category text="Technology"/>'
        "<itunes:owner><itunes:name>Banc</itunes:name><itunes:email>bench@example.org</itunes:email></itunes:owner>"
        + "".join(reversed(entries))
        + "</channel></rss>\n"
    )
    (folder / "feed.xml").write_text(feed, encoding="utf-8")
    return urls


def timed(args: list[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - started


def _count_records(project: Path, expected: int, label: str) -> list[str]:
    records = len(list((project / "episodes" / "bench").glob("*.toml")))
    return [] if records == expected else [f"{label}: import wrote {records} records, expected {expected}"]


# The target is judged on a podcast's episodes (the first corpus: 300 items of 10 minutes, 1.4 GB);
# the second, 20-second items, shows the per-item cost (a probe, a record, two new files) and the
# start-up, where the bare libraries alone are about twice the urllib loop: printed, not judged.
DEFAULT_SECONDS = (600.0, 20.0)
TARGET = 1.5


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument(
        "--seconds",
        type=float,
        action="append",
        help="length of each MP3, one corpus each (repeatable); the first is judged against the "
        f"target (default: {' and '.join(f'{s:g}' for s in DEFAULT_SECONDS)})",
    )
    parser.add_argument(
        "--no-info-header",
        dest="info_header",
        action="store_false",
        help="MP3s without the Info frame LAME and ffmpeg write: import counts their frames to time them",
    )
    parser.add_argument("--jobs", type=int, default=4, help="downloads at once, for both rows")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--also", action="append", default=[], metavar="NAME=SRC", help="another tree's src to import with"
    )
    options = parser.parse_args()
    corpora = options.seconds or list(DEFAULT_SECONDS)

    work = Path(tempfile.mkdtemp(prefix="bench-import-"))
    results, problems = [], []
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(work)], stdout=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{int(server.stdout.readline())}"
        for n, seconds in enumerate(corpora):
            corpus, judged = work / f"corpus-{n}", n == 0
            results.append(_measure(options, corpus, f"{base}/{corpus.name}", seconds, judged, problems))
            if n + 1 < len(corpora):
                print()
    finally:
        server.terminate()
        server.wait()
    if options.json:
        options.json.write_text(json.dumps(results, indent=2))
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    ratio = results[0]["ratio"]
    if ratio > TARGET:
        print(
            f"warning: import took {ratio:.2f}x the urllib loop with {corpora[0]:g}-second items "
            f"(target {TARGET}x)",
            file=sys.stderr,
        )
    shutil.rmtree(work, ignore_errors=True)
    return 1 if problems or ratio > TARGET else 0


def _measure(options, corpus: Path, base: str, seconds: float, judged: bool, problems: list[str]) -> dict:
    """One corpus of `options.items` MP3s of `seconds`: its rows in interleaved rounds, the table
    printed (`judged`: with the target)."""
    corpus.mkdir()
    work = corpus.parent
    log(f"making {options.items} MP3s of {seconds:g} s and their feed in {corpus}")
    urls = make_corpus(corpus, options.items, seconds, base, options.info_header)
    total = sum(p.stat().st_size for p in (corpus / "media").iterdir())
    label = corpus.name
    load_before = os.getloadavg()
    others = dict(item.split("=", 1) for item in options.also)
    times: dict[str, list[float]] = {"ref": [], "import": [], "startup": [], "floor": []}
    times.update({name: [] for name in others})

    def reference(r: int) -> float:
        out = work / f"{label}-ref-{r}"
        return timed([sys.executable, "-c", REFERENCE, " ".join(urls), str(out), str(options.jobs)])

    def bare_floor(r: int) -> float:
        floor = work / f"{label}-floor-{r}"
        took = timed([sys.executable, "-c", FLOOR, " ".join(urls), str(floor), str(options.jobs)])
        if len(list((floor / "records").iterdir())) != options.items:
            problems.append(f"{label}, round {r}: the floor loop wrote the wrong number of records")
        return took

    def importing(name: str, src: str | None, r: int) -> float:
        project = work / f"{label}-project-{name}-{r}"
        (project / "feeds").mkdir(parents=True)
        command = [sys.executable, "-m", "grandirenhlm", "--project", str(project), "import",
                   f"{base}/feed.xml", "--show", "bench", "--jobs", str(options.jobs), "-q"]  # fmt: skip
        env = None
        if src is not None:
            path = os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
            env = {**os.environ, "PYTHONPATH": path}
        took = timed(command, env)
        problems.extend(_count_records(project, options.items, f"{label}, round {r}, {name}"))
        return took

    rows: dict[str, Callable[[int], float]] = {
        "ref": reference,
        "import": functools.partial(importing, "import", None),
        "floor": bare_floor,
    }
    rows.update({name: functools.partial(importing, name, src) for name, src in others.items()})
    order = list(rows)
    for r in range(1, options.rounds + 1):
        # each row runs first, second... in turn: a row pays for the one before it (the disk
        # writing back what it downloaded), and a fixed order would charge it to the same row
        shift = (r - 1) % len(order)
        for name in order[shift:] + order[:shift]:
            times[name].append(rows[name](r))
            log(f"{seconds:g} s items, round {r}: {name} {times[name][-1]:.2f} s")
        times["startup"].append(timed([sys.executable, "-m", "grandirenhlm", "--version"]))
    load_after = os.getloadavg()
    ref, imp = statistics.median(times["ref"]), statistics.median(times["import"])
    startup = statistics.median(times["startup"])
    floor = statistics.median(times["floor"])
    ratio = imp / ref
    verdict = f"target <= {TARGET}" if judged else "not judged: per-item cost"
    print(f"{options.items} items of {seconds:g} s, {total / 2**20:.1f} MiB of media, "
          f"{'with' if options.info_header else 'without'} an Info header, {options.jobs} at once, "
          f"{options.rounds} interleaved rounds, medians")  # fmt: skip
    print(f"| row | seconds | ratio |\n|---|---|---|\n| ref: urllib loop | {ref:.2f} | 1.00 |")
    print(f"| import | {imp:.2f} | {ratio:.2f} ({verdict}) |")
    print(f"| of which: CLI start-up (grandirenhlm --version) | {startup:.2f} | |")
    print(
        f"| floor: bare libraries (urllib, lxml, mutagen, sha256, tomli-w) | {floor:.2f} | {floor / ref:.2f} |"
    )
    print(f"| import against the floor | | {imp / floor:.2f} |")
    print(f"| import without start-up | {imp - startup:.2f} | {(imp - startup) / ref:.2f} |")
    for name in others:
        other = statistics.median(times[name])
        print(f"| import ({name}) | {other:.2f} | {other / ref:.2f} |")
    print(f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after; {os.cpu_count()} CPUs; "
          f"Python {platform.python_version()}")  # fmt: skip
    for path in work.glob(f"{label}-*"):  # 1.4 GB a row with 10-minute items: not kept for the next corpus
        shutil.rmtree(path, ignore_errors=True)
    return {
        "items": options.items,
        "seconds": seconds,
        "bytes": total,
        "jobs": options.jobs,
        "times": times,
        "ratio": ratio,
        "load": [load_before, load_after],
    }


if __name__ == "__main__":
    sys.exit(main())
