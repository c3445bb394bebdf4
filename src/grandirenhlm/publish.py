"""Run a `Plan` against a `Storage`: media, then assets, pages and feeds, the manifest last.

If anything before the feeds fails, no feed is written, so a feed never points at an object that
is not uploaded; the manifest still records what did go up, so the next run resumes from there.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from grandirenhlm.build import Artifact, Stage
from grandirenhlm.errors import StorageError
from grandirenhlm.lock import publish_lock
from grandirenhlm.plan import Plan, plan_publish, stage_of
from grandirenhlm.progress import Reporter
from grandirenhlm.storage import MANIFEST_KEY, Storage, dump_manifest
from grandirenhlm.verify import Verifier


@dataclass
class PublishResult:
    target: str
    uploaded: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)  # settings re-applied in place
    skipped: int = 0
    deleted: list[str] = field(default_factory=list)
    stale: int = 0  # objects no longer part of the site, left on the target (no --prune)
    verified: int = 0  # objects checked through the public base URL in this run
    bytes_uploaded: int = 0
    seconds: float = 0.0  # the whole run (site.publish: from the check on)
    build_seconds: float = 0.0  # site.publish: check and render, before the upload
    pages_rendered: int = 0  # site.publish: pages rendered anew, and read back from the page cache
    pages_reused: int = 0

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
        }


def publish_artifacts(
    artifacts: Sequence[Artifact],
    storage: Storage,
    *,
    prune: bool = False,
    reporter: Reporter | None = None,
    verifier: Verifier | None = None,
    wait_seconds: float = 0.0,
    break_lock: bool = False,
    base_url: str | None = None,
) -> PublishResult:
    """Plan against the target's manifest and run the plan under the target's publish lock.

    A run with nothing to do takes no lock (a no-op publish makes no request that writes); any
    other run plans again once it holds the lock, since the publish it waited for changed the
    target. With a `verifier`, every object a feed references must have been seen answering
    through the public base URL (in this run or an earlier successful one) before feeds go up.
    """
    reporter = reporter or Reporter()
    started = time.perf_counter()
    manifest = storage.read_manifest()
    plan = plan_publish(artifacts, manifest, prune=prune, settings=storage.settings)
    if plan.writes or break_lock or _unverified(artifacts, manifest, verifier):
        with publish_lock(storage, wait_seconds=wait_seconds, break_lock=break_lock, log=reporter.log):
            manifest = storage.read_manifest()
            plan = plan_publish(artifacts, manifest, prune=prune, settings=storage.settings)
            result = run_plan(plan, storage, manifest, verifier, reporter, base_url)
    else:
        result = run_plan(plan, storage, manifest, verifier, reporter, base_url)
    result.seconds = time.perf_counter() - started
    return result


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
    plan: Plan,
    storage: Storage,
    manifest: dict[str, dict],
    verifier: Verifier | None = None,
    reporter: Reporter | None = None,
    base_url: str | None = None,
) -> PublishResult:
    """Execute `plan`; raise `StorageError` naming every failed object (feeds then stay as they were)."""
    reporter = reporter or Reporter()
    log = reporter.log
    started = time.perf_counter()
    result = PublishResult(target=storage.name, skipped=len(plan.skip), stale=len(plan.stale))
    objects = {key: dict(entry) for key, entry in manifest.items()}
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

    failed: dict[str, str] = {}
    reporter.start(len(plan.put), sum(a.size for a in plan.put))
    try:
        for stage, puts, updates in plan.stages():
            if stage == Stage.FEED and not failed and verifier is not None:
                report = verifier.check(_unverified(site, objects, verifier))
                if report.unreachable:
                    _save_manifest_best_effort(storage, objects, base_url)
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
            for _, group in itertools.groupby(plan.delete, key=lambda k: stage_of(k, manifest[k])):
                keys = list(group)
                storage.delete(keys)
                for key in keys:
                    objects.pop(key, None)
                    log(f"DELETE {key}")
                    result.deleted.append(key)
    except (StorageError, KeyboardInterrupt):  # Ctrl-C too: the next run resumes, not restarts
        _save_manifest_best_effort(storage, objects, base_url)
        raise
    finally:
        reporter.close()
    if failed:
        # what went up is recorded, never as verified: the next run checks it again
        _save_manifest_best_effort(storage, objects, base_url)
        first = "; ".join(f"{k}: {v}" for k, v in sorted(failed.items())[:5])
        more = f" (and {len(failed) - 5} more)" if len(failed) > 5 else ""
        raise StorageError(
            f"{storage.name}: {len(failed)} object(s) failed, feeds not updated: {first}{more}"
        )
    if verifier is not None:
        for key in verified:
            if key in objects:
                objects[key]["verified"] = verifier.base_url
    if objects != manifest:  # a no-op publish makes no request at all
        storage.write_manifest(dump_manifest(objects, base_url))
        if verifier is not None and verifier.readable(MANIFEST_KEY):
            log(
                f"warning: {storage.name}: {MANIFEST_KEY} is readable by anyone; "
                "`grandirenhlm setup` applies a bucket policy that keeps it private"
            )
    result.seconds = time.perf_counter() - started
    return result


def _save_manifest_best_effort(storage: Storage, objects: dict[str, dict], base_url: str | None) -> None:
    """Record what did go up before a fatal error, so that the next run resumes from there."""
    # if the target is gone too, the next run uploads these objects again
    with contextlib.suppress(StorageError):
        storage.write_manifest(dump_manifest(objects, base_url))
