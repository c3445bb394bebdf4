"""Files, one way each: how messages name a path, atomic writes, content hashes.

Every file this program writes is written beside its target under a temporary name and renamed
into place (`os.replace`), so a reader sees the old file or the new one, never half of one; a
failure removes the temporary file. Records, manifests and the media store are `durable` (fsync
before the rename: they survive a power cut); caches are not (losing one costs a recomputation).
The caches live in the project's `CACHE_FOLDER` (`Project.cache_dir`).
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import itertools
import os
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path


def display_path(path: Path) -> str:
    """A path as the user typed it: relative to the working directory when it is below it."""
    cwd = os.getcwd()
    absolute = os.path.abspath(path)
    if absolute.startswith(cwd + os.sep):  # the common case, without a system call per part of the path
        return absolute[len(cwd) + 1 :]
    try:
        return str(path.resolve().relative_to(os.path.realpath(cwd)))
    except ValueError:
        return str(path)


def real_path(path: Path, folders: dict[str, str] | None = None) -> str:
    """`str(path.resolve())` for an existing file. With `folders` (a memo the caller keeps for one
    pass, as the ingest cache does), each folder is resolved once: a batch of 10,000 files in one
    folder resolves it once, not 10,000 times. No memo outlives its pass, so that a long-lived
    process sees a folder link changed since."""
    if os.path.islink(path):
        return str(path.resolve())
    folder = os.path.abspath(path.parent)
    if folders is None:
        return os.path.join(os.path.realpath(folder), path.name)
    real = folders.get(folder)
    if real is None:
        real = folders[folder] = os.path.realpath(folder)
    return os.path.join(real, path.name)


class DisplayPath:
    """`display_path(path)`, computed only when a message is formatted: it resolves two paths, which
    costs more than reading a small record, and most records have nothing to report."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __str__(self) -> str:
        return display_path(self.path)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


_names = itertools.count()
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


def _create_beside(target: Path, suffix: str, made: list[Path]) -> int:
    """A new file in `target`'s folder (made if missing), open for writing; `made` holds its path
    from before it is created, so that the caller's clean-up knows it even when Ctrl-C lands
    right after the creation (Python runs signal handlers as a slow system call returns). The
    name is unique to this process and call; O_EXCL never reuses a file a killed run left."""
    while True:
        made[:] = [target.parent / f".{target.name}.{os.getpid()}-{next(_names)}{suffix}"]
        try:
            return _open_new(made[0])
        except FileExistsError:
            continue


@contextlib.contextmanager
def temporary_beside(target: Path, suffix: str = ".tmp") -> Iterator[Path]:
    """A new empty temporary file in `target`'s folder, removed when the block ends unless it was
    moved into place (`move_into_place`) meanwhile. `suffix` keeps an extension tools need (ffmpeg
    picks its muxer from it)."""
    made: list[Path] = []
    try:
        os.close(_create_beside(target, suffix, made))
        yield made[0]
    finally:
        for tmp in made:
            tmp.unlink(missing_ok=True)


def move_into_place(tmp: Path, target: Path, *, durable: bool = True) -> None:
    """Rename a finished temporary file onto `target` (readable by all, as published files are)."""
    if durable:
        with tmp.open("rb+") as fh:
            os.fsync(fh.fileno())
    os.chmod(tmp, 0o644)
    os.replace(tmp, target)


