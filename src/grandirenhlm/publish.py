"""Run a `Plan` against a `Storage`: media, then assets, pages and feeds, the manifest last.

If anything before the feeds fails, no feed is written, so a feed never points at an object that
is not uploaded; the manifest still records what did go up, so the next run resumes from there.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from grandirenhlm.build import Artifact, Stage
from grandirenhlm.errors import StorageError
from grandirenhlm.lock import publish_lock
from grandirenhlm.plan import Plan, plan_publish, stage_of
from grandirenhlm.progress import Reporter
from grandirenhlm.storage import Storage, dump_manifest
from grandirenhlm.verify import VerifyReport


@dataclass
class PublishResult:
    target: str
    uploaded: list[str] = field(default_factory=list)
    skipped: int = 0
    deleted: list[str] = field(default_factory=list)
    bytes_uploaded: int = 0
    seconds: float = 0.0

    def summary(self) -> dict:
        return {
            "target": self.target,
            "uploaded": len(self.uploaded),
            "skipped": self.skipped,
            "deleted": len(self.deleted),
            "bytes": self.bytes_uploaded,
            "seconds": round(self.seconds, 3),
        }


def publish_artifacts(
    artifacts: Sequence[Artifact],
    storage: Storage,
    *,
    prune: bool = False,
    reporter: Reporter | None = None,
    verify: Callable[[Sequence[Artifact]], VerifyReport] | None = None,
    wait_seconds: float = 0.0,
    break_lock: bool = False,
) -> PublishResult:
    """Plan against the target's manifest and run the plan under the target's publish lock.

    A run with nothing to do takes no lock (a no-op publish makes no request that writes); any
    other run plans again once it holds the lock, since the publish it waited for changed the
    target.
    """
    reporter = reporter or Reporter()
    started = time.perf_counter()
    manifest = storage.read_manifest()
    plan = plan_publish(artifacts, manifest, prune=prune)
    if plan.put or plan.delete or break_lock:
        with publish_lock(storage, wait_seconds=wait_seconds, break_lock=break_lock, log=reporter.log):
            manifest = storage.read_manifest()
            plan = plan_publish(artifacts, manifest, prune=prune)
            result = run_plan(plan, storage, manifest, log=reporter.log, verify=verify, reporter=reporter)
    else:
        result = run_plan(plan, storage, manifest, log=reporter.log, verify=verify, reporter=reporter)
    result.seconds = time.perf_counter() - started
    return result


def run_plan(
    plan: Plan,
    storage: Storage,
    manifest: dict[str, dict],
    log: Callable[[str], None] = lambda line: None,
    verify: Callable[[Sequence[Artifact]], VerifyReport] | None = None,
    reporter: Reporter | None = None,
) -> PublishResult:
    """Execute `plan`; raise `StorageError` naming every failed object (feeds then stay as they were)."""
    started = time.perf_counter()
    result = PublishResult(target=storage.name, skipped=len(plan.skip))
    objects = dict(manifest)
    on_bytes = reporter.bytes_sent if reporter is not None else None

    def done(key: str, size: int) -> None:
        result.uploaded.append(key)
        result.bytes_uploaded += size
        if reporter is not None:
            reporter.put_done(key, size)
        else:
            log(f"PUT {key} ({size} bytes)")

    failed: dict[str, str] = {}
    if reporter is not None:
        reporter.start(len(plan.put), sum(a.size for a in plan.put))
    try:
        for stage, artifacts in plan.stages():
            if not artifacts:
                continue
            if stage == Stage.FEED and not failed and verify is not None:
                failed.update(_verified(verify, plan, log))
            if stage == Stage.FEED and failed:
                break  # never publish a feed while something it may point at is missing
            by_key = {a.key: a for a in artifacts}
            try:
                failed.update(storage.put_many(artifacts, done, on_bytes))
            finally:
                for key in result.uploaded:
                    if key in by_key:
                        a = by_key[key]
                        objects[key] = {"sha256": a.sha256, "size": a.size, "stage": int(a.stage)}
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
        _save_manifest_best_effort(storage, objects)
        raise
    finally:
        if reporter is not None:
            reporter.close()
    if failed:
        _save_manifest_best_effort(storage, objects)
        first = "; ".join(f"{k}: {v}" for k, v in sorted(failed.items())[:5])
        more = f" (and {len(failed) - 5} more)" if len(failed) > 5 else ""
        raise StorageError(
            f"{storage.name}: {len(failed)} object(s) failed, feeds not updated: {first}{more}"
        )
    if objects != manifest:  # a no-op publish makes no request at all
        storage.write_manifest(dump_manifest(objects))
    result.seconds = time.perf_counter() - started
    return result


def _verified(verify, plan: Plan, log: Callable[[str], None]) -> dict[str, str]:
    """Check the enclosures uploaded by this run through the public URL; {key: problem}."""
    media = [a for a in plan.put if a.stage == Stage.MEDIA]
    if not media:
        return {}
    report = verify(media)
    if report.skipped_reason:
        log(f"note: {report.skipped_reason}")
    else:
        log(f"checked {report.checked} new enclosure(s) through the public URL")
    return report.failures


def _save_manifest_best_effort(storage: Storage, objects: dict[str, dict]) -> None:
    """Record what did go up before a fatal error, so that the next run resumes from there."""
    # if the target is gone too, the next run uploads these objects again
    with contextlib.suppress(StorageError):
        storage.write_manifest(dump_manifest(objects))
