"""A local folder as a publish target (the default): what `grandirenhlm serve` serves."""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Sequence
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

from grandirenhlm.storage import MANIFEST_KEY, BytesProgress, Manifest, Progress

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
        # A lexical check (keys are ours, made by `layout`): no system call per key.
        parts = key.split("/")
        if not key or key.startswith("/") or "\\" in key or any(p in ("", ".", "..") for p in parts):
            raise StorageError(f"{self.name}: key {key!r} escapes the target folder")
        return self.root.joinpath(*parts)

    def state(self) -> str:
        return folder_state(self.root, self.cache_dir)

    def read_manifest(self) -> Manifest:
        path = self.root / MANIFEST_KEY
        if not path.is_file():
            return Manifest()
        manifest = Manifest.parse(path.read_bytes(), self.name)
        # Trust the manifest only for files still there with their size: someone may have
        # deleted part of the folder by hand. One stat per file, of a joined string (40,000 of
        # them after a one-record edit at 10,000 episodes: two stats and a Path each were a tenth
        # of that build).
        root = os.path.join(self.root, "")
        kept = {}
        for key, entry in manifest.objects.items():
            try:
                info = os.stat(root + key)
            except (OSError, ValueError):  # ValueError: a NUL in a key of a damaged manifest
                continue
            if stat.S_ISREG(info.st_mode) and info.st_size == entry.get("size"):
                kept[key] = entry
        manifest.objects = kept
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
        elif self.staged:
            write_new(path, data)
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

    def write_manifest(self, data: bytes) -> None:
        try:
            write_atomic(self.root / MANIFEST_KEY, data)
        except OSError as exc:
            raise StorageError(f"{self.name}: cannot write {MANIFEST_KEY}: {exc.strerror}") from exc


def write_folder(
    artifacts: Sequence[Artifact], folder: Path, base_url: str, shows: dict[str, str]
) -> tuple[int, int]:
    """`build`: write the site into `folder`, only the files whose bytes changed since the last
    build or publish there (its manifest says), media first and feeds last; (written, unchanged).
    No lock and nothing deleted: that is what `publish` adds."""
    # A folder that does not exist yet is made beside under another name and renamed into place
    # once complete: nothing half-built is ever seen there, and no file needs a temporary name.
    staging = None if folder.exists() else folder.parent / f".{folder.name}.{os.getpid()}.partial"
    storage = LocalStorage(staging or folder, display_path(folder), staged=staging is not None)
    manifest = storage.read_manifest()
    if manifest.belongs_to_another(shows):
        raise StorageError(_another_project(display_path(folder), manifest))
    known = manifest.objects
    objects = dict(known)
    todo = [
        a
        for a in sorted(artifacts, key=lambda a: (a.stage, a.key))
        if known.get(a.key, {}).get("sha256") != a.sha256 or known[a.key].get("size") != a.size
    ]
    written: list[str] = []

    def done(key: str, size: int) -> None:
        written.append(key)

    try:
        try:
            failed = storage.put_many(todo, done)
        finally:
            by_key = {a.key: a for a in todo}
            for key in written:
                a = by_key[key]
                objects[key] = {"sha256": a.sha256, "size": a.size, "stage": int(a.stage)}
                if a.redirect:
                    objects[key]["redirect"] = a.redirect
            if staging is None and (
                objects != known or manifest.base_url != base_url or manifest.shows != shows
            ):
                storage.write_manifest(Manifest(objects, shows, base_url).dump())
        if failed:
            key, reason = sorted(failed.items())[0]
            raise StorageError(f"{display_path(folder)}: cannot write {key}: {reason}")
        if staging is not None:
            storage.write_manifest(Manifest(objects, shows, base_url).dump())
            _move_into_place(staging, folder)
    except BaseException:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        raise
    return len(written), len(artifacts) - len(todo)


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
