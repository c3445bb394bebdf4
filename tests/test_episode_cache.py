"""`episodecache.EpisodeCache`: validated episodes reused across runs, never trusted over the files
they name (the record itself is keyed by its bytes), never able to run code."""

from __future__ import annotations

import dataclasses
import json
import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from grandirenhlm import cachekey
from grandirenhlm.catalog import load_catalog
from grandirenhlm.config import load_project
from grandirenhlm.episodecache import _CLASSES, _DECODERS, EpisodeCache
from grandirenhlm.errors import ValidationError
from grandirenhlm.model import Chapter, EpisodeMedia, Live, Location, Person
from grandirenhlm.records import TomlCache, load_episode
from tests.support import read_table, table_bytes

REPLAY = Path("episodes") / "l-emission" / "replay-2023.toml"
PARIS = ZoneInfo("Europe/Paris")


def load(root: Path, record: Path, show: str = "l-emission"):
    """One record through both caches, as `load_catalog` reads it; the caches, to look into."""
    records = TomlCache.for_project(root)
    episodes = EpisodeCache.for_project(root)
    episode = load_episode(root / record, show, records, root, PARIS, episodes)
    records.save()
    episodes.save()
    return episode, records, episodes


def test_every_field_of_the_model_can_be_cached() -> None:
    """A field of a kind the cache cannot bring back would turn the cache off for every episode:
    this fails first, naming nothing less than the class."""
    assert set(_DECODERS) == set(_CLASSES)


def test_an_unchanged_record_comes_back_equal_without_being_read(demo_project: Path) -> None:
    first, _, _ = load(demo_project, REPLAY)
    second, records, episodes = load(demo_project, REPLAY)
    assert second == first and repr(second) == repr(first)  # the page cache is keyed by the repr
    assert records.used == {} and not episodes.changed  # not parsed, not checked again: a hit
    assert first.poster and first.transcript and first.alternates and first.chapters  # a full record


