"""Containment: every file a record or show definition names lies inside the project. An absolute
path, a `../` path or a symlink leaving the project is one `error:` line from `check`, and `build`
refuses it (again, just before reading files), so nothing from outside reaches a built site."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from grandirenhlm import site
from grandirenhlm.build import build_site
from grandirenhlm.catalog import load_catalog
from grandirenhlm.errors import ValidationError
from tests.support import make_cover, run_command

EPISODE = "episodes/grandir-en-hlm/temoignage-1.toml"
REPLAY = "episodes/l-emission/replay-2023.toml"
SHOW = "feeds/grandir-en-hlm.toml"
MARKER = b"aws_secret_access_key = NOT-FOR-PUBLICATION-7f3a"


cli = run_command  # the command in its own process (tests/support.py)


def error_lines(proc: subprocess.CompletedProcess[str]) -> list[str]:
    """The `error:` lines of a failed run that printed no traceback."""
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.splitlines()
    assert all(line.startswith(("error: ", "warning: ")) for line in lines), lines
    return [line for line in lines if line.startswith("error: ")]


def edit(root: Path, name: str, old: str, new: str) -> None:
    path = root / name
    text = path.read_text(encoding="utf-8")
    assert old in text, (old, name)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def value_of(root: Path, name: str, key: str) -> str:
    """The first `key = "..."` line's value in a record, as written."""
    line = next(
        line for line in (root / name).read_text(encoding="utf-8").splitlines() if line.startswith(f"{key} =")
    )
    return line.split("=", 1)[1].strip().strip('"')


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A file outside the project that must never be published (like ~/.aws/credentials)."""
    folder = tmp_path / "home" / ".aws"
    folder.mkdir(parents=True)
    path = folder / "credentials"
    path.write_bytes(MARKER + b"\n")
    return path


def assert_secret_not_in(folder: Path) -> None:
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            assert MARKER not in (Path(dirpath) / name).read_bytes(), Path(dirpath) / name


def point_at(root: Path, secret: Path, name: str, key: str, how: str) -> str:
    """Make `key` of the record `name` point at `secret` the way `how` says; return what it wrote."""
    record = root / name
    old = value_of(root, name, key)
    if how == "absolute":
        new = str(secret)
    elif how == "dotdot":
        new = os.path.relpath(secret, record.parent)
        assert new.startswith("../../../")
    else:  # a symlink inside the project whose target is outside it
        link = (record.parent / old).resolve()
        link.unlink()
        link.symlink_to(secret)
        return old
    edit(root, name, f'{key} = "{old}"', f'{key} = "{new}"')
    return new


CASES = [
    (EPISODE, "file", "media.file", "absolute"),
    (EPISODE, "file", "media.file", "dotdot"),
    (EPISODE, "file", "media.file", "symlink"),
    (REPLAY, "poster", "poster", "absolute"),
    (REPLAY, "poster", "poster", "dotdot"),
    (REPLAY, "poster", "poster", "symlink"),
    (EPISODE, "transcript", "transcript", "dotdot"),
    (EPISODE, "transcript", "transcript", "symlink"),
    (SHOW, "image", "image", "symlink"),
    (SHOW, "image", "image", "absolute"),
]
WHY = {
    "absolute": "is an absolute path; write it relative to the record, inside the project",
    "dotdot": "leaves the project folder; only files inside the project are published",
    "symlink": "is a symbolic link to a file outside the project; copy the file into the project",
}


@pytest.mark.parametrize(("name", "key", "shown", "how"), CASES)
def test_check_and_build_refuse_a_file_outside_the_project(
    demo_project: Path, secret: Path, name: str, key: str, shown: str, how: str
):
    written = point_at(demo_project, secret, name, key, how)
    if key == "poster" and how == "symlink":  # an image that is really outside: it must still fail
        secret.write_bytes(b"\xff\xd8\xff\xe0" + MARKER)
    expected = f"error: {name}: {shown}: {written!r} {WHY[how]}"
    assert error_lines(cli(demo_project, "check")) == [expected]
    out = demo_project.parent / "site"
    assert error_lines(cli(demo_project, "build", "--output", str(out))) == [expected]
    assert not out.exists() or not any(out.iterdir())
    assert_secret_not_in(demo_project.parent / "site")


def test_an_alternate_outside_the_project_is_refused(demo_project: Path, secret: Path):
    old = next(
        line
        for line in (demo_project / REPLAY).read_text(encoding="utf-8").split("[[alternate]]")[1].splitlines()
        if line.startswith("file =")
    )
    edit(demo_project, REPLAY, "[[alternate]]\n" + old, f'[[alternate]]\nfile = "{secret}"')
    assert error_lines(cli(demo_project, "check")) == [
        f"error: {REPLAY}: alternate[0].file: {str(secret)!r} {WHY['absolute']}"
    ]


def test_a_hidden_file_of_the_project_is_not_published(demo_project: Path):
    (demo_project / ".env").write_bytes(MARKER)
    edit(demo_project, EPISODE, 'transcript = "temoignage-1.vtt"', 'transcript = "../../.env"')
    assert error_lines(cli(demo_project, "check")) == [
        f"error: {EPISODE}: transcript: '../../.env' is in a hidden file or folder; "
        "only the project's own files are published"
    ]


def test_a_symlink_inside_the_project_is_still_a_file_of_the_project(demo_project: Path):
    """Containment refuses what leaves the project, not links between its own folders."""
    vtt = demo_project / "episodes/grandir-en-hlm/temoignage-1.vtt"
    (demo_project / "transcripts").mkdir()
    moved = demo_project / "transcripts/temoignage-1.vtt"
    vtt.rename(moved)
    vtt.symlink_to(moved)
    proc = cli(demo_project, "build", "--output", str(demo_project.parent / "site"))
    assert proc.returncode == 0, proc.stderr
    assert (demo_project.parent / "site/grandir-en-hlm/temoignage-1/transcript.vtt").read_bytes() == (
        moved.read_bytes()
    )


def test_build_asks_again_before_reading_a_file(demo_project: Path, secret: Path):
    """A symlink swapped after the records were read (or a catalog made in code) is still refused."""
    project = site.open_project(demo_project)
    catalog = load_catalog(project)
    media = next(e for e in catalog.episodes["grandir-en-hlm"] if e.number == 1).media.path
    media.unlink()
    media.symlink_to(secret)
    with pytest.raises(ValidationError) as info:
        build_site(project, catalog, "http://x/", datetime(2030, 1, 1, tzinfo=UTC))
    assert info.value.problems == [
        f"{EPISODE}: media.file: {str(media.relative_to(demo_project))!r} {WHY['symlink']}"
    ]


@pytest.mark.parametrize(
    ("content", "suffix", "problem"),
    [
        (b"WEBVTT\n", ".vtt", "poster.vtt is not an image; expected a .jpg, .png or .webp file"),
        (MARKER, ".jpg", "poster.jpg is not a JPG image"),
        (b"\x89PNG\r\n\x1a\n" + MARKER, ".jpg", "poster.jpg is not a JPG image"),
    ],
)
def test_a_poster_must_be_an_image(demo_project: Path, content: bytes, suffix: str, problem: str):
    poster = demo_project / "media/l-emission" / f"poster{suffix}"
    poster.write_bytes(content)
    edit(
        demo_project,
        REPLAY,
        value_of(demo_project, REPLAY, "poster"),
        f"../../media/l-emission/poster{suffix}",
    )
    assert error_lines(cli(demo_project, "check")) == [f"error: {REPLAY}: poster: {problem}"]


def test_a_png_poster_is_accepted(demo_project: Path):
    make_cover(demo_project / "media/l-emission/poster.png", size=64, fmt="PNG")
    edit(demo_project, REPLAY, value_of(demo_project, REPLAY, "poster"), "../../media/l-emission/poster.png")
    proc = cli(demo_project, "check")
    assert proc.returncode == 0, proc.stderr
