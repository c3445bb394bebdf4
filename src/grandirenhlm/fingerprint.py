"""Nothing changed, nothing done: a fingerprint of everything a command reads, checked first.

`build`, `publish` and `ingest` end a successful run by saving, under the command's key (what it was
asked: output folder, target and its settings, files and options), a fingerprint of their inputs: the
size and modification time of every file in the project's folders (records, show definitions, media,
templates, configuration), of the files outside them that the run read, of the code and packaged
templates, the package version, and the `GRANDIRENHLM_*` and `AWS_*` environment (hashed, never
stored). The next run computes the same fingerprint before it imports the pipeline or loads the
catalog; when it matches and the saved result is still valid (no scheduled episode came due since,
no pruning deadline passed, the output folder or the target is as the run left it), the saved
result is the answer. The fingerprint is a stat walk: a few milliseconds per thousand files. An
output folder is stamped by its manifest file and its folders' times (`tree_stamp`), from a
listing kept beside the fingerprints (`trees/`): a file removed, added or replaced there is seen,
and the manifest however it is rewritten; another file rewritten in place is not.

It is the `fingerprints` part of the project cache (`.grandirenhlm/fingerprints.json`, `trees/`; see
`cache.py`). Losing it costs one full run. Edits that keep a file's size and modification time to
the nanosecond are not seen here; the record and page caches below it compare contents.

It imports only the standard library (and the project's configuration): it runs before the rest.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

VERSION = 1
FILE = "fingerprints.json"
_PACKAGE = Path(__file__).resolve().parent
_ENV_PREFIXES = ("GRANDIRENHLM_", "AWS_")


def _walk(folder: str, out: list[str], seen: set | None = None) -> None:
    """`out` gets one line per file under `folder` (callers sort the lines once): what the loaders
    read, so hidden entries are skipped, and symbolic links to folders are followed (each such
    folder once: a link loop ends). A folder that cannot be read is a `?` line; `folder` itself
    missing, a `-` line.

    Depth-first in the order of a recursive walk (a folder is walked when it is met, before its
    later siblings: which of two links to one folder is followed depends on it), with a stack of
    folder listings instead of one Python call per level, so no depth is too deep; each listing is
    read whole, so no descriptor stays open per level either."""
    seen = set() if seen is None else seen
    try:
        stack = [iter(_entries(folder))]
    except (FileNotFoundError, NotADirectoryError):
        out.append(f"-{folder}")
        return
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            continue
        if entry.name[0] == "." or entry.name == "__pycache__":
            continue
        try:
            if entry.is_dir():
                if entry.is_symlink():
                    st = entry.stat()
                    if (st.st_dev, st.st_ino) in seen:
                        continue
                    seen.add((st.st_dev, st.st_ino))
                out.append(f"{entry.path}/")
                try:
                    stack.append(iter(_entries(entry.path)))
                except (FileNotFoundError, NotADirectoryError):
                    out.append(f"-{entry.path}")
                continue
            st = entry.stat()  # follows a symlink: what the run reads is the target
        except OSError:  # unreadable (a folder's listing included): named, and the walk goes on
            out.append(f"?{entry.path}")
            continue
        out.append(f"{entry.path}\0{st.st_size}\0{st.st_mtime_ns}")


def _entries(folder: str) -> list[os.DirEntry]:
    """A folder's entries, read whole (its descriptor closed at once); not the saved `listing`."""
    with os.scandir(folder) as entries:
        return list(entries)


def _digest(lines: list[str]) -> str:
    """The SHA-256 of the lines sorted and joined by newlines, fed a thousand lines at a time (an
    output of 20,000 folders: its whole text and bytes are not made at once)."""
    lines.sort()  # scandir's order is the file system's: one sort makes it stable
    digest = hashlib.sha256()
    for start in range(0, len(lines), 1000):
        piece = "\n".join(lines[start : start + 1000]).encode("utf-8", "surrogateescape")
        digest.update(b"\n" + piece if start else piece)
    return digest.hexdigest()


