"""Limits of records and show definitions, each a one-line error naming the file (no traceback):
TOML nested 50,000 deep, files over 1 MiB, non-finite or absurd numbers. The record cache sees an
edit that keeps size and time; `ingest --force` keeps the comments people wrote in a record."""

from __future__ import annotations

import contextlib
import os
import threading
import tomllib
from pathlib import Path

import pytest

from grandirenhlm.errors import ConfigError
from grandirenhlm.records import MAX_TOML_BYTES, read_toml_bytes
from tests.support import make_mp3
from tests.test_records_containment import cli, edit, error_lines

EPISODE = "episodes/grandir-en-hlm/temoignage-1.toml"
SHOW = "feeds/grandir-en-hlm.toml"
TITLE = 'title = "Témoignage n° 1"'
DEEP = "error: {name}: tables and arrays nested more than 20 deep; records nest 3 deep"


def _append(root: Path, name: str, text: str) -> None:
    """Add top-level keys at the start of a file (before its first table)."""
    path = root / name
    path.write_text(text + "\n" + path.read_text(encoding="utf-8"), encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (EPISODE, "[" * 50_000 + "]" * 50_000),
        (EPISODE, "{a = " * 50_000 + "1" + "}" * 50_000),
        (SHOW, "[" * 50_000 + "1" + "]" * 50_000),
        (EPISODE, "[" * 25 + "]" * 25),  # parses, but deeper than any record
    ],
    ids=["arrays", "inline-tables", "show-arrays", "25-deep"],
)
def test_toml_nested_too_deep_is_one_line(demo_project: Path, name: str, value: str):
    _append(demo_project, name, f"deep = {value}")
    expected = [DEEP.format(name=name)]
    assert error_lines(cli(demo_project, "check")) == expected
    assert error_lines(cli(demo_project, "build", "--output", str(demo_project.parent / "site"))) == expected


@pytest.mark.parametrize("size", [0, 100, MAX_TOML_BYTES, MAX_TOML_BYTES + 1, 3 * MAX_TOML_BYTES])
def test_a_file_whose_size_was_not_known_is_read_up_to_the_limit(tmp_path: Path, size: int):
    """A file is read by the size fstat gave; one that says 0 and holds more (a pipe here; a file
    that grew meanwhile) is read on, and still refused past 1 MiB rather than read whole."""
    pipe = tmp_path / "tube.toml"
    os.mkfifo(pipe)
    data = (b"# " + b"x" * size)[:size]

    def write() -> None:
        with contextlib.suppress(BrokenPipeError), open(pipe, "wb") as out:  # blocks until read
            out.write(data)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        if size <= MAX_TOML_BYTES:
            assert read_toml_bytes(pipe) == data
        else:
            with pytest.raises(ConfigError, match=r"tube\.toml: more than 1048576 bytes \(1 MiB\)"):
                read_toml_bytes(pipe)
    finally:
        # A reader that stopped at the bound closed the pipe: the writer's write ends in EPIPE. Should
        # the pipe never have been opened, this open (which does not block) lets the writer's through.
        os.close(os.open(pipe, os.O_RDONLY | os.O_NONBLOCK))
        writer.join()


