"""Issue 19, item 1: nothing changed, nothing done. `build`, `publish` and `ingest` answer from a
saved fingerprint of what they read when it did not change, without loading the pipeline; any
change to an input, to what the run left, or the passing of a scheduled time makes them run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from grandirenhlm import fingerprint, site
from grandirenhlm.config import load_project
from tests.support import make_mp3, run_cli

RECORD = Path("episodes/grandir-en-hlm/temoignage-4.toml")
FEED = Path("out/grandir-en-hlm/feed.xml")

# Run as users do, in a new process; prints which heavy libraries the command loaded.
PROBE = """
import sys
from grandirenhlm.cli import main
try:
    main(sys.argv[1:], standalone_mode=False)
finally:
    heavy = sorted(m for m in ("feedgen", "jinja2", "mutagen", "boto3", "lxml") if m in sys.modules)
    print("loaded:", ",".join(heavy), file=sys.stderr)
"""


def command(root: Path, *args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=root, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def loaded(proc: subprocess.CompletedProcess) -> str:
    """The heavy libraries the command loaded ("" for none)."""
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("loaded:"), proc.stderr
    return last.removeprefix("loaded:").strip()


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_second_build_loads_and_writes_nothing(demo_project: Path) -> None:
    first = command(demo_project, "build", "--output", "out")
    assert loaded(first) != "" and "new file(s), 0 unchanged" in first.stdout
    before = tree(demo_project / "out")
    stamps = {p: p.stat().st_mtime_ns for p in (demo_project / "out").rglob("*")}

    again = command(demo_project, "build", "--output", "out")

    assert loaded(again) == ""  # no feedgen, Jinja2, mutagen, boto3 or lxml
    assert again.stdout.startswith(f"built 0 new file(s), {len(before) - 1} unchanged")  # manifest aside
    assert tree(demo_project / "out") == before
    assert {p: p.stat().st_mtime_ns for p in (demo_project / "out").rglob("*")} == stamps


def test_every_kind_of_input_change_makes_the_build_run(demo_project: Path) -> None:
    assert run_cli(demo_project, "build", "--output", "out").exit_code == 0
    fresh = demo_project.parent / "fresh"

    def rebuilt() -> bytes:
        result = run_cli(demo_project, "build", "--output", "out")
        assert result.exit_code == 0 and not result.stdout.startswith("built 0 new"), result.output
        # the same bytes as a build from nothing: a copy of the project without any cache
        shutil.rmtree(fresh, ignore_errors=True)
        shutil.copytree(demo_project, fresh, ignore=shutil.ignore_patterns(".grandirenhlm", "out"))
        assert run_cli(fresh, "build", "--output", str(fresh / "out")).exit_code == 0
        assert tree(fresh / "out") == tree(demo_project / "out")
        return (demo_project / FEED).read_bytes()

    record = demo_project / RECORD
    record.write_text(record.read_text("utf-8").replace('title = "', 'title = "Nouveau titre : ', 1), "utf-8")
    assert "Nouveau titre" in rebuilt().decode()

    show = demo_project / "feeds" / "grandir-en-hlm.toml"
    show.write_text(show.read_text("utf-8").replace('title = "', 'title = "Autre nom : ', 1), "utf-8")
    assert "Autre nom" in rebuilt().decode()

    template = demo_project / "templates" / "base.html"
    template.write_text(template.read_text("utf-8").replace("</body>", "<!-- modifié --></body>"), "utf-8")
    rebuilt()
    assert "<!-- modifié -->" in (demo_project / "out" / "index.html").read_text("utf-8")

    config = demo_project / "grandirenhlm.toml"
    config.write_text(config.read_text("utf-8").replace('title = "', 'title = "Nouveau site : ', 1), "utf-8")
    rebuilt()
    assert "Nouveau site" in (demo_project / "out" / "index.html").read_text("utf-8")

    (demo_project / "out" / "index.html").unlink()  # the output damaged by hand is put back
    rebuilt()
    assert (demo_project / "out" / "index.html").is_file()

    media = sorted((demo_project / "media" / "grandir-en-hlm").glob("temoignage-4-*.mp3"))[0]
    media.write_bytes(media.read_bytes()[:-1000])  # a media file cut short: check fails, nothing built
    result = run_cli(demo_project, "build", "--output", "out")
    assert result.exit_code == 1 and "temoignage-4" in result.stderr, result.output


def test_a_scheduled_episode_ends_the_saved_answer_when_it_comes_due(demo_project: Path) -> None:
    due = (datetime.now(UTC) + timedelta(hours=3)).replace(microsecond=0)
    record = demo_project / RECORD
    record.write_text(f"publish_at = {due.isoformat()}\n" + record.read_text("utf-8"), "utf-8")
    project = load_project(demo_project)

    site.build(project, demo_project / "out")

    assert "temoignage-4" not in (demo_project / FEED).read_text("utf-8")
    saved = fingerprint.Saved(project, ("build", str(demo_project / "out"), "http://127.0.0.1:8000/", None))
    entry = saved.store.entries[saved.key]
    assert datetime.fromisoformat(entry["valid_until"]) == due
    assert saved.store.match(saved.key, saved.inputs, due - timedelta(seconds=1)) is not None
    assert saved.store.match(saved.key, saved.inputs, due) is None
    later = site.build(project, demo_project / "out", at=due)  # a build at that time shows it
    assert later.written > 0 and "temoignage-4" in (demo_project / FEED).read_text("utf-8")


def test_a_second_publish_to_a_folder_sends_nothing_and_repeats_its_warnings(demo_project: Path) -> None:
    record = demo_project / RECORD  # a warning: publish_at before pub_date
    record.write_text("publish_at = 2023-01-01T00:00:00+00:00\n" + record.read_text("utf-8"), "utf-8")
    first = command(demo_project, "publish", "--json")
    summary = json.loads(first.stdout)
    assert summary["uploaded"] > 0
    warnings = [line for line in first.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1 and "publish_at" in warnings[0], first.stderr

    again = command(demo_project, "publish", "--json")

    assert loaded(again) == ""
    repeat = json.loads(again.stdout)
    assert repeat["uploaded"] == repeat["updated"] == repeat["deleted"] == 0
    assert repeat["skipped"] == summary["uploaded"] + summary["skipped"]
    assert [line for line in again.stderr.splitlines() if line.startswith("warning: ")] == warnings

    (demo_project / "public" / "index.html").unlink()  # someone removed a page from the target
    third = json.loads(command(demo_project, "publish", "--json").stdout)
    assert third["uploaded"] == 1 and (demo_project / "public" / "index.html").is_file()


def test_a_second_ingest_reads_nothing_and_a_changed_file_is_ingested_again(demo_project: Path) -> None:
    masters = demo_project.parent / "masters"
    masters.mkdir()
    for n in range(3):
        make_mp3(masters / f"piste-{n}.mp3", seconds=1.0, title=f"Piste {n}")
    args = ("ingest", "--show", "grandir-en-hlm", str(masters))
    first = command(demo_project, *args)
    assert first.stdout.count("created: ") == 3

    again = command(demo_project, *args)
    assert loaded(again) == ""  # not even mutagen
    assert again.stdout.count("unchanged: ") == 3
    assert command(demo_project, *args, "--quiet").stdout == ""

    make_mp3(masters / "piste-1.mp3", seconds=2.0, title="Piste 1")  # another file under that name
    third = run_cli(demo_project, *args)  # read again: ingest's own rule (--force to replace) answers
    assert third.exit_code == 1 and "piste-1.toml: already exists with other media" in third.stderr
    assert third.stdout.count("unchanged: ") == 2

    (masters / "piste-1.mp3").unlink()
    (record,) = (demo_project / "episodes" / "grandir-en-hlm").glob("piste-2.toml")
    record.unlink()  # a record deleted by hand comes back
    fourth = command(demo_project, *args)
    assert fourth.stdout.count("created: ") == 1 and record.is_file()


def test_a_failed_run_is_never_remembered(demo_project: Path) -> None:
    masters = demo_project.parent / "masters"
    masters.mkdir()
    make_mp3(masters / "bonne.mp3", seconds=1.0, title="Bonne")
    (masters / "cassée.mp3").write_bytes(b"ID3 not audio at all")
    args = ("ingest", "--show", "grandir-en-hlm", str(masters))
    for _ in range(2):  # the bad file is reported every time, never answered from a saved run
        result = run_cli(demo_project, *args)
        assert result.exit_code == 1 and "cassée.mp3" in result.stderr


def test_the_environment_and_the_code_are_part_of_the_fingerprint(demo_project: Path, monkeypatch) -> None:
    project = load_project(demo_project)
    asked = ("build", "x")
    base = fingerprint.Saved(project, asked).inputs
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9/")
    assert fingerprint.Saved(project, asked).inputs != base
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    assert fingerprint.Saved(project, asked).inputs == base
    code = Path(fingerprint.__file__)
    stat = code.stat()
    try:
        os.utime(code, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
        assert fingerprint.Saved(project, asked).inputs != base
    finally:
        os.utime(code, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    libraries = demo_project.parent / "site-packages"  # where pip installs: an upgrade adds a folder
    libraries.mkdir()
    os.utime(libraries, (1e9, 1e9))  # long ago: the upgrade below cannot fall in the same clock tick
    monkeypatch.setattr(sys, "path", [*sys.path, str(libraries)])
    before = fingerprint.Saved(project, asked).inputs
    assert before != base
    (libraries / "feedgen-9.9.dist-info").mkdir()
    assert fingerprint.Saved(project, asked).inputs != before


# ---------------------------------------------------------------- what a review found (issue 19)


def test_the_fingerprint_sees_what_the_loaders_read(demo_project: Path) -> None:
    """A hidden record is not a record (nothing reads it), and a records folder reached through a
    symbolic link is walked like any other."""
    assert run_cli(demo_project, "build", "--output", "out").exit_code == 0
    shown = demo_project / "episodes" / "grandir-en-hlm"
    (shown / ".copie-de-travail.toml").write_text((demo_project / RECORD).read_text("utf-8"), "utf-8")
    assert run_cli(demo_project, "build", "--output", "out").stdout.startswith("built 0 new")
    assert run_cli(demo_project, "build", "--output", "fresh").exit_code == 0
    assert tree(demo_project / "fresh") == tree(demo_project / "out")

    moved = demo_project / "donnees" / "l-emission"  # inside the project, outside its walked folders
    moved.parent.mkdir()
    shutil.move(demo_project / "episodes" / "l-emission", moved)
    (demo_project / "episodes" / "l-emission").symlink_to(moved)
    assert run_cli(demo_project, "build", "--output", "out").exit_code == 0
    record = next(moved.glob("*.toml"))
    record.write_text(record.read_text("utf-8").replace('title = "', 'title = "Corrigé ', 1), "utf-8")
    rebuilt = run_cli(demo_project, "build", "--output", "out")
    assert rebuilt.exit_code == 0 and not rebuilt.stdout.startswith("built 0 new"), rebuilt.output
    assert "<title>Corrigé Le replay" in (demo_project / "out" / "l-emission" / "feed.xml").read_text("utf-8")


def test_a_draft_or_scheduled_date_never_reaches_the_opml(demo_project: Path) -> None:
    later = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    record = demo_project / RECORD
    soon = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    text = record.read_text("utf-8").replace(
        "pub_date = 2023-06-26 09:04:00+00:00", f"pub_date = {soon.isoformat()}"
    )
    record.write_text(f"publish_at = {later.isoformat()}\n" + text, "utf-8")
    site.build(load_project(demo_project), demo_project / "out")
    opml = (demo_project / "out" / "shows.opml").read_text("utf-8")
    assert soon.strftime("%d %b %Y") not in opml  # the newest date listeners can see is 2023's
    assert "2023" in opml


def test_publish_runs_its_check_again_when_the_built_feed_changed(demo_project: Path) -> None:
    """check compares GUIDs with the feed in public/: a changed feed there is an input of publish."""
    assert run_cli(demo_project, "build").exit_code == 0
    other = str(demo_project.parent / "autre-site")
    assert run_cli(demo_project, "publish", "--to", other).exit_code == 0
    feed = demo_project / "public" / "grandir-en-hlm" / "feed.xml"
    text = feed.read_text("utf-8")
    guid = text.split('<guid isPermaLink="false">', 1)[1].split("<", 1)[0]
    feed.write_text(text.replace(guid, "urn:uuid:00000000-0000-4000-8000-000000000000"), "utf-8")
    again = run_cli(demo_project, "publish", "--to", other)
    assert again.exit_code == 1 and "check found errors" in again.stderr, again.output


def test_pages_another_build_still_sends_are_not_pruned(demo_project: Path) -> None:
    from grandirenhlm.pages import PageCache

    project = load_project(demo_project)
    base = "http://127.0.0.1:8000/"
    sending = PageCache.for_project(project, base, stored=True)  # a publish still uploading
    first = site._render(project, base, None, None, True, stored=True)
    first[1].close()
    held = [a.stored for a in first[0] if a.stored is not None]
    assert held and all(_kept(page) for page in held)
    template = demo_project / "templates" / "base.html"  # every page changes
    template.write_text(template.read_text("utf-8").replace("</body>", "<!-- v2 --></body>"), "utf-8")
    second = site._render(project, base, None, None, True, stored=True)
    second[1].close()
    assert all(_kept(page) for page in held)  # kept while another build holds the cache
    sending.close()
    third = site._render(project, base, None, None, True, stored=True)
    third[1].close()
    assert not any(_kept(page) for page in held)  # then pruned


def _kept(page) -> bool:
    """Whether a page handed out by a build is still in the page cache, read in a new connection."""
    from grandirenhlm.pagestore import PageStore

    store = PageStore(page.store.path.parent)
    try:
        return store.get(page.digest) is not None
    finally:
        store.close()


# ---------------------------------------------------------------- the output's stamp (fingerprint.tree_stamp)


def _site(folder: Path) -> None:
    for rel in ("index.html", "show/index.html", "show/ep-1/index.html", "show/ep-1/lecteur/index.html"):
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(rel, "utf-8")


def _listing(cache: Path) -> dict:
    (file,) = (cache / "trees").glob("*.json")
    return json.loads(file.read_bytes())


def _racy(cache: Path) -> set[str]:
    """The listed folders too recent to trust their time: read again by the next stamp."""
    return {folder for folder, entry in _listing(cache)["folders"].items() if entry[1]}


def test_the_output_stamp_answers_from_its_listing_and_sees_what_was_removed_or_added(tmp_path: Path) -> None:
    out, cache = tmp_path / "out", tmp_path / "cache"
    _site(out)
    hour_ago = datetime.now(UTC).timestamp() - 3600
    for folder in [out, *(p for p in out.rglob("*") if p.is_dir())]:
        os.utime(folder, (hour_ago, hour_ago))  # written long ago: their times can be trusted
    first = fingerprint.tree_stamp(out, cache)
    assert first == fingerprint.tree_stamp(out)  # the same stamp as a walk without a listing
    listing = _listing(cache)
    assert set(listing["folders"]) == {"", "show/", "show/ep-1/", "show/ep-1/lecteur/"}
    assert _racy(cache) == set()
    assert fingerprint.tree_stamp(out, cache) == first

    (out / "show" / "ep-1" / "lecteur" / "index.html").unlink()  # deep in the tree
    removed = fingerprint.tree_stamp(out, cache)
    assert removed != first and removed == fingerprint.tree_stamp(out)
    (out / "show" / "ep-1" / "lecteur" / "index.html").write_text("again", "utf-8")
    (out / "show" / "ep-2").mkdir()
    added = fingerprint.tree_stamp(out, cache)
    assert added not in (first, removed) and added == fingerprint.tree_stamp(out)
    os.rename(out / "show" / "ep-2", out / "show" / "ep-3")
    assert fingerprint.tree_stamp(out, cache) not in (first, removed, added)


def _clock(monkeypatch, recent: bool) -> None:
    """Every time the stamps read is too recent to trust (`recent`: written in the clock's current
    tick), or none is (read long after): what the real clock gives depends on the machine's load."""
    monkeypatch.setattr(fingerprint, "too_recent", lambda time_ns, now, device=None: recent)


