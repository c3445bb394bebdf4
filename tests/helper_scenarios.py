"""`helper.TailHelper` driven as a command drives it, in a process of its own:
`python -m tests.helper_scenarios NAME` prints what happened as one JSON object.

A process of its own because the helper forks only a process that runs no other thread, and a
test session may hold some (a server fixture of another module): run inside it, the helper would
rightly not start and the scenario would test nothing."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sys

from grandirenhlm.helper import TailHelper

COUNT = 400


def heavy(i: int) -> str:
    """An item's work: long enough (a few milliseconds) that the child has time to take some."""
    data = str(i).encode()
    for _ in range(2000):
        data = hashlib.sha256(data).digest()
    return data.hex()


def failing_at(failing: int):
    def work(i: int) -> str:
        if i == failing:
            raise ValueError("boom")
        return heavy(i)

    return work


def killed_at(killed: int):
    def work(i: int) -> str:
        if i == killed:
            os.kill(os.getpid(), signal.SIGKILL)
        return heavy(i)

    return work


SCENARIOS = {
    "plain": (heavy, None),
    "failing": (failing_at(COUNT - 3), None),
    "killed": (killed_at(COUNT - 5), None),
    "build-fails": (heavy, 5),
}


def run(name: str) -> dict:
    """The loop a command runs: item 0 first, the helper started before item 1, `before(i)`, then
    the item itself unless the child sent it."""
    work, stops_at = SCENARIOS[name]
    own: dict[int, str] = {0: heavy(0)}
    adopted: dict[int, str] = {}
    twice: list[int] = []

    def adopt(i: int, result: str) -> None:
        if i in adopted or i in own:
            twice.append(i)
        adopted[i] = result

    helper = TailHelper.start(COUNT, work, adopt)
    error = None
    if helper is not None:
        try:
            with helper:
                for i in range(1, COUNT):
                    if i == stops_at:
                        raise RuntimeError("the build failed")
                    helper.before(i)
                    if i not in adopted:
                        own[i] = heavy(i)
        except RuntimeError as exc:
            error = str(exc)
    try:
        os.waitpid(-1, os.WNOHANG)
        reaped = False  # a child is left
    except ChildProcessError:
        reaped = True
    return {
        "started": helper is not None,
        "own": sorted(own),
        "adopted": sorted(adopted),
        "twice": twice,
        "adopted_right": all(adopted[i] == heavy(i) for i in adopted),
        "error": error,
        "reaped": reaped,
    }


def build(project: str, output: str) -> dict:
    """A cold build of `project` into `output` through the library, and what the helpers made."""
    from pathlib import Path

    from grandirenhlm import helper, site

    result = site.build(site.open_project(Path(project)), Path(output))
    return {"written": result.written, "made": dict(helper.made)}


if __name__ == "__main__":
    if sys.argv[1] == "build":
        print(json.dumps(build(sys.argv[2], sys.argv[3])))
    else:
        print(json.dumps(run(sys.argv[1])))