def test_a_record_file_as_it_was_is_not_read_again_and_any_write_to_it_is_seen(
    demo_project: Path, monkeypatch
) -> None:
    """`EpisodeCache.unchanged`: a record whose size, times and inode are those seen when its bytes
    were hashed is not read again; a write keeping its size and modification time (set back with
    utime) still moves its change time, and it is read; a file changed too recently to trust its
    times is read every time."""
    from grandirenhlm import fingerprint, records

    reads: list[Path] = []
    real = records.read_toml_file
    monkeypatch.setattr(records, "read_toml_file", lambda path: reads.append(path) or real(path))
    record = demo_project / REPLAY
    for window in ("RACY_NS", "RACY_FINE_NS"):  # every time too recent to trust
        monkeypatch.setattr(fingerprint, window, 10**18)
    first, _, _ = load(demo_project, REPLAY)
    assert reads == [record]
    again, _, episodes = load(demo_project, REPLAY)
    assert again == first and reads == [record, record]  # read again: its time was not trusted
    assert episodes.entries[str(record)][7] == ""

    for window in ("RACY_NS", "RACY_FINE_NS"):  # as if three seconds had passed
        monkeypatch.setattr(fingerprint, window, 0)
    load(demo_project, REPLAY)  # read once more, its state kept now
    reads.clear()
    again, _, episodes = load(demo_project, REPLAY)
    assert again == first and reads == []  # not read, not hashed: the kept digest stands
    assert not episodes.changed

    text = record.read_text(encoding="utf-8")
    assert 'title = "' in text
    before = record.stat()
    edited = text.replace('title = "', 'title = "X', 1).replace("\n\n", "\n", 1)  # the same size
    assert len(edited.encode()) == len(text.encode())
    record.write_text(edited, encoding="utf-8")
    os.utime(record, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert record.stat().st_mtime_ns == before.st_mtime_ns and record.stat().st_size == before.st_size
    changed, _, _ = load(demo_project, REPLAY)
    assert reads == [record] and changed.title == "X" + first.title


def test_every_kind_of_value_comes_back_with_the_same_repr(demo_project: Path) -> None:
    base, _, _ = load(demo_project, REPLAY)
    rich = dataclasses.replace(
        base,
        number=3,
        season=2,
        episode_type="bonus",
        explicit=True,
        draft=True,
        publish_at=datetime(2031, 3, 30, 2, 30, tzinfo=PARIS),
        pub_date=datetime(2023, 7, 3, 10, 0, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
        chapters=(Chapter(0.0, "Ouverture", 5.5), Chapter(5.5, "Fin")),
        persons=(Person("Quelqu’un", "guest", "cast", "https://example.org/", "https://example.org/a.jpg"),),
        location=Location("Lyon", "geo:45.76,4.83", "R120965", "FR", "subject"),
        live=Live(
            "ended", datetime(2023, 6, 25, 18, tzinfo=UTC), datetime(2023, 6, 25, 19, tzinfo=UTC), None
        ),
        license="CC-BY-4.0",
        license_url="https://creativecommons.org/licenses/by/4.0/",
        guid_is_permalink=True,
        block=True,
        alternates=(*base.alternates, dataclasses.replace(base.alternates[0], width=1, height=2)),
    )
    assert isinstance(rich.media, EpisodeMedia)
    cache = EpisodeCache(demo_project / "cache.json", "salt")
    record = demo_project / REPLAY
    cache.put(record, "stamp", "l-emission", demo_project, PARIS, rich)
    cache.save()
    again = EpisodeCache(demo_project / "cache.json", "salt").get(
        record, "stamp", "l-emission", demo_project, PARIS
    )
    assert again == rich and repr(again) == repr(rich)
    # the same bytes read with another zone, project or code are not the same episode
    for setting in (
        (record, "stamp", "l-emission", demo_project, UTC),
        (record, "other", "l-emission", demo_project, PARIS),
    ):
        assert EpisodeCache(demo_project / "cache.json", "salt").get(*setting) is None
    assert (
        EpisodeCache(demo_project / "cache.json", "new code").get(
            record, "stamp", "l-emission", demo_project, PARIS
        )
        is None
    )


def test_a_named_time_zone_is_not_cached_rather_than_changed(demo_project: Path) -> None:
    base, _, _ = load(demo_project, REPLAY)
    odd = dataclasses.replace(
        base, pub_date=base.pub_date.replace(tzinfo=timezone(timedelta(hours=1), "CET"))
    )
    cache = EpisodeCache(None)
    cache.put(demo_project / REPLAY, "stamp", "l-emission", demo_project, PARIS, odd)
    assert cache.used == {}


def test_a_page_key_spells_an_episode_from_its_entry_and_changes_with_every_field(demo_project: Path) -> None:
    """`spellings`: the episode `get` rebuilt from an entry is spelled as the one `put` kept (so
    its pages are found again without a `repr`): in full by what it is read from (the record's
    bytes, show, project, zone and path), which changes with any edit; without its notes by its
    values, the same when only the notes changed (the player page does not show them)."""
    record = demo_project / REPLAY
    base, _, _ = load(demo_project, REPLAY)
    cache = EpisodeCache(demo_project / "cache.json", "salt")
    cache.put(record, "stamp", "l-emission", demo_project, PARIS, base)
    cache.save()
    _, spelled, without_notes = cache.spellings[id(base)]
    again = EpisodeCache(demo_project / "cache.json", "salt")
    episode = again.get(record, "stamp", "l-emission", demo_project, PARIS)
    assert episode == base and episode is not base
    assert again.spellings[id(episode)] == (episode, spelled, without_notes)

    # an edit: other bytes (another stamp), and the episode they give
    for n, (change, notes_only) in enumerate(
        (
            ({"description": base.description + " Note."}, True),
            ({"title": base.title + " (corrigé)"}, False),
            ({"number": 7}, False),
            ({"pub_date": base.pub_date + timedelta(seconds=1)}, False),
            ({"chapters": base.chapters[:-1]}, False),
        )
    ):
        other = dataclasses.replace(base, **change)
        cache.put(record, f"stamp {n}", "l-emission", demo_project, PARIS, other)
        _, spelled_other, without_other = cache.spellings[id(other)]
        assert spelled_other != spelled, change
        assert (without_other == without_notes) is notes_only, change
    # the same bytes read in another zone or project, or at another path, are spelled apart
    for setting in ((record, UTC, demo_project), (record, PARIS, demo_project / "autre")):
        copy = dataclasses.replace(base)
        cache.put(setting[0], "stamp", "l-emission", setting[2], setting[1], copy)
        assert cache.spellings[id(copy)][1] != spelled
    moved = dataclasses.replace(base, source=base.source.with_name("autre.toml"), slug="autre")
    cache.put(record.with_name("autre.toml"), "stamp", "l-emission", demo_project, PARIS, moved)
    assert cache.spellings[id(moved)][1] != spelled and cache.spellings[id(moved)][2] != without_notes


def test_an_episode_the_cache_cannot_keep_drops_the_entry_found_for_its_bytes(demo_project: Path) -> None:
    """A record found in the cache whose files changed is read again; if the episode it gives
    cannot be kept, the entry found is not saved as its own (nor spelled as it)."""
    record = demo_project / REPLAY
    base, _, _ = load(demo_project, REPLAY)
    cache = EpisodeCache(demo_project / "cache.json", "salt")
    cache.put(record, "stamp", "l-emission", demo_project, PARIS, base)
    cache.save()
    again = EpisodeCache(demo_project / "cache.json", "salt")
    assert again.get(record, "stamp", "l-emission", demo_project, PARIS) == base
    odd = dataclasses.replace(
        base, pub_date=base.pub_date.replace(tzinfo=timezone(timedelta(hours=1), "CET"))
    )
    again.put(record, "stamp", "l-emission", demo_project, PARIS, odd)
    assert str(record) not in again.used and id(odd) not in again.spellings


def test_an_edit_adds_its_entry_to_the_file_which_is_written_whole_once_additions_pile_up(
    demo_project: Path,
) -> None:
    """`save` after a few records changed adds their entries after the file's lines instead of
    writing every entry again; a deleted record, or additions reaching an eighth of the entries,
    write the file whole (the deleted record's entry gone, the additions counted from zero)."""
    base, _, _ = load(demo_project, REPLAY)
    folder = (demo_project / REPLAY).parent
    paths = [folder / f"copie-{n:02d}.toml" for n in range(24)]
    cache_file = demo_project / "cache.json"

    def run(edits: dict[int, str], kept: list[Path]) -> EpisodeCache:
        """One run: every record in `kept` found in the cache, or put anew (edited: its new title)."""
        cache = EpisodeCache(cache_file, "salt")
        for n, path in enumerate(paths):
            if path not in kept:
                continue
            episode = dataclasses.replace(base, slug=path.stem, source=path, title=edits.get(n, base.title))
            stamp = "stamp " + edits.get(n, "")
            if cache.get(path, stamp, "l-emission", demo_project, PARIS) is None:
                cache.put(path, stamp, "l-emission", demo_project, PARIS, episode)
        cache.save()
        return cache

    def titles() -> dict[str, str]:
        return {Path(k).stem: v[4]["title"] for k, v in read_table(cache_file)["entries"].items()}

    run({}, paths)
    whole = cache_file.read_bytes()
    assert read_table(cache_file).get("added") is None and len(titles()) == 24
    assert run({}, paths).used.keys() == set(map(str, paths))
    assert cache_file.read_bytes() == whole  # nothing changed: not written

    run({3: "Titre corrigé"}, paths)
    assert cache_file.read_bytes().startswith(whole[:64]) is False  # signed anew
    assert cache_file.read_bytes().count(b"\n") == whole.count(b"\n") + 1  # one line added
    assert read_table(cache_file)["added"] == 1 and titles()["copie-03"] == "Titre corrigé"
    again = EpisodeCache(cache_file, "salt")
    assert (
        again.get(paths[3], "stamp Titre corrigé", "l-emission", demo_project, PARIS).title == "Titre corrigé"
    )

    run({3: "Titre corrigé", 5: "Cinq"}, paths)  # 2 added: 3 lines added in all (24 / 8)
    assert read_table(cache_file)["added"] == 2
    run({3: "Titre corrigé", 5: "Cinq", 6: "Six"}, paths)
    assert read_table(cache_file)["added"] == 3
    run({3: "Titre corrigé", 5: "Cinq", 6: "Six", 7: "Sept"}, paths)  # a 4th: written whole
    assert read_table(cache_file).get("added") is None
    assert cache_file.read_bytes().count(b"\n") == whole.count(b"\n")
    assert [titles()[f"copie-0{n}"] for n in (3, 5, 6, 7)] == ["Titre corrigé", "Cinq", "Six", "Sept"]

    edits = {3: "Encore", 5: "Cinq", 6: "Six", 7: "Sept"}
    run(edits, paths)
    assert read_table(cache_file)["added"] == 1
    run(edits, paths[1:])  # a record deleted
    assert read_table(cache_file).get("added") is None and "copie-00" not in titles()
    assert len(titles()) == 23 and titles()["copie-03"] == "Encore"


MEDIA = Path("media") / "l-emission"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            lambda root: (root / MEDIA / "replay-2023-0a14d8cb2eae.mp4").write_bytes(b"\0" * 10),
            "is 10 bytes, the record says 383900",
        ),
        (
            lambda root: (root / MEDIA / "replay-2023-poster-fb7892dd18cb.jpg").write_bytes(
                b"GIF89a" + b"\0" * 20
            ),
            "is not a JPG image",
        ),
        (
            lambda root: (root / REPLAY).with_suffix(".vtt").unlink(),
            "transcript: no such file: replay-2023.vtt",
        ),
        (
            lambda root: (root / MEDIA / "replay-2023-audio-f2d0ea7c1997.m4a").unlink(),
            "alternate[0].file: no such file",
        ),
    ],
    ids=["media-size", "poster-bytes", "transcript-gone", "alternate-gone"],
)
def test_files_changed_since_are_refused_as_on_a_first_read(demo_project: Path, change, problem: str) -> None:
    project = load_project(demo_project)
    load_catalog(project)  # cached
    assert str(demo_project / REPLAY) in _cache_table(demo_project)["entries"]
    change(demo_project)
    with pytest.raises(ValidationError) as refused:
        load_catalog(project)
    assert any("replay-2023.toml" in p and problem in p for p in refused.value.problems), (
        refused.value.problems
    )


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("media/l-emission/replay-2023-0a14d8cb2eae.mp4", "media.file"),
        ("media/l-emission/replay-2023-audio-f2d0ea7c1997.m4a", "alternate[0].file"),
        ("media/l-emission/replay-2023-poster-fb7892dd18cb.jpg", "poster"),
        ("episodes/l-emission/replay-2023.vtt", "transcript"),
    ],
)
def test_a_file_swapped_for_a_link_outside_the_project_is_refused(
    demo_project: Path, tmp_path: Path, name: str, key: str
) -> None:
    project = load_project(demo_project)
    load_catalog(project)
    assert str(demo_project / REPLAY) in _cache_table(demo_project)["entries"]
    file = demo_project / name
    outside = tmp_path / file.name
    outside.write_bytes(file.read_bytes())  # the same bytes: only the link gives it away
    file.unlink()
    file.symlink_to(outside)
    with pytest.raises(ValidationError) as refused:
        load_catalog(project)
    assert any(
        f"replay-2023.toml: {key}:" in p and "symbolic link to a file outside the project" in p
        for p in refused.value.problems
    ), refused.value.problems


