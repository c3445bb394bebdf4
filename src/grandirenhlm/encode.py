"""Masters in, distribution files out: a WAV/FLAC/AIFF (or anything ffmpeg reads) becomes the MP3
or M4A the show's `[encoding]` settings ask for, tagged, named by the hash of its final bytes.

The steps, in this order so that the stored name is the hash of what is published:
encode (cached: same master + same settings = no re-encode) -> copy -> tag -> hash -> rename.

- The encode cache is `.grandirenhlm/encoded/<master sha256>-<settings>.<ext>` (untagged audio):
  editing a title re-tags a copy in a moment instead of re-encoding the master. Each encode has
  this user's MAC of its content beside it (`<name>.mac`, `cachekey.sign_file`): an encode
  committed with the project is not published in place of the master's.
- Every file is written to a temporary name beside its target and renamed when complete; any
  failure, Ctrl-C included, removes the temporary file: nothing partial reaches the media store.
- MP3 is CBR with a Xing/Info header (exact durations in every app); ffmpeg's bitexact flags make
  the same master give the same bytes, so the content-addressed name is stable.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TextIO

from grandirenhlm import cachekey
from grandirenhlm.errors import GrandirError, MediaError
from grandirenhlm.ffmpeg import CANCEL, EncodeInterrupted, run_ffmpeg
from grandirenhlm.files import cache_folder, display_path, move_into_place, sha256_file, temporary_beside
from grandirenhlm.loudness import default_target, loudnorm_filter, measure_loudness
from grandirenhlm.media import probe
from grandirenhlm.media.types import AUDIO_M4A, AUDIO_MPEG
from grandirenhlm.model import EncodeSettings, MediaInfo
from grandirenhlm.records import load_show
from grandirenhlm.tagging import TagData, ended_chapters, write_tags
from grandirenhlm.text import clock

FORMATS = {"mp3": AUDIO_MPEG.suffix, "m4a": AUDIO_M4A.suffix}  # `format` setting -> suffix
Progress = Callable[[float], None]


def resolve_settings(settings: EncodeSettings, master_channels: int | None) -> Resolved:
    """The settings for one master: channels, bitrate and loudness target decided from its channels."""
    channels = settings.channels or min(max(master_channels or 2, 1), 2)
    return Resolved(
        format=settings.format,
        sample_rate=settings.sample_rate,
        bitrate_kbps=settings.bitrate_kbps or _default_kbps(settings.format, channels),
        channels=channels,
        normalize=settings.normalize,
        target_lufs=settings.target_lufs if settings.target_lufs is not None else default_target(channels),
        max_true_peak=settings.max_true_peak,
    )


def _default_kbps(fmt: str, channels: int) -> int:
    """128k stereo; for mono speech 64k MP3, but 96k AAC: at 64k ffmpeg's AAC encoder overshoots
    the true peak by 1 to 2 dB, past Apple's -1 dBTP even after normalisation."""
    if channels == 2:
        return 128
    return 96 if fmt == "m4a" else 64


@dataclass(frozen=True)
class Resolved:
    format: str
    sample_rate: int
    bitrate_kbps: int
    channels: int
    normalize: bool
    target_lufs: float
    max_true_peak: float

    @property
    def extension(self) -> str:
        return FORMATS[self.format]

    def key(self) -> str:
        data = asdict(self)
        if not self.normalize:  # the target only matters when it is applied
            data.pop("target_lufs"), data.pop("max_true_peak")
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def load_settings(
    project_root: Path, show: str, *, format: str | None = None, normalize: bool | None = None
) -> EncodeSettings:
    """The `[encoding]` table of `feeds/<show>.toml` (read with the show), with command-line overrides."""
    settings = load_show(project_root / "feeds" / f"{show}.toml").encoding
    return replace(
        settings,
        format=format or settings.format,
        normalize=settings.normalize if normalize is None else normalize,
    )


# ---------------------------------------------------------------- one master


@dataclass(frozen=True)
class Master:
    path: Path
    sha256: str
    duration_seconds: float | None
    channels: int | None
    info: MediaInfo | None  # None: mutagen does not know the format, but ffmpeg may


def read_master(path: Path) -> Master:
    """What encoding needs to know about an input, without decoding it."""
    try:  # probe names what is not a regular file (a directory, a FIFO, a device) or missing
        info = probe(path)
    except MediaError as exc:
        if "not a media file mutagen recognises" not in str(exc):
            raise  # a damaged MP3/WAV/...: mutagen's reason is the precise one
        # "any input ffmpeg reads" (CAF, WavPack, AMR...): ffmpeg reads its header, else mutagen's message
        duration, channels = _ffmpeg_header(path, exc)
        try:
            return Master(path, sha256_file(path), duration, channels, None)
        except OSError as os_exc:
            raise MediaError(f"{display_path(path)}: cannot read: {os_exc.strerror}") from os_exc
    return Master(path, info.sha256, info.duration_seconds, info.channels, info)


