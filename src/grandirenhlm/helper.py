"""A second core for a command's longest loops: a forked process takes a list's items from its end
while the command takes them from its start, until the two meet.

A cold build of 10,000 episodes spent most of its time on two loops, one after the other on one
core (the page writer, `storage/writer.py`, used a fraction of another): reading and checking the
records (`catalog.py`), then rendering three pages per episode
(`build.py`). `TailHelper` forks the command once the first item is done (for pages: the templates
compiled and cached, so the child never writes the template cache beside the build): the child is
the command's own state, so what it makes is byte for byte what the command would have made, and
it sends each item's result back through a pipe, where the command takes it (`adopt`) as if it had
made it itself.

Nothing depends on the child. The build drains the pipe at each item; an item the child has not
claimed is the build's own, an item it has claimed is waited for; if the child stops (an error in
one item, a signal, a kill), every item it did not send is done by the build as usual, so a failure
is raised by the build with its usual message. The two claim items under a lock (`lockf` on a
temporary file, released by the kernel if the child dies holding it) on two integers in shared
memory, so no item is made by both: the child may write an item's files itself. It closes every
descriptor it inherited but its pipe and the lock (the page writer's pipe, the page cache's
database) and ends with `os._exit`.
"""

from __future__ import annotations

import contextlib
import fcntl
import mmap
import os
import pickle
import select
import signal
import struct
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import IO, Any

from grandirenhlm.errors import ConfigError
from grandirenhlm.memory import give_back

ENV = "GRANDIRENHLM_JOBS"  # 1: no helper; unset: a helper where there are two cores
_FRONT, _BACK = 0, 1  # shared ints: the build's next item, the last item the child claimed
_HEADER = struct.Struct("<iQ")  # item index (-1: the child stopped), pickled result's length
_PIPE_SIZE = 1 << 20

# Items the helpers of this process made, by the name their loop gave (what a test or a profile
# reads to see that a helper ran: the output is the same either way).
made: Counter[str] = Counter()


def wanted() -> bool:
    """Whether a helper may be started: two cores to run on, fork, and not turned off by `ENV`
    (a value that is not a whole number of at least 1 is a `ConfigError`)."""
    setting = os.environ.get(ENV, "").strip()
    if setting:
        if not (setting.isascii() and setting.isdigit() and int(setting) >= 1):
            raise ConfigError(f"{ENV}={setting!r}: not a number of processes (1: no second process)")
        if int(setting) < 2:
            return False
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return cores >= 2 and hasattr(os, "fork")


