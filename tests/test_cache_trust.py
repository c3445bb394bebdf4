"""A `.grandirenhlm/` committed with the project (a pull request built by CI) cannot put its own
pages or feed items on the site: the page store's rows and the feed item store's entries carry
this user's MAC (`cachekey`), and those without it are rendered again."""

from __future__ import annotations

import hashlib
import sqlite3
import struct
from pathlib import Path

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
