"""A `.grandirenhlm/` committed with the project (a pull request built by CI) cannot put its own
pages or feed items on the site: the page store's rows and the feed item store's entries carry
this user's MAC (`cachekey`), and those without it are rendered again."""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
import struct
from pathlib import Path

from grandirenhlm import cachekey
from grandirenhlm import feed as feed_module
from tests.support import run_cli

LENGTH = struct.Struct("<I")  # the store's length prefixes (feed.py)
FORGED = b"<!doctype html><title>PWNED</title><script>alert(1)</script>"


def build(root: Path) -> dict[str, bytes]:
    feed_module.clear_cache()  # each build as a new process
    out = root / "out"
    assert run_cli(root, "build", "--output", str(out)).exit_code == 0
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_forged_pages_in_the_page_store_are_not_published(demo_project: Path, tmp_path: Path) -> None:
    first = build(demo_project)
    (store,) = (demo_project / ".grandirenhlm" / "pages").glob("*/pages.sqlite")
    db = sqlite3.connect(store)
    forged_sha = hashlib.sha256(FORGED).hexdigest()
    # every page replaced, its row's hash and size made to match; the MAC cannot be
    db.execute(
        "UPDATE signed_page SET data = ?, sha256 = ?, size = ?, mac = ?",
        (FORGED, forged_sha, len(FORGED), "0" * 64),
    )
    db.commit()
    db.close()
    (demo_project / "out").rename(tmp_path / "first-out")  # a new output folder: every page written
    again = build(demo_project)
    assert again == first
    assert not any(b"PWNED" in data for data in again.values())


def test_forged_feed_items_are_not_published(demo_project: Path, tmp_path: Path) -> None:
    first = build(demo_project)
    stores = list((demo_project / ".grandirenhlm" / "feeds").glob("*.items"))
    assert stores
    for store in stores:  # each item's text changed, the entry well formed, its MAC kept
        data = store.read_bytes()
        magic_end = data.index(b"\n") + 1
        pos = data.index(b"\n", magic_end) + 1  # the magic line, then the code's fingerprint
        out = [data[:pos]]
        while pos < len(data):
            (n,) = LENGTH.unpack_from(data, pos)
            stamp = data[pos + 4 : pos + 4 + n]
            pos += 4 + n
            (n,) = LENGTH.unpack_from(data, pos)
            item = data[pos + 4 : pos + 4 + n].replace(b"<title>", b"<title>PWNED ")
            pos += 4 + n
            mac = data[pos : pos + 32]
            pos += 32
            assert b"PWNED" in item
            out += [LENGTH.pack(len(stamp)), stamp, LENGTH.pack(len(item)), item, mac]
        store.write_bytes(b"".join(out))
    # the record stamps are unchanged, so a trusting store would hand the items back
    (demo_project / "out").rename(tmp_path / "first-out")
    again = build(demo_project)
    assert again == first
    assert not any(b"PWNED" in data for data in again.values())