def test_a_time_is_trusted_once_older_than_its_file_systems_tick(monkeypatch) -> None:
    """A tenth of a second for a time with a fraction on a local file system (Linux moves its times
    at each timer tick, 1 to 10 ms); three seconds for one whose times are whole seconds (FAT keeps
    two), one on a network file system (another machine's clock) or one not known."""
    local, network = 1, 2
    monkeypatch.setattr(fingerprint, "_local_devices", lambda: frozenset({local}))
    now = 1_700_000_010_500_000_000
    fine = now - 150_000_000 + 1  # 0.15 s before, with a fraction
    assert not fingerprint.too_recent(fine, now, local)
    assert fingerprint.too_recent(fine, now, network) and fingerprint.too_recent(fine, now)
    assert fingerprint.too_recent(now - 50_000_001, now, local)
    assert fingerprint.too_recent(now - 100_000_000, now, local)  # the edge of the window is in it
    assert fingerprint.too_recent(now + 1_000, now, local)  # set in the future: never trusted
    whole = 1_700_000_008_000_000_000  # 2.5 s before now, no fraction: a coarse file system
    assert fingerprint.too_recent(whole, now, local)
    assert not fingerprint.too_recent(whole - 1_000_000_000, now, local)  # 3.5 s
    assert not fingerprint.too_recent(fine - 3_000_000_000, now, network)


