"""records.py, the record schema: typed values written as TOML and read back the same, a rewrite that
keeps what did not change as the file wrote it, and `[encoding]` read with the rest of the show."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import tomli_w
from hypothesis import given, settings
from hypothesis import strategies as st

from grandirenhlm import namespace as ns
from grandirenhlm.errors import ValidationError
from grandirenhlm.files import display_path
from grandirenhlm.model import (
    PUBLISHABLE_MIME_TYPES,
    Chapter,
    EncodeSettings,
    Episode,
    EpisodeMedia,
    Live,
    Location,
    Person,
)
from grandirenhlm.records import (
    EPISODE_TYPES,
    EpisodeRecord,
    MasterFile,
    episode_to_toml,
    load_episode,
    load_show,
    read_episode,
    write_episode,
)
from tests.support import REPO, SHOW_TOML, assert_clean_error, make_cover, make_mp3, run_cli

SHOW = "grandir-en-hlm"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A show's record folder beside its media: the files a record may point at."""
    root = tmp_path_factory.mktemp("project")
    records = root / "episodes" / SHOW
    records.mkdir(parents=True)
    media = root / "media" / SHOW
    media.mkdir(parents=True)
    for size in (1, 2, 3):
        (media / f"ep-{size}.mp3").write_bytes(b"x" * size)
    (records / "ep.vtt").write_text("WEBVTT\n", encoding="utf-8")
    make_cover(media / "poster.jpg", size=16)  # a poster must be an image (its bytes, not only its name)
    return records


def _stripped(max_size: int) -> st.SearchStrategy[str]:
    """A text as the reader keeps it: not empty, nothing to strip (TOML holds any Unicode)."""
    # no control character (C0 but tab and newline, U+FFFE/U+FFFF): records refuse them
    chars = st.characters(
        codec="utf-8",
        exclude_categories=("Cs",),
        exclude_characters=[chr(c) for c in (*range(9), *range(11, 32))] + ["\ufffe", "\uffff"],
    )
    return st.text(chars, min_size=1, max_size=max_size).filter(lambda s: s == s.strip())


TEXT = _stripped(40)
URL = st.builds(
    lambda scheme, path: f"{scheme}://exemple.fr/{path}", st.sampled_from(["http", "https"]), TEXT
)
LOWER = TEXT.filter(lambda s: s.lower() == s)  # a person's role and group are read lowercase
MOMENT = st.datetimes(
    min_value=datetime(1990, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from(
        [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-9, minutes=-30))]
    ),
)
SECONDS = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)
COUNT = st.none() | st.integers(min_value=1, max_value=10_000)


@st.composite
def media(draw: st.DrawFn, folder: Path) -> EpisodeMedia:
    size = draw(st.sampled_from([1, 2, 3]))
    return EpisodeMedia(
        path=folder.parent.parent / "media" / SHOW / f"ep-{size}.mp3",
        sha256=draw(st.text("0123456789abcdef", min_size=64, max_size=64)),
        size=size,
        mime_type=draw(st.sampled_from(sorted(PUBLISHABLE_MIME_TYPES))),
        duration_seconds=draw(SECONDS),
        bitrate=draw(st.none() | st.integers(min_value=0, max_value=10**6)),
        width=draw(st.none() | st.integers(min_value=0, max_value=8000)),
        height=draw(st.none() | st.integers(min_value=0, max_value=8000)),
    )


@st.composite
def live(draw: st.DrawFn) -> Live:
    start = draw(MOMENT)
    return Live(
        status=draw(st.sampled_from(ns.LIVE_STATUSES)),
        start=start,
        end=start + timedelta(seconds=draw(st.integers(min_value=1, max_value=10**6))),
        url=draw(st.none() | URL),
        mime_type=draw(TEXT),
    )


LOCATION = st.builds(
    Location,
    name=TEXT,
    geo=st.none() | st.from_regex(r"\Ageo:-?[0-9]{1,2}\.[0-9]{1,4},-?[0-9]{1,3}\.[0-9]{1,4}\Z"),
    osm=st.none() | st.from_regex(r"\A[NWR][0-9]{1,9}\Z"),
    country=st.none() | st.from_regex(r"\A[A-Z]{2}\Z"),
    rel=st.none() | st.sampled_from(ns.LOCATION_RELS),
)
PERSON = st.builds(Person, name=TEXT, role=LOWER, group=LOWER, href=st.none() | URL, img=st.none() | URL)