def test_a_signed_table_comes_back_whole_or_not_at_all(tmp_path: Path) -> None:
    """`cachekey.save_table` / `load_table`, which the record and episode caches are kept in: one
    line per entry, the MAC over all of them checked before any line is parsed."""
    from datetime import date

    from grandirenhlm import cachekey

    path = tmp_path / "t.json"
    odd_key = "/projet/épisode-\udcff.toml"  # a path that is not UTF-8 comes back as the same str
    entries = {odd_key: ["a\nb", {"d": date(2023, 6, 17)}], "plain": 7}

    def encode(value):
        return {"\x00": "date", "v": value.isoformat()}

    def decode(obj):
        return date.fromisoformat(obj["v"]) if obj.get("\x00") == "date" else obj

    cachekey.save_table(path, {"version": 1}, entries.items(), default=encode)
    assert cachekey.load_table(path, object_hook=decode) == ({"version": 1}, entries)
    blob = path.read_bytes()
    assert blob.count(b"\n") == 4  # MAC, header, one line per entry (the "\n" in a value is escaped)
    assert cachekey.load_table(tmp_path / "missing.json") is None
    for damaged in (
        blob[:-1],  # cut short
        blob.replace(b'"plain", 7', b'"plain", 8'),  # one value changed
        b"0" * 64 + blob[64:],  # another MAC
        blob[65:],  # no MAC
        b"",
    ):
        path.write_bytes(damaged)
        assert cachekey.load_table(path, object_hook=decode) is None, damaged[:80]
    # signed, but not the table's shape (a bug, a disk error): refused, not half used
    for lines in (b"", b'{"version": 1}\n[1, 2]\n', b'{"version": 1}\n["k"]\n', b"{not json\n"):
        path.write_bytes(cachekey.sign(lines))
        assert cachekey.load_table(path) is None, lines
    path.write_bytes(cachekey.sign(b'{"version": 1}\n["k", 1]\n["k", 2]\n'))
    assert cachekey.load_table(path) == ({"version": 1}, {"k": 2})  # a later line replaces
    # a value given as its JSON text is written as it is, and read back as the value it encodes
    text = '{"t": "é\\u00e9 \\"x\\"", "n": [1, 2.5, null]}'
    cachekey.save_table(path, {"version": 1}, [(odd_key, cachekey.Encoded(text)), ("plain", 7)])
    assert cachekey.load_table(path) == (
        {"version": 1},
        {odd_key: {"t": 'éé "x"', "n": [1, 2.5, None]}, "plain": 7},
    )
    assert text.encode() in path.read_bytes()


def test_entries_added_to_a_signed_table_replace_earlier_ones_and_a_foreign_table_is_left_alone(
    tmp_path: Path,
) -> None:
    """`cachekey.append_table`: the table's lines copied, the header replaced, the entries after
    them (a later line replaces), all under a new MAC; a table whose MAC is not this user's is
    neither copied nor signed (False, the file as it was), so its lines never get this user's MAC."""
    from grandirenhlm import cachekey

    path = tmp_path / "t.json"
    cachekey.save_table(path, {"version": 1}, {"a": 1, "b": [2, "deux"], "c": 3}.items())
    lines_before = path.read_bytes().count(b"\n")
    assert cachekey.append_table(path, {"version": 1, "added": 2}, [("b", "bis"), ("d", {"x": None})])
    assert cachekey.load_table(path) == (
        {"version": 1, "added": 2},
        {"a": 1, "b": "bis", "c": 3, "d": {"x": None}},
    )
    assert path.read_bytes().count(b"\n") == lines_before + 2  # the old lines are kept, not rewritten
    assert [p.name for p in tmp_path.iterdir()] == ["t.json"]  # no temporary file left

    signed = path.read_bytes()
    for foreign in (b"0" * 64 + signed[64:], signed[65:], signed[:-1], b""):
        path.write_bytes(foreign)
        assert not cachekey.append_table(path, {"version": 1}, [("e", 5)])
        assert path.read_bytes() == foreign
    assert not cachekey.append_table(tmp_path / "missing.json", {"version": 1}, [("e", 5)])
    assert not (tmp_path / "missing.json").exists()


def test_forged_cover_renditions_are_not_published(demo_project: Path, tmp_path: Path) -> None:
    """Cover renditions are published as the cache holds them: one committed with the project
    (an image under a real rendition's name) is made again from the cover instead."""
    first = build(demo_project)
    covers = sorted((demo_project / ".grandirenhlm" / "covers").iterdir())
    assert covers
    for cached in covers:
        cached.write_bytes(FORGED)
    (demo_project / "out").rename(tmp_path / "first-out")
    assert build(demo_project) == first
    # this user's own renditions are used (the check above can fail): one signed forged file is published
    from grandirenhlm import cachekey

    # a rendition signed for another name (the same image under a larger size's name) is not used
    genuine = [cachekey.read_named(p, 2**26) for p in covers]
    assert all(genuine)
    covers[0].write_bytes(cachekey.sign(FORGED, name=covers[1].name))
    (demo_project / "out").rename(tmp_path / "second-out")
    assert build(demo_project) == first
    # nor a link, even to a signed file (a link committed with the project may point anywhere)
    outside = tmp_path / "outside"
    outside.write_bytes(cachekey.sign(FORGED, name=covers[0].name))
    covers[0].unlink()
    covers[0].symlink_to(outside)
    (demo_project / "out").rename(tmp_path / "third-out")
    assert build(demo_project) == first
    # this user's own renditions are used (so the refusals above can fail)
    covers[0].unlink()
    covers[0].write_bytes(cachekey.sign(FORGED, name=covers[0].name))
    (demo_project / "out").rename(tmp_path / "fourth-out")
    assert FORGED in build(demo_project).values()


