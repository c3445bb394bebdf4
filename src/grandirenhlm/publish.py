"""Run a `Plan` against a `Storage`: media, then assets, pages and feeds, the manifest last.

If anything before the feeds fails, no feed is written, so a feed never points at an object that
is not uploaded; the manifest still records what did go up, so the next run resumes from there.
A run killed before it could write the manifest (SIGKILL, a lost endpoint) leaves objects the next
run recognises on the target (`Storage.existing`) instead of uploading them again; multipart
uploads it left are aborted. Objects that leave the site are kept until feeds that listed them
can no longer be cached (`plan.KEEP_SECONDS`), then `--prune` deletes them.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from grandirenhlm.artifact import Artifact, Stage
from grandirenhlm.errors import StorageError
from grandirenhlm.lock import publish_lock
from grandirenhlm.plan import KEEP_SECONDS, Plan, plan_publish, prune_due, stage_of
from grandirenhlm.progress import Reporter
from grandirenhlm.storage import MANIFEST_KEY, Manifest, Storage, another_project
from grandirenhlm.verify import Verifier


@dataclass
class PublishResult:
    target: str
    uploaded: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)  # settings re-applied in place
    skipped: int = 0
    deleted: list[str] = field(default_factory=list)
    stale: int = 0  # objects no longer part of the site, left on the target
    prune_after: datetime | None = None  # when the next of them may be pruned
    found: int = 0  # objects a killed run had put, recognised on the target instead of uploaded
    verified: int = 0  # objects checked through the public base URL in this run
    bytes_uploaded: int = 0
    seconds: float = 0.0  # the whole run (site.publish: from the check on)
    build_seconds: float = 0.0  # site.publish: check and render, before the upload
    pages_rendered: int = 0  # site.publish: pages rendered anew, and read back from the page cache
    pages_reused: int = 0
    feeds_before: dict[str, dict] = field(default_factory=dict)  # manifest entries of the feeds put
    notifications: list = field(default_factory=list)  # notify.Outcome of each announcement

    def summary(self) -> dict:
        return {
            "target": self.target,
            "uploaded": len(self.uploaded),
            "updated": len(self.updated),
            "skipped": self.skipped,
            "deleted": len(self.deleted),
            "stale": self.stale,
            "verified": self.verified,
            "bytes": self.bytes_uploaded,
            "seconds": round(self.seconds, 3),
            "notifications": [n.to_json() for n in self.notifications],
        }


@dataclass(frozen=True)
class Run:
    """How one publish runs, besides what it publishes."""

    prune: bool = False
    reporter: Reporter = field(default_factory=Reporter)
    verifier: Verifier | None = None
    wait_seconds: float = 0.0
    break_lock: bool = False
    base_url: str | None = None
    shows: dict[str, str] = field(default_factory=dict)  # whose site this is (see Manifest.shows)
    now: datetime | None = None  # the clock for stale objects (default: the real time)
    keep_seconds: float = KEEP_SECONDS


def publish_artifacts(
    artifacts: Sequence[Artifact], storage: Storage, run: Run | None = None
) -> PublishResult:
    """Plan against the target's manifest and run the plan under the target's publish lock.

    A run with nothing to do takes no lock (a no-op publish makes no request that writes); any
    other run plans again once it holds the lock, since the publish it waited for changed the
    target. With a verifier, every object a feed references must have been seen answering
    through the public base URL (in this run or an earlier successful one) before feeds go up.
    """
    run = run or Run()
    started = time.perf_counter()
    now = run.now or datetime.now(UTC)
    manifest = storage.read_manifest()
    _refuse_another_project(storage, manifest, run)
    plan = _plan(artifacts, manifest, storage, run, now)
    needs_marks = _needs_marks(plan, manifest) or (manifest.shows, manifest.base_url) != (
        run.shows or manifest.shows,
        run.base_url or manifest.base_url,
    )
    if plan.writes or run.break_lock or needs_marks or _unverified(artifacts, manifest.objects, run.verifier):
        lock = publish_lock(
            storage, wait_seconds=run.wait_seconds, break_lock=run.break_lock, log=run.reporter.log
        )
        with lock:
            manifest = storage.read_manifest()
            _refuse_another_project(storage, manifest, run)
            found = _recognise_killed_run(artifacts, manifest, storage, run, now)
            plan = _plan(artifacts, manifest, storage, run, now)
            result = run_plan(plan, storage, manifest, run, now)
            result.found = found
    else:
        result = run_plan(plan, storage, manifest, run, now)
    result.seconds = time.perf_counter() - started
    return result


def _plan(artifacts, manifest: Manifest, storage: Storage, run: Run, now: datetime) -> Plan:
    return plan_publish(
        artifacts, manifest.objects, prune=run.prune, settings=storage.settings, now=now,
        keep_seconds=run.keep_seconds,
    )  # fmt: skip


def _needs_marks(plan: Plan, manifest: Manifest) -> bool:
    """Whether the manifest must change though no object does: objects that left the site get
    their `stale_since`, objects back in it lose it."""
    return any("stale_since" not in manifest.objects[k] for k in plan.stale) or any(
        "stale_since" in manifest.objects[a.key] for a in plan.skip
    )


def _refuse_another_project(storage: Storage, manifest: Manifest, run: Run) -> None:
    if manifest.belongs_to_another(run.shows):
        raise StorageError(another_project(storage.name, manifest))


def _recognise_killed_run(artifacts, manifest: Manifest, storage: Storage, run: Run, now: datetime) -> int:
    """Before uploading what the manifest does not know: abort multipart uploads a killed run
    left, and take the objects it finished as they are (same bytes) instead of sending them again."""
    aborted = storage.abort_incomplete_uploads()
    if aborted:
        run.reporter.log(f"note: aborted {aborted} multipart upload(s) an interrupted publish left")
    plan = _plan(artifacts, manifest, storage, run, now)
    unknown = [a for a in plan.put if a.key not in manifest.objects]
    if not unknown:
        return 0
    found = storage.existing(unknown)
    if found:
        run.reporter.log(
            f"note: {len(found)} object(s) already on the target from an interrupted publish: not uploaded again"
        )
        manifest.objects.update(found)
    return len(found)


def _unverified(
    artifacts: Sequence[Artifact], objects: dict[str, dict], verifier: Verifier | None
) -> list[Artifact]:
    """The objects some feed of the site references that were never seen answering through the
    verifier's base URL with their current bytes and settings."""
    if verifier is None:
        return []
    by_key = {a.key: a for a in artifacts}
    referenced = sorted({ref for a in artifacts if a.stage == Stage.FEED for ref in a.references})
    return [
        by_key[key]
        for key in referenced
        if key in by_key and objects.get(key, {}).get("verified") != verifier.base_url
    ]


