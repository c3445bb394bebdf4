"""Integrated loudness (ITU-R BS.1770 / EBU R128) and true peak of a file, and the targets.

ffmpeg's `ebur128` filter measures while it streams the decoded audio, so memory stays flat
whatever the file's length; its summary also carries what the second pass of a two-pass
normalisation (`loudnorm` in linear mode) needs: loudness range and gating threshold.
Apple's recommendation is the default target: -16 LUFS (stereo) or -19 LUFS (mono, which plays as loud once sent to two speakers), ±1 LU,
true peak at most -1 dBTP (https://podcasters.apple.com/support/893-audio-requirements).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from grandirenhlm.errors import MediaError
from grandirenhlm.ffmpeg import run_ffmpeg
from grandirenhlm.files import display_path
from grandirenhlm.model import Episode

STEREO_TARGET = -16.0
MONO_TARGET = -19.0
TOLERANCE_LU = 1.0
MAX_TRUE_PEAK = -1.0


@dataclass(frozen=True)
class Loudness:
    integrated_lufs: float  # -inf for digital silence
    true_peak_dbtp: float
    range_lu: float
    threshold_lufs: float  # the relative gate, for loudnorm's second pass

    def to_json(self) -> dict[str, float | None]:
        def num(x: float) -> float | None:
            return round(x, 2) if math.isfinite(x) else None

        return {
            "integrated_lufs": num(self.integrated_lufs),
            "true_peak_dbtp": num(self.true_peak_dbtp),
            "loudness_range_lu": num(self.range_lu),
        }


def default_target(channels: int | None) -> float:
    return MONO_TARGET if channels == 1 else STEREO_TARGET


def measure_loudness(path: Path, on_progress: Callable[[float], None] | None = None) -> Loudness:
    """Decode `path` once through ffmpeg's ebur128 meter; raise `MediaError` naming the file.

    ebur128 (true peak by 4x oversampling) runs about 6 times faster than loudnorm's analysis,
    which resamples everything to 192 kHz; both measure BS.1770 the same way."""
    name = display_path(path)
    args = ["-v", "info", "-i", str(path), "-map", "0:a:0", "-af", "ebur128=peak=true:framelog=quiet"]
    stderr = run_ffmpeg([*args, "-f", "null", "-"], name=name, on_progress=on_progress)
    return parse_ebur128(stderr, name)


_SUMMARY = re.compile(
    r"Integrated loudness:\s+I:\s+(?P<i>-?[\d.]+|-?inf) LUFS\s+Threshold:\s+(?P<thresh>-?[\d.]+|-?inf) LUFS"
    r"\s+Loudness range:\s+LRA:\s+(?P<lra>[\d.]+) LU.*?True peak:\s+Peak:\s+(?P<tp>-?[\d.]+|-?inf) dBFS",
    re.S,
)


def parse_ebur128(stderr: str, name: str) -> Loudness:
    """The summary ebur128 prints last on stderr. Below its -70 LUFS gate (silence) is -inf."""
    summaries = list(_SUMMARY.finditer(stderr))
    if not summaries:
        raise MediaError(f"{name}: ffmpeg gave no loudness measurement (no audio stream?)")
    found = summaries[-1]
    integrated = float(found["i"])
    return Loudness(
        integrated_lufs=integrated if integrated > -70 else -math.inf,
        true_peak_dbtp=float(found["tp"]),
        range_lu=float(found["lra"]),
        threshold_lufs=float(found["thresh"]),
    )


def loudness_problems(
    value: Loudness, channels: int | None, target: float | None = None, max_true_peak: float = MAX_TRUE_PEAK
) -> list[str]:
    """What is outside the target, one message each (empty when within it)."""
    target = default_target(channels) if target is None else target
    problems = []
    if not math.isfinite(value.integrated_lufs):
        problems.append("the audio is silent (no measurable loudness)")
    elif abs(value.integrated_lufs - target) > TOLERANCE_LU:
        problems.append(
            f"integrated loudness {value.integrated_lufs:.1f} LUFS, target {target:g} ±{TOLERANCE_LU:g} "
            f"({'mono' if channels == 1 else 'stereo'}); encode it with normalize = true"
        )
    if math.isfinite(value.true_peak_dbtp) and value.true_peak_dbtp > max_true_peak:
        problems.append(f"true peak {value.true_peak_dbtp:.1f} dBTP, above {max_true_peak:g} dBTP")
    return problems


def loudnorm_filter(measured: Loudness, target: float, max_true_peak: float) -> str:
    """The second pass: loudnorm fed the first pass's values, linear (one gain for the whole file,
    no pumping) whenever the peaks allow it. The true-peak goal sits 0.5 dB under the limit because
    lossy encoding adds a little overshoot."""
    lra = min(50.0, max(11.0, math.ceil(measured.range_lu) + 1.0))  # linear needs target LRA >= measured
    return (
        f"loudnorm=I={target:g}:TP={max_true_peak - 0.5:g}:LRA={lra:g}"
        f":measured_I={measured.integrated_lufs:.2f}:measured_TP={measured.true_peak_dbtp:.2f}"
        f":measured_LRA={measured.range_lu:.2f}:measured_thresh={measured.threshold_lufs:.2f}"
        ":linear=true"
    )


def episode_loudness_problems(episode: Episode) -> list[tuple[str, str]]:
    """(where, message) for the episode's audio outside the target: its media, or for a video with
    an audio-only version, that version (where listeners hear the sound alone)."""
    from grandirenhlm.media import probe

    if episode.media is None or episode.draft:
        return []
    where = display_path(episode.source)
    files = [(f"alternate[{i}]", a) for i, a in enumerate(episode.alternates) if not a.is_video]
    if not (episode.media.is_video and files):
        files = [("media", episode.media), *files]
    out = []
    for field, media in files:
        channels = probe(media.path).channels
        for problem in loudness_problems(measure_loudness(media.path), channels):
            out.append((where, f"{field}.file: {media.path.name}: {problem}"))
    return out
