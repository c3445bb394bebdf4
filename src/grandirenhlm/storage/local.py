"""A local folder as a publish target (the default): what `grandirenhlm serve` serves."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from grandirenhlm.errors import GrandirError, StorageError
from grandirenhlm.files import (
    copy_atomic,
    display_path,
    link_or_copy_new,
    sha256_file,
    write_atomic,
    write_new,
)
from grandirenhlm.lock import LOCK_KEY

if TYPE_CHECKING:
    from grandirenhlm.artifact import Artifact

from grandirenhlm.storage import (
    MANIFEST_KEY,
    BytesProgress,
    Manifest,
    Progress,
    entry_size,
    entry_table,
    manifest_pieces,
    writer,
)

# Errors after which the next object would fail the same way: the run stops at once.
_FATAL_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM)


class LocalStorage:
    def __init__(
        self, root: Path, name: str | None = None, *, staged: bool = False, cache_dir: Path | None = None
    ):
        self.root = root
        self.name = name or str(root)
        self.cache_dir = cache_dir  # the project's cache: where `state()` keeps its listing
        # `staged`: `root` is a new folder no one reads until it is complete and renamed into place
        # (`write_folder`): files are written straight to their names, with no temporary file each.
        self.staged = staged

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*self._parts(key))

    def _parts(self, key: str) -> list[str]:
        """The names along `key`, refused if it would leave the folder. A lexical check (keys
        are ours, made by `layout`): no system call, and no `Path` made when only checked."""
        parts = key.split("/")
        if not key or key.startswith("/") or "\\" in key or any(p in ("", ".", "..") for p in parts):
            raise StorageError(f"{self.name}: key {key!r} escapes the target folder")
        return parts

    def state(self) -> str:
        return folder_state(self.root, self.cache_dir)

    def read_manifest(self, *, compact: bool = False) -> Manifest:
        """`compact`: plain entries held as tuples (`Manifest.parse`)."""
        path = self.root / MANIFEST_KEY
        if not path.is_file():
            return Manifest()
        manifest = Manifest.parse(path.read_bytes(), self.name, compact=compact)
        # Trust the manifest only for files still there with their size: someone may have
        # deleted part of the folder by hand. One stat per file, of a joined string (40,000 of
        # them after a one-record edit at 10,000 episodes: two stats and a Path each were a tenth
        # of that build).
        root = os.path.join(self.root, "")
        gone = []  # dropped after: not a second table of 40,000 entries
        for key, entry in manifest.objects.items():
            try:
                info = os.stat(root + key)
            except (OSError, ValueError):  # ValueError: a NUL in a key of a damaged manifest
                gone.append(key)
                continue
            if not stat.S_ISREG(info.st_mode) or info.st_size != entry_size(entry):
                gone.append(key)
        for key in gone:
            del manifest.objects[key]
        return manifest

    def existing(self, artifacts: Sequence[Artifact]) -> dict[str, dict]:
        """Files already in the folder with the artifact's size and sha256 (hashed to be sure)."""
        found = {}
        for a in artifacts:
            path = self.root / a.key
            try:
                if path.is_file() and path.stat().st_size == a.size and sha256_file(path) == a.sha256:
                    found[a.key] = {"sha256": a.sha256, "size": a.size, "stage": int(a.stage)}
            except OSError:
                continue
        return found

    def abort_incomplete_uploads(self) -> int:
        return 0  # a folder write is one rename: nothing is ever left half-uploaded

    def put_many(
        self, artifacts: Sequence[Artifact], progress: Progress, on_bytes: BytesProgress | None = None
    ) -> dict[str, str]:
        failed: dict[str, str] = {}
        for artifact in artifacts:
            try:
                self._write(self._path(artifact.key), artifact)
            except OSError as exc:
                if exc.errno in _FATAL_ERRNOS:
                    raise StorageError(f"{self.name}: cannot write {artifact.key}: {exc.strerror}") from exc
                failed[artifact.key] = exc.strerror or str(exc)
                continue
            if on_bytes:
                on_bytes(artifact.size)
            progress(artifact.key, artifact.size)
        return failed

    def settings(self, artifact: Artifact) -> None:
        """A folder keeps no upload settings: whatever serves it decides types and caching."""
        return None

    def update_many(self, artifacts: Sequence[Artifact], progress: Progress) -> dict[str, str]:
        for artifact in artifacts:  # never planned (no settings), kept for the protocol
            progress(artifact.key, artifact.size)
        return {}

    def _write(self, path: Path, artifact: Artifact) -> None:
        data = artifact.made()
        if data is None:
            assert artifact.source is not None
            if self.staged:  # a hard link where it can: a new site's media cost no bytes
                link_or_copy_new(artifact.source, path)
            else:
                copy_atomic(artifact.source, path, durable=False)
        elif self.staged:  # a page a killed helper's child left there is replaced (`write_here`)
            write_new(path, data, replace=True)
        else:
            write_atomic(path, data, durable=False)

    def create_lock(self, data: bytes) -> bool:
        # Written beside, then hard-linked into place: the link fails if a lock exists, and a
        # reader never sees a half-written lock.
        path = self.root / LOCK_KEY
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".lock.", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                os.link(tmp, path)
            finally:
                os.unlink(tmp)
        except FileExistsError:
            return False
        except OSError as exc:
            raise StorageError(f"{self.name}: cannot create {LOCK_KEY}: {exc.strerror}") from exc
        return True

    def read_lock(self) -> bytes | None:
        try:
            return (self.root / LOCK_KEY).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageError(f"{self.name}: cannot read {LOCK_KEY}: {exc.strerror}") from exc

    def remove_lock(self) -> None:
        try:
            (self.root / LOCK_KEY).unlink(missing_ok=True)
        except OSError as exc:
            raise StorageError(f"{self.name}: cannot remove {LOCK_KEY}: {exc.strerror}") from exc

    def setup(self, readable=None) -> list[str]:
        raise GrandirError(
            f"{self.name} is a folder; setting up is for storage such as s3:// targets "
            "(serve a folder with `grandirenhlm serve` or any static web server)"
        )

    def delete(self, keys: Sequence[str]) -> None:
        for key in keys:
            path = self._path(key)
            path.unlink(missing_ok=True)
            for parent in path.parents:
                if parent == self.root or any(parent.iterdir()):  # never above the target folder
                    break
                parent.rmdir()

    def write_manifest(self, data: bytes | Iterable[bytes]) -> None:
        """`data`: its bytes, or its pieces as they are made (`manifest_pieces`)."""
        try:
            write_atomic(self.root / MANIFEST_KEY, data)
        except OSError as exc:
            raise StorageError(f"{self.name}: cannot write {MANIFEST_KEY}: {exc.strerror}") from exc