def test_local_file_systems_are_found_in_the_mount_table() -> None:
    mountinfo = (
        "22 1 252:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"
        "23 22 0:21 / /tmp rw,nosuid shared:2 master:1 - tmpfs tmpfs rw\n"
        "24 22 0:45 / /mnt/partage rw - nfs4 serveur:/export rw,vers=4.2\n"
        "25 22 0:46 / /mnt/c rw - 9p drvfs rw\n"
        "26 22 0:47 / /home/u/sshfs rw - fuse.sshfs u@hote: rw\n"
        "damaged line\n"
    )
    assert fingerprint.local_devices_in(mountinfo) == {os.makedev(252, 1), os.makedev(0, 21)}


def test_a_folder_changed_within_its_clock_tick_is_read_again(tmp_path: Path, monkeypatch) -> None:
    """A folder written just before the stamp may change again and keep its time (the clock of the
    file system moves in ticks): its entries are compared, not only its time, by every later stamp."""
    out, cache = tmp_path / "out", tmp_path / "cache"
    _site(out)
    _clock(monkeypatch, recent=True)
    first = fingerprint.tree_stamp(out, cache)
    assert "show/ep-1/" in _racy(cache)
    folder = out / "show" / "ep-1"
    before = folder.stat()
    (folder / "index.html").unlink()
    os.utime(folder, ns=(before.st_atime_ns, before.st_mtime_ns))  # the same tick: the same time
    _same_tick_for_the_listing(cache, "show/ep-1/", folder)
    _clock(monkeypatch, recent=False)  # a later command: what the listing marked is read again
    assert fingerprint.tree_stamp(out, cache) != first