_DURATION = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_AUDIO = re.compile(r"Audio: [^,]+, \d+ Hz, (mono|stereo|[^,]+)")


def _ffmpeg_header(path: Path, refused: MediaError) -> tuple[float | None, int | None]:
    try:
        text = run_ffmpeg(
            ["-v", "info", "-i", str(path), "-map", "0:a:0", "-t", "0", "-f", "null", "-"], name=str(path)
        )
    except MediaError as exc:
        raise refused from exc
    found = _DURATION.search(text)
    duration = int(found[1]) * 3600 + int(found[2]) * 60 + float(found[3]) if found else None
    layout = _AUDIO.search(text)
    channels = {"mono": 1, "stereo": 2}.get(layout[1], 2) if layout else None
    return duration, channels


def ffmpeg_encode_args(source: Path, target: Path, r: Resolved, audio_filter: str | None = None) -> list[str]:
    """The ffmpeg arguments for one encode (benchmarks run the same list by hand)."""
    args = ["-v", "error", "-y", "-i", str(source), "-map", "0:a:0", "-vn", "-sn", "-dn"]
    args += ["-map_metadata", "-1", "-map_chapters", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact"]
    if audio_filter:
        args += ["-af", audio_filter]
    args += ["-ar", str(r.sample_rate), "-ac", str(r.channels)]
    if r.format == "mp3":
        # CBR, and a Xing/Info frame so every app computes the exact duration without a scan.
        args += ["-c:a", "libmp3lame", "-b:a", f"{r.bitrate_kbps}k", "-write_xing", "1"]
        args += ["-id3v2_version", "0", "-write_id3v1", "0", "-f", "mp3"]
    else:
        args += ["-c:a", "aac", "-b:a", f"{r.bitrate_kbps}k", "-movflags", "+faststart", "-f", "ipod"]
    return [*args, str(target)]


def encode_cached(master: Master, r: Resolved, cache_root: Path, on_progress: Progress | None = None) -> Path:
    """The untagged encode of `master` with settings `r`, from the cache or made now."""
    cached = cache_folder(cache_root) / "encoded" / f"{master.sha256[:32]}-{r.key()}{r.extension}"
    if _kept(cached):
        return cached
    name = display_path(master.path)
    audio_filter = None
    if r.normalize:
        # two passes over the audio: the bar shows the measuring pass as its first half
        total = master.duration_seconds
        if on_progress and total:
            report = on_progress
            measured = measure_loudness(master.path, on_progress=lambda s: report(s / 2))
            on_progress = lambda s: report((total + s) / 2)  # noqa: E731
        else:
            measured = measure_loudness(master.path, on_progress=on_progress)
        if math.isfinite(measured.integrated_lufs):  # digital silence has no loudness to correct
            audio_filter = loudnorm_filter(measured, r.target_lufs, r.max_true_peak)
    with temporary_beside(cached, suffix=f".tmp{cached.suffix}") as tmp:
        run_ffmpeg(
            ffmpeg_encode_args(master.path, tmp, r, audio_filter),
            name=name,
            output=display_path(cached.parent),
            on_progress=on_progress,
        )
        _keep(tmp, cached)
    return cached


def extract_audio_cached(video: Master, cache_root: Path, on_progress: Progress | None = None) -> Path:
    """The audio track of an MP4 with AAC audio, copied bit-exact (no re-encoding) into an M4A."""
    cached = cache_folder(cache_root) / "encoded" / f"{video.sha256[:32]}-aac-copy{AUDIO_M4A.suffix}"
    if _kept(cached):
        return cached
    name = display_path(video.path)
    with temporary_beside(cached, suffix=f".tmp{cached.suffix}") as tmp:
        args = ["-v", "error", "-y", "-i", str(video.path), "-map", "0:a:0", "-vn", "-c:a", "copy"]
        args += ["-map_metadata", "-1", "-map_chapters", "-1", "-fflags", "+bitexact", "-flags", "+bitexact"]
        args += ["-movflags", "+faststart", "-f", "ipod", str(tmp)]
        run_ffmpeg(args, name=name, output=display_path(cached.parent), on_progress=on_progress)
        _keep(tmp, cached)
    return cached


def _kept(cached: Path) -> bool:
    """Whether the encode cache holds `cached`, made by this user's runs: an encode is published
    as it is (tagged), so one committed with the project (`git add -f`) must not stand for it."""
    return cached.is_file() and cached.stat().st_size > 0 and cachekey.file_is_signed(cached)


def _keep(tmp: Path, cached: Path) -> None:
    # the MAC first: an encode is never in place unsigned (a crash between the two would cost a
    # new encode); a MAC left for other bytes fails the check
    with contextlib.suppress(OSError):  # unsigned, it is only made again next time
        cachekey.sign_file(tmp, cached.name)
    move_into_place(tmp, cached, durable=False)  # a cache


def store_derived(encoded: Path, folder: Path, stem: str, tags: TagData | None) -> Path:
    """Copy an encode into `folder`, tag it, and name it `<stem>-<sha256[:12]><ext>` by its final bytes."""
    ext = encoded.suffix
    duration = probe(encoded).duration_seconds if tags and tags.chapters else 0.0
    with temporary_beside(folder / f"{stem}{ext}", suffix=f".tmp{ext}") as tmp:
        try:
            if ext == AUDIO_M4A.suffix and tags and tags.chapters:
                _remux_with_chapters(encoded, tmp, ended_chapters(tags.chapters, duration))
            else:
                shutil.copyfile(encoded, tmp)
            if tags is not None:
                write_tags(tmp, tags, duration)
            digest = sha256_file(tmp)
            target = folder / f"{stem}-{digest[:12]}{ext}"
            move_into_place(tmp, target, durable=False)
        except OSError as exc:
            raise MediaError(
                f"{display_path(folder)}: cannot write to the media store: {exc.strerror}"
            ) from exc
    return target


def _remux_with_chapters(encoded: Path, out: Path, chapters) -> None:
    """M4A chapters as a QuickTime chapter track: ffmpeg copies the audio and adds them (mutagen
    cannot write MP4 chapters)."""
    lines = [";FFMETADATA1"]
    for c in chapters:
        title = c.title.replace("\\", "\\\\").replace("=", "\\=").replace(";", "\\;").replace("#", "\\#")
        end = c.end_seconds if c.end_seconds is not None else c.start_seconds
        lines += [
            "[CHAPTER]",
            "TIMEBASE=1/1000",
            f"START={round(c.start_seconds * 1000)}",
            f"END={round(end * 1000)}",
        ]
        lines.append(f"title={title.replace(chr(10), ' ')}")
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8", delete=False) as meta:
        meta.write("\n".join(lines) + "\n")
    try:
        args = ["-v", "error", "-y", "-i", str(encoded), "-f", "ffmetadata", "-i", meta.name]
        # metadata from the (empty) ffmetadata globals: `-map_metadata -1` would also blank the chapter titles
        args += ["-map", "0:a", "-map_chapters", "1", "-map_metadata", "1", "-c", "copy"]
        args += [
            "-fflags",
            "+bitexact",
            "-flags",
            "+bitexact",
            "-movflags",
            "+faststart",
            "-f",
            "ipod",
            str(out),
        ]
        run_ffmpeg(args, name=display_path(encoded), output=display_path(out.parent))
    finally:
        os.unlink(meta.name)


def extract_poster(video: Path, folder: Path, stem: str, at_seconds: float) -> Path:
    """One frame of the video as a JPEG, `<stem>-poster-<sha256[:12]>.jpg`, for the episode page."""
    with temporary_beside(folder / f"{stem}-poster.jpg", suffix=".tmp.jpg") as tmp:
        args = ["-v", "error", "-y", "-ss", f"{at_seconds:.3f}", "-i", str(video), "-map", "0:v:0"]
        args += ["-frames:v", "1", "-q:v", "3", "-fflags", "+bitexact", "-flags", "+bitexact"]
        args += ["-f", "image2", "-c:v", "mjpeg", str(tmp)]
        run_ffmpeg(args, name=display_path(video), output=display_path(folder))
        if tmp.stat().st_size == 0:
            raise MediaError(f"{display_path(video)}: no video frame at {at_seconds:.1f} s for a poster")
        target = folder / f"{stem}-poster-{sha256_file(tmp)[:12]}.jpg"
        move_into_place(tmp, target, durable=False)
    return target


# ---------------------------------------------------------------- many masters, in parallel


@dataclass
class EncodeJob:
    """One derived file to make: `run()` returns its path in the media store."""

    name: str  # the input as the user gave it
    duration_seconds: float | None
    run: Callable[[Progress], Path]


def run_jobs(jobs: list[EncodeJob], workers: int, reporter: EncodeReporter) -> list[Path | GrandirError]:
    """Run the jobs, `workers` at a time; each gives its path or its error, in order.

    ffmpeg does the work in child processes, so threads are enough to keep every core busy.
    Ctrl-C stops every running ffmpeg, removes their temporary files and raises `EncodeInterrupted`.
    """
    results: list[Path | GrandirError | None] = [None] * len(jobs)
    running: set[str] = set()
    lock = threading.Lock()

    def one(i: int) -> None:
        job = jobs[i]
        with lock:
            running.add(job.name)
        bar = reporter.start(job.name, job.duration_seconds)
        try:
            results[i] = job.run(bar.update)
            bar.done(ok=True)
        except EncodeInterrupted as exc:
            results[i] = exc
            bar.done(ok=False)
        except GrandirError as exc:
            results[i] = exc
            bar.done(ok=False)
        finally:
            with lock:
                running.discard(job.name)

    CANCEL.clear()
    try:
        if workers <= 1 or len(jobs) <= 1:
            for i in range(len(jobs)):
                one(i)
                if isinstance(results[i], EncodeInterrupted):
                    raise results[i]  # type: ignore[misc]
        else:
            pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="encode")
            try:
                futures = [pool.submit(one, i) for i in range(len(jobs))]
                for future in futures:
                    future.result()
            except KeyboardInterrupt:
                with lock:
                    names = sorted(running)
                CANCEL.set()
                pool.shutdown(wait=True, cancel_futures=True)
                raise EncodeInterrupted(
                    f"{', '.join(names) or 'encode'}: interrupted; nothing was written to the media store"
                ) from None
            pool.shutdown(wait=True)
    finally:
        reporter.close()
    return [r if r is not None else GrandirError("encode did not run") for r in results]