class EarlyWriter:
    """`build` into a folder that does not exist yet: the pages are written into its staging folder
    as the build renders them, by a small process of its own (`storage/writer.py`, which writes
    them with `files.write_new`), so that the kernel's work of making
    tens of thousands of files and folders runs on another core beside the rendering (a thread
    would wait for the interpreter's lock after each system call), and no page is read back from
    the page cache to be written. `write_folder` then writes the rest (media, assets, feeds, pages
    the cache had) and moves the whole into place; nothing is seen at the folder's name before.

    The process starts with the first page (a build whose pages all come from the cache starts
    none), in a session of its own (Ctrl-C reaches the build, which stops it). A page it was not
    handed (it could not start, or it stopped at a failure) is written by `write_folder`."""

    def __init__(self, folder: Path) -> None:
        staging = _staging(folder)
        self.storage = LocalStorage(staging, display_path(folder), staged=True)
        self.sent: dict[str, str] = {}  # key -> sha256 of each page handed to the writer
        self._process: subprocess.Popen | None = None
        self._state = "new"  # new, running, stopped (a failure or `finish`), unavailable
        self._failure: str | None = None
        staging.mkdir(parents=True, exist_ok=True)

    @classmethod
    def for_build(cls, folder: Path) -> EarlyWriter | None:
        """A writer for a new folder; None when it exists (its files are compared, not all written)
        or its staging folder cannot be made (`write_folder` then names the problem)."""
        if folder.exists():
            return None
        try:
            return cls(folder)
        except OSError:
            return None

    def write(self, key: str, sha256: str, data: bytes) -> None:
        """Called by the build for each page it renders: handed to the writer process."""
        self.storage._parts(key)  # a key that would leave the folder is refused here
        if self._state == "new":
            try:
                self._process = subprocess.Popen(
                    writer.command(self.storage.root),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    start_new_session=True,
                )
            except OSError:  # no process to be had: `write_folder` writes every page
                self._state = "unavailable"
                return
            self._state = "running"
        if self._state != "running":
            return
        assert self._process is not None and self._process.stdin is not None
        try:
            self._process.stdin.write(writer.frame(key, data))
            self._process.stdin.write(data)
        except BrokenPipeError:  # the writer stopped at a failure: `finish` says which
            self._state = "stopped"
            return
        self.sent[key] = sha256

    def write_here(self, key: str, data: bytes) -> bool:
        """In a rendering helper's child (`helper.py`): the page written by this process, beside
        the writer's; False, with nothing left at its name, when it cannot be (the build then
        hands it to the writer, whose failure names the problem)."""
        if self._state not in ("new", "running"):
            return False
        try:
            target = self.storage._path(key)
        except StorageError:
            return False
        try:
            write_new(target, data)
        except FileExistsError:  # not ours to remove
            return False
        except OSError:
            with contextlib.suppress(OSError):
                target.unlink()
            return False
        return True

    def written_here(self, key: str, sha256: str) -> None:
        """A page the helper's child wrote (`write_here`)."""
        self.sent[key] = sha256

    def file(self, key: str) -> Path:
        """Where `write_here` wrote `key` (until `write_folder` moves the folder into place)."""
        return self.storage._path(key)

    def finish(self) -> dict[str, str]:
        """Wait for the pages handed over; {key: sha256} of those written. A write that failed is
        raised here, as `write_folder` would have (`StorageError` naming the file). Interrupted
        while waiting, the writer is stopped before the interruption goes on."""
        process = self._process
        if process is not None:
            assert process.stdin is not None and process.stdout is not None
            try:
                with contextlib.suppress(BrokenPipeError):
                    process.stdin.close()
                answer = process.stdout.read().decode("utf-8", "replace")
                status = process.wait()
            except BaseException:
                self._stop()
                raise
            process.stdout.close()
            self._process = None
            self._state = "stopped"
            if status != 0:
                key, _, reason = answer.rstrip("\n").partition("\0")
                why = reason or f"the writer process ended with status {status}"
                self._failure = f"{self.storage.name}: cannot write {key or 'a page'}: {why}"
        if self._failure is not None:
            raise StorageError(self._failure)
        return self.sent

    def _stop(self) -> None:
        """The writer killed and waited for, its pipes closed: nothing writes into the folder after."""
        process, self._process = self._process, None
        self._state = "stopped"
        if process is not None:
            process.kill()
            for stream in (process.stdin, process.stdout):
                with contextlib.suppress(OSError):
                    stream.close()  # type: ignore[union-attr]
            process.wait()

    def abort(self) -> None:
        """After a failure: the writer stopped, then the staging folder removed (a no-op once moved)."""
        self._stop()
        shutil.rmtree(self.storage.root, ignore_errors=True)