def _same_tick_for_the_listing(cache: Path, rel: str, folder: Path) -> None:
    """The listing as if the change to `folder` had kept its change time too (one tick): only the
    folder's mark as too recent to trust can make the next stamp read it again."""
    (file,) = (cache / "trees").glob("*.json")
    data = json.loads(file.read_bytes())
    data["folders"][rel][4] = folder.stat().st_ctime_ns
    file.write_text(json.dumps(data), "utf-8")


def test_a_damaged_or_foreign_listing_costs_a_walk(tmp_path: Path) -> None:
    out, cache = tmp_path / "out", tmp_path / "cache"
    _site(out)
    first = fingerprint.tree_stamp(out, cache)
    (file,) = (cache / "trees").glob("*.json")
    for damage in (b"{not json", b'{"version": 1, "root": "/elsewhere"}', b"[]"):
        file.write_bytes(damage)
        assert fingerprint.tree_stamp(out, cache) == first
    data = _listing(cache)
    data["digest"] = "forged"  # the listing's answer is taken when every folder matches it...
    file.write_text(json.dumps(data), "utf-8")
    assert fingerprint.tree_stamp(out, cache) == "forged"
    (out / "show" / "nouveau.html").write_text("x", "utf-8")  # ...and only then
    assert fingerprint.tree_stamp(out, cache) == fingerprint.tree_stamp(out) != first