@st.composite
def records(draw: st.DrawFn, folder: Path) -> EpisodeRecord:
    announced = draw(st.none() | live())
    episode = Episode(
        show=SHOW,
        slug="ep",
        source=folder / "ep.toml",
        guid=draw(TEXT),
        title=draw(TEXT),
        pub_date=draw(MOMENT),
        description=draw(st.just("") | _stripped(200)),
        media=draw(media(folder) if announced is None else st.none() | media(folder)),
        number=draw(COUNT),
        season=draw(COUNT),
        episode_type=draw(st.sampled_from(EPISODE_TYPES)),
        explicit=draw(st.none() | st.booleans()),
        draft=draw(st.booleans()),
        chapters=tuple(draw(st.lists(st.builds(Chapter, SECONDS, TEXT), max_size=4))),
        transcript=draw(st.none() | st.just(folder / "ep.vtt")),
        publish_at=draw(st.none() | MOMENT),
        block=draw(st.booleans()),
        alternates=tuple(draw(st.lists(media(folder), max_size=2))),
        persons=tuple(draw(st.lists(PERSON, max_size=3))),
        location=draw(st.none() | LOCATION),
        license=draw(st.none() | TEXT),
        license_url=draw(st.none() | URL),
        live=announced,
        poster=draw(st.none() | st.just(folder.parent.parent / "media" / SHOW / "poster.jpg")),
    )
    return EpisodeRecord(episode, draw(st.none() | st.builds(MasterFile, TEXT, TEXT)))


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_a_typed_record_written_as_toml_reads_back_the_same(folder: Path, data: st.DataObject) -> None:
    record = data.draw(records(folder))
    path = folder / "ep.toml"
    write_episode(path, record)
    assert read_episode(path, SHOW) == record
    assert load_episode(path, SHOW) == record.episode
    # a rewrite of what was read, nothing changed: the same bytes
    before = path.read_bytes()
    write_episode(path, read_episode(path, SHOW))
    assert path.read_bytes() == before


def test_a_new_record_comes_in_the_order_ingest_writes_and_leaves_defaults_out(folder: Path) -> None:
    episode = Episode(
        show=SHOW,
        slug="ep",
        source=folder / "ep.toml",
        guid="urn:uuid:00000000-0000-4000-8000-000000000000",
        title="Titre",
        pub_date=datetime(2023, 6, 26, 9, 1, tzinfo=UTC),
        description="",
        media=EpisodeMedia(
            folder.parent.parent / "media" / SHOW / "ep-2.mp3", "a" * 64, 2, "audio/mpeg", 1.5
        ),
        number=3,
        chapters=(Chapter(0.0, "Début"),),
    )
    table = episode_to_toml(EpisodeRecord(episode, MasterFile("masters/ep.wav", "b" * 64)))
    assert list(table) == [
        "title",
        "guid",
        "pub_date",
        "episode",
        "description",
        "media",
        "chapters",
        "master",
    ]
    assert table["media"] == {
        "file": f"../../media/{SHOW}/ep-2.mp3",
        "sha256": "a" * 64,
        "size": 2,
        "mime_type": "audio/mpeg",
        "duration_seconds": 1.5,
    }


HAND_WRITTEN = """\
license = "CC-BY-4.0"
title = "Écrit à la main"
guid = "urn:uuid:11111111-2222-4333-8444-555555555555"
description = \"\"\"
Première ligne.

Deuxième ligne.
\"\"\"
pub_date = 2023-06-26
explicit = false
episode_type = "full"
draft = false
transcript = "./ep.vtt"
chapters = [{ start_seconds = 0, title = "Début" }, { start_seconds = 1, title = "Fin" }]

[[person]]
name = "Nadia"
role = "Guest"

[location]
name = "Paris"
country = "fr"

[media]
file = "../../media/grandir-en-hlm/gone.mp3"
sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
size = 9
mime_type = "audio/mpeg"
duration_seconds = 1
"""