def test_an_edit_is_read_without_loading_or_rewriting_the_records_cache(demo_project: Path) -> None:
    """After an edit, only that record is parsed, and records.json (parsed records, for when the
    episode cache cannot answer: a code change) is neither loaded nor written: it holds no entry
    for the new bytes anyway. The episode cache keeps the edited episode; every other record keeps
    its entry in both."""
    project = load_project(demo_project)
    load_catalog(project)
    records = demo_project / ".grandirenhlm" / "records.json"
    before = records.read_bytes()
    assert len(read_table(records)["entries"]) == 7
    record = demo_project / "episodes" / "grandir-en-hlm" / "temoignage-3.toml"
    text = record.read_text(encoding="utf-8")
    assert "Témoignage n° 3" in text
    record.write_text(text.replace("Témoignage n° 3", "Témoignage 3"), "utf-8")
    catalog = load_catalog(project)
    assert [e.title for e in catalog.episodes["grandir-en-hlm"] if e.slug == "temoignage-3"] == [
        "Témoignage 3"
    ]
    assert records.read_bytes() == before
    cached = _cache_table(demo_project)["entries"]
    assert len(cached) == 7 and cached[str(record)][4]["title"] == "Témoignage 3"


def _cache_table(root: Path) -> dict:
    return read_table(root / ".grandirenhlm" / "episodes.json")


