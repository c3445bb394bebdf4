"""Masters made by the tests: a few seconds of a speech-like signal (a gliding voiced pitch with
harmonics, syllables at 4 Hz, pauses, breath noise) at a chosen level, mono or stereo, 16 or
24 bit, as WAV (written with `wave`), FLAC or AIFF (converted by ffmpeg); and an independent
loudness meter: pyloudnorm on samples decoded by ffmpeg."""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import numpy as np
import pyloudnorm
from scipy.signal import resample_poly

from tests.support import FFMPEG

RATE = 44100


def speech_like(seconds: float, *, level_db: float = -20.0, channels: int = 1, seed: int = 1) -> np.ndarray:
    """Float samples in [-1, 1], shape (frames, channels), RMS at `level_db` dBFS before clipping."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    f0 = 140 + 30 * np.sin(2 * np.pi * 0.3 * t)
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    voiced = sum(np.sin(k * phase) / k for k in range(1, 12))
    syllables = np.clip(np.sin(2 * np.pi * 4 * t + rng.uniform(0, 6)), 0, None) ** 2
    pauses = (np.sin(2 * np.pi * 0.4 * t) > -0.6).astype(float)
    x = voiced * syllables * pauses + 0.05 * rng.standard_normal(t.size) * syllables
    x = x / np.sqrt(np.mean(x**2)) * 10 ** (level_db / 20)
    x = np.clip(x, -1.0, 1.0)
    if channels == 1:
        return x[:, None]
    right = np.roll(x, 200) * 0.9  # not identical channels: a real stereo image
    return np.stack([x, right], axis=1)


def write_wav(path: Path, samples: np.ndarray, bits: int = 16) -> Path:
    channels = samples.shape[1]
    if bits == 16:
        data = (samples * 32767).astype("<i2").tobytes()
    elif bits == 24:
        ints = (samples * 8388607).astype("<i4")
        data = ints.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()  # little-endian: drop the top byte
    else:
        raise ValueError(bits)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(bits // 8)
        w.setframerate(RATE)
        w.writeframes(data)
    return path


def make_master(
    path: Path,
    seconds: float = 4.0,
    *,
    level_db: float = -20.0,
    channels: int = 1,
    bits: int = 16,
    seed: int = 1,
) -> Path:
    """A master at `path`; its suffix picks the format (.wav, .flac, .aiff)."""
    samples = speech_like(seconds, level_db=level_db, channels=channels, seed=seed)
    if path.suffix == ".wav":
        return write_wav(path, samples, bits)
    wav = write_wav(path.with_suffix(".src.wav"), samples, bits)
    codec = {".flac": ["-c:a", "flac"], ".aiff": ["-c:a", f"pcm_s{bits}be"]}[path.suffix]
    subprocess.run([FFMPEG, "-v", "error", "-y", "-i", str(wav), *codec, str(path)], check=True)
    wav.unlink()
    return path


def decode(path: Path, channels: int | None = None) -> np.ndarray:
    """Samples of any file ffmpeg reads, as float32 (frames, channels) at 44.1 kHz."""
    args = [FFMPEG, "-v", "error", "-i", str(path), "-map", "0:a:0", "-f", "f32le", "-ar", str(RATE)]
    if channels:
        args += ["-ac", str(channels)]
    raw = subprocess.run([*args, "-"], capture_output=True, check=True).stdout
    if channels is None:
        from mutagen import File

        channels = File(path).info.channels
    return np.frombuffer(raw, dtype="<f4").reshape(-1, channels)


def pyloudnorm_lufs(path: Path) -> float:
    """Integrated loudness by pyloudnorm's BS.1770-4 meter: independent of ffmpeg's loudnorm."""
    return float(pyloudnorm.Meter(RATE).integrated_loudness(decode(path).astype(np.float64)))


def true_peak_dbtp(path: Path) -> float:
    """True peak as BS.1770 defines it: the sample peak after 4x oversampling (scipy, not ffmpeg)."""
    x = decode(path).astype(np.float64)
    peak = max(np.max(np.abs(resample_poly(x[:, c], 4, 1))) for c in range(x.shape[1]))
    return float(20 * np.log10(peak))