def _files(paths: Iterable[str], out: list[str]) -> None:
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            out.append(f"?{path}")
            continue
        out.append(f"{path}\0{st.st_size}\0{st.st_mtime_ns}")


def code_lines() -> list[str]:
    """The code and packaged templates this process runs, the libraries it imports, and the
    version: an upgrade or an edit of any of them redoes everything."""
    from grandirenhlm import __version__

    out = [f"version\0{__version__}\0{sys.version}"]
    # Installing, upgrading or removing a library adds or removes folders (`*.dist-info`) in the
    # folder it lives in, which moves that folder's time: one stat per import path stands for the
    # versions of everything importable (`importlib.metadata` costs 60 ms per run). The first
    # entry is the script's folder or the working one, not a library's (unless -P).
    for entry in sys.path if sys.flags.safe_path else sys.path[1:]:
        with contextlib.suppress(OSError):
            out.append(f"{entry}\0{os.stat(entry).st_mtime_ns}")
    _walk(str(_PACKAGE), out)
    checkout = (
        _PACKAGE.parents[1] / "templates"
    )  # a source checkout's templates (pages.default_templates_dir)
    _walk(str(checkout), out)
    return out


def folder_lines(folders: Iterable[Path]) -> list[str]:
    """One line per file under `folders` (see `_walk`)."""
    lines: list[str] = []
    for folder in folders:
        _walk(str(folder), lines)
    return lines


def inputs(walked: Sequence[str], files: Iterable[str] = (), extra: Mapping[str, Any] | None = None) -> str:
    """The fingerprint of the `walked` lines (`code_lines()`, `folder_lines()`), of `files`, of the
    environment this tool reads and of `extra` (a JSON-able value: the command's own settings)."""
    lines = list(walked)
    _files(files, lines)
    lines.extend(f"{k}={v}" for k, v in os.environ.items() if k.startswith(_ENV_PREFIXES))
    lines.append(json.dumps(extra, sort_keys=True, default=str))
    return _digest(lines)


def tree_stamp(folder: Path, cache_dir: Path | None = None) -> str:
    """A stamp of what is under `folder`, hidden entries included (a publish target's state, a
    build's output): the name of every file and folder and each folder's modification time, which
    moves when an entry is added, deleted or renamed in it. A file rewritten in place, keeping its
    name, is not seen: the folder's files are the tool's own output, and this stamp only has to
    see what a person or another tool removed or replaced there.

    With `cache_dir`, what the stamp saw is kept there (`trees/`: each folder's time, names, inode
    and ctime): the next stamp stats the folders and reads again only those whose time moved, or
    where another folder now stands, or too recent to trust their time, instead of reading all of
    them (20,000 at 10,000 episodes; after a build that rewrote one episode's pages, a handful)."""
    root = os.path.join(os.path.abspath(folder), "")
    listing = _listing_file(cache_dir, root) if cache_dir is not None else None
    now = time.time_ns()
    saved = _read_listing(listing, root) if listing is not None else None
    tree: dict[str, list] = {}
    if saved is not None:
        digest, tree = saved
        stale = _stale(root, tree)
        if stale is not None and not stale:
            return digest
        before = {rel: tree[rel][::2] for rel in stale or ()}
        if stale is not None and _rescan(root, tree, stale, now):
            if any(tree.get(rel, [None])[::2] != seen for rel, seen in before.items()):
                digest = _tree_digest(tree)  # else each folder read again is as listed
            assert listing is not None
            _save_tree(listing, root, digest, tree)
            return digest
        tree = {}
    trackable = _scan(root, "", tree, now, set())
    digest = _tree_digest(tree)
    if listing is not None:
        if trackable:
            _save_tree(listing, root, digest, tree)
        else:  # something unreadable, or a link to a folder: walked again each time
            listing.unlink(missing_ok=True)
    return digest