def test_a_cache_not_signed_by_this_user_is_ignored(demo_project: Path) -> None:
    """A cache committed with the project (a pull request: `git add -f`) is not this user's: its
    values, never validated (an HTML type served from the site's address), are not used."""
    project = load_project(demo_project)
    expected = load_catalog(project)
    table = _cache_table(demo_project)
    key = str(demo_project / REPLAY)
    entry = table["entries"][key]
    assert entry[4]["media"]["mime_type"] == "video/mp4"
    entry[4]["media"]["mime_type"] = "text/html"
    forged = table_bytes(table)
    cache_file = demo_project / ".grandirenhlm" / "episodes.json"
    for blob in (forged, b"0" * 64 + b"\n" + forged, cachekey.sign(forged)[:-1] + b" "):
        cache_file.write_bytes(blob)
        assert load_catalog(project) == expected
    cache_file.write_bytes(cachekey.sign(forged))  # the same bytes signed with the user's key: used
    (replay,) = load_catalog(project).episodes["l-emission"]
    assert replay.media is not None and replay.media.mime_type == "text/html"


def test_a_damaged_cache_is_ignored_without_a_traceback(demo_project: Path) -> None:
    """Signed, so trusted, yet of the wrong shape (a bug, a disk error): every record is read."""
    project = load_project(demo_project)
    expected = load_catalog(project)
    table = _cache_table(demo_project)
    key = str(demo_project / REPLAY)
    entry = table["entries"][key]
    cache_file = demo_project / ".grandirenhlm" / "episodes.json"
    deep = '{"\\u0000": "Episode", "title": ' + "[" * 100_000 + "]" * 100_000 + "}"
    pub_date = entry[4]["pub_date"]

    def entry_with(value) -> str:
        return table_bytes({**table, "entries": {key: [*entry[:4], value, *entry[5:]]}}).decode()

    header = json.dumps({k: v for k, v in table.items() if k != "entries"}) + "\n"
    for junk in (
        "{not json",
        "[" * 100_000 + "]" * 100_000,
        header + "[" * 100_000 + "]" * 100_000,
        table_bytes({**table, "version": 99}).decode(),
        header + "1\n2\n",  # lines that are not [key, entry] pairs
        header + json.dumps([key, entry, "third"]) + "\n",
        table_bytes({**table, "entries": {key: {"a": 1}}}).decode(),
        table_bytes({**table, "entries": {key: 7}}).decode(),
        table_bytes({**table, "entries": {key: entry[:4]}}).decode(),
        table_bytes({**table, "entries": {key: entry[:5]}}).decode(),
        entry_with({"title": 1, "bogus": 2}),
        entry_with({**entry[4], "bogus": 2}),
        entry_with({**entry[4], "media": "media.mp4"}),
        entry_with({**entry[4], "chapters": "chapitres"}),
        entry_with([1, 2]),
        entry_with("{}"),
        header + json.dumps([key, [*entry[:4], "@@", *entry[5:]]]).replace('"@@"', deep) + "\n",
        table_bytes({**table, "entries": {key: [*entry[:7], 7]}}).decode(),  # a file state not text
        entry_with({**entry[4], "pub_date": [pub_date[0], 1e20]}),
        # a tag naming something else is only text: nothing is looked up, nothing runs
        entry_with({"\u0000": "os.system"}),
        entry_with({**entry[4], "media": {**entry[4]["media"], "\u0000": "os.system"}}),
    ):
        cache_file.write_bytes(cachekey.sign(junk.encode()))
        assert load_catalog(project) == expected


