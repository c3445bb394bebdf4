"""Issue 8's figures: encoding masters against ffmpeg run by hand, parallel encodes, loudness memory.

    python benchmarks/bench_encode.py [--minutes 10] [--masters 6] [--master-minutes 2]
                                      [--hour-minutes 60] [--repeat 3] [--json results.json]

1. One encode. A 10-minute stereo 16-bit 44.1 kHz WAV master (pink noise under a tone, made by
   ffmpeg). Best of R alternating runs of: `ffmpeg` by hand with exactly the argument list
   `encode.ffmpeg_encode_args` gives (MP3 128k CBR, Xing header); and the whole
   `grandirenhlm ingest -q --show bench master.wav` command in a fresh project (interpreter start,
   probe and hash of the master, the same encode, copy, tags, hash of the result, the record).
   Target: ingest <= 1.1x ffmpeg by hand.
2. Parallel encodes. M (6) masters of 2 minutes each, ingested as one folder with `--jobs 1`, then
   with `--jobs 2`, each in a fresh project (so nothing comes from the encode cache). Best of R.
   Target: --jobs 2 >= 1.7x faster than --jobs 1 (on a machine with at least 2 free cores).
3. Loudness memory. A 1-minute and a 1-hour MP3 (mono 64k), each measured by
   `loudness.measure_loudness` in a fresh child process; its peak RSS and its ffmpeg child's
   (getrusage ru_maxrss) are compared. Target: the same memory for both lengths.

Needs only the package (imageio-ffmpeg brings ffmpeg). Progress on stderr, the table on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from grandirenhlm.encode import EncodeSettings, ffmpeg_encode_args  # noqa: E402
from grandirenhlm.ffmpeg import ffmpeg_exe  # noqa: E402

SHOW = """\
title = "Banc d’essai"
description = "Banc d’essai de l’encodage."
language = "fr"
author = "Banc d’essai"
category = "Technology"
image = "cover.jpg"

[owner]
name = "Banc d’essai"
email = "bench@example.org"
"""


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def ffmpeg(*args: str | Path) -> None:
    subprocess.run([ffmpeg_exe(), "-nostdin", "-y", "-v", "error", *map(str, args)], check=True)


def make_wav(path: Path, seconds: float, seed: int = 0) -> Path:
    noise = f"anoisesrc=color=pink:amplitude=0.2:seed={seed + 1}:duration={seconds}"
    tone = f"sine=frequency={180 + 20 * seed}:duration={seconds}"
    ffmpeg(
        "-f", "lavfi", "-i", noise, "-f", "lavfi", "-i", tone,
        "-filter_complex", "[0][1]amix=inputs=2,aformat=channel_layouts=stereo",
        "-ar", "44100", "-c:a", "pcm_s16le", path,
    )  # fmt: skip
    return path


def make_project(root: Path) -> Path:
    from PIL import Image

    (root / "feeds").mkdir(parents=True)
    (root / "feeds" / "bench.toml").write_text(SHOW, encoding="utf-8")
    Image.new("RGB", (1400, 1400), (0, 82, 156)).save(root / "feeds" / "cover.jpg", "JPEG")
    return root


CPU_USED: list[float] = []  # CPU seconds of each timed command and its children (ffmpeg)


def timed(cmd: list[str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU_USED.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall


def ingest_cmd(project: Path, *args: str | Path) -> list[str]:
    cli = [sys.executable, "-m", "grandirenhlm", "--project", str(project), "ingest", "--show", "bench", "-q"]
    return [*cli, *map(str, args)]


def bench_one(work: Path, minutes: float, repeat: int) -> dict:
    master = make_wav(work / "master-10min.wav", minutes * 60)
    log(f"1. one encode: {master.stat().st_size / 1e6:.0f} MB WAV, best of {repeat}")
    args = ffmpeg_encode_args(master, work / "by-hand.mp3", EncodeSettings().resolve(2))
    hand, ours = [], []
    for i in range(repeat):
        hand.append(timed([ffmpeg_exe(), "-hide_banner", "-nostdin", *args]))
        ours.append(timed(ingest_cmd(make_project(work / f"one-{i}"), master)))
        log(f"   run {i + 1}: ffmpeg by hand {hand[-1]:.2f} s, ingest {ours[-1]:.2f} s")
    return {"ffmpeg_by_hand_s": min(hand), "ingest_s": min(ours), "ratio": min(ours) / min(hand)}


def bench_jobs(work: Path, masters: int, minutes: float, repeat: int) -> dict:
    folder = work / "masters"
    folder.mkdir()
    for i in range(masters):
        make_wav(folder / f"m{i}.wav", minutes * 60, seed=i)
    log(f"2. {masters} masters of {minutes:g} min: --jobs 1 vs --jobs 2, best of {repeat}")
    one, two, busy = [], [], []
    for i in range(repeat):
        one.append(timed(ingest_cmd(make_project(work / f"jobs1-{i}"), "--jobs", "1", folder)))
        two.append(timed(ingest_cmd(make_project(work / f"jobs2-{i}"), "--jobs", "2", folder)))
        busy.append(CPU_USED[-1] / two[-1])  # cores kept busy: about 2 when the machine has 2 free
        log(f"   run {i + 1}: --jobs 1 {one[-1]:.2f} s, --jobs 2 {two[-1]:.2f} s ({busy[-1]:.2f} cores busy)")
    paired = sorted(a / b for a, b in zip(one, two, strict=True))  # each pair ran back to back
    return {
        "jobs1_s": min(one), "jobs2_s": min(two), "speedup": min(one) / min(two), "paired": paired,
        "jobs2_cores_busy": max(busy),
    }  # fmt: skip


MEASURE = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[2])
from pathlib import Path
from grandirenhlm.loudness import measure_loudness
start = time.perf_counter()
value = measure_loudness(Path(sys.argv[1]))
print(json.dumps({
    "seconds": time.perf_counter() - start,
    "lufs": value.integrated_lufs,
    "python_peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    "ffmpeg_peak_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
}))
"""


