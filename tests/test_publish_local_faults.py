"""A local folder target: the publish lock against real processes, stale and foreign locks, and a
folder that cannot take the next byte (RLIMIT_FSIZE in a child process, the kernel answering EFBIG).
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest

from grandirenhlm.lock import LOCK_KEY, LockInfo, pid_space
from grandirenhlm.storage import MANIFEST_KEY
from tests.support import REPO, assert_clean_error, make_mp3, run_cli

HOLDER = """
import sys
from pathlib import Path
from grandirenhlm.lock import publish_lock
from grandirenhlm.storage.local import LocalStorage

with publish_lock(LocalStorage(Path(sys.argv[1]), name="public")):
    print("locked", flush=True)
    sys.stdin.read()  # until the test closes our stdin
"""


def hold_lock(folder: Path) -> subprocess.Popen:
    """Another process holding the target's lock, as a running publish does."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(folder)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
    )
    assert holder.stdout.readline().strip() == "locked"
    return holder


def release(holder: subprocess.Popen) -> None:
    holder.stdin.close()
    holder.wait(timeout=30)


def write_lock(public: Path, **fields) -> LockInfo:
    here = {"host": socket.gethostname(), "pid_space": pid_space()}
    info = LockInfo(**{**here, "pid": 1, "started": "2026-01-02T03:04:05Z", "token": "x", **fields})
    (public / LOCK_KEY).parent.mkdir(parents=True, exist_ok=True)
    (public / LOCK_KEY).write_bytes(info.dump())
    return info


