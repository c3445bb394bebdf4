"""Issue 8's figures: encoding masters against ffmpeg run by hand, parallel encodes, loudness memory.

    python benchmarks/bench_encode.py [--minutes 10] [--masters 6] [--master-minutes 2]
                                      [--hour-minutes 60] [--repeat 3] [--json results.json]

1. One encode. A 10-minute stereo 16-bit 44.1 kHz WAV master (pink noise under a tone, made by
   ffmpeg). Best of R alternating runs of: `ffmpeg` by hand with exactly the argument list
   `encode.ffmpeg_encode_args` gives (MP3 128k CBR, Xing header); and the whole
   `grandirenhlm ingest -q --show bench master.wav` command in a fresh project (interpreter start,
   probe and hash of the master, the same encode, copy, tags, hash of the result, the record).
   Target: ingest <= 1.1x ffmpeg by hand.
2. Parallel encodes. M (6) masters of 2 minutes each, ingested as one folder with `--jobs 1` and
   with `--jobs 2`, each run in a fresh project (so nothing comes from the encode cache), R rounds
   alternating which goes first; the medians. Target: --jobs 2 >= 1.7x faster than --jobs 1 (on a
   machine with at least 2 free cores).
3. Loudness memory. A 1-minute and a 1-hour MP3 (mono 64k), each measured by
   `loudness.measure_loudness` in a fresh child process. Peak RSS from Linux's VmHWM, never
   ru_maxrss (carried over from the parent through fork and exec, so never below its RSS): the
   Python child's after resetting it through /proc/self/clear_refs once imports are done, and the
   ffmpeg that measure_loudness really starts, its /proc/PID/status polled every 20 ms while it
   runs. Target: the same memory for both lengths.

Needs only the package (imageio-ffmpeg brings ffmpeg). Progress on stderr, the table on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
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
    log(
        f"2. {masters} masters of {minutes:g} min: --jobs 1 vs --jobs 2, median of {repeat} alternating rounds"
    )
    one, two, busy, busy1 = [], [], [], []
    hand1, hand2 = [], []  # the same six encodes, ffmpeg by hand: the ceiling of the machine
    args = [
        [
            ffmpeg_exe(),
            "-hide_banner",
            "-nostdin",
            *ffmpeg_encode_args(m, work / f"{m.stem}.mp3", EncodeSettings().resolve(2)),
        ]
        for m in sorted(folder.glob("*.wav"))
    ]
    for i in range(repeat):
        # Alternate which setting goes first, so a drift in the machine's load favours neither.
        for workers in (1, 2) if i % 2 == 0 else (2, 1):
            start = time.perf_counter()
            with ThreadPoolExecutor(workers) as pool:
                list(pool.map(lambda cmd: subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL), args))
            (hand1 if workers == 1 else hand2).append(time.perf_counter() - start)
        for jobs in ("1", "2") if i % 2 == 0 else ("2", "1"):
            wall = timed(ingest_cmd(make_project(work / f"jobs{jobs}-{i}"), "--jobs", jobs, folder))
            if jobs == "1":
                one.append(wall)
                busy1.append(CPU_USED[-1] / wall)  # a bit over 1: ffmpeg decodes and encodes in threads
            else:
                two.append(wall)
                busy.append(CPU_USED[-1] / wall)  # cores kept busy: about 2 when the machine has 2 free
        log(
            f"   round {i + 1}: by hand {hand1[-1]:.2f} s / {hand2[-1]:.2f} s two at a time ({hand1[-1] / hand2[-1]:.2f}x);"
            f" --jobs 1 {one[-1]:.2f} s, --jobs 2 {two[-1]:.2f} s ({busy1[-1]:.2f} and {busy[-1]:.2f} cores busy)"
        )
    paired = sorted(a / b for a, b in zip(one, two, strict=True))  # each pair ran back to back
    return {
        "jobs1_s": statistics.median(one), "jobs2_s": statistics.median(two),
        "speedup": statistics.median(one) / statistics.median(two), "paired": paired,
        "jobs1_cores_busy": statistics.median(busy1),
        "jobs2_cores_busy": statistics.median(busy), "jobs1_runs_s": one, "jobs2_runs_s": two,
        "by_hand1_s": statistics.median(hand1), "by_hand2_s": statistics.median(hand2),
        "by_hand_speedup": statistics.median(hand1) / statistics.median(hand2),
    }  # fmt: skip


MEASURE = """
import json, sys, time
sys.path.insert(0, sys.argv[2])
from pathlib import Path
from grandirenhlm.loudness import measure_loudness

def status_kib(key):
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1])