# A folder (or a record: `episodecache`) whose time is this close to when it was read may change
# again within the same tick of the file system's clock and keep its time: it is read again by
# every later stamp until its time is old enough, as Git does for its "racily clean" index entries.
# Three seconds by default: enough for a file system that keeps whole seconds (FAT: two; ext3's
# small inodes, HFS+), and for a network one whose server's clock lags this machine's a little.
# A tenth of one for a time with a fraction of a second on a local file system of this machine
# (ext4, XFS, Btrfs, tmpfs...: its times come from this machine's clock, which Linux moves at each
# timer tick, every 1 to 10 ms), so that the folders a build wrote in its last seconds are not all
# read again by the next command.
RACY_NS = 3_000_000_000
RACY_FINE_NS = 100_000_000
_LOCAL_TYPES = frozenset(
    {"ext2", "ext3", "ext4", "xfs", "btrfs", "tmpfs", "f2fs", "bcachefs", "jfs", "nilfs2", "reiserfs", "zfs"}
)


class Seen(NamedTuple):
    """A file's `stat` and this machine's clock read just before it was taken: its times are judged
    against that moment (`too_recent`), not a later one, which a stalled process could push past
    the window while the file changed again in the tick it was read in."""

    stat: os.stat_result
    at: int

    @classmethod
    def of(cls, path: str | os.PathLike[str] | int) -> Seen:
        at = time.time_ns()
        return cls(os.fstat(path) if isinstance(path, int) else os.stat(path), at)


def too_recent(time_ns: int, now: int, device: int | None = None) -> bool:
    """Whether a file or folder time `time_ns`, read at `now` (or later), may still be shared by a
    later change; `device`: the `st_dev` of its file system (None: not known to be local)."""
    fine = time_ns % 1_000_000_000 != 0 and device is not None and device in _local_devices()
    return time_ns >= now - (RACY_FINE_NS if fine else RACY_NS)


@functools.cache
def _local_devices() -> frozenset[int]:
    """The devices (`st_dev`) of the local file systems mounted here (Linux: /proc/self/mountinfo);
    none elsewhere, where every time gets the default window."""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as fh:
            return local_devices_in(fh.read())
    except OSError:
        return frozenset()


def local_devices_in(mountinfo: str) -> frozenset[int]:
    """The devices of the mounts of `mountinfo` (proc(5): "ID parent major:minor root point options
    [optional fields] - type source options") whose type is a local file system's."""
    devices = set()
    for line in mountinfo.splitlines():
        fields = line.split()
        try:
            kind = fields[fields.index("-", 6) + 1]
            major, minor = fields[2].split(":")
            if kind in _LOCAL_TYPES:
                devices.add(os.makedev(int(major), int(minor)))
        except (ValueError, IndexError):
            continue
    return frozenset(devices)


_TREES_VERSION = 4


