"""Loudness: measured by ffmpeg (loudness.py), normalised in two passes while encoding, and every
result checked with an independent meter: pyloudnorm (BS.1770-4) on the decoded output, and the
true peak from scipy's 4x oversampling."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from grandirenhlm.loudness import measure_loudness
from tests.masters import make_master, pyloudnorm_lufs, true_peak_dbtp
from tests.support import run_cli

SHOW = "grandir-en-hlm"


def stored(project: Path, slug: str) -> Path:
    record = project / "episodes" / SHOW / f"{slug}.toml"
    return (record.parent / tomllib.loads(record.read_text(encoding="utf-8"))["media"]["file"]).resolve()


@pytest.mark.parametrize(("level", "channels"), [(-38, 1), (-24, 2), (-12, 1)])
def test_measurement_agrees_with_pyloudnorm(tmp_path: Path, level: float, channels: int) -> None:
    master = make_master(tmp_path / "m.wav", 5.0, level_db=level, channels=channels)
    ours = measure_loudness(master)
    assert abs(ours.integrated_lufs - pyloudnorm_lufs(master)) < 0.5
    assert abs(ours.true_peak_dbtp - true_peak_dbtp(master)) < 0.5


@pytest.mark.parametrize(
    ("name", "level", "channels", "bits", "target"),
    [
        ("whisper-mono16.wav", -38, 1, 16, -19.0),  # far too quiet: +19 dB
        ("shout-stereo24.wav", -8, 2, 24, -16.0),  # too loud, peaks at full scale
        ("quiet-stereo16.wav", -30, 2, 16, -16.0),
    ],
)
def test_normalize_lands_within_one_lu_by_an_independent_meter(
    project: Path, tmp_path: Path, name: str, level: float, channels: int, bits: int, target: float
) -> None:
    master = make_master(tmp_path / name, 6.0, level_db=level, channels=channels, bits=bits)
    before = pyloudnorm_lufs(master)
    assert abs(before - target) > 5  # the test means something: the master is far off

    result = run_cli(project, "ingest", "--show", SHOW, "-q", "--normalize", str(master))

    assert result.exit_code == 0, result.stderr
    out = stored(project, Path(name).stem)
    after = pyloudnorm_lufs(out)
    assert abs(after - target) <= 1.0, (before, after)
    assert true_peak_dbtp(out) <= -1.0


def test_show_settings_normalize_to_their_own_target(project: Path, tmp_path: Path) -> None:
    show = project / "feeds" / f"{SHOW}.toml"
    show.write_text(
        show.read_text(encoding="utf-8") + "\n[encoding]\nnormalize = true\ntarget_lufs = -23\n",
        encoding="utf-8",
    )
    master = make_master(tmp_path / "ebu.wav", 6.0, level_db=-12, channels=2)

    assert run_cli(project, "ingest", "--show", SHOW, "-q", str(master)).exit_code == 0
    assert abs(pyloudnorm_lufs(stored(project, "ebu")) + 23) <= 1.0


def test_inspect_loudness_json(project: Path, tmp_path: Path) -> None:
    master = make_master(tmp_path / "m.wav", 4.0, level_db=-30, channels=1)

    result = run_cli(project, "inspect", "--json", "--loudness", str(master))

    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)["loudness"]
    assert set(data) == {"integrated_lufs", "true_peak_dbtp", "loudness_range_lu", "target_lufs", "problems"}
    assert abs(data["integrated_lufs"] - pyloudnorm_lufs(master)) < 0.5
    assert data["target_lufs"] == -19.0
    assert data["problems"] == [
        f"integrated loudness {data['integrated_lufs']:.1f} LUFS, target -19 ±1 (mono); encode it with normalize = true"
    ]
    plain = run_cli(project, "inspect", "--json", str(master))
    assert "loudness" not in json.loads(plain.stdout)  # only measured when asked: decoding is slow


def test_check_loudness_warns_outside_the_target_only(project: Path, tmp_path: Path) -> None:
    show = project / "feeds" / f"{SHOW}.toml"  # episodic: episodes without numbers are fine
    show.write_text(
        show.read_text(encoding="utf-8").replace('type = "serial"', 'type = "episodic"'), encoding="utf-8"
    )
    quiet = make_master(tmp_path / "faible.wav", 4.0, level_db=-35)
    loud = make_master(tmp_path / "fort.wav", 4.0, level_db=-30)
    assert run_cli(project, "ingest", "--show", SHOW, "-q", str(quiet)).exit_code == 0
    assert run_cli(project, "ingest", "--show", SHOW, "-q", "--normalize", str(loud)).exit_code == 0

    result = run_cli(project, "check", "--loudness")

    warnings = [line for line in result.stderr.splitlines() if "loudness" in line]
    assert len(warnings) == 1, result.stderr
    assert warnings[0].startswith(f"warning: episodes/{SHOW}/faible.toml: media.file: faible-")
    assert "target -19 ±1 (mono)" in warnings[0]
    plain = run_cli(project, "check")
    assert "loudness" not in plain.stderr  # plain check stays fast: no decoding


def test_silent_master_is_encoded_not_normalised_and_reported(project: Path, tmp_path: Path) -> None:
    import numpy as np

    from tests.masters import write_wav

    silent = write_wav(tmp_path / "silence.wav", np.zeros((44100 * 2, 1)))

    result = run_cli(project, "ingest", "--show", SHOW, "-q", "--normalize", str(silent))

    assert result.exit_code == 0, result.stderr
    value = measure_loudness(stored(project, "silence"))
    assert value.integrated_lufs == float("-inf")
    inspect = run_cli(project, "inspect", "--json", "--loudness", str(stored(project, "silence")))
    data = json.loads(inspect.stdout)["loudness"]
    assert data["integrated_lufs"] is None and data["problems"] == [
        "the audio is silent (no measurable loudness)"
    ]