def test_a_change_between_the_walk_and_the_saved_listing_is_seen(tmp_path: Path, monkeypatch) -> None:
    """Another program adds a page to a folder the walk has read, in the same clock tick: the
    listing keeps what the walk saw, so the next stamp reads that folder and sees the page."""
    out, cache = tmp_path / "out", tmp_path / "cache"
    _site(out)
    digest = fingerprint._digest

    def then_another_writer(lines: list[str]) -> str:
        folder = out / "show"
        before = folder.stat()
        (folder / "ajout.html").write_text("x", "utf-8")
        os.utime(folder, ns=(before.st_atime_ns, before.st_mtime_ns))  # the same tick: the same time
        return digest(lines)

    monkeypatch.setattr(fingerprint, "_digest", then_another_writer)
    _clock(monkeypatch, recent=True)
    first = fingerprint.tree_stamp(out, cache)
    monkeypatch.setattr(fingerprint, "_digest", digest)
    _same_tick_for_the_listing(cache, "show/", out / "show")
    _clock(monkeypatch, recent=False)
    assert fingerprint.tree_stamp(out, cache) != first


def test_folders_old_enough_are_trusted_by_their_time_from_then_on(tmp_path: Path, monkeypatch) -> None:
    out, cache = tmp_path / "out", tmp_path / "cache"
    _site(out)
    _clock(monkeypatch, recent=True)
    first = fingerprint.tree_stamp(out, cache)
    assert _racy(cache)  # just written: every folder is read again on the next stamp
    _clock(monkeypatch, recent=False)  # as if their file system's tick had passed
    assert fingerprint.tree_stamp(out, cache) == first
    assert _racy(cache) == set()
    (out / "show" / "ep-1" / "index.html").unlink()
    assert fingerprint.tree_stamp(out, cache) == fingerprint.tree_stamp(out) != first


