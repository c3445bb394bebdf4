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
EPISODE_ITEMS = 60  # `show_tail`: items before the show's list pages and feed


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


def build_killed_after_writing(project: str, output: str, kind: str) -> dict:
    """`build`, the pages' child killed (as the kernel's OOM killer would) right after it wrote
    into the new folder, before it sent what it wrote: its first feed page (`kind` "feed"), or
    the first other page ("page": the show's last list page). The build makes them again itself."""
    from grandirenhlm.storage.local import EarlyWriter

    parent = os.getpid()
    write_here = EarlyWriter.write_here

    def killed_after(self: EarlyWriter, key: str, data: bytes) -> bool:
        written = write_here(self, key, data)
        if written and os.getpid() != parent and key.endswith(".xml") == (kind == "feed"):
            os.kill(os.getpid(), signal.SIGKILL)
        return written

    EarlyWriter.write_here = killed_after  # type: ignore[method-assign]
    return build(project, output)


def show_tail(folder: str | None = None) -> dict:
    """A show's loop as a cold build drives it (`build_site`): its episodes' items, then its list
    pages and its feed (`build._Tail`), shared with one helper, with a page cache that keeps what
    each side made (the part of `pages.PageCache` it uses): a feed slow to render and many list
    pages. With a `folder`, the cache has a sink writing there (a new output folder's
    `EarlyWriter`)."""
    from pathlib import Path

    from grandirenhlm.artifact import Written
    from grandirenhlm.build import _shared, _Tail
    from grandirenhlm.feed import FeedPage

    parent = os.getpid()
    episodes = tuple(object() for _ in range(30))  # only where each is in the show is sent

    class Sink:
        def __init__(self, root: Path) -> None:
            self.root = root
            self.written_by: dict[str, int] = {}  # key -> the process that wrote it
            self.told: dict[str, str] = {}  # written_here: key -> sha256

        def write_here(self, key: str, data: bytes) -> bool:
            (self.root / key).write_bytes(data)
            (self.root / f"{key}.by").write_text(str(os.getpid()))
            return True

        def written_here(self, key: str, sha256: str) -> None:
            self.told[key] = sha256

        def file(self, key: str) -> Path:
            return self.root / key

    class Cache:
        def __init__(self) -> None:
            self.rendered = 0
            self.capture: list | None = None
            self.adopted: dict[str, str] = {}
            self.sink = Sink(Path(folder)) if folder else None

        def page(self, key: str, make) -> str:
            if key in self.adopted:  # the child made it: handed out, as PageCache.page does
                return self.adopted.pop(key)
            made = make()
            self.rendered += 1
            if self.capture is not None:
                self.capture.append((key, made))
            return made

        def adopt(self, captured: list) -> None:
            self.adopted.update(captured)

    cache = Cache()

    def list_page(i: int):
        return lambda: (f"page-{i}", cache.page(f"page-{i}", lambda: f"{heavy(i)} by {os.getpid()}"))

    def feed_pages() -> list[FeedPage]:
        for i in range(10):
            heavy(i)
        made_by = str(os.getpid()).encode()
        return [FeedPage("feed.xml", made_by, episodes[12:]), FeedPage("feed-1.xml", made_by, episodes[:12])]

    tail = _Tail(cache, [list_page(i) for i in range(COUNT)], feed_pages, episodes)  # type: ignore[arg-type]
    episode_items: list[str | None] = [None] * EPISODE_ITEMS  # an episode's pages: heavy(-1 - i)
    by_child_episodes = []

    def adopt_episode(i: int, made: str) -> None:
        episode_items[i] = made
        by_child_episodes.append(i)

    helper = None
    try:
        for i in range(EPISODE_ITEMS):
            if i == 1:  # as build_site: the show's page made here first, then the fork
                tail.make(0)
                helper = _shared(EPISODE_ITEMS, lambda i: heavy(-1 - i), adopt_episode, tail)
            if helper is not None:
                helper.before(i)
            if episode_items[i] is None:
                episode_items[i] = heavy(-1 - i)
        listed, feeds = tail.made_here(helper, EPISODE_ITEMS)
    finally:
        if helper is not None:
            helper.close()
    if cache.sink is not None:  # written by the child, not sent: each page stands for its file
        files = [f.data for f in feeds]
        feed_by_child = all(
            isinstance(w, Written)
            and w.path == cache.sink.file(f.key)
            and w.path.read_bytes() == (cache.sink.root / f"{f.key}.by").read_text().encode()
            and w.sha256 == hashlib.sha256(w.path.read_bytes()).hexdigest() == cache.sink.told[f.key]
            and w.size == len(w.path.read_bytes())
            and (cache.sink.root / f"{f.key}.by").read_text() != str(parent)
            for f, w in zip(feeds, files, strict=True)
        ) and sorted(cache.sink.told) == sorted(f.key for f in feeds)
    else:
        feed_by_child = all(f.data != str(parent).encode() for f in feeds)
    return {
        "keys": [key for key, _ in listed],
        "right": all(page.startswith(heavy(i)) for i, (_, page) in enumerate(listed)),
        "by_child": sorted(i for i, (_, page) in enumerate(listed) if not page.endswith(f" by {parent}")),
        "feed_by_child": feed_by_child,
        "feed_keys": [f.key for f in feeds],
        "feed_runs": [len(f.episodes) for f in feeds] == [18, 12]
        and all(
            a is b
            for a, b in zip(feeds[0].episodes + feeds[1].episodes, episodes[12:] + episodes[:12], strict=True)
        ),
        "left": cache.adopted,
        "episodes_right": episode_items == [heavy(-1 - i) for i in range(EPISODE_ITEMS)],
        "episodes_by_child": sorted(by_child_episodes),
        "rendered": cache.rendered,
    }


if __name__ == "__main__":
    if sys.argv[1] == "build":
        print(json.dumps(build(sys.argv[2], sys.argv[3])))
    elif sys.argv[1] == "build-killed-after-writing":
        print(json.dumps(build_killed_after_writing(*sys.argv[2:])))
    elif sys.argv[1] == "show-tail":
        print(json.dumps(show_tail(*sys.argv[2:])))
    else:
        print(json.dumps(run(sys.argv[1])))
