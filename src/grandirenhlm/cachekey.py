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
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any

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
    return hmac.new(key(), data, hashlib.sha256).digest()


def sign(data: bytes) -> bytes:
    """`data` preceded by its MAC (64 hexadecimal digits and a newline)."""
    return mac(data).hex().encode("ascii") + b"\n" + data


def verified(blob: bytes) -> bytes | None:
    """The data of a `sign`ed blob, or None when its MAC is not this user's."""
    tag, newline, data = blob[:64], blob[64:65], blob[65:]
    if newline != b"\n":
        return None
    return data if hmac.compare_digest(tag, mac(data).hex().encode("ascii")) else None


_BLANK_TAG = b"0" * 64 + b"\n"  # where a signed table's MAC goes, written once the lines are


def _json_line(value: Any, default: Callable[[Any], Any] | None) -> bytes:
    # surrogateescape: a path that is not UTF-8 comes back as the same str
    text = json.dumps(value, ensure_ascii=False, default=default)
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
    mac = hmac.new(key(), digestmod=hashlib.sha256)
    with atomic_path(target, durable=False) as tmp, tmp.open("r+b") as fh:
        fh.write(_BLANK_TAG)
        line = _json_line(header, default)
        mac.update(line)
        fh.write(line)
        for name, value in entries:
            line = _json_line([name, value], default)
            mac.update(line)
            fh.write(line)
        fh.seek(0)
        fh.write(mac.hexdigest().encode("ascii"))


def load_table(
    path: Path, object_hook: Callable[[dict], Any] | None = None
) -> tuple[Any, dict[str, Any]] | None:
    """The header and entries of a table `save_table` wrote with this user's key, or None: no file,
    a MAC that is not this user's (checked over the whole file before any line is parsed), a line
    that is not JSON or not a `[key, value]` pair. Later lines replace earlier ones of the same key."""
    try:
        with path.open("rb") as fh:
            tag = fh.read(len(_BLANK_TAG))
            if tag[64:] != b"\n":
                return None
            mac = hmac.new(key(), digestmod=hashlib.sha256)
            while chunk := fh.read(1024 * 1024):
                mac.update(chunk)
            if not hmac.compare_digest(tag[:64], mac.hexdigest().encode("ascii")):
                return None
            fh.seek(len(_BLANK_TAG))
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


def _file_message(path: Path) -> bytes:
    return b"file\0" + os.fsencode(path.name) + b"\0" + sha256_file(path).encode("ascii")


def sign_file(path: Path) -> None:
    """Keep beside a cached file too large to hold in memory (an encode) this user's MAC of its
    name and content, in `<name>.mac`: `file_is_signed` then tells it from a file dropped there."""
    write_atomic(
        path.with_name(path.name + ".mac"), mac(_file_message(path)).hex().encode("ascii"), durable=False
    )


def file_is_signed(path: Path) -> bool:
    """Whether `path` is the very file `sign_file` signed with this user's key (its content hashed
    again: a file replaced since, or one committed with the project, is not)."""
    try:
        tag = path.with_name(path.name + ".mac").read_bytes()
        expected = mac(_file_message(path)).hex().encode("ascii")
    except OSError:
        return False
    return hmac.compare_digest(tag, expected)
