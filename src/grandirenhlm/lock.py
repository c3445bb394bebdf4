"""One publish at a time per target: a lock object (`.grandirenhlm/lock.json`) in the target.

The lock is created atomically (`If-None-Match: *` on S3, `O_EXCL` in a folder), holds who took
it (host, pid and pid namespace, start time, a random token) and is removed at the end of the run. A second publish
stops with a message naming the holder, or waits for it with `--wait`. A lock left by a crashed
process on this host (its pid is gone) is taken over with a note; one from another host cannot be
judged from here, so the message says how old it is and that `--break-lock` removes it.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from grandirenhlm.errors import StorageError

LOCK_KEY = ".grandirenhlm/lock.json"
POLL_SECONDS = 1.0


class Lockable(Protocol):
    name: str

    def create_lock(self, data: bytes) -> bool:
        """Create the lock object if there is none; False if one exists already."""
        ...

    def read_lock(self) -> bytes | None: ...

    def remove_lock(self) -> None: ...


def pid_space() -> str:
    """Where a pid means this process table: the kernel's boot id and the pid namespace.

    Two containers can share a host name (or a kernel) and still not see each other's pids; only
    when both match is "no such pid" proof that the lock's owner is gone.
    """
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        return f"{boot}:{os.stat('/proc/self/ns/pid').st_ino}"
    except OSError:
        return ""  # not Linux: never judged dead here, --break-lock decides


@dataclass(frozen=True)
class LockInfo:
    host: str
    pid: int
    started: str  # ISO 8601, UTC
    token: str
    pid_space: str = ""

    @classmethod
    def for_this_process(cls) -> LockInfo:
        now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        return cls(socket.gethostname(), os.getpid(), now, uuid.uuid4().hex, pid_space())

    @classmethod
    def parse(cls, raw: bytes) -> LockInfo | None:
        try:
            data = json.loads(raw)
            return cls(
                str(data["host"]), int(data["pid"]), str(data["started"]), str(data["token"]),
                str(data.get("pid_space", "")),
            )  # fmt: skip
        except (ValueError, KeyError, TypeError, AttributeError):
            return None  # damaged: treated as a lock of unknown origin

    def dump(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()

    def describe(self, now: datetime | None = None) -> str:
        age = ""
        with contextlib.suppress(ValueError):
            started = datetime.fromisoformat(self.started.replace("Z", "+00:00"))
            minutes = int(((now or datetime.now(UTC)) - started).total_seconds() // 60)
            age = f", {minutes} min ago"
        return f"pid {self.pid} on {self.host}, started {self.started}{age}"

    def _alive_here(self) -> bool | None:
        """Whether the holder runs on this host: True, False, or None when it cannot be told
        from here (another host, container or pid namespace)."""
        here = pid_space()
        if self.host != socket.gethostname() or not here or self.pid_space != here or self.pid <= 0:
            return None
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True  # alive, owned by someone else
        return True

    def is_alive_here(self) -> bool:
        """A lock taken on this host by a process that still exists."""
        return self._alive_here() is True

    def is_dead_here(self) -> bool:
        """A lock taken on this host by a process that no longer exists (crashed or killed)."""
        return self._alive_here() is False


@contextlib.contextmanager
def publish_lock(
    storage: Lockable,
    *,
    wait_seconds: float = 0.0,
    break_lock: bool = False,
    log: Callable[[str], None] = lambda line: None,
) -> Iterator[LockInfo]:
    """Hold the target's lock for the duration of the block; raise `StorageError` if another
    publish holds it (after waiting up to `wait_seconds`)."""
    mine = LockInfo.for_this_process()
    deadline = time.monotonic() + wait_seconds
    announced = False
    while True:
        if storage.create_lock(mine.dump()):
            # Read back: a provider that ignores If-None-Match lets the last writer win.
            if (raw := storage.read_lock()) is not None and LockInfo.parse(raw) == mine:
                break
            continue
        raw = storage.read_lock()
        if raw is None:
            continue  # released between our attempt and the read
        held = LockInfo.parse(raw)
        what = held.describe() if held else "a damaged lock file"
        if break_lock and held is not None and held.is_alive_here():
            raise StorageError(
                f"{storage.name}: --break-lock: the lock is held by {what}, which is still running "
                "on this host; let it finish (--wait SECONDS) or stop that process first"
            )
        if break_lock:
            log(f"note: breaking the lock held by {what}")
            storage.remove_lock()
            break_lock = False
            continue
        if held is not None and held.is_dead_here():
            log(f"note: taking over the lock left by {what}: that process is gone")
            storage.remove_lock()
            continue
        if time.monotonic() >= deadline:
            how = f"waited {wait_seconds:g} s; " if wait_seconds else "use --wait SECONDS to wait for it; "
            raise StorageError(
                f"{storage.name}: another publish is running ({what}); {how}"
                f"if it crashed, run again with --break-lock"
            )
        if not announced:
            log(f"waiting for the publish of {what}")
            announced = True
        time.sleep(POLL_SECONDS)
    try:
        yield mine
    finally:
        _release(storage, mine, log)


def _release(storage: Lockable, mine: LockInfo, log: Callable[[str], None]) -> None:
    try:
        raw = storage.read_lock()
        if raw is not None and LockInfo.parse(raw) == mine:
            storage.remove_lock()
    except StorageError as exc:
        # The run's own outcome matters more; a lock left behind is taken over by the next run
        # on this host, or removed with --break-lock.
        log(f"warning: could not remove the lock: {exc}")