def _listing_file(cache_dir: Path, root: str) -> Path:
    name = hashlib.sha256(root.rstrip("/").encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return cache_dir / "trees" / f"{name}.json"


def _scan(root: str, rel: str, tree: dict[str, list], now: int, seen: set | None) -> bool:
    """Read folder `rel` (relative to `root`, "" or ending with "/") into `tree` as [time, racy,
    its sorted names joined by NUL (folders with a trailing "/"), inode, ctime], and the folders
    in it that `tree` does not have yet (all of them with `seen`, a first walk); forget the folders it no
    longer has. False when something could not be read, or (for a listing) a link to a folder was
    met: such a tree is walked again each time (with `seen`, links are followed, each folder once).
    Depth-first with a stack, not recursion: no depth limit."""
    ok = True
    stack = [rel]
    while stack:
        current = stack.pop()
        folders = _scan_one(root, current, tree, now, seen)
        if folders is None:
            ok = False
            continue
        if not folders[0]:
            ok = False
        subs = [sub for sub in folders[1] if seen is not None or sub not in tree]
        stack.extend(reversed(subs))  # the first one next, as a recursive walk would
    return ok


def _scan_one(
    root: str, rel: str, tree: dict[str, list], now: int, seen: set | None
) -> tuple[bool, list[str]] | None:
    """`_scan` of one folder: (whether all of it was read, its folders), or None when it could
    not be read or (for a listing) holds a link to a folder."""
    path = root + rel
    try:
        st = os.stat(path)  # before reading it: a change while it is read moves its time
        entries = os.scandir(path)
    except (OSError, ValueError):  # ValueError: a damaged listing's name
        tree[rel] = [-1, False, "-", 0, 0]
        return None
    ok = True
    names: list[str] = []
    folders: list[str] = []
    with entries:
        for entry in entries:
            if entry.name == "__pycache__":
                continue
            try:
                if entry.is_dir():
                    if entry.is_symlink():
                        if seen is None:
                            return None
                        target = entry.stat()  # not `st`: that is this folder's own
                        if (target.st_dev, target.st_ino) in seen:
                            continue
                        seen.add((target.st_dev, target.st_ino))
                        ok = False
                    names.append(entry.name + "/")
                    folders.append(f"{rel}{entry.name}/")
                else:
                    names.append(entry.name)
            except OSError:
                names.append("?" + entry.name)
                ok = False
    names.sort()
    old = tree.get(rel)
    # racy by its modification time alone: a later change in it moves both times to that moment,
    # which differs from a listed time older than a tick
    tree[rel] = [
        st.st_mtime_ns,
        too_recent(st.st_mtime_ns, now, st.st_dev),
        "\0".join(names),
        st.st_ino,
        st.st_ctime_ns,
    ]
    if old is not None and old[2] != tree[rel][2]:
        kept = set(folders)
        for name in old[2].split("\0"):
            if name.endswith("/") and f"{rel}{name}" not in kept:
                gone = f"{rel}{name}"
                for key in [k for k in tree if k.startswith(gone)]:
                    del tree[key]
    return ok, folders


def _stale(root: str, tree: dict[str, list]) -> list[str] | None:
    """The listed folders to read again: their time moved, or was too recent to trust, or they
    are gone (their parent, read again first, forgets them), or another folder stands at their
    path (its inode or its ctime differs: one moved there, or one whose time was set back, as
    `cp -a` does, even with the same modification time); None when one cannot be stat-ed."""
    stat = os.stat
    stale = []
    for rel, (mtime, racy, _, ino, ctime) in tree.items():
        try:
            st = stat(root + rel)  # the trailing "/": a file there fails
        except (FileNotFoundError, NotADirectoryError):
            stale.append(rel)
            continue
        except (OSError, ValueError):  # ValueError: a damaged listing's name
            return None
        if racy or st.st_mtime_ns != mtime or st.st_ino != ino or st.st_ctime_ns != ctime:
            stale.append(rel)
    return stale


def _rescan(root: str, tree: dict[str, list], stale: list[str], now: int) -> bool:
    """Read the `stale` folders again, parents first (a folder gone with its parent is skipped);
    False when something could not be read (a walk then)."""
    return all(_scan(root, rel, tree, now, None) for rel in sorted(stale) if rel in tree)


def _damaged(rel: str) -> bool:
    """Whether a listed folder's path cannot be one `_scan` wrote: "" or "a/b/", no empty, "." or
    ".." part (such a path would read another folder than the one listed)."""
    if not rel:
        return False
    if rel[-1] != "/" or rel[0] == "/" or "//" in rel:
        return True
    return "." in rel and any(part in (".", "..") for part in rel.split("/"))


def _tree_digest(tree: dict[str, list]) -> str:
    return _digest([f"{rel}\0{entry[0]}\0{entry[2]}" for rel, entry in tree.items()])


def _save_tree(file: Path, root: str, digest: str, tree: dict[str, list]) -> None:
    """Keep what a stamp of `root` saw (read back by `_read_listing`): the JSON of one object,
    written a thousand folders at a time (the text of 20,000 folders at once, and its bytes, were
    6 MiB more of a cold build's peak, which comes at this stamp or just before it)."""
    from grandirenhlm.files import atomic_path

    head = json.dumps({"version": _TREES_VERSION, "root": root, "digest": digest, "folders": {}})
    folders = iter(tree.items())
    with contextlib.suppress(OSError):
        file.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(file, durable=False) as tmp, tmp.open("wb") as fh:  # a cache
            fh.write(head[:-2].encode())  # up to the folders' "{" (json.dumps writes ASCII)
            separator = ""
            while some := dict(itertools.islice(folders, _SAVED_AT_ONCE)):
                fh.write(f"{separator}{json.dumps(some)[1:-1]}".encode())
                separator = ", "
            fh.write(b"}}")


_SAVED_AT_ONCE = 1000


def _read_listing(file: Path, root: str) -> tuple[str, dict[str, list]] | None:
    """The digest and the tree a listing of `root` saved; None when it is missing, damaged or
    another folder's."""
    try:
        data = json.loads(file.read_bytes())
        if data["version"] != _TREES_VERSION or data["root"] != root:
            return None
        digest, tree = data["digest"], data["folders"]
        if not isinstance(digest, str) or not isinstance(tree, dict) or "" not in tree:
            return None
        for rel, entry in tree.items():
            mtime, racy, names, ino, ctime = entry
            if not (
                isinstance(mtime, int)
                and isinstance(racy, bool)
                and isinstance(names, str)
                and isinstance(ino, int)
                and isinstance(ctime, int)
            ) or _damaged(rel):
                return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return digest, tree


def command_key(*parts: Any) -> str:
    """The key a command's runs are saved under: what it was asked, in a stable spelling."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


class Fingerprints:
    """The saved runs of one project, by command key (a small JSON file)."""

    def __init__(self, cache_dir: Path):
        self.path = cache_dir / FILE
        try:
            data = json.loads(self.path.read_bytes())
            self.entries: dict[str, dict] = data["entries"] if data.get("version") == VERSION else {}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            self.entries = {}  # a damaged or missing file costs one full run

    def match(self, key: str, fingerprint: str, now: datetime) -> dict | None:
        """The entry saved under `key` with this input `fingerprint`, if it is still valid at `now`."""
        entry = self.entries.get(key)
        if not isinstance(entry, dict) or entry.get("inputs") != fingerprint:
            return None
        until = entry.get("valid_until")
        try:
            if until is not None and now >= datetime.fromisoformat(until):
                return None
        except (TypeError, ValueError):
            return None
        return entry if isinstance(entry.get("result"), dict) else None

    def save(self, key: str, entry: dict | None) -> None:
        """Keep `entry` under `key` (None: forget it), atomically; a project folder we cannot write
        only loses speed."""
        from grandirenhlm.files import write_atomic

        if entry is None and self.entries.pop(key, None) is None:
            return
        if entry is not None:
            self.entries[key] = entry
        data = json.dumps({"version": VERSION, "entries": self.entries}, ensure_ascii=False, default=str)
        with contextlib.suppress(OSError):
            write_atomic(self.path, data.encode("utf-8"), durable=False)  # a cache


class Saved:
    """One command's saved run in a project: `unchanged()` before the run answers with the saved
    result when nothing the command reads changed; `remember()` after a successful run saves it.

    `asked` is what the command was asked (its key); `output_stamp` stands for what the run wrote
    (a folder: its manifest file and `tree_stamp`, so that a file deleted there by hand is put back
    by the next run; a bucket: its manifest's ETag): the saved result holds only while that is as
    the run left it."""

    def __init__(self, project: Any, asked: tuple, now: datetime | None = None, reads: Sequence[Path] = ()):
        self.project = project
        self.now = now or datetime.now(UTC)
        self.key = command_key(*asked)
        self.reads = [str(path) for path in reads]  # files or folders read besides the project's
        self.store = Fingerprints(project.cache_dir)
        entry = self.store.entries.get(self.key)
        files = entry.get("files", []) if isinstance(entry, dict) else []
        self.files = [f for f in files if isinstance(f, str)]
        # Everything is stamped before the run reads it: an edit made while it runs is seen next time.
        # The walks are kept, as digests: a later stamp redoes only what the run may have changed.
        self.reads_stamp = self._reads()
        self._code = code_lines()
        self._walked = self._walk_project()
        self.inputs = self._inputs(self.files)

    def _walk_project(self) -> str:
        """The digest of the project's folders' lines: the lines themselves (20,000 at 10,000
        episodes, made among as many short-lived objects of the walk) held 11 MiB of a build's
        memory from its start to its end."""
        p = self.project
        return _digest(folder_lines((p.feeds_dir, p.episodes_dir, p.media_dir, p.templates_dir)))

    def _inputs(self, files: Sequence[str]) -> str:
        from grandirenhlm.config import CONFIG_NAME

        walked = [*self._code, f"project folders\0{self._walked}"]
        return inputs(walked, [str(self.project.root / CONFIG_NAME), *files], {"reads": self.reads_stamp})

    def _reads(self) -> str:
        lines: list[str] = []
        for path in self.reads:
            (_walk if os.path.isdir(path) else lambda p, out: _files([p], out))(path, lines)
        return _digest(lines)

    def loaded(self, catalog: Any) -> None:
        """Call once the catalog is loaded, before anything is rendered from it: the files it names
        outside the project's folders (a cover given by a relative path that leaves them) join
        the stamp now, not after the run."""
        files = sorted(read_outside(self.project, catalog))
        if files != self.files:
            self.files = files
            self.inputs = self._inputs(files)

    def unchanged(self, output_stamp: Callable[[], str] | None = None) -> dict | None:
        """The saved result, or None when the command has to run. `output_stamp` is asked only
        when the inputs match (a bucket is not contacted before the run's own checks)."""
        entry = self.store.match(self.key, self.inputs, self.now)
        if entry is None:
            return None
        stamp = output_stamp() if output_stamp else ""
        return entry["result"] if entry.get("outputs") == stamp else None

    def remember(
        self, result: dict, output_stamp: str = "",
        until: datetime | None = None, wrote_inputs: bool = False, wrote_reads: bool = False,
    ) -> None:  # fmt: skip
        """Save a successful run: its result, what it left, until when the result holds by itself
        (the next scheduled episode). A run that `wrote_inputs` (ingest writes records and media)
        is saved with the project as it left it, and only if the files it read (`reads`) are
        still as they were when it started; one that `wrote_reads` (publish writes the feeds its
        check compares with next time) is saved with them as it left them."""
        if wrote_inputs:
            if self._reads() != self.reads_stamp:
                self.store.save(self.key, None)  # a source changed while it was read
                return
            self._walked = self._walk_project()
            self.inputs = self._inputs(self.files)
        elif wrote_reads:
            self.reads_stamp = self._reads()
            self.inputs = self._inputs(self.files)
        entry = {
            "inputs": self.inputs,
            "outputs": output_stamp,
            "files": self.files,
            "valid_until": until.isoformat() if until else None,
            "result": result,
        }
        self.store.save(self.key, entry)

    @contextlib.contextmanager
    def forgotten_on_failure(self) -> Iterator[None]:
        """A run that fails may have changed what the saved one left: the next one runs in full."""
        try:
            yield
        except BaseException:
            self.store.save(self.key, None)
            raise


def read_outside(project: Any, catalog: Any) -> set[str]:
    """Files the site is made from that lie outside the folders `Saved` walks (a cover or a
    transcript named by an absolute path)."""
    folders = tuple(
        os.path.join(os.path.abspath(f), "")
        for f in (project.feeds_dir, project.episodes_dir, project.media_dir)
    )
    paths: list[Path | None] = [show.image for show in catalog.shows.values() if show is not None]
    for episodes in catalog.episodes.values():
        for e in episodes:
            paths += [e.transcript, e.poster, e.media.path if e.media else None]
            paths += [a.path for a in e.alternates]
    found = (os.path.abspath(p) for p in paths if p is not None)
    return {path for path in found if not path.startswith(folders)}


def next_change(catalog: Any, now: datetime) -> datetime | None:
    """When the site as of `now` changes by itself: the next scheduled episode comes due."""
    due = (
        max(e.pub_date, e.publish_at or e.pub_date)
        for episodes in catalog.episodes.values()
        for e in episodes
        if not e.draft
    )
    return min((d for d in due if d > now), default=None)