def test_a_mac_that_is_a_link_or_endless_costs_nothing(tmp_path: Path) -> None:
    """A `.mac` beside an encode committed as a link to /dev/zero (or to anything) is not read."""
    from grandirenhlm import cachekey

    encode = tmp_path / "e.mp3"
    encode.write_bytes(b"audio")
    cachekey.sign_file(encode)
    assert cachekey.file_is_signed(encode)
    tag = tmp_path / "e.mp3.mac"
    good = tag.read_bytes()
    for target in (Path("/dev/zero"), tmp_path / "copy.mac"):
        (tmp_path / "copy.mac").write_bytes(good)
        tag.unlink()
        tag.symlink_to(target)
        assert not cachekey.file_is_signed(encode)  # returns at once: a link is not followed
    tag.unlink()
    tag.write_bytes(good + b"0" * 10_000_000)
    assert not cachekey.file_is_signed(encode)
    # signed under another name: refused
    other = tmp_path / "other.mp3"
    other.write_bytes(b"audio")
    tag.write_bytes(good)
    (tmp_path / "other.mp3.mac").write_bytes(good)
    assert cachekey.file_is_signed(encode) and not cachekey.file_is_signed(other)


def test_a_forged_encode_is_not_published(project: Path, tmp_path: Path) -> None:
    """An encode is tagged and published as the cache holds it: an audio file committed under
    the name of a master's encode is not used; the master is encoded again."""
    from grandirenhlm import cachekey
    from tests.support import make_wav

    def ingest(master: Path, title: str) -> set[Path]:
        before = set((project / ".grandirenhlm" / "encoded").glob("*.mp3"))
        result = run_cli(project, "ingest", "--show", "grandir-en-hlm", "-q", "--title", title, str(master))
        assert result.exit_code == 0, result.output
        return set((project / ".grandirenhlm" / "encoded").glob("*.mp3")) - before

    (other,) = ingest(make_wav(tmp_path / "autre.wav", 2.0), "Autre")
    forged = other.read_bytes()  # real MP3 audio, of another master
    master = make_wav(tmp_path / "m.wav", 1.0)
    (encoded,) = ingest(master, "Un")
    genuine = encoded.read_bytes()
    assert forged != genuine
    encoded.write_bytes(forged)
    ingest(master, "Deux")
    assert encoded.read_bytes() == genuine  # made again from the master
    # a signed one is used (so the refusal above can fail)
    encoded.write_bytes(forged)
    cachekey.sign_file(encoded)
    ingest(master, "Trois")
    assert encoded.read_bytes() == forged

    # what was published: the master's audio (1 s) for "Un" and "Deux", the signed stand-in (2 s)
    from mutagen.mp3 import MP3

    def seconds(slug: str) -> float:
        (stored,) = (project / "media" / "grandir-en-hlm").glob(f"{slug}-*.mp3")
        return MP3(stored).info.length

    assert round(seconds("un")) == round(seconds("deux")) == 1 and round(seconds("trois")) == 2


def test_the_mac_is_hmac_sha256_with_the_users_key_for_every_message() -> None:
    """`cachekey.mac` copies one keyed HMAC for each message: each is the HMAC of that message
    alone, whatever came before (the copy's base is never fed)."""
    messages = [b"", b"page", b"x" * 200, b"page", bytes(range(256)) * 3]
    macs = [cachekey.mac(m) for m in messages]
    assert macs == [hmac.new(cachekey.key(), m, hashlib.sha256).digest() for m in messages]
    assert macs[1] == macs[3] and len(set(macs)) == 4
