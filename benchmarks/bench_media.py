"""Issue 4's figures: `probe` against plain mutagen loops, and peak memory for a 1-hour file.

    python benchmarks/bench_media.py [--files 1000] [--repeat 5] [--json results.json]

1. Speed. Two corpora of N short MP3s (3 s, mono, 64 kbit/s, each with its own ID3v2.4 tags):
   one encoded by ffmpeg's LAME with a Xing/Info header (what encoders write by default), one
   encoded by lameenc, which writes no header (so `probe` walks every frame to get the exact
   duration). Over each corpus, best of R alternating runs of: `mutagen.File(path)`;
   `mutagen.File(path)` + sha256 of the file; `grandirenhlm.media.probe(path)`, which includes
   hashing. All files are in the page cache (a warm-up pass reads them first).
2. Memory. A 1-minute and a 1-hour MP3 (with a Xing header, and a VBR one without any header,
   whose duration `probe` counts frame by frame), plus a 1-hour WAV: each probed in a fresh child
   process; the peak RSS (Linux VmHWM) of the whole process is compared.

Needs the test extras (`pip install -e '.[test]'`): imageio-ffmpeg and lameenc.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MIB = 1024 * 1024


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg(*args: str | Path) -> None:
    subprocess.run([ffmpeg_exe(), "-y", "-v", "error", *map(str, args)], check=True)


def tag(path: Path, i: int) -> None:
    from mutagen.id3 import COMM, ID3, TALB, TDRC, TIT2, TPE1, TRCK

    tags = ID3()
    tags.add(TIT2(encoding=3, text=f"Témoignage n° {i}"))
    tags.add(TPE1(encoding=3, text="Union sociale pour l’habitat"))
    tags.add(TALB(encoding=3, text="Banc d’essai"))
    tags.add(TRCK(encoding=3, text=str(i)))
    tags.add(TDRC(encoding=3, text="2023-06-17"))
    tags.add(COMM(encoding=3, lang="fra", desc="", text=f"Fichier {i}"))
    tags.save(path, v2_version=4)


def make_corpora(root: Path, n: int) -> dict[str, list[Path]]:
    import lameenc

    tone = ("-f", "lavfi", "-i", "sine=frequency=440:duration=3", "-ac", "1")
    xing_one = root / "one-xing.mp3"
    ffmpeg(*tone, "-c:a", "libmp3lame", "-b:a", "64k", xing_one)
    pcm = [ffmpeg_exe(), "-v", "error", *tone, "-f", "s16le", "-"]
    raw = subprocess.run(pcm, check=True, capture_output=True).stdout
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(64)
    encoder.set_in_sample_rate(44100)
    encoder.set_channels(1)
    bare_bytes = bytes(encoder.encode(raw) + encoder.flush())
    corpora: dict[str, list[Path]] = {"xing": [], "no-header": []}
    for name, data in (("xing", xing_one.read_bytes()), ("no-header", bare_bytes)):
        folder = root / name
        folder.mkdir()
        for i in range(n):
            path = folder / f"{i:05}.mp3"
            path.write_bytes(data)
            tag(path, i)
            corpora[name].append(path)
    return corpora


def loop_mutagen(files: list[Path]) -> None:
    import mutagen

    for path in files:
        mutagen.File(path)


def loop_mutagen_sha(files: list[Path]) -> None:
    import mutagen

    for path in files:
        mutagen.File(path)
        with path.open("rb") as fh:
            hashlib.file_digest(fh, "sha256").hexdigest()


def loop_probe(files: list[Path]) -> None:
    from grandirenhlm.media import probe

    for path in files:
        probe(path)


def time_loops(files: list[Path], repeat: int) -> dict[str, float]:
    loops = {"mutagen.File": loop_mutagen, "mutagen.File + sha256": loop_mutagen_sha, "probe": loop_probe}
    for loop in loops.values():  # warm-up: page cache, imports
        loop(files)
    best = dict.fromkeys(loops, float("inf"))
    for _ in range(repeat):  # alternate, so that a burst of load elsewhere hits every loop alike
        for name, loop in loops.items():
            start = time.perf_counter()
            loop(files)
            best[name] = min(best[name], time.perf_counter() - start)
    return best


# ---------------------------------------------------------------- memory, in a fresh child


def _vmhwm() -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _probe_peak(path: str, queue: multiprocessing.Queue) -> None:
    from grandirenhlm.media import probe

    info = probe(Path(path))
    queue.put(
        {"peak_rss": _vmhwm(), "duration_seconds": info.duration_seconds, "warnings": list(info.warnings)}
    )


def probe_peak(path: Path) -> dict:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=_probe_peak, args=(str(path), queue))
    child.start()
    result = queue.get(timeout=600)
    child.join()
    return result


def make_long_files(root: Path) -> dict[str, Path]:
    minute = root / "minute-cbr.mp3"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=330:duration=60",
        "-ac",
        "1",
        "-c:a",
        "libmp3lame",
        "-b:a",
        "128k",
        minute,
    )
    hour = root / "hour-cbr.mp3"
    ffmpeg(
        "-stream_loop", "59", "-i", minute, "-c", "copy", hour
    )  # 60 copies of the frames, a new Xing header
    vbr_minute = root / "minute-vbr-no-header.mp3"
    noise = "anoisesrc=d=60:a=0.4,volume='if(lt(mod(t,6),1.5),1,0)':eval=frame"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        noise,
        "-ac",
        "1",
        "-c:a",
        "libmp3lame",
        "-q:a",
        "2",
        "-write_xing",
        "0",
        vbr_minute,
    )
    vbr_hour = root / "hour-vbr-no-header.mp3"
    ffmpeg("-stream_loop", "59", "-i", vbr_minute, "-c", "copy", "-write_xing", "0", vbr_hour)
    wav_minute = root / "minute.wav"
    ffmpeg("-f", "lavfi", "-i", "sine=duration=60", "-ac", "2", wav_minute)
    wav_hour = root / "hour.wav"
    ffmpeg("-stream_loop", "59", "-i", wav_minute, "-c", "copy", wav_hour)
    return {
        "mp3 CBR, Xing, 1 min": minute,
        "mp3 CBR, Xing, 1 h": hour,
        "mp3 VBR, no header, 1 min": vbr_minute,
        "mp3 VBR, no header, 1 h": vbr_hour,
        "wav 16-bit stereo, 1 min": wav_minute,
        "wav 16-bit stereo, 1 h": wav_hour,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000, help="files per corpus (default 1000)")
    parser.add_argument(
        "--repeat", type=int, default=5, help="timed runs per loop; the best counts (default 5)"
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    results: dict = {"files": args.files}
    with tempfile.TemporaryDirectory(prefix="grandirenhlm-bench-media-") as tmp:
        root = Path(tmp)
        print(f"making {args.files} MP3s twice and the long files in {root} ...", file=sys.stderr)
        corpora = make_corpora(root, args.files)
        print(f"\n## probe against mutagen (best of {args.repeat}, seconds)\n")
        print(
            "| corpus | mutagen.File | mutagen.File + sha256 | probe | probe / mutagen | probe / mutagen+sha256 |"
        )
        print("|---|---|---|---|---|---|")
        for name, files in corpora.items():
            t = time_loops(files, args.repeat)
            ratio, ratio_sha = t["probe"] / t["mutagen.File"], t["probe"] / t["mutagen.File + sha256"]
            results[f"speed {name}"] = {**t, "ratio": ratio, "ratio_sha": ratio_sha}
            print(
                f"| {len(files)} × 3 s, {name} | {t['mutagen.File']:.3f} | {t['mutagen.File + sha256']:.3f} | "
                f"{t['probe']:.3f} | {ratio:.2f}× | {ratio_sha:.2f}× |"
            )
        long_files = make_long_files(root)
        print("\n## peak memory of one probe in a fresh process (VmHWM)\n")
        print("| file | size | duration | peak RSS | vs 1 min |")
        print("|---|---|---|---|---|")
        minute_peak = 0
        for name, path in long_files.items():
            r = probe_peak(path)
            if name.endswith("1 min"):
                minute_peak = r["peak_rss"]
            versus = f"{r['peak_rss'] / minute_peak:.3f}×" if name.endswith("1 h") else ""
            results[f"memory {name}"] = {**r, "size": path.stat().st_size}
            print(
                f"| {name} | {path.stat().st_size / MIB:.1f} MiB | {r['duration_seconds']:.1f} s | "
                f"{r['peak_rss'] / MIB:.1f} MiB | {versus} |"
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