def write_folder(
    artifacts: Sequence[Artifact],
    folder: Path,
    base_url: str,
    shows: dict[str, str],
    early: EarlyWriter | None = None,
) -> tuple[int, int]:
    """`build`: write the site into `folder`, only the files whose bytes changed since the last
    build or publish there (its manifest says), media first and feeds last; (written, unchanged).
    No lock and nothing deleted: that is what `publish` adds. `early`: a new folder whose pages
    the build already wrote into its staging folder (`EarlyWriter`)."""
    # A folder that does not exist yet is made beside under another name and renamed into place
    # once complete: nothing half-built is ever seen there, and no file needs a temporary name.
    if early is not None:
        storage, staging = early.storage, early.storage.root
    else:
        staging = None if folder.exists() else _staging(folder)
        storage = LocalStorage(staging or folder, display_path(folder), staged=staging is not None)
    try:
        ahead = early.finish() if early is not None else {}
        # what the folder holds (a new folder: nothing), its entries compact (`Manifest.parse`)
        manifest = storage.read_manifest(compact=True) if early is None else Manifest()
        if manifest.belongs_to_another(shows):
            raise StorageError(_another_project(display_path(folder), manifest))
        known = manifest.objects
        ordered = sorted(artifacts, key=lambda a: (a.stage, a.key))
        by_key = {a.key: a for a in ordered}
        ahead_kept = []
        for key, sha256 in ahead.items():
            a = by_key.get(key)
            if a is not None and a.sha256 == sha256:
                ahead_kept.append(key)
            else:  # not the site's object after all (pages are keyed by their artifact's key)
                storage._path(key).unlink(missing_ok=True)
        kept = set(ahead_kept)
        todo = [a for a in ordered if a.key not in kept and _differs(known.get(a.key), a)]
        written: list[str] = list(ahead_kept)

        def done(key: str, size: int) -> None:
            written.append(key)

        try:
            failed = storage.put_many(todo, done)
        finally:
            if staging is None:  # what was written, over the folder's manifest
                new = {key: _entry(by_key[key]) for key in written}
                if (
                    any(
                        key not in known or entry_table(known[key]) != entry_table(e)
                        for key, e in new.items()
                    )
                    or manifest.base_url != base_url
                    or manifest.shows != shows
                ):
                    entries = ((k, new.get(k) or known[k]) for k in sorted(known.keys() | new.keys()))
                    storage.write_manifest(manifest_pieces(shows, base_url, entries))
        if failed:
            key, reason = sorted(failed.items())[0]
            raise StorageError(f"{display_path(folder)}: cannot write {key}: {reason}")
        if staging is not None:  # every object was written: the manifest lists them all
            entries = ((key, _entry(by_key[key])) for key in sorted(by_key))
            storage.write_manifest(manifest_pieces(shows, base_url, entries))
            _move_into_place(staging, folder)
    except BaseException:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        raise
    return len(written), len(artifacts) - len(todo) - len(ahead_kept)