@contextlib.contextmanager
def atomic_path(target: Path, *, durable: bool = True, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary path beside `target` for the block to write (by any means: ffmpeg, a copy);
    renamed onto `target` when the block ends normally, removed when it raises."""
    made: list[Path] = []
    try:
        os.close(_create_beside(target, suffix, made))
        yield made[0]
        move_into_place(made[0], target, durable=durable)
    except BaseException:
        for tmp in made:
            tmp.unlink(missing_ok=True)
        raise


CACHE_FOLDER = ".grandirenhlm"  # a project's caches: anything in it is made again when it is deleted


def cache_folder(root: Path) -> Path:
    """The cache folder of the project in `root` (`Project.cache_dir`, for code given only a root)."""
    return root / CACHE_FOLDER


def write_atomic(
    target: Path, data: bytes | bytearray | memoryview | Iterable[bytes], *, durable: bool = True
) -> None:
    """Write `data` to `target` atomically (see the module docstring), in as few system calls as
    it takes: a build writes one file per page. `data` may be given in pieces, written as they
    come (a text made as it is written, never whole)."""
    made: list[Path] = []
    try:
        fd = _create_beside(target, ".tmp", made)
        try:
            if isinstance(data, bytes | bytearray | memoryview):  # one piece
                _write_all(fd, data)
            else:
                with open(fd, "wb", buffering=1 << 20, closefd=False) as out:
                    for piece in data:
                        out.write(piece)
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(made[0], target)
    except BaseException:
        for tmp in made:
            tmp.unlink(missing_ok=True)
        raise


def copy_atomic(source: Path, target: Path, *, durable: bool = True) -> None:
    """Copy `source` to `target` atomically, in constant memory."""
    with atomic_path(target, durable=durable) as tmp:
        shutil.copyfile(source, tmp)


def _open_new(target: Path) -> int:
    """A new file, open for writing; its folder is made only when the open says it is missing (a
    site writes into thousands of folders: one system call saved per file)."""
    try:
        return os.open(target, _CREATE, 0o644)
    except FileNotFoundError:
        target.parent.mkdir(parents=True, exist_ok=True)
        return os.open(target, _CREATE, 0o644)


def _write_all(fd: int, data: bytes) -> None:
    """All of `data` to `fd`, readable by all whatever the umask."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.fchmod(fd, 0o644)


def write_new(target: Path, data: bytes, *, replace: bool = False) -> None:
    """Write a new file (it must not exist) straight to its name, its folders made as needed. Only
    inside a folder no one reads until it is complete (a staged build): elsewhere, `write_atomic`.

    `replace`: a file already at that name is replaced, not refused. For the build's own writes
    into its staging folder: such a file was written there by a rendering helper's child killed
    before it told the build (`EarlyWriter.write_here`), which then made that page again."""
    try:
        fd = _open_new(target)
    except FileExistsError:
        if not replace:
            raise
        target.unlink()  # the name, a link included, not what it may point at
        fd = _open_new(target)
    try:
        _write_all(fd, data)
    finally:
        os.close(fd)


def link_or_copy_new(source: Path, target: Path) -> None:
    """Put `source`'s bytes at the new name `target`, its folders made as needed: a hard link
    where both are on one filesystem (no bytes written; the media store's files are never changed
    in place, a new version gets a new name), else a copy. Like `write_new`, only inside a folder
    no one reads until it is complete."""
    try:
        os.link(source, target)
        return
    except FileNotFoundError:
        if not source.exists():
            raise
        target.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            os.link(source, target)
            return
    except OSError:
        pass  # another filesystem, or links refused: copied below
    with open(source, "rb") as src, os.fdopen(_open_new(target), "wb") as out:
        shutil.copyfileobj(src, out, 1024 * 1024)


def record_files(folder: Path) -> list[Path]:
    """The `*.toml` files of a folder that are records (show definitions in `feeds/`, episode
    records in `episodes/<show>/`), sorted. Hidden names are not (an editor's or macOS's
    `._x.toml`), as for the fingerprint; a missing folder has none."""
    try:
        with os.scandir(folder) as entries:
            names = sorted(e.name for e in entries if e.name.endswith(".toml") and e.name[0] != ".")
    except OSError:
        return []
    return [folder / name for name in names]  # by name: the order sorting the paths gives


def sha256_file(path: Path) -> str:
    """Hash a file in constant memory."""
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def outside_project(value: str, base: Path, root: Path) -> str | None:
    """Why the file a record names as `value` (relative to the record's folder `base`) may not be
    published, or None when it lies inside the project `root`.

    A record edited in a pull request or a careless path must never put a file from elsewhere on a
    public bucket (`~/.aws/credentials`): the path must be relative, stay inside the project once
    normalised, not go through a hidden file or folder (`.git`, `.env`, `.grandirenhlm`), and still
    be inside once symbolic links are followed."""
    if os.path.isabs(value) or value.startswith("~"):
        return f"{value!r} is an absolute path; write it relative to the record, inside the project"
    return escapes_project(os.path.abspath(os.path.join(base, value)), root, repr(value))


def escapes_project(
    path: Path | str, root: Path, name: str | None = None, *, not_a_link: bool = False
) -> str | None:
    """Why the absolute `path` lies outside the project `root` (named `name` in the message), or
    None. `build` asks again just before reading, so a symlink changed after `check` is caught.
    `not_a_link`: the caller has just seen (`os.lstat`) that the file itself is not a link (its
    folders are still resolved)."""
    absolute, top = os.path.abspath(path), os.path.abspath(root)
    inside = _inside(absolute, top)
    if inside is None:
        why = "{} leaves the project folder; only files inside the project are published"
    elif _hidden(inside):
        why = "{} is in a hidden file or folder; only the project's own files are published"
    else:
        real = _inside(_realpath(absolute, not_a_link), _realpath(top))
        if real is None:
            why = "{} is a symbolic link to a file outside the project; copy the file into the project"
        elif _hidden(real):
            why = "{} is a symbolic link to a hidden file; copy the file into the project"
        else:
            return None
    return why.format(name or display_path(Path(path)))  # named only when there is a problem


def _hidden(relative: str) -> bool:
    return relative[0] == "." or (os.sep + ".") in relative


_FOLDERS: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("folders", default=None)


@contextlib.contextmanager
def resolving_folders_once() -> Iterator[None]:
    """Within the block, `escapes_project` resolves each folder once (a catalog of 10,000 records
    in one folder: one resolution, not 10,000); the files themselves are still checked for links.
    Scoped to one pass (loading a catalog, checking it before a build): a link changed between
    passes is seen."""
    token = _FOLDERS.set({})
    try:
        yield
    finally:
        _FOLDERS.reset(token)


def _realpath(path: str, not_a_link: bool = False) -> str:
    """`os.path.realpath` of an absolute, normalised path; within `resolving_folders_once`, its
    folder's from the pass's memo (the project root's too: it is asked for every file), and the
    file itself looked at only if it may be a link."""
    known = _FOLDERS.get()
    if known is None:
        return os.path.realpath(path)
    real = known.get(path)
    if real is None:
        folder, _, name = path.rpartition(os.sep)
        parent = known.get(folder)
        if parent is None:
            parent = known[folder] = os.path.realpath(folder or os.sep)
        real = os.path.join(parent, name)
        if not not_a_link and os.path.islink(real):
            real = os.path.realpath(real)
        known[path] = real
    return real


def _inside(path: str, root: str) -> str | None:
    """`path` relative to `root` if it is inside it (not `root` itself), else None (both absolute
    and normalised: a prefix test is exact)."""
    prefix = root if root.endswith(os.sep) else root + os.sep
    return path[len(prefix) :] if path.startswith(prefix) and len(path) > len(prefix) else None