def bench_loudness(work: Path, hour_minutes: float) -> dict:
    out = {}
    for label, minutes in (("1 min", 1.0), (f"{hour_minutes:g} min", hour_minutes)):
        mp3 = work / f"loud-{minutes:g}.mp3"
        ffmpeg(
            "-f", "lavfi", "-i", f"anoisesrc=color=pink:amplitude=0.1:duration={minutes * 60}",
            "-ac", "1", "-ar", "44100", "-c:a", "libmp3lame", "-b:a", "64k", mp3,
        )  # fmt: skip
        done = subprocess.run(
            [sys.executable, "-c", MEASURE, str(mp3), str(ROOT / "src")],
            capture_output=True,
            text=True,
            check=True,
        )
        out[label] = {"size_mb": mp3.stat().st_size / 1e6, **json.loads(done.stdout)}
        log(f"3. loudness of {label}: {out[label]}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the single master")
    parser.add_argument("--masters", type=int, default=6, help="masters for the --jobs comparison")
    parser.add_argument("--master-minutes", type=float, default=2.0, help="length of each of those")
    parser.add_argument("--hour-minutes", type=float, default=60.0, help="length of the long loudness file")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    parser.add_argument(
        "--only",
        choices=["one", "jobs", "loudness"],
        action="append",
        help="run only these parts (repeatable)",
    )
    opts = parser.parse_args()
    parts = set(opts.only or ["one", "jobs", "loudness"])
    one = jobs = loud = None
    with tempfile.TemporaryDirectory(prefix="bench-encode-") as tmp:
        work = Path(tmp)
        if "one" in parts:
            one = bench_one(work, opts.minutes, opts.repeat)
        if "jobs" in parts:
            jobs = bench_jobs(work, opts.masters, opts.master_minutes, opts.repeat)
        if "loudness" in parts:
            loud = bench_loudness(work, opts.hour_minutes)
    rows = table(opts, one, jobs, loud)
    width = max(len(r[0]) for r in rows)
    print(f"{'row':{width}}  {'time':>9}  ratio")
    for name, value, ratio in rows:
        print(f"{name:{width}}  {value:>9}  {ratio}")
    env = {"cpus": os.cpu_count(), "python": platform.python_version(), "machine": platform.machine()}
    if opts.json:
        opts.json.write_text(json.dumps({"one": one, "jobs": jobs, "loudness": loud, "env": env}, indent=2))


def table(
    opts: argparse.Namespace, one: dict | None, jobs: dict | None, loud: dict | None
) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    if one:
        rows += [
            (f"encode {opts.minutes:g}-min WAV: ffmpeg by hand", f"{one['ffmpeg_by_hand_s']:.2f} s", ""),
            (f"encode {opts.minutes:g}-min WAV: grandirenhlm ingest", f"{one['ingest_s']:.2f} s",
             f"{one['ratio']:.3f}x (target <= 1.1x)"),
        ]  # fmt: skip
    if jobs:
        rows += [
            (f"{opts.masters} masters, --jobs 1", f"{jobs['jobs1_s']:.2f} s", ""),
            (f"{opts.masters} masters, --jobs 2", f"{jobs['jobs2_s']:.2f} s",
             f"{jobs['speedup']:.2f}x faster (target >= 1.7x); paired runs "
             f"{jobs['paired'][0]:.2f}x to {jobs['paired'][-1]:.2f}x; up to {jobs['jobs2_cores_busy']:.2f} cores busy"),
        ]  # fmt: skip
    if loud:
        for label, r in loud.items():
            rows.append(
                (f"loudness of {label} MP3 ({r['size_mb']:.1f} MB)", f"{r['seconds']:.2f} s",
                 f"peak RSS python {r['python_peak_kib'] / 1024:.0f} MiB, ffmpeg {r['ffmpeg_peak_kib'] / 1024:.0f} MiB")
            )  # fmt: skip
    if loud and len(loud) == 2:
        short, long_ = loud.values()
        rows.append(
            ("loudness memory, long / short", "",
             f"ffmpeg {long_['ffmpeg_peak_kib'] / short['ffmpeg_peak_kib']:.2f}x, "
             f"python {long_['python_peak_kib'] / short['python_peak_kib']:.2f}x (target: flat)")
        )  # fmt: skip
    return rows


if __name__ == "__main__":
    main()
