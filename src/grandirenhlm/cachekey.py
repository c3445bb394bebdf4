"""This user's key for the caches whose contents are trusted without being checked again.

The project folder may come from someone else (a pull request checked out by CI), and
`.grandirenhlm/` with it: `git add -f` commits a git-ignored folder. A cache that hands back
validated values (`episodecache`) must therefore prove that this user's runs wrote it: its bytes
carry an HMAC-SHA256 made with a random key kept outside the project, in the user's cache folder
(`$XDG_CACHE_HOME/grandirenhlm/cache-key`, else `~/.cache/grandirenhlm/cache-key`, mode 0600).
A file without a valid MAC is ignored. Where no key can be kept (no writable home), a key for this
process only is used: nothing is trusted from an earlier run.

Large caches are signed tables (`save_table`, `load_table`): one JSON line per entry, written and
hashed a line at a time, so that saving or loading 10,000 entries never holds the whole file as one
string (a single `json.dumps` of the table, then its encoding and its signed copy, tripled a cold
build's memory for that moment).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO

from grandirenhlm.files import atomic_path, sha256_file, write_atomic

_KEY_BYTES = 32


def _key_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "grandirenhlm" / "cache-key"


@cache
def key() -> bytes:
    """The user's key, made on first use."""
    path = _key_file()
    try:
        data = path.read_bytes()
        if len(data) == _KEY_BYTES:
            return data
    except OSError:
        pass
    new = secrets.token_bytes(_KEY_BYTES)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
    except FileExistsError:  # another run made it meanwhile (or a damaged one is there: use ours)
        try:
            data = path.read_bytes()
        except OSError:
            return new
        return data if len(data) == _KEY_BYTES else new
    except OSError:
        return new  # no writable home: this process only
    with os.fdopen(fd, "wb") as fh:
        fh.write(new)
    return new


def mac(data: bytes) -> bytes:
    """The HMAC-SHA256 of `data` with the user's key (32 bytes): what every signed cache keeps."""
    keyed = _keyed().copy()  # the key's padded blocks hashed once, not once per message
    keyed.update(data)
    return keyed.digest()


@cache
def _keyed() -> hmac.HMAC:
    """An HMAC-SHA256 with the user's key and no message yet, to copy: 1.6 us a message against
    3.8 us for `hmac.new` (timeit; a build checks or makes 40,000: a row of the page store and an
    item of the feed store each)."""
    return hmac.new(key(), digestmod=hashlib.sha256)


def _message(data: bytes, name: str | None) -> bytes:
    return data if name is None else b"named\0" + os.fsencode(name) + b"\0" + data


def sign(data: bytes, name: str | None = None) -> bytes:
    """`data` preceded by its MAC (64 hexadecimal digits and a newline). With `name`, the name of
    the file it is kept in is under the MAC too: the same bytes moved under another name are not
    believed (`verified` with that name)."""
    return mac(_message(data, name)).hex().encode("ascii") + b"\n" + data


def verified(blob: bytes, name: str | None = None) -> bytes | None:
    """The data of a `sign`ed blob (signed with the same `name`), or None when its MAC is not this
    user's."""
    tag, newline, data = blob[:64], blob[64:65], blob[65:]
    if newline != b"\n":
        return None
    return data if hmac.compare_digest(tag, mac(_message(data, name)).hex().encode("ascii")) else None


_BLANK_TAG = b"0" * 64 + b"\n"  # where a signed table's MAC goes, written once the lines are


class Encoded(str):
    """A table entry's value given as the JSON text that encodes it (made by the caller with
    `json.dumps`), which its line holds as it is: a value already made as text is not parsed back
    to be encoded again."""


def encoded_list(values: Iterable[Any]) -> Encoded:
    """A list's JSON text, each `Encoded` value put in as it is and the others encoded: an entry
    whose table was kept as text in the run is not parsed back to be encoded again."""
    return Encoded("[" + ", ".join(v if type(v) is Encoded else _encode(v) for v in values) + "]")


_encode = json.JSONEncoder(ensure_ascii=False).encode  # json.dumps(v, ensure_ascii=False), made once


def _json_line(value: Any, default: Callable[[Any], Any] | None) -> bytes:
    return _line(json.dumps(value, ensure_ascii=False, default=default))


def _entry_line(name: str, value: Any, default: Callable[[Any], Any] | None) -> bytes:
    """An entry's line, `[name, value]`; an `Encoded` value is put in as it is."""
    if type(value) is Encoded:
        return _line(f"[{json.dumps(name, ensure_ascii=False)}, {value}]")
    return _json_line([name, value], default)


def _line(text: str) -> bytes:
    # surrogateescape: a path that is not UTF-8 comes back as the same str
    return text.encode("utf-8", "surrogateescape") + b"\n"


def save_table(
    target: Path,
    header: dict[str, Any],
    entries: Iterable[tuple[str, Any]],
    default: Callable[[Any], Any] | None = None,
) -> None:
    """Write a signed table to `target` atomically (not fsynced: a cache): the `header`, then one
    `[key, value]` per entry, each one line of JSON (`default` encodes what JSON lacks), preceded by
    the MAC of all the lines, as `sign` would. Each line is made, hashed and written before the next."""
    _write_table(target, header, None, entries, default)