def dead_pid() -> int:
    """The pid of a process of this host that has exited."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_running_publish_stops_the_second_one(demo_project: Path):
    public = demo_project / "public"
    holder = hold_lock(public)
    try:
        result = run_cli(demo_project, "publish")
        assert_clean_error(
            result,
            f"error: public: another publish is running (pid {holder.pid} on {socket.gethostname()}, "
            "started ",
            "use --wait SECONDS to wait for it; if it crashed, run again with --break-lock",
        )
        assert len(result.stderr.splitlines()) == 1
        assert sorted(p.name for p in public.rglob("*") if p.is_file()) == ["lock.json"]
        assert "PUT    index.html" in run_cli(demo_project, "publish", "--dry-run").stdout  # reads only
        timed_out = run_cli(demo_project, "publish", "--wait", "1", "--quiet")
        assert_clean_error(timed_out, "another publish is running", "waited 1 s; if it crashed")
    finally:
        release(holder)
    assert not (public / LOCK_KEY).exists()


def test_wait_lets_the_running_publish_finish_first(demo_project: Path):
    public = demo_project / "public"
    holder = hold_lock(public)
    waiter = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "grandirenhlm",
            "--project",
            str(demo_project),
            "publish",
            "--wait",
            "60",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    first_line = waiter.stderr.readline()  # blocks until the waiter reports it is waiting
    assert first_line.startswith(f"waiting for the publish of pid {holder.pid} on "), first_line
    assert waiter.poll() is None and not (public / "grandir-en-hlm" / "feed.xml").exists()
    release(holder)
    out, err = waiter.communicate(timeout=120)
    assert waiter.returncode == 0, err
    assert json.loads(out)["uploaded"] > 0
    assert (public / "grandir-en-hlm" / "feed.xml").is_file() and not (public / LOCK_KEY).exists()


def test_a_no_op_publish_needs_no_lock(demo_project: Path):
    assert run_cli(demo_project, "publish", "--quiet").exit_code == 0
    holder = hold_lock(demo_project / "public")
    try:
        result = run_cli(demo_project, "publish", "--json")
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout)["uploaded"] == 0  # nothing to write: nothing to wait for
    finally:
        release(holder)


def test_a_lock_left_by_a_dead_process_here_is_taken_over(demo_project: Path):
    public = demo_project / "public"
    pid = dead_pid()
    write_lock(public, pid=pid)
    result = run_cli(demo_project, "publish", "--json")
    assert result.exit_code == 0, result.stderr
    assert f"note: taking over the lock left by pid {pid} on {socket.gethostname()}" in result.stderr
    assert not (public / LOCK_KEY).exists()
    assert (public / "grandir-en-hlm" / "feed.xml").is_file()


def test_a_dead_pid_of_another_container_with_our_host_name_is_not_trusted(demo_project: Path):
    """Same host name, another pid namespace: "no such pid" here says nothing about that process."""
    public = demo_project / "public"
    write_lock(public, pid=dead_pid(), pid_space="another-boot:4026531836")
    assert_clean_error(run_cli(demo_project, "publish"), "another publish is running", "--break-lock")
    assert (public / LOCK_KEY).exists()


def test_a_lock_from_another_host_needs_break_lock(demo_project: Path):
    public = demo_project / "public"
    write_lock(public, host="ci-runner-7", pid=4242)
    refused = run_cli(demo_project, "publish")
    assert_clean_error(
        refused,
        "error: public: another publish is running (pid 4242 on ci-runner-7, started 2026-01-02T03:04:05Z, ",
        "min ago); use --wait SECONDS",
        "run again with --break-lock",
    )
    broken = run_cli(demo_project, "publish", "--break-lock", "--json")
    assert broken.exit_code == 0, broken.stderr
    assert "note: breaking the lock held by pid 4242 on ci-runner-7" in broken.stderr
    assert not (public / LOCK_KEY).exists()


def test_a_damaged_lock_is_named_and_can_be_broken(demo_project: Path):
    public = demo_project / "public"
    (public / LOCK_KEY).parent.mkdir(parents=True)
    (public / LOCK_KEY).write_bytes(b"{not json")
    assert_clean_error(run_cli(demo_project, "publish"), "another publish is running (a damaged lock file)")
    assert run_cli(demo_project, "publish", "--break-lock", "--quiet").exit_code == 0


# ------------------------------------------------------------------------------ no room for the files


def _file_size_limit(limit: int):
    def apply() -> None:
        # The kernel answers EFBIG past the limit (SIGXFSZ ignored): what a full disk or quota
        # looks like to the writer, without privileges to mount a tiny filesystem.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_folder_that_cannot_take_a_file_stops_cleanly_and_a_rerun_finishes(demo_project: Path):
    public = demo_project / "public"
    done = subprocess.run(
        [sys.executable, "-m", "grandirenhlm", "--project", str(demo_project), "publish", "--quiet"],
        capture_output=True,
        text=True,
        preexec_fn=_file_size_limit(100_000),  # smaller than every demo MP3
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("error: public: cannot write media/") and line.endswith(": File too large")
    files = [p.relative_to(public).as_posix() for p in public.rglob("*") if p.is_file()]
    assert not [f for f in files if f.endswith(".tmp")]  # nothing half-written is left
    assert not [f for f in files if f.startswith("media/")]
    assert not [f for f in files if f.endswith("feed.xml")]
    assert LOCK_KEY not in files

    again = run_cli(demo_project, "publish", "--json")
    assert again.exit_code == 0, again.stderr
    for show in ("grandir-en-hlm", "l-emission"):
        entries = feedparser.parse((public / show / "feed.xml").read_bytes()).entries
        assert len(entries) == {"grandir-en-hlm": 6, "l-emission": 1}[show]
        for entry in entries:
            key = entry.enclosures[0].href.removeprefix("http://127.0.0.1:8000/")
            assert (public / key).stat().st_size == int(entry.enclosures[0].length)
    assert json.loads((public / MANIFEST_KEY).read_text())["objects"]


def test_exactly_one_of_many_simultaneous_lockers_wins(tmp_path: Path):
    """Eight threads reach for the lock at the same moment: one holds it, seven are refused."""
    from grandirenhlm.errors import StorageError
    from grandirenhlm.lock import publish_lock
    from grandirenhlm.storage.local import LocalStorage

    start, release_all = threading.Barrier(8), threading.Event()
    outcomes: list[str] = []
    decided = threading.Condition()

    def outcome(text: str) -> None:
        with decided:
            outcomes.append(text)
            decided.notify_all()

    def contender() -> None:
        storage = LocalStorage(tmp_path / "public", name="public")
        start.wait()
        try:
            with publish_lock(storage):
                outcome("held")
                release_all.wait(30)
        except StorageError as exc:
            outcome(str(exc))

    threads = [threading.Thread(target=contender) for _ in range(8)]
    for t in threads:
        t.start()
    with decided:  # woken by each thread as it holds the lock or is refused
        decided.wait_for(lambda: len(outcomes) == 8, timeout=30)  # one holder and seven refusals
    release_all.set()
    for t in threads:
        t.join(30)
    assert len(outcomes) == 8 and outcomes.count("held") == 1, outcomes  # no thread died another way
    assert all(o.startswith("public: another publish is running (pid ") for o in outcomes if o != "held")
    assert not (tmp_path / "public" / LOCK_KEY).exists()


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs: a real full disk (ENOSPC). Needs the right to mount (root in a container
    with CAP_SYS_ADMIN, as on the project's machines); skipped with the reason otherwise."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip() or mounted.returncode}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


def test_a_full_disk_stops_cleanly_and_a_rerun_finishes(demo_project: Path, tiny_disk: Path):
    result = run_cli(demo_project, "publish", "--to", str(tiny_disk), "--quiet")
    assert_clean_error(result, f"error: {tiny_disk}: cannot write media/", ": No space left on device")
    assert len(result.stderr.splitlines()) == 1
    files = [p.relative_to(tiny_disk).as_posix() for p in tiny_disk.rglob("*") if p.is_file()]
    assert not [f for f in files if f.endswith(".tmp")]  # the partial copy was removed
    assert not [f for f in files if f.endswith("feed.xml")] and LOCK_KEY not in files
    for key in files:  # what is there is whole: the manifest's sizes match
        if key.startswith("media/"):
            entry = json.loads((tiny_disk / MANIFEST_KEY).read_text())["objects"][key]
            assert (tiny_disk / key).stat().st_size == entry["size"]

    subprocess.run(["mount", "-o", "remount,size=64m", str(tiny_disk)], check=True)  # room made
    again = run_cli(demo_project, "publish", "--to", str(tiny_disk), "--json")
    assert again.exit_code == 0, again.stderr
    for show in ("grandir-en-hlm", "l-emission"):
        entries = feedparser.parse((tiny_disk / show / "feed.xml").read_bytes()).entries
        assert len(entries) == {"grandir-en-hlm": 6, "l-emission": 1}[show]
        for entry in entries:
            key = entry.enclosures[0].href.removeprefix("http://127.0.0.1:8000/")
            assert (tiny_disk / key).stat().st_size == int(entry.enclosures[0].length)


def test_a_target_holding_another_projects_site_is_refused(demo_project: Path, project: Path):
    """Two projects, one folder: the second would replace the first one's manifest and prune its
    files; it is refused, by build and publish alike, naming the shows found there."""
    shared = demo_project.parent / "shared-site"
    assert run_cli(demo_project, "publish", "--to", str(shared), "--quiet").exit_code == 0
    make_mp3(project / "a.mp3", title="Un autre épisode", track="1")
    (project / "feeds" / "grandir-en-hlm.toml").rename(project / "feeds" / "autre-podcast.toml")
    assert run_cli(project, "ingest", "--show", "autre-podcast", "a.mp3").exit_code == 0
    for command in (["publish", "--to", str(shared), "--prune"], ["build", "--output", str(shared)]):
        assert_clean_error(
            run_cli(project, *command),
            "this target holds the site of another project (shows: grandir-en-hlm, l-emission)",
        )
    assert (shared / "grandir-en-hlm" / "feed.xml").is_file()  # nothing of it was touched
    assert run_cli(demo_project, "publish", "--to", str(shared), "--quiet").exit_code == 0


def test_break_lock_refuses_a_holder_still_running_here(demo_project: Path):
    from grandirenhlm.lock import publish_lock
    from grandirenhlm.storage.local import LocalStorage

    with publish_lock(LocalStorage(demo_project / "public", name="public")):  # this very process
        result = run_cli(demo_project, "publish", "--break-lock")
        assert_clean_error(
            result, "--break-lock: the lock is held by pid", "which is still running on this host"
        )
    assert run_cli(demo_project, "publish", "--quiet").exit_code == 0


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["build", "--output", "episodes"], "--output: episodes is inside the project's episodes/"),
        (["build", "--output", "."], "--output: . holds the project itself"),
        (["build", "--output", ".."], "holds the project itself; the site needs a folder of its own"),
        (["publish", "--to", "./media/site"], "--to: media/site is inside the project's media/"),
        (["publish", "--to", "."], "--to: . holds the project itself"),
    ],
)
def test_a_site_folder_may_not_be_the_project_or_what_it_reads(demo_project: Path, command, message):
    before = sorted(p.relative_to(demo_project) for p in demo_project.rglob("*"))
    assert_clean_error(run_cli(demo_project, *command), message)
    assert sorted(p.relative_to(demo_project) for p in demo_project.rglob("*")) == before


@pytest.mark.parametrize(
    "limit, failing",
    [
        (40_000, "/cover-"),  # smaller than the largest cover rendition, written after the pages
        (6_000, "/index.html"),  # smaller than an episode page, written as it is rendered
    ],
)
def test_a_build_into_a_new_folder_that_fails_leaves_nothing_and_a_rerun_is_whole(
    demo_project: Path, limit: int, failing: str
):
    """A new folder is built beside under another name and renamed into place when complete; its
    pages are written there while the others render (`EarlyWriter`), by another process, whose
    failure stops the build the same way."""
    out = demo_project.parent / "site-neuf"
    done = subprocess.run(
        [sys.executable, "-m", "grandirenhlm", "--project", str(demo_project), "build", "--output", str(out)],
        capture_output=True,
        text=True,
        preexec_fn=_file_size_limit(limit),
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"error: {out}: cannot write ") and line.endswith(": File too large"), line
    assert failing in line
    assert not out.exists()
    assert not [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]  # nor its stage

    again = run_cli(demo_project, "build", "--output", str(out))
    assert again.exit_code == 0, again.output
    objects = json.loads((out / MANIFEST_KEY).read_text())["objects"]
    assert len(objects) > 50
    for key, entry in objects.items():
        assert hashlib.sha256((out / key).read_bytes()).hexdigest() == entry["sha256"], key
    media = [key for key in objects if key.startswith("media/") and key.endswith((".mp3", ".m4a", ".mp4"))]
    assert media and all((demo_project / key).is_file() for key in media)
    # The media store's own files, linked: a new site's media cost no bytes on the disk.
    assert not [key for key in media if not os.path.samefile(out / key, demo_project / key)]


def test_a_build_into_a_new_folder_stopped_by_a_template_error_leaves_nothing(demo_project: Path):
    """The episode pages already handed to the writer process when a later page fails: the build
    stops with the template's error, the writer is stopped and the staging folder removed."""
    out = demo_project.parent / "site-neuf"
    (demo_project / "templates" / "embed.html").write_text("{{ missing_helper() }}\n", encoding="utf-8")
    result = run_cli(demo_project, "build", "--output", str(out))
    assert_clean_error(result, "error: templates/embed.html: ", "'missing_helper' is undefined")
    assert not out.exists()
    assert not [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]