def run_plan(
    plan: Plan, storage: Storage, manifest: Manifest, run: Run | None = None, now: datetime | None = None
) -> PublishResult:
    """Execute `plan`; raise `StorageError` naming every failed object (feeds then stay as they were)."""
    run = run or Run()
    now = now or datetime.now(UTC)
    reporter, verifier = run.reporter, run.verifier
    log = reporter.log
    started = time.perf_counter()
    result = PublishResult(target=storage.name, skipped=len(plan.skip))
    result.feeds_before = {a.key: manifest.objects.get(a.key, {}) for a in plan.put if a.stage == Stage.FEED}
    objects = {key: dict(entry) for key, entry in manifest.objects.items()}
    site = [*plan.put, *plan.update, *plan.skip]
    verified: list[str] = []
    by_key = {a.key: a for a in site}

    def record(key: str) -> None:
        """What went up is recorded at once (a Ctrl-C may come next), never as verified."""
        a = by_key[key]
        entry: dict = {"sha256": a.sha256, "size": a.size, "stage": int(a.stage)}
        settings = storage.settings(a)
        if settings is not None:
            entry["settings"] = settings
        if a.live:
            entry["live"] = dict(a.live)  # what the next publish compares for podping's reason
        objects[key] = entry

    def done(key: str, size: int) -> None:
        record(key)
        result.uploaded.append(key)
        result.bytes_uploaded += size
        reporter.put_done(key, size)

    def updated(key: str, size: int) -> None:
        record(key)
        result.updated.append(key)
        log(f"UPDATE {key}")

    def save() -> None:
        """Record what did go up before a fatal error, so that the next run resumes from there
        (if the target is gone too, the next run finds the objects with `Storage.existing`)."""
        with contextlib.suppress(StorageError):
            storage.write_manifest(Manifest(objects, run.shows or manifest.shows, run.base_url).dump())

    failed: dict[str, str] = {}
    reporter.start(len(plan.put), sum(a.size for a in plan.put))
    try:
        for stage, puts, updates in plan.stages():
            if stage == Stage.FEED and not failed and verifier is not None:
                report = verifier.check(_unverified(site, objects, verifier))
                if report.unreachable:
                    save()
                    raise StorageError(
                        f"{report.unreachable}: feeds not published; check the target's "
                        f"public_base_url, or publish with --no-verify to skip the check"
                    )
                if report.checked:
                    log(f"checked {report.checked} object(s) the feeds point at through the public URL")
                result.verified = report.checked
                failed.update(report.failures)
                verified.extend(report.passed)
            if stage == Stage.FEED and failed:
                break  # never publish a feed while something it may point at is missing
            if puts:
                failed.update(storage.put_many(puts, done, reporter.bytes_sent))
            if updates:
                failed.update(storage.update_many(updates, updated))
        # Deletes come after every feed is up, and not at all after a failure: the feeds that
        # are live then are the new ones, which do not reference what is deleted.
        if plan.delete and not failed:
            # one request per stage, feeds first: a removed feed is gone before its media
            for _, group in itertools.groupby(plan.delete, key=lambda k: stage_of(k, manifest.objects[k])):
                keys = list(group)
                storage.delete(keys)
                for key in keys:
                    objects.pop(key, None)
                    log(f"DELETE {key}")
                    result.deleted.append(key)
    except (StorageError, KeyboardInterrupt):  # Ctrl-C and SIGTERM too: the next run resumes
        save()
        raise
    finally:
        reporter.close()
    if failed:
        save()  # what went up is recorded, never as verified: the next run checks it again
        first = "; ".join(f"{k}: {v}" for k, v in sorted(failed.items())[:5])
        more = f" (and {len(failed) - 5} more)" if len(failed) > 5 else ""
        raise StorageError(
            f"{storage.name}: {len(failed)} object(s) failed, feeds not updated: {first}{more}"
        )
    if verifier is not None:
        for key in verified:
            if key in objects:
                objects[key]["verified"] = verifier.base_url
    _mark_stale(plan, objects, now)
    result.stale = len(plan.stale)
    dues = [d for d in (prune_due(objects[k], run.keep_seconds) for k in plan.stale) if d is not None]
    result.prune_after = min(dues) if dues else None
    after = Manifest(objects, run.shows or manifest.shows, run.base_url or manifest.base_url)
    if after != manifest:  # a no-op publish makes no request at all
        storage.write_manifest(after.dump())
        if verifier is not None and verifier.readable(MANIFEST_KEY):
            log(
                f"warning: {storage.name}: {MANIFEST_KEY} is readable by anyone; "
                "`grandirenhlm setup` applies a bucket policy that keeps it private"
            )
    result.seconds = time.perf_counter() - started
    return result


def _mark_stale(plan: Plan, objects: dict[str, dict], now: datetime) -> None:
    """Objects that left the site: since when (the clock of the keep period); objects back in the
    site: no longer stale."""
    stamp = now.astimezone(UTC).replace(microsecond=0).isoformat()
    for key in plan.stale:
        if key in objects:
            objects[key].setdefault("stale_since", stamp)
    for a in plan.skip:
        if a.key in objects:
            objects[a.key].pop("stale_since", None)
