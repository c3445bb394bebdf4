"""Where the page cache keeps rendered pages: one SQLite file per cache folder, not a file per page.

A site of 10,000 episodes has 30,000 pages (episode, player, oEmbed). Kept one file each, a cold
build paid a file creation and a rename per page on top of writing the site itself, and on a busy
disk those directory updates cost more than rendering. SQLite (standard library) stores them as
rows of one file, written in a few transactions; it also gives what the cache needs besides: a
page is whole or absent after a crash, and builds in two processes can share the file (WAL mode:
readers never wait, a writer waits for the other's short transaction).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

from grandirenhlm import cachekey

FILE = "pages.sqlite"
_BATCH = 500  # pages per transaction: another build writing the same cache waits at most this long
# ... or fewer, when they add up to this: the pages of a transaction are held in memory until it
# commits, and a show's list pages are large (at 10,000 episodes, 13 MB of them were held through
# the feed's rendering, the build's peak).
_BATCH_BYTES = 2 * 2**20

# Each row carries this user's MAC of (digest, sha256, size) (`cachekey`), and a page read back must
# hash to its sha256: a store committed with the project cannot put its own pages on the site.
_SCHEMA = """CREATE TABLE IF NOT EXISTS signed_page (
    digest TEXT PRIMARY KEY,  -- the page's inputs (pages.PageCache)
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    mac TEXT NOT NULL,
    data BLOB NOT NULL
)"""


def _mac(digest: str, sha256: str, size: int) -> str:
    return cachekey.mac(f"{digest}\0{sha256}\0{size}".encode()).hex()


def _signed(digest: object, sha256: object, size: object, mac: object) -> bool:
    """Whether a row is this user's (SQLite columns take any type: each is checked)."""
    return (
        isinstance(digest, str)
        and isinstance(sha256, str)
        and type(size) is int
        and isinstance(mac, str)
        and mac.isascii()
        and hmac.compare_digest(mac, _mac(digest, sha256, size))
    )


class PageStore:
    """Rendered pages by the digest of their inputs, with their sha256 and size.

    A cache: when the file cannot be written (a full disk, a size limit), the pages of this run
    stay in memory instead and the run goes on; the next run renders them again."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / FILE
        self._mutex = threading.Lock()  # one connection; a publish may read pages from its threads
        self._pending: dict[str, bytes] = {}  # put since the last commit: kept until it succeeds
        self._pending_bytes = 0
        self._spilled: dict[str, bytes] = {}  # pages the file could not take
        self._db: sqlite3.Connection | None
        try:
            self._db = self._open()
        except sqlite3.DatabaseError:  # a damaged cache is rebuilt, never an error
            for suffix in ("", "-wal", "-shm"):
                self.path.with_name(FILE + suffix).unlink(missing_ok=True)
            try:
                self._db = self._open()
            except sqlite3.Error:
                self._db = None

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=120, isolation_level=None, check_same_thread=False)
        # Pages are 3 to 10 KB: with SQLite's default 4 KB database pages each row spills into
        # overflow pages, and an insert took about 45 us; with 32 KB pages about 22 us (30,000
        # pages of a cold build at 10,000 episodes: 0.7 s less). Only a new file takes it.
        db.execute("PRAGMA page_size=32768")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=OFF")  # a cache: a page lost in a crash is rendered again
        db.execute("DROP TABLE IF EXISTS page")  # unsigned pages of earlier versions
        db.execute(_SCHEMA)
        return db

    def index(self) -> dict[str, tuple[str, int]]:
        """{digest: (sha256, size)} of every page kept, without reading a page."""
        with self._mutex:
            if self._db is None:
                return {}
            try:
                rows = self._db.execute("SELECT digest, sha256, size, mac FROM signed_page").fetchall()
            except sqlite3.Error:
                return {}
        return {d: (s, n) for d, s, n, mac in rows if _signed(d, s, n, mac)}

    def get(self, digest: str) -> bytes | None:
        with self._mutex:
            data = self._pending.get(digest)
            if data is None:
                data = self._spilled.get(digest)
            if data is not None or self._db is None:
                return data
            try:
                row = self._db.execute(
                    "SELECT data, sha256, size, mac FROM signed_page WHERE digest = ?", (digest,)
                ).fetchone()
            except sqlite3.Error:
                return None
        if row is None:
            return None
        data, sha256, size, mac = row
        if not isinstance(data, bytes) or not _signed(digest, sha256, size, mac) or len(data) != size:
            return None  # not this user's
        return data if hashlib.sha256(data).hexdigest() == sha256 else None

    def put(self, digest: str, sha256: str, data: bytes) -> None:
        with self._mutex:
            if self._db is None:
                self._spilled[digest] = data
                return
            self._pending_bytes += len(data) - len(self._pending.get(digest, b""))  # a page put again
            self._pending[digest] = data
            try:
                if not self._db.in_transaction:
                    self._db.execute("BEGIN IMMEDIATE")
                self._db.execute(
                    "INSERT OR REPLACE INTO signed_page VALUES (?, ?, ?, ?, ?)",
                    (digest, sha256, len(data), _mac(digest, sha256, len(data)), data),
                )
            except sqlite3.Error:
                self._give_up()
                return
            if len(self._pending) >= _BATCH or self._pending_bytes >= _BATCH_BYTES:
                self._commit()

    def _commit(self) -> None:
        if self._db is None:
            return
        try:
            if self._db.in_transaction:
                self._db.execute("COMMIT")
        except sqlite3.Error:
            self._give_up()
        else:
            self._pending.clear()
            self._pending_bytes = 0

    def _give_up(self) -> None:
        """The file refused a write: this run keeps its pages in memory."""
        assert self._db is not None
        self._spilled.update(self._pending)
        self._pending.clear()
        self._pending_bytes = 0
        with contextlib.suppress(sqlite3.Error):
            self._db.close()
        self._db = None

    def commit(self) -> None:
        """Make the pages put so far visible to other processes."""
        with self._mutex:
            self._commit()

    def delete_except(self, keep: Iterable[str]) -> None:
        """Forget every page but `keep` (one site's pages); SQLite reuses the space for the next ones."""
        keep = set(keep)
        with self._mutex:
            self._commit()
            if self._db is None:
                return
            try:
                gone = [(d,) for (d,) in self._db.execute("SELECT digest FROM signed_page") if d not in keep]
                if gone:
                    self._db.execute("BEGIN IMMEDIATE")
                    self._db.executemany("DELETE FROM signed_page WHERE digest = ?", gone)
            except sqlite3.Error:
                self._give_up()
                return
            self._commit()

    def close(self) -> None:
        with self._mutex:
            self._commit()
            if self._db is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._db.close()
                self._db = None