start_kib = status_kib("VmRSS")  # imports done
Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS, so the peak is the work's
start = time.perf_counter()
value = measure_loudness(Path(sys.argv[1]))
print(json.dumps({
    "seconds": time.perf_counter() - start,
    "lufs": value.integrated_lufs,
    "python_start_kib": start_kib,
    "python_peak_kib": status_kib("VmHWM"),
}))
"""
POLL_S = 0.02


def _status_kib(pid: int, key: str) -> int | None:
    """A `kB` value of /proc/PID/status, or None (gone, a zombie without memory, not Linux)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as fh:
                out += [int(c) for c in fh.read().split()]
    except OSError:
        pass
    return out


def measure_in_child(mp3: Path) -> dict:
    """`measure_loudness(mp3)` in a fresh interpreter; the peak RSS of that Python process (VmHWM
    after a reset through /proc/self/clear_refs) and of the ffmpeg it really starts: its
    /proc/PID/status VmHWM polled every 20 ms while it runs (the last value seen before it exits).
    Not ru_maxrss: Linux carries it over from the parent through fork and exec."""
    proc = subprocess.Popen(
        [sys.executable, "-c", MEASURE, str(mp3), str(ROOT / "src")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
    )
    peaks: dict[int, int] = {}  # ffmpeg pid -> highest VmHWM seen (KiB)
    samples: dict[int, int] = {}  # ffmpeg pid -> how many times it was read
    cmdlines: dict[int, list[str]] = {}
    while proc.poll() is None:
        for pid in _children(proc.pid):
            if pid not in cmdlines:
                try:
                    cmdlines[pid] = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]
                except OSError:
                    continue
            hwm = _status_kib(pid, "VmHWM")
            if hwm is not None:
                peaks[pid] = max(peaks.get(pid, 0), hwm)
                samples[pid] = samples.get(pid, 0) + 1
        time.sleep(POLL_S)
    out, _ = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"loudness child failed with status {proc.returncode}")
    ffmpegs = [pid for pid, cmd in cmdlines.items() if any("ebur128" in a for a in cmd) and pid in peaks]
    if len(ffmpegs) != 1:
        raise SystemExit(f"expected to watch one ffmpeg running ebur128, saw {cmdlines}")
    return {
        **json.loads(out),
        "ffmpeg_peak_kib": peaks[ffmpegs[0]],
        "ffmpeg_samples": samples[ffmpegs[0]],
        "ffmpeg_args": cmdlines[ffmpegs[0]][1:],
    }


def bench_loudness(work: Path, hour_minutes: float) -> dict:
    out = {}
    for label, minutes in (("1 min", 1.0), (f"{hour_minutes:g} min", hour_minutes)):
        mp3 = work / f"loud-{minutes:g}.mp3"
        ffmpeg(
            "-f", "lavfi", "-i", f"anoisesrc=color=pink:amplitude=0.1:duration={minutes * 60}",
            "-ac", "1", "-ar", "44100", "-c:a", "libmp3lame", "-b:a", "64k", mp3,
        )  # fmt: skip
        out[label] = {"size_mb": mp3.stat().st_size / 1e6, **measure_in_child(mp3)}
        log(f"3. loudness of {label}: { {k: v for k, v in out[label].items() if k != 'ffmpeg_args'} }")
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
            (f"{opts.masters} encodes, ffmpeg by hand, one at a time", f"{jobs['by_hand1_s']:.2f} s", "median"),
            (f"{opts.masters} encodes, ffmpeg by hand, two at a time", f"{jobs['by_hand2_s']:.2f} s",
             f"median, {jobs['by_hand_speedup']:.2f}x faster: the most --jobs 2 can give here"),
            (f"{opts.masters} masters, --jobs 1", f"{jobs['jobs1_s']:.2f} s", f"median; {jobs['jobs1_cores_busy']:.2f} cores busy"),
            (f"{opts.masters} masters, --jobs 2", f"{jobs['jobs2_s']:.2f} s",
             f"median, {jobs['speedup']:.2f}x faster (target >= 1.7x); paired rounds "
             f"{jobs['paired'][0]:.2f}x to {jobs['paired'][-1]:.2f}x; {jobs['jobs2_cores_busy']:.2f} cores busy"),
        ]  # fmt: skip
    if loud:
        for label, r in loud.items():
            rows.append(
                (f"loudness of {label} MP3 ({r['size_mb']:.1f} MB)", f"{r['seconds']:.2f} s",
                 f"peak RSS (VmHWM): python {r['python_peak_kib'] / 1024:.1f} MiB "
                 f"(at start {r['python_start_kib'] / 1024:.1f}), ffmpeg {r['ffmpeg_peak_kib'] / 1024:.1f} MiB")
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