class TailHelper:
    """Items `0..count-1`: the caller calls `before(i)` for each `i` in order, then does item `i`;
    the results of items the child made are handed to `adopt(i, result)` before that call returns.
    `close()` (or the `with` block's end) stops and reaps the child."""

    def __init__(
        self, pid: int, fd: int, lock: IO[bytes], shared: memoryview, memory: mmap.mmap, adopt, name: str = ""
    ) -> None:
        self.name = name
        self._pid: int | None = pid
        self._fd: int | None = fd
        self._lock = lock
        self._shared = shared
        self._memory = memory
        self._adopt = adopt
        self._buffer = bytearray()
        self._received: set[int] = set()
        self._ended = False  # the child sent its last item or its pipe closed

    @classmethod
    def start(
        cls, count: int, work: Callable[[int], Any], adopt: Callable[[int, Any], None], name: str = ""
    ) -> TailHelper | None:
        """Fork a child that runs `work(i)` for items from `count - 1` down to 1 (item 0 is done:
        the first `before` is `before(1)`); None when no helper can be had (other threads running,
        fork refused). The caller asks `wanted()` first."""
        if count < 3 or threading.active_count() > 1:
            return None  # forking a process with other threads can copy a lock another one holds
        give_back()  # the child starts with a copy of this process's resident memory: none freed
        memory = mmap.mmap(-1, mmap.PAGESIZE)  # anonymous and shared with the child
        shared = memoryview(memory).cast("i")
        shared[_FRONT], shared[_BACK] = 1, count
        pipe: tuple[int, int] | None = None
        lock = None
        try:
            lock = tempfile.TemporaryFile()  # noqa: SIM115  # closed by `close()`
            pipe = os.pipe()
            with contextlib.suppress(OSError, AttributeError):
                fcntl.fcntl(pipe[1], fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
            pid = os.fork()
        except OSError:
            for fd in pipe or ():
                os.close(fd)
            if lock is not None:
                lock.close()
            shared.release()
            memory.close()
            return None
        if pid == 0:  # the child: never returns
            _child(count, work, pipe[1], lock.fileno(), shared)
        os.close(pipe[1])
        os.set_blocking(pipe[0], False)
        return cls(pid, pipe[0], lock, shared, memory, adopt, name)

    def before(self, i: int) -> None:
        """The build is about to do item `i`: take what the child sent; when `i` is the child's,
        wait for it (or for the child to stop: then the build does it)."""
        self._drain(block=False)
        if i in self._received or self._ended:
            return
        with _held(self._lock.fileno()):
            mine = i < self._shared[_BACK]
            if mine:
                self._shared[_FRONT] = i + 1
        while not mine and i not in self._received and not self._ended:
            self._drain(block=True)

    def _drain(self, block: bool) -> None:
        if self._fd is None:
            return
        if block:
            select.select([self._fd], [], [])
        while True:
            try:
                chunk = os.read(self._fd, _PIPE_SIZE)
            except BlockingIOError:
                break
            if not chunk:  # the child ended
                self._ended = True
                break
            self._buffer += chunk
        self._take_frames()

    def _take_frames(self) -> None:
        buffer = self._buffer
        start = 0
        while len(buffer) - start >= _HEADER.size:
            index, size = _HEADER.unpack_from(buffer, start)
            end = start + _HEADER.size + size
            if len(buffer) < end:
                break
            if index < 0:
                self._ended = True
            else:
                self._received.add(index)
                # unpickled from the buffer in place: a slice of it would be a copy (a show's
                # feed is one item: 8.6 MB more at 10,000 episodes, at the build's peak)
                with memoryview(buffer) as view:
                    result = pickle.loads(view[start + _HEADER.size : end])
                self._adopt(index, result)
                made[self.name] += 1
            start = end
        if start == len(buffer):  # all taken: let its memory go (`del` keeps it for the rest)
            self._buffer = bytearray()
        else:
            del buffer[:start]

    def close(self) -> None:
        """Stop the child (done or not) and reap it."""
        if self._pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self._pid, 0)
            self._pid = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._lock.close()
        self._shared.release()
        self._memory.close()
        self._buffer = bytearray()
        give_back()  # what the loop's items were made and taken with

    def __enter__(self) -> TailHelper:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _child(count: int, work: Callable[[int], Any], fd: int, lock: int, shared: memoryview) -> None:
    """The forked child's whole life: items from the end while the build has not claimed them."""
    code = 0
    try:
        low, high = sorted((fd, lock))
        with contextlib.suppress(OSError):
            os.closerange(3, low)
            os.closerange(low + 1, high)
            os.closerange(high + 1, os.sysconf("SC_OPEN_MAX"))
        while True:
            with _held(lock):
                j = shared[_BACK] - 1
                if j < shared[_FRONT]:
                    break
                shared[_BACK] = j
            data = pickle.dumps(work(j), protocol=pickle.HIGHEST_PROTOCOL)
            _write_all(fd, _HEADER.pack(j, len(data)))  # not joined: a copy of a feed's 8.6 MB
            _write_all(fd, data)
        _write_all(fd, _HEADER.pack(-1, 0))
    except BaseException:  # an error in one item, Ctrl-C, a closed pipe: the build does the rest
        code = 1
    finally:
        os._exit(code)


@contextlib.contextmanager
def _held(fd: int) -> Iterator[None]:
    fcntl.lockf(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.lockf(fd, fcntl.LOCK_UN)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
