"""`records.TomlCache`: parsed records reused across runs, never trusted over the file itself."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grandirenhlm.catalog import load_catalog
from grandirenhlm.config import load_project
from grandirenhlm.errors import ValidationError
from grandirenhlm.records import TomlCache, read_toml
from tests.support import read_table, table_bytes

RECORD = """\
title = "Témoignage « n° 1 »"
when = 2023-06-17T09:30:00+02:00
naive = 2023-06-17T09:30:00
day = 2023-06-17
at = 09:30:00.250
[media]
sizes = [1, 2.5, true]
"""


def test_values_come_back_as_the_same_python_objects(tmp_path: Path) -> None:
    record = tmp_path / "ep.toml"
    record.write_text(RECORD, encoding="utf-8")
    cache_file = tmp_path / "cache.json"
    first = TomlCache(cache_file)
    assert first.read(record) == read_toml(record)
    first.save()
    reloaded = TomlCache(cache_file)
    assert reloaded.entries[str(record)][1] == read_toml(record)  # restored from the JSON file
    again = reloaded.read(record)
    assert again == read_toml(record) and not reloaded.changed  # a hit: nothing parsed again
    assert again["when"] == datetime(2023, 6, 17, 9, 30, tzinfo=timezone(timedelta(hours=2)))
    assert type(again["naive"]) is datetime and again["naive"].tzinfo is None
    assert type(again["day"]) is date and type(again["at"]) is time


def test_an_edited_record_is_parsed_again_and_a_deleted_one_dropped(tmp_path: Path) -> None:
    record, other = tmp_path / "ep.toml", tmp_path / "other.toml"
    record.write_text('title = "avant"\n', encoding="utf-8")
    other.write_text('title = "autre"\n', encoding="utf-8")
    cache_file = tmp_path / "cache.json"
    cache = TomlCache(cache_file)
    cache.read(record), cache.read(other)
    cache.save()
    record.write_text('title = "après"\n', encoding="utf-8")
    st_ = record.stat()
    os.utime(record, ns=(st_.st_atime_ns, st_.st_mtime_ns + 1_000))  # a new time even on coarse clocks
    cache = TomlCache(cache_file)
    assert cache.read(record) == {"title": "après"}
    cache.save()  # `other` was not read in this run: it leaves the cache
    assert str(other) not in cache_file.read_text(encoding="utf-8")


def test_a_damaged_or_foreign_cache_is_ignored(tmp_path: Path) -> None:
    record = tmp_path / "ep.toml"
    record.write_text('title = "vrai"\n', encoding="utf-8")
    cache_file = tmp_path / "cache.json"
    for junk in (b"{not json", b'{"version": 99, "entries": {}}', b"[1, 2]", b'{"version": 1}'):
        cache_file.write_bytes(junk)
        assert TomlCache(cache_file).read(record) == {"title": "vrai"}


def test_load_catalog_keeps_the_cache_and_sees_edits(demo_project: Path) -> None:
    project = load_project(demo_project)
    first = load_catalog(project)
    assert (demo_project / ".grandirenhlm" / "records.json").is_file()
    record = demo_project / "episodes" / "grandir-en-hlm" / "temoignage-3.toml"
    text = record.read_text(encoding="utf-8")
    record.write_text(text.replace("Témoignage n° 3", "Témoignage n° 3, corrigé"), encoding="utf-8")
    second = load_catalog(project)
    (edited,) = [e for e in second.episodes["grandir-en-hlm"] if e.slug == "temoignage-3"]
    assert edited.title.endswith(", corrigé")
    unchanged = [e for e in second.episodes["grandir-en-hlm"] if e.slug != "temoignage-3"]
    assert unchanged == [e for e in first.episodes["grandir-en-hlm"] if e.slug != "temoignage-3"]


def test_a_record_is_scanned_for_control_characters_until_it_is_read_clean(demo_project: Path) -> None:
    """The scan is skipped only for the very bytes that passed it: an edit that brings a control
    character is refused, as on a first read."""
    project = load_project(demo_project)
    load_catalog(project)
    record = demo_project / "episodes" / "grandir-en-hlm" / "temoignage-3.toml"
    cache = TomlCache.for_project(demo_project)
    cache.read(record)
    assert cache.clean(record)  # the first load found none and said so
    text = record.read_text(encoding="utf-8")
    record.write_text(text.replace("Témoignage n° 3", "Témoignage\\u0007 n° 3", 1), encoding="utf-8")
    with pytest.raises(ValidationError) as refused:
        load_catalog(project)
    assert any("temoignage-3.toml: title" in p and "control character" in p for p in refused.value.problems)
    after = TomlCache.for_project(demo_project)
    after.read(record)
    assert not after.clean(record)


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=8),
        st.one_of(
            st.text(max_size=20),
            st.integers(-(2**63), 2**63 - 1),
            st.booleans(),
            st.datetimes(timezones=st.sampled_from([None, UTC, timezone(timedelta(hours=-5, minutes=-30))])),
            st.dates(),
            st.times(),
        ),
        max_size=6,
    )
)
def test_round_trip_of_any_toml_values(data: dict) -> None:
    import json

    encoded = json.dumps(data, default=TomlCache._encode)
    assert json.loads(encoded, object_hook=TomlCache._decode) == data


def test_an_edit_keeping_size_and_time_is_seen_and_unchanged_bytes_are_not_parsed(tmp_path: Path) -> None:
    """The cache is keyed by content: the same size and time with other bytes (an editor that
    restores the time, a checkout) gives the new values; the same bytes are a hit (no parse)."""
    record = tmp_path / "ep.toml"
    record.write_text('title = "AAAA"\n', encoding="utf-8")
    cache_file = tmp_path / "cache.json"
    cache = TomlCache(cache_file)
    cache.read(record)
    cache.save()
    st_ = record.stat()
    record.write_text('title = "BBBB"\n', encoding="utf-8")
    os.utime(record, ns=(st_.st_atime_ns, st_.st_mtime_ns))
    assert record.stat().st_size == st_.st_size and record.stat().st_mtime_ns == st_.st_mtime_ns
    edited = TomlCache(cache_file)
    assert edited.read(record) == {"title": "BBBB"} and edited.changed
    edited.save()
    again = TomlCache(cache_file)
    assert again.read(record) == {"title": "BBBB"} and not again.changed  # a hit: nothing parsed again


def test_a_records_cache_not_written_by_this_user_is_ignored(demo_project: Path) -> None:
    """records.json marks records read free of control characters (the scan is then skipped): one
    committed with the project, with a marked value holding one, is not believed."""
    from grandirenhlm import cachekey

    project = load_project(demo_project)
    load_catalog(project)
    cache_file = demo_project / ".grandirenhlm" / "records.json"
    table = read_table(cache_file)
    record = demo_project / "episodes" / "grandir-en-hlm" / "temoignage-3.toml"
    entry = table["entries"][str(record)]
    assert entry[2] is True  # marked clean
    entry[1]["title"] = "Témoignage\u0007 n° 3"
    episodes_cache = demo_project / ".grandirenhlm" / "episodes.json"
    episodes_cache.unlink()  # so that the record is read
    cache_file.write_bytes(table_bytes(table))  # unsigned: not this user's
    catalog = load_catalog(project)  # parsed from the file itself
    assert "\u0007" not in next(
        e.title for e in catalog.episodes["grandir-en-hlm"] if e.slug == "temoignage-3"
    )
    # the same table signed with this user's key is believed (the check above can fail)
    episodes_cache.unlink()
    cache_file.write_bytes(cachekey.sign(table_bytes(table)))
    catalog = load_catalog(project)
    assert "\u0007" in next(e.title for e in catalog.episodes["grandir-en-hlm"] if e.slug == "temoignage-3")


def test_a_few_reads_are_parsed_without_loading_the_table_then_it_is_loaded(tmp_path: Path) -> None:
    """`parse_before_loading` (set by the catalog when the episode cache answers for most records):
    that many reads parse the record without loading the table, and a run with no other read
    leaves the file as it was; when a later read loads it, the records read before are kept too,
    whether they changed or not."""
    first, second, third = tmp_path / "a.toml", tmp_path / "b.toml", tmp_path / "c.toml"
    first.write_text('title = "un"\n', encoding="utf-8")
    second.write_text('title = "deux"\n', encoding="utf-8")
    third.write_text('title = "trois"\n', encoding="utf-8")
    cache_file = tmp_path / "cache.json"
    cache = TomlCache(cache_file)
    cache.read(first), cache.read(second), cache.read(third)
    cache.mark_clean(second)
    cache.save()
    saved = cache_file.read_bytes()

    first.write_text('title = "un, corrigé"\n', encoding="utf-8")
    cache = TomlCache(cache_file)
    cache.parse_before_loading = 1
    cache.keep(second), cache.keep(third)
    assert cache.read(first) == {"title": "un, corrigé"}
    cache.save()
    assert cache_file.read_bytes() == saved  # not loaded, not written

    cache = TomlCache(cache_file)
    cache.parse_before_loading = 2
    cache.keep(third)
    assert cache.read(first) == {"title": "un, corrigé"}  # parsed, the table still not loaded
    assert cache.read(second) == {"title": "deux"} and not cache.clean(second)  # parsed too
    cache.mark_clean(second)  # as `load_episode` does after the scan
    assert cache.read(third) == {"title": "trois"}  # the table loaded: a hit
    cache.save()
    kept = TomlCache(cache_file)
    assert kept.entries.keys() == {str(first), str(second), str(third)}
    assert kept.read(first) == {"title": "un, corrigé"} and kept.read(second) == {"title": "deux"}
    assert kept.clean(second) and not kept.changed  # hits, the clean mark kept