def _differs(entry: dict | tuple | None, a: Artifact) -> bool:
    """Whether the folder's manifest entry (None: none) is not that of `a`'s bytes."""
    if entry is None:
        return True
    if type(entry) is tuple:
        return entry[0] != a.sha256 or entry[1] != a.size
    return entry.get("sha256") != a.sha256 or entry.get("size") != a.size


def _entry(a: Artifact) -> dict | tuple:
    """What a manifest records of an object written: compact (`storage.PLAIN_ENTRY`'s values,
    written by `manifest_pieces` without a table made for each of 40,000 objects) unless it
    has a redirect."""
    if a.redirect:
        return {"sha256": a.sha256, "size": a.size, "stage": int(a.stage), "redirect": a.redirect}
    return (a.sha256, a.size, int(a.stage))


def _staging(folder: Path) -> Path:
    """Where a folder that does not exist yet is built, beside it under a hidden name."""
    return folder.parent / f".{folder.name}.{os.getpid()}.partial"


def _move_into_place(staging: Path, folder: Path) -> None:
    try:
        os.rename(staging, folder)  # fails if another process made the folder meanwhile (not empty)
    except OSError as exc:
        raise StorageError(
            f"{display_path(folder)}: cannot move the new site into place: {exc.strerror}"
        ) from exc


def _another_project(name: str, manifest: Manifest) -> str:
    from grandirenhlm.storage import another_project

    return another_project(name, manifest)


def folder_state(root: Path, cache_dir: Path | None) -> str:
    """What stands for a folder target or a build's output in a saved run: its manifest as a file
    (size, time, inode: the target's own state, whatever rewrote it, as a bucket's manifest ETag
    stands for a bucket) and the stamp of its names and folders (`fingerprint.tree_stamp`)."""
    from grandirenhlm import fingerprint

    try:
        st = (root / MANIFEST_KEY).stat()
        manifest = f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}"
    except OSError:
        manifest = "no manifest"
    return f"{manifest} {fingerprint.tree_stamp(root, cache_dir)}"


class LocalBackend:
    """A folder (the `file` scheme, the default `public/`): see `storage.Backend`."""

    scheme = "file"
    options = ()

    def open(self, project, target) -> LocalStorage:
        return LocalStorage(project.root / target.url, name=target.url, cache_dir=project.cache_dir)

    def default_base_url(self, target) -> str:
        from grandirenhlm.config import DEFAULT_LOCAL_BASE_URL

        return DEFAULT_LOCAL_BASE_URL

    def is_remote(self, target) -> bool:
        return False  # whatever serves the folder later is the user's business

    def verifier(self, target, base_url: str) -> None:
        return None  # nothing serves the folder yet

    def redirect_note(self, target, base_url: str) -> str | None:
        return (
            "`grandirenhlm serve` answers its URL with a 301 (the manifest records it); another web "
            "server serving this folder needs that redirect in its own configuration"
        )


BACKEND = LocalBackend()