def test_a_stamp_from_its_listing_equals_a_walk_after_any_changes(tmp_path: Path, monkeypatch) -> None:
    """Random additions, removals, renames and replacements, in folders whose time is old (trusted)
    or recent (read again): after each one, the stamp taken from the listing, which reads only the
    folders whose time moved, is the stamp of a walk without one."""
    import random

    rng = random.Random(20261201)
    out, cache = tmp_path / "out", tmp_path / "cache"
    _site(out)
    stamps = {fingerprint.tree_stamp(out, cache)}
    long_ago = datetime.now(UTC).timestamp() - 3600
    trusted_reads: list[tuple[int, int]] = []  # (folders read, folders there) per stamp
    read: list[str] = []
    scan = fingerprint._scan

    def counting(root, rel, tree, now, seen):
        read.append(rel)
        return scan(root, rel, tree, now, seen)

    monkeypatch.setattr(fingerprint, "_scan", counting)
    for step in range(300):
        folders = [out, *sorted(p for p in out.rglob("*") if p.is_dir())]
        files = sorted(p for p in out.rglob("*") if p.is_file())
        where = rng.choice(folders)
        op = rng.choices(["file", "folder", "remove", "rename", "replace", "tree"], [4, 4, 2, 1, 1, 1])[0]
        if op == "file":
            (where / f"f{step}.html").write_text("x", "utf-8")
        elif op == "folder":
            (where / f"d{step}").mkdir()
            (where / f"d{step}" / "index.html").write_text("x", "utf-8")
        elif op == "remove" and files:
            rng.choice(files).unlink()
        elif op == "rename" and len(folders) > 1:
            moved = rng.choice(folders[1:])
            if not where.is_relative_to(moved):
                moved.rename(where / f"r{step}")
        elif op == "replace" and len(folders) > 1:  # a folder removed, another of the same name made
            gone = rng.choice(folders[1:])
            shutil.rmtree(gone)
            gone.mkdir()
        elif op == "tree" and len(folders) > 1:
            shutil.rmtree(rng.choice(folders[1:]))
        if rng.random() < 0.7:  # the folders just changed get a time old enough to be trusted
            for i, folder in enumerate(p for p in [out, *out.rglob("*")] if p.is_dir()):
                if folder.stat().st_mtime > long_ago + 1800:
                    os.utime(folder, (long_ago, long_ago + step + i / 1000))
        read.clear()
        stamp = fingerprint.tree_stamp(out, cache)
        total = sum(1 for p in [out, *out.rglob("*")] if p.is_dir())
        trusted_reads.append((len(set(read)), total))
        assert stamp == fingerprint.tree_stamp(out), (step, op)
        stamps.add(stamp)
    assert len(stamps) > 250  # the changes were seen
    # and the stamps read a few folders each, not all of them
    assert sum(n for n, _ in trusted_reads) * 3 < sum(total for _, total in trusted_reads)


