"""`memory.give_back`: the C heap's free memory goes back to the system between a command's phases."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests.support import REPO

SCRIPT = textwrap.dedent(
    """
    import os
    from grandirenhlm.memory import give_back

    def resident() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    # 40 MB in blocks too large for Python's own allocator (the C library's), one in fifty kept:
    # what is freed lies between live blocks, below the top of the heap, where free() keeps it
    blocks = [bytes(2000) + i.to_bytes(4, "little") for i in range(20000)]
    kept = blocks[49::50] + [blocks[-1]]
    del blocks
    before = resident()
    give_back()
    after = resident()
    give_back()  # again: harmless
    print(before - after, sum(map(len, kept)))
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim, /proc")
def test_freed_memory_between_live_blocks_goes_back_to_the_system():
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, cwd=REPO, timeout=120, check=True
    )
    returned, kept = map(int, done.stdout.split())
    assert kept == 401 * 2004  # the live blocks are untouched
    assert returned > 20 * 2**20, f"only {returned} bytes went back"