# ---------------------------------------------------------------- progress


class EncodeReporter:
    """Plain lines (a pipe, a CI log): one when an encode starts, at each quarter, and at the end."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream
        self._lock = threading.Lock()

    def _out(self) -> TextIO:
        return self.stream or sys.stderr

    def log(self, line: str) -> None:
        with self._lock:
            print(line, file=self._out(), flush=True)

    def start(self, name: str, duration: float | None) -> Bar:
        self.log(f"encoding {name}" + (f" ({clock(duration)})" if duration else ""))
        return LineBar(self, name, duration)

    def close(self) -> None:
        pass


class Bar:
    def update(self, seconds: float) -> None:
        pass

    def done(self, ok: bool) -> None:
        pass


class LineBar(Bar):
    def __init__(self, reporter: EncodeReporter, name: str, duration: float | None):
        self.reporter, self.name, self.duration, self.quarter = reporter, name, duration, 0

    def update(self, seconds: float) -> None:
        if self.duration and self.duration >= 60:  # a short file's start and end lines say enough
            quarter = min(3, int(4 * seconds / self.duration))
            if quarter > self.quarter:
                self.quarter = quarter
                self.reporter.log(f"encoding {self.name}: {clock(seconds)} of {clock(self.duration)}")

    def done(self, ok: bool) -> None:
        if ok:
            self.reporter.log(f"encoded {self.name}")


class QuietReporter(EncodeReporter):
    def log(self, line: str) -> None:
        pass


class TqdmReporter(EncodeReporter):
    """One tqdm bar per running encode, its position in the audio in seconds."""

    def __init__(self, stream: TextIO | None = None):
        super().__init__(stream)
        self._free: list[int] = []
        self._next = 0

    def log(self, line: str) -> None:
        from tqdm import tqdm

        with self._lock:
            tqdm.write(line, file=self._out())

    def start(self, name: str, duration: float | None) -> Bar:
        from tqdm import tqdm

        with self._lock:
            slot = self._free.pop(0) if self._free else self._next
            self._next = max(self._next, slot + 1)
        # A terminal that reports no size (a fresh pty, some CI consoles) makes tqdm draw nothing:
        # fall back to 80x24, as publish's bars do.
        size = shutil.get_terminal_size((80, 24))
        bar = tqdm(
            total=round(duration or 0, 1) or None, desc=name[-30:], unit="s", position=slot, leave=True,
            file=self._out(), ncols=size.columns or 80, nrows=size.lines or 24,
            bar_format="{desc} {bar} {n:.0f}/{total:.0f} s [{elapsed}<{remaining}]" if duration else None,
        )  # fmt: skip
        return TqdmBar(self, bar, slot)


class TqdmBar(Bar):
    def __init__(self, reporter: TqdmReporter, bar, slot: int):
        self.reporter, self.bar, self.slot = reporter, bar, slot

    def update(self, seconds: float) -> None:
        with self.reporter._lock:
            self.bar.n = min(seconds, self.bar.total or seconds)
            self.bar.refresh()

    def done(self, ok: bool) -> None:
        with self.reporter._lock:
            if ok and self.bar.total:
                self.bar.n = self.bar.total
            self.bar.close()
            self.reporter._free.append(self.slot)


def make_encode_reporter(quiet: bool = False, stream: TextIO | None = None) -> EncodeReporter:
    """Bars on a terminal, lines elsewhere, nothing with `quiet`."""
    if quiet:
        return QuietReporter(stream)
    if (stream or sys.stderr).isatty():
        return TqdmReporter(stream)
    return EncodeReporter(stream)
