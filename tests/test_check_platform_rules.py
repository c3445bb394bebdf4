"""Platform rules that get a show rejected are errors of `check` (issue 13, item 5): artwork that is
not square, under 1400 or over 3000 px, or not an RGB JPEG/PNG; and a show marked complete that
gains an episode after its feed went out is a warning naming `complete` and `update_frequency`."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from tests.support import SHOW_TOML, make_mp3, run_command

SHOW = "grandir-en-hlm"
WHERE = f"feeds/{SHOW}.toml"


cli = run_command  # the command in its own process (tests/support.py)


def image_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(f"error: {WHERE}: image: ")]


@pytest.mark.parametrize(
    ("size", "mode", "fmt", "problems"),
    [
        ((600, 400), "RGB", "JPEG", ["600x400 is not square", "600x400 px, Apple wants 1400 to 3000 px"]),
        ((1200, 1200), "RGB", "JPEG", ["1200x1200 px, Apple wants 1400 to 3000 px"]),
        ((3200, 3200), "RGB", "JPEG", ["3200x3200 px, Apple wants 1400 to 3000 px"]),
        ((1400, 1400), "RGBA", "PNG", ["colour mode RGBA, Apple wants RGB without alpha"]),
        ((1400, 1400), "CMYK", "JPEG", ["colour mode CMYK, Apple wants RGB without alpha"]),
        ((1400, 1400), "P", "GIF", ["image/gif, Apple wants JPEG or PNG", "colour mode P, Apple wants RGB"]),
        ((1400, 1400), "RGB", "PNG", []),
        ((3000, 3000), "RGB", "JPEG", []),
    ],
)
def test_artwork_apple_rejects_is_an_error(
    project: Path, tmp_path: Path, size: tuple[int, int], mode: str, fmt: str, problems: list[str]
) -> None:
    make_mp3(tmp_path / "ep.mp3", title="Un épisode", track="1")
    assert cli(project, "ingest", "--show", SHOW, str(tmp_path / "ep.mp3")).returncode == 0
    name = f"cover.{fmt.lower()}"
    Image.new(mode, size).save(project / "feeds" / name, fmt)
    show = project / "feeds" / f"{SHOW}.toml"
    show.write_text(SHOW_TOML.replace('"cover.jpg"', f'"{name}"'), encoding="utf-8")
    done = cli(project, "check")
    assert "Traceback" not in done.stderr
    errors = image_errors(done.stderr)
    assert len(errors) == len(problems), done.stderr
    for line, problem in zip(errors, problems, strict=True):
        assert line.startswith(f"error: {WHERE}: image: {problem}"), (line, problem)
    if problems:
        assert done.returncode == 1
    assert not any(": image: " in line for line in done.stderr.splitlines() if line.startswith("warning"))


def test_a_complete_show_that_gains_an_episode_after_publishing_warns(project: Path, tmp_path: Path) -> None:
    show = project / "feeds" / f"{SHOW}.toml"
    show.write_text(
        SHOW_TOML.replace('type = "serial"\n', 'type = "serial"\ncomplete = true\n'
                          'update_frequency = "Série complète"\n'),
        encoding="utf-8",
    )  # fmt: skip
    make_mp3(tmp_path / "1.mp3", title="Premier", track="1")
    make_mp3(tmp_path / "2.mp3", title="Second", track="2", freq=550.0)
    assert cli(project, "ingest", "--show", SHOW, str(tmp_path / "1.mp3")).returncode == 0
    before = cli(project, "check")
    assert "complete: true" not in before.stderr  # nothing published yet
    built = cli(project, "build")  # the feed goes out to public/, marked complete
    assert built.returncode == 0, built.stderr
    assert "<itunes:complete>yes</itunes:complete>" in (project / "public" / SHOW / "feed.xml").read_text()
    assert "complete: true" not in cli(project, "check").stderr  # the published episode is fine
    assert cli(project, "ingest", "--show", SHOW, str(tmp_path / "2.mp3")).returncode == 0
    done = cli(project, "check")
    (line,) = [line for line in done.stderr.splitlines() if "complete: true" in line]
    assert line.startswith(f"warning: {WHERE}: complete: true, but second came after the feed in public/")
    assert "complete = false" in line and "update_frequency" in line