def test_a_folder_put_in_the_place_of_another_with_the_same_time_is_read(tmp_path: Path) -> None:
    """Two folders written in the same clock tick (or restored by `cp -a`) have the same time: one
    moved in place of the other is still read, and so is what is in it (found by a review: the
    listing used to keep the first folder's names and never see the second one's `lecteur/`)."""
    out, cache = tmp_path / "out", tmp_path / "cache"
    show = out / "show"
    (show / "ep-1").mkdir(parents=True)
    (show / "ep-1" / "index.html").write_text("x", "utf-8")
    (show / "ep-2" / "lecteur").mkdir(parents=True)
    (show / "ep-2" / "index.html").write_text("x", "utf-8")
    (show / "ep-2" / "lecteur" / "index.html").write_text("x", "utf-8")
    tick = 1_700_000_000_000_000_000
    for folder in (show / "ep-1", show / "ep-2", show / "ep-2" / "lecteur", show, out):
        os.utime(folder, ns=(tick, tick))
    fingerprint.tree_stamp(out, cache)
    shutil.rmtree(show / "ep-1")
    (show / "ep-2").rename(show / "ep-1")
    saved = fingerprint.tree_stamp(out, cache)
    assert saved == fingerprint.tree_stamp(out)
    assert "show/ep-1/lecteur/" in _listing(cache)["folders"]
    (show / "ep-1" / "lecteur" / "index.html").unlink()
    assert fingerprint.tree_stamp(out, cache) == fingerprint.tree_stamp(out) != saved


def test_a_listing_with_damaged_names_costs_a_walk_not_a_crash(tmp_path: Path) -> None:
    out, cache = tmp_path / "out", tmp_path / "cache"
    _site(out)
    first = fingerprint.tree_stamp(out, cache)
    (file,) = (cache / "trees").glob("*.json")
    good = _listing(cache)
    for name in ("a\u0000/", "\ud800/", "../", "show/../", "/etc/", "show//", "show"):
        damaged = json.loads(json.dumps(good))
        damaged["folders"][name] = list(good["folders"]["show/"])
        file.write_text(json.dumps(damaged), "utf-8")
        assert fingerprint.tree_stamp(out, cache) == first, name