@pytest.mark.parametrize("name", [EPISODE, SHOW])
def test_a_toml_file_over_the_size_limit_is_one_line(demo_project: Path, name: str):
    path = demo_project / name
    edit(demo_project, name, 'description = """', 'description = """' + "Des mots. " * 110_000)
    size = path.stat().st_size
    assert size > MAX_TOML_BYTES
    expected = [
        f"error: {name}: {size} bytes, a TOML file here may hold at most 1048576 (1 MiB); "
        "keep long texts out of records"
    ]
    assert error_lines(cli(demo_project, "check")) == expected
    assert error_lines(cli(demo_project, "build", "--output", str(demo_project.parent / "site"))) == expected


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("duration_seconds = 30.824", "duration_seconds = inf",
         "media.duration_seconds: expected a number from 0 to 1e+07, got inf"),
        ("duration_seconds = 30.824", "duration_seconds = nan",
         "media.duration_seconds: expected a number from 0 to 1e+07, got nan"),
        ("duration_seconds = 30.824", "duration_seconds = -inf",
         "media.duration_seconds: expected a number from 0 to 1e+07, got -inf"),
        ("duration_seconds = 30.824", "duration_seconds = 1e300",
         "media.duration_seconds: expected a number from 0 to 1e+07, got 1e+300"),
        ("{ start_seconds = 0.0,", "{ start_seconds = inf,",
         "chapters[0].start_seconds: expected a number from 0 to 1e+07, got inf"),
        ("size = 326712", "size = 9223372036854775807",
         "media.size: expected a whole number from 1 to 1099511627776, got 9223372036854775807"),
        ("[media]\n", "[media]\nwidth = 1000000000\n",
         "media.width: expected a whole number from 0 to 65535, got 1000000000"),
        ("bitrate = 64000", "bitrate = 9007199254740993",
         "media.bitrate: expected a whole number from 0 to 100000000, got 9007199254740993"),
    ],
)  # fmt: skip
def test_non_finite_or_absurd_numbers_are_refused(demo_project: Path, old: str, new: str, message: str):
    edit(demo_project, EPISODE, old, new)
    expected = [f"error: {EPISODE}: {message}"]
    assert error_lines(cli(demo_project, "check")) == expected
    assert error_lines(cli(demo_project, "build", "--output", str(demo_project.parent / "site"))) == expected


def test_an_edit_keeping_size_and_time_reaches_the_next_build(demo_project: Path):
    out = demo_project.parent / "site"
    assert cli(demo_project, "build", "--output", str(out)).returncode == 0
    assert (demo_project / ".grandirenhlm/records.json").is_file()
    path = demo_project / EPISODE
    before = path.stat()
    edit(demo_project, EPISODE, TITLE, 'title = "Témoignage n° 9"')  # same length
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns
    # The whole-command answer above the caches ("nothing changed, nothing done", fingerprint.py) is
    # a stat walk by design and says so; the record cache and the feed items it would otherwise
    # reuse are what must see the edit: forget only that answer.
    (demo_project / ".grandirenhlm/fingerprints.json").unlink(missing_ok=True)
    proc = cli(demo_project, "build", "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    feed = (out / "grandir-en-hlm/feed.xml").read_text(encoding="utf-8")
    assert "<title>Témoignage n° 9</title>" in feed and "<title>Témoignage n° 1</title>" not in feed


def test_ingest_force_keeps_the_comments_of_a_record(project: Path, tmp_path: Path):
    first = make_mp3(tmp_path / "v1.mp3", title="Premier essai")
    proc = cli(project, "ingest", "--show", "grandir-en-hlm", "--slug", "un", str(first))
    assert proc.returncode == 0, proc.stderr
    record = project / "episodes/grandir-en-hlm/un.toml"
    text = record.read_text(encoding="utf-8")
    text = "# Relu par Awa le 12 juin : ne pas changer le titre\n" + text.replace(
        "\n[media]", "\nepisode = 1  # le premier de la série\n\n# le fichier vient du studio B\n[media]"
    )
    record.write_text(text, encoding="utf-8")
    second = make_mp3(tmp_path / "v2.mp3", seconds=3.0, title="Premier essai", freq=660.0)
    proc = cli(project, "ingest", "--show", "grandir-en-hlm", "--slug", "un", "--force", str(second))
    assert proc.returncode == 0, proc.stderr
    after = record.read_text(encoding="utf-8")
    for comment in (
        "# Relu par Awa le 12 juin : ne pas changer le titre",
        "episode = 1  # le premier de la série",
        "# le fichier vient du studio B",
    ):
        assert comment in after, after
    values, old_values = tomllib.loads(after), tomllib.loads(text)
    assert values["media"]["duration_seconds"] > old_values["media"]["duration_seconds"]
    assert values["media"]["sha256"] != old_values["media"]["sha256"]
    assert values["guid"] == old_values["guid"] and values["episode"] == 1
    assert not list(record.parent.glob("*.bak"))  # nothing dropped, so no backup
    proc = cli(project, "check")
    assert proc.returncode == 0, proc.stderr
