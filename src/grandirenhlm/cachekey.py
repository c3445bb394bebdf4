"""This user's key for the caches whose contents are trusted without being checked again.

The project folder may come from someone else (a pull request checked out by CI), and
`.grandirenhlm/` with it: `git add -f` commits a git-ignored folder. A cache that hands back
validated values (`episodecache`) must therefore prove that this user's runs wrote it: its bytes
carry an HMAC-SHA256 made with a random key kept outside the project, in the user's cache folder
(`$XDG_CACHE_HOME/grandirenhlm/cache-key`, else `~/.cache/grandirenhlm/cache-key`, mode 0600).
A file without a valid MAC is ignored. Where no key can be kept (no writable home), a key for this
process only is used: nothing is trusted from an earlier run.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from functools import cache
from pathlib import Path

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