def test_a_folder_holding_a_link_to_a_folder_is_stamped_with_its_own_time(tmp_path: Path) -> None:
    """Such a tree is walked each time (no listing); the walk keeps each folder's own time, not the
    time of the folder a link in it points at, so a page replaced under the same name is seen."""
    out, cache = tmp_path / "out", tmp_path / "cache"
    _site(out)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "show" / "alias").symlink_to(elsewhere, target_is_directory=True)
    long_ago = datetime.now(UTC).timestamp() - 3600
    for folder in (out / "show", elsewhere):
        os.utime(folder, (long_ago, long_ago))
    first = fingerprint.tree_stamp(out, cache)
    assert not list((cache / "trees").glob("*.json"))  # a link to a folder: no listing
    (out / "show" / "nouvelle.html").write_text("x", "utf-8")
    os.replace(out / "show" / "nouvelle.html", out / "show" / "index.html")  # same names, new time
    assert fingerprint.tree_stamp(out, cache) == fingerprint.tree_stamp(out) != first


def test_a_tree_deeper_than_the_recursion_limit_is_stamped_and_walked(tmp_path: Path) -> None:
    """The walks use a stack, not one call per level: with Python's recursion limit set 100 frames
    above this test's depth, a tree 300 folders deep is stamped, a change at its bottom is seen,
    and the inputs' walk lists it (a recursive walk fails here, as it failed past 1,000 levels
    with the default limit; the tree stays shallow enough for pytest to delete)."""
    out, cache = tmp_path / "out", tmp_path / "cache"
    bottom = out.joinpath(*["d"] * 300)
    bottom.mkdir(parents=True)
    depth, frame = 0, sys._getframe()
    while frame is not None:
        depth, frame = depth + 1, frame.f_back
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + 100)
    try:
        first = fingerprint.tree_stamp(out, cache)
        assert first == fingerprint.tree_stamp(out)
        assert len(_listing(cache)["folders"]) == 301
        assert fingerprint.tree_stamp(out, cache) == first
        (bottom / "page.html").write_text("x", "utf-8")
        changed = fingerprint.tree_stamp(out, cache)
        assert changed != first and changed == fingerprint.tree_stamp(out)
        lines = fingerprint.folder_lines([out])
    finally:
        sys.setrecursionlimit(limit)
    assert sum(line.endswith("/") for line in lines) == 300
    assert [line.split("\0")[0] for line in lines if "\0" in line] == [str(bottom / "page.html")]


def test_a_folder_that_cannot_be_listed_is_named_and_the_walk_goes_on(tmp_path: Path) -> None:
    """A folder whose listing fails (here its path is longer than the system takes, ENAMETOOLONG;
    a folder without read permission fails the same way) is one `?` line of the inputs' walk, as
    in the recursive walk, never an error that stops `build`, `ingest` or `publish`."""
    root = tmp_path / "episodes"
    (root / "show").mkdir(parents=True)
    (root / "show" / "a.toml").write_text("x", "utf-8")
    name = "n" * 200
    fd = os.open(root, os.O_RDONLY)
    try:
        for _ in range(22):  # 22 x 201 bytes: past PATH_MAX (4,096), made through descriptors
            os.mkdir(name, dir_fd=fd)
            below = os.open(name, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = below
    finally:
        os.close(fd)
    lines = fingerprint.folder_lines([root])
    unreadable = [line for line in lines if line.startswith("?")]
    assert len(unreadable) == 1 and len(unreadable[0]) > 4096
    assert any(line.startswith(str(root / "show" / "a.toml") + "\0") for line in lines)


def test_a_listing_written_a_thousand_folders_at_a_time_reads_back_whole(tmp_path: Path) -> None:
    """`_save_tree` writes its JSON in pieces: every folder comes back, at a piece's edge too, with
    names that are not UTF-8 (surrogate escapes) and NULs."""
    for count in (1, 1000, 1001, 2500):
        tree = {
            ("" if i == 0 else f"dossier-{i}/"): [i * 1_000_003, i % 2 == 0, f"a\0b{i}\udcff", i, i + 5]
            for i in range(count)
        }
        listing = tmp_path / f"{count}.json"
        fingerprint._save_tree(listing, "/site/", "empreinte", tree)
        assert fingerprint._read_listing(listing, "/site/") == ("empreinte", tree)
        saved = json.loads(listing.read_bytes())
        assert list(saved) == ["version", "root", "digest", "folders"] and list(saved["folders"]) == list(
            tree
        )