def append_table(
    target: Path,
    header: dict[str, Any],
    entries: Iterable[tuple[str, Any]],
    default: Callable[[Any], Any] | None = None,
) -> bool:
    """`save_table` of the table at `target` with `header` for its own and `entries` after its
    lines (a later line replaces an earlier one of the same key): its lines are copied as they are,
    not encoded again, once its MAC is checked (a copy, not an append in place: a reader sees the old
    table or the new one). False, and nothing written, when `target` is not a table of this user's."""
    try:
        with target.open("rb") as old:
            if not _signed(old) or not old.readline().endswith(b"\n"):  # its header: replaced
                return False
            _write_table(target, header, old, entries, default)
    except FileNotFoundError:
        return False
    return True


def _write_table(
    target: Path,
    header: dict[str, Any],
    lines: BinaryIO | None,
    entries: Iterable[tuple[str, Any]],
    default: Callable[[Any], Any] | None,
) -> None:
    """The header, what is left of `lines` (another table's entries), then the entries."""
    mac = _keyed().copy()
    with atomic_path(target, durable=False) as tmp, tmp.open("r+b") as fh:
        fh.write(_BLANK_TAG)
        line = _json_line(header, default)
        mac.update(line)
        fh.write(line)
        while lines is not None and (chunk := lines.read(1024 * 1024)):
            mac.update(chunk)
            fh.write(chunk)
        for name, value in entries:
            line = _entry_line(name, value, default)
            mac.update(line)
            fh.write(line)
        fh.seek(0)
        fh.write(mac.hexdigest().encode("ascii"))


def _signed(fh: BinaryIO) -> bool:
    """Whether the table open in `fh` carries this user's MAC over all its lines (read before any is
    parsed); `fh` is left at its first line."""
    tag = fh.read(len(_BLANK_TAG))
    if tag[64:] != b"\n":
        return False
    mac = _keyed().copy()
    while chunk := fh.read(1024 * 1024):
        mac.update(chunk)
    fh.seek(len(_BLANK_TAG))
    return hmac.compare_digest(tag[:64], mac.hexdigest().encode("ascii"))


def load_table(
    path: Path, object_hook: Callable[[dict], Any] | None = None
) -> tuple[Any, dict[str, Any]] | None:
    """The header and entries of a table `save_table` wrote with this user's key, or None: no file,
    a MAC that is not this user's (checked over the whole file before any line is parsed), a line
    that is not JSON or not a `[key, value]` pair. Later lines replace earlier ones of the same key."""
    try:
        with path.open("rb") as fh:
            if not _signed(fh):
                return None
            header = json.loads(fh.readline().decode("utf-8", "surrogateescape"), object_hook=object_hook)
            entries: dict[str, Any] = {}
            for line in fh:
                pair = json.loads(line.decode("utf-8", "surrogateescape"), object_hook=object_hook)
                if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
                    return None
                entries[pair[0]] = pair[1]
    except (OSError, ValueError, RecursionError):
        return None
    return header, entries


def read_regular(path: Path, limit: int) -> bytes | None:
    """The bytes of `path` if it is a regular file, not a link, of at most `limit` bytes; else
    None. A cache folder may come from someone else: a link there to /dev/zero or to a huge file
    must cost nothing."""
    flags = (
        os.O_RDONLY
        | getattr(os, "O_NOFOLLOW", 0)
        | getattr(os, "O_NONBLOCK", 0)
        | getattr(os, "O_CLOEXEC", 0)
    )
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        data = fh.read(limit + 1)
    return data if len(data) <= limit else None


def read_named(path: Path, limit: int) -> bytes | None:
    """The data of a file written as `sign(data, name=path.name)` by this user's runs, or None (no
    file, a link, larger than `limit`, another MAC or another name)."""
    blob = read_regular(path, limit + len(_BLANK_TAG))
    return None if blob is None else verified(blob, path.name)


def _file_message(name: str, content: Path) -> bytes:
    return b"file\0" + os.fsencode(name) + b"\0" + sha256_file(content).encode("ascii")


def sign_file(path: Path, name: str | None = None) -> None:
    """Keep beside a cached file too large to hold in memory (an encode) this user's MAC of its
    name and content, in `<name>.mac`: `file_is_signed` then tells it from a file dropped there.
    `name`: the name `path` (a temporary file) is about to be renamed to, so that the MAC is
    there before the file is."""
    name = name or path.name
    tag = mac(_file_message(name, path)).hex().encode("ascii")
    write_atomic(path.with_name(name + ".mac"), tag, durable=False)


def file_is_signed(path: Path) -> bool:
    """Whether `path` is the very file `sign_file` signed with this user's key under this name (its
    content hashed again: a file replaced since, or one committed with the project, is not)."""
    tag = read_regular(path.with_name(path.name + ".mac"), 64)
    if tag is None or len(tag) != 64:
        return False
    try:
        expected = mac(_file_message(path.name, path)).hex().encode("ascii")
    except OSError:
        return False
    return hmac.compare_digest(tag, expected)