def test_the_path_of_a_cached_media_file_is_checked_not_trusted(demo_project: Path) -> None:
    """An entry whose media path was rewritten to a file elsewhere (a cache committed by someone)
    is refused by the containment check, as a record naming that file would be."""
    project = load_project(demo_project)
    load_catalog(project)
    cache_file = demo_project / ".grandirenhlm" / "episodes.json"
    secret = demo_project.parent / "secret.mp4"
    media = demo_project / "media" / "l-emission" / "replay-2023-0a14d8cb2eae.mp4"
    secret.write_bytes(media.read_bytes())
    text = (
        table_bytes(_cache_table(demo_project))
        .decode()
        .replace(json.dumps(str(media))[1:-1], json.dumps(str(secret))[1:-1])
    )
    assert str(secret) in text
    cache_file.write_bytes(cachekey.sign(text.encode()))  # even signed: files are always checked
    catalog = load_catalog(project)  # read again from the record, which names the project's file
    (replay,) = catalog.episodes["l-emission"]
    assert replay.media is not None and replay.media.path == media
    assert os.path.samefile(replay.media.path, media)


def test_compiled_templates_are_loaded_only_from_this_user_s_files(demo_project: Path) -> None:
    """Jinja2 runs the compiled code it loads: a bytecode cache committed with the project (the
    code of another template, under the real one's name and checksum) is never loaded."""
    from grandirenhlm.pages import template_environment

    env = template_environment(load_project(demo_project), cache=True)
    cache = env.bytecode_cache
    assert cache is not None
    name = "404.html"
    source, filename, _ = env.loader.get_source(env, name)
    forged = cache.get_bucket(env, name, filename, source)
    forged.code = env.compile("PWNED", name, filename)  # what a forged file would run
    payload = forged.bytecode_to_string()
    path = Path(cache.directory) / (cache.pattern % (forged.key,))
    path.parent.mkdir(parents=True, exist_ok=True)
    for blob in (payload, b"0" * 64 + b"\n" + payload):
        path.write_bytes(blob)
        assert cache.get_bucket(env, name, filename, source).code is None  # compiled from source
    path.write_bytes(cachekey.sign(payload))  # the same bytes from this user's run: loaded
    assert cache.get_bucket(env, name, filename, source).code is not None