def test_a_rewrite_keeps_every_unchanged_key_as_the_file_wrote_it(folder: Path) -> None:
    """What `ingest --force` does: new media into a record edited by hand, whose old media is gone."""
    path = folder / "hand.toml"
    path.write_text(HAND_WRITTEN, encoding="utf-8")
    record = read_episode(path, SHOW, replacing_media=True)
    assert record.episode.pub_date == datetime(2023, 6, 26, tzinfo=UTC)  # typed: a date is midnight UTC
    assert record.episode.persons == (Person("Nadia", role="guest"),)
    assert record.episode.location == Location("Paris", country="FR")
    new_media = EpisodeMedia(
        folder.parent.parent / "media" / SHOW / "ep-3.mp3", "c" * 64, 3, "audio/mpeg", 2.0
    )
    master = MasterFile("masters/hand.wav", "d" * 64)
    write_episode(path, replace(record, episode=replace(record.episode, media=new_media), master=master))

    before, after = tomllib.loads(HAND_WRITTEN), tomllib.loads(path.read_text(encoding="utf-8"))
    assert after.pop("media") == {
        "file": f"../../media/{SHOW}/ep-3.mp3",
        "sha256": "c" * 64,
        "size": 3,
        "mime_type": "audio/mpeg",
        "duration_seconds": 2.0,
    }
    assert after.pop("master") == {"file": "masters/hand.wav", "sha256": "d" * 64}
    before.pop("media")
    assert after == before  # the date without time, the description's line breaks, "./", "Guest", "fr", 0
    leading = ["title", "guid", "pub_date", "episode_type", "explicit", "draft"]
    assert list(after) == [*leading, "license", "description", "transcript", "chapters", "person", "location"]
    assert load_episode(path, SHOW).media == new_media


def test_ingest_force_gives_media_to_a_record_written_by_hand_and_keeps_it_as_written(project: Path) -> None:
    record = project / "episodes" / SHOW / "ecrit.toml"
    record.parent.mkdir(parents=True)
    written = {
        "title": "Écrit avant le son",
        "guid": "urn:uuid:22222222-3333-4444-8555-666666666666",
        "pub_date": date(2023, 6, 26),
        "episode": 1,
        "description": "Une ligne.\n\nUne autre.\n",
    }
    text = tomli_w.dumps(written, multiline_strings=True)
    record.write_text(text, encoding="utf-8")
    mp3 = make_mp3(project / "son.mp3", 0.5)

    result = run_cli(project, "ingest", "--show", SHOW, "--slug", "ecrit", "--force", str(mp3))

    assert result.exit_code == 0, result.stderr
    after = record.read_text(encoding="utf-8")
    assert after.startswith(text + "\n[media]\n"), after  # the hand-written part, byte for byte
    media = load_episode(record, SHOW).media
    assert media is not None and media.size == mp3.stat().st_size


def test_ingest_force_writes_nothing_over_a_record_that_does_not_load(project: Path) -> None:
    record = project / "episodes" / SHOW / "casse.toml"
    record.parent.mkdir(parents=True)
    text = 'title = "Cassé"\nguid = "casse"\npub_date = 2023-06-26\nseason = "2"\n'
    record.write_text(text, encoding="utf-8")
    mp3 = make_mp3(project / "son.mp3", 0.5)

    result = run_cli(project, "ingest", "--show", SHOW, "--slug", "casse", "--force", str(mp3))

    assert_clean_error(
        result, "error: episodes/grandir-en-hlm/casse.toml: season: expected a whole number >= 1"
    )
    assert record.read_text(encoding="utf-8") == text
    assert not (project / "media").exists()


@pytest.mark.parametrize("path", sorted((REPO / "episodes").rglob("*.toml")), ids=lambda p: p.stem)
def test_the_demo_records_rewritten_unchanged_are_the_same_bytes(path: Path) -> None:
    record = read_episode(path, path.parent.name)
    assert record.master is not None or record.episode.alternates  # masters, or the replay's extras
    assert tomli_w.dumps(episode_to_toml(record), multiline_strings=True) == path.read_text(encoding="utf-8")


def test_encoding_is_read_with_the_show_and_reported_with_its_other_problems(tmp_path: Path) -> None:
    show = tmp_path / "feeds" / "s.toml"
    show.parent.mkdir()
    make_cover(show.parent / "cover.jpg")
    settings_toml = '\n[encoding]\nformat = "m4a"\nbitrate = "96k"\nchannels = 1\nnormalize = true\n'
    show.write_text(SHOW_TOML + settings_toml, encoding="utf-8")
    assert load_show(show).encoding == EncodeSettings(
        format="m4a", bitrate_kbps=96, channels=1, normalize=True
    )
    show.write_text(SHOW_TOML.replace('language = "fr"\n', "") + '\n[encoding]\nformat = "ogg"\n', "utf-8")
    with pytest.raises(ValidationError) as raised:
        load_show(show)
    where = display_path(show)
    assert [p.removeprefix(f"{where}: ") for p in raised.value.problems] == [
        "language: missing, expected a text",
        "encoding.format: expected one of mp3, m4a, got 'ogg'",
    ]
