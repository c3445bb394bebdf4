"""The mistakes people make in TOML (issue 13 item 4): one `error:` line each, naming the file, the
line and what to write instead, from `check` run as a user runs it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_records_containment import cli, edit, error_lines

EPISODE = "episodes/grandir-en-hlm/temoignage-1.toml"
SHOW = "feeds/grandir-en-hlm.toml"
DATE = "pub_date = 2023-06-26 09:01:00+00:00"
TITLE = 'title = "Témoignage n° 1"'


def line_of(root: Path, name: str, start: str) -> int:
    lines = (root / name).read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.startswith(start))


@pytest.mark.parametrize(
    ("name", "old", "new", "message"),
    [
        # a quoted date or time: remove the quotes
        (EPISODE, DATE, 'pub_date = "2023-06-26 09:01:00+00:00"',
         "pub_date: expected a date like 2023-06-26 or 2023-06-26T10:00:00+02:00, got "
         "'2023-06-26 09:01:00+00:00' (line {line}); a date in quotes is text: remove the quotes: "
         "pub_date = 2023-06-26 09:01:00+00:00"),
        (EPISODE, DATE, 'pub_date = "2023-06-26"',
         "pub_date: expected a date like 2023-06-26 or 2023-06-26T10:00:00+02:00, got '2023-06-26' "
         "(line {line}); a date in quotes is text: remove the quotes: pub_date = 2023-06-26"),
        # quoted and in French order
        (EPISODE, DATE, 'pub_date = "15/12/2026"',
         "pub_date: expected a date like 2023-06-26 or 2023-06-26T10:00:00+02:00, got '15/12/2026' "
         "(line {line}); write pub_date = 2026-12-15 (no quotes, year-month-day, seconds in times)"),
        # French order, unquoted: the parser's jargon replaced
        (EPISODE, DATE, "pub_date = 15/12/2026",
         "line {line}: pub_date: 15/12/2026 is a date in day/month/year order; TOML dates are "
         "year-month-day: write pub_date = 2026-12-15"),
        (EPISODE, DATE, "pub_date = 15/12/2026 09:30",
         "line {line}: pub_date: 15/12/2026 09:30 is a date in day/month/year order; TOML dates are "
         "year-month-day: write pub_date = 2026-12-15T09:30:00"),
        # a time without seconds
        (EPISODE, DATE, "pub_date = 2026-12-15 09:30",
         "line {line}: pub_date: 2026-12-15 09:30 is a time without seconds; TOML times have them: "
         "write pub_date = 2026-12-15T09:30:00"),
        (EPISODE, DATE, "pub_date = 2026-12-15T09:30+01:00",
         "line {line}: pub_date: 2026-12-15T09:30+01:00 is a time without seconds; TOML times have "
         "them: write pub_date = 2026-12-15T09:30:00+01:00"),
        # a " inside a string
        (EPISODE, TITLE, 'title = "Le "grand" témoignage"',
         "line {line}: title: a \" inside a text ends it; write title = 'Le \"grand\" témoignage'"),
        (EPISODE, TITLE, 'title = "L’été "chaud" d\'Awa"',
         'line {line}: title: a " inside a text ends it; write title = "L’été \\"chaud\\" d\'Awa"'),
        # an unknown key: the nearest known one
        (EPISODE, DATE, "pubdate = 2023-06-26 09:01:00+00:00",
         "pubdate: unknown key (line {line}); did you mean 'pub_date'?"),
        (SHOW, 'language = "fr"', 'langage = "fr"', "langage: unknown key (line {line}); did you mean 'language'?"),
        (EPISODE, "duration_seconds = ", "duraton_seconds = ",
         "media.duraton_seconds: unknown key (line {line}); did you mean 'duration_seconds'?"),
    ],
)  # fmt: skip
def test_a_toml_mistake_is_one_line_with_its_line_and_the_fix(demo_project: Path, name, old, new, message):
    edit(demo_project, name, old, new)
    line = line_of(demo_project, name, new.split(" ")[0])
    lines = error_lines(cli(demo_project, "check"))
    mine = [x for x in lines if x.startswith(f"error: {name}: ")]
    if "unknown key" in message:  # the key it replaces is also missing: that is a second, true problem
        lines = [x for x in lines if "missing" not in x]
        mine = [x for x in mine if "missing" not in x]
    assert lines == mine == [f"error: {name}: {message.format(line=line)}"]


def test_what_the_advice_says_to_write_is_accepted(demo_project: Path):
    """Following the advice for a French-order date gives a record that checks clean."""
    edit(demo_project, EPISODE, DATE, "pub_date = 26/06/2023")
    (line,) = error_lines(cli(demo_project, "check"))
    fix = line.rsplit("write ", 1)[1]
    assert fix == "pub_date = 2023-06-26"
    edit(demo_project, EPISODE, "pub_date = 26/06/2023", fix)
    proc = cli(demo_project, "check")
    assert proc.returncode == 0, proc.stderr


def test_an_unknown_key_far_from_any_known_one_gets_no_guess(demo_project: Path):
    edit(demo_project, EPISODE, TITLE, TITLE + '\nzzz = "?"')
    line = line_of(demo_project, EPISODE, "zzz")
    assert error_lines(cli(demo_project, "check")) == [f"error: {EPISODE}: zzz: unknown key (line {line})"]
