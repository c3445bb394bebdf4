"""Pure: artifacts + the target's manifest -> the ordered `Plan` of what to put, update and delete."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from grandirenhlm.artifact import Artifact, Stage

# The upload settings of one object as the target applies them (see `Storage.settings`).
Settings = dict[str, str | None]


@dataclass(frozen=True)
class Plan:
    put: tuple[Artifact, ...]  # in publish order: media, assets, pages, feeds
    update: tuple[Artifact, ...]  # same bytes, other upload settings (ACL, type, cache, class)
    skip: tuple[Artifact, ...]  # already there with the same sha256, size and settings
    delete: tuple[str, ...]  # stale keys, only with prune, never one a feed references; feeds first
    stale: tuple[str, ...] = ()  # keys no longer part of the site, left in place (no prune)
    changes: tuple[tuple[str, str], ...] = ()  # (key, "acl: none -> public-read") for updates

    def lines(self) -> list[str]:
        """The plan as `--dry-run` prints it: one action and key per line, in order."""
        why = dict(self.changes)
        out = [f"PUT    {a.key}" for a in self.put]
        out += [f"UPDATE {a.key} ({why[a.key]})" for a in self.update]
        out += [f"SKIP   {a.key}" for a in self.skip]
        out += [f"DELETE {k}" for k in self.delete]
        return out

    def stages(self) -> list[tuple[Stage, tuple[Artifact, ...], tuple[Artifact, ...]]]:
        """(stage, objects to put, objects to update) in publish order."""
        return [
            (s, tuple(a for a in self.put if a.stage == s), tuple(a for a in self.update if a.stage == s))
            for s in Stage
        ]

    @property
    def writes(self) -> bool:
        return bool(self.put or self.update or self.delete)


# How long an object that left the site is kept before `--prune` deletes it: a feed or page that
# listed it may be cached for its max-age (300 s, build.SHORT) by apps, browsers and CDNs, some of
# which serve stale copies a while longer; an hour covers both with a wide margin.
KEEP_SECONDS = 3600


def plan_publish(
    artifacts: Sequence[Artifact],
    manifest: dict[str, dict],
    prune: bool = False,
    settings: Callable[[Artifact], Settings | None] | None = None,
    now: datetime | None = None,
    keep_seconds: float = KEEP_SECONDS,
) -> Plan:
    """What to do so that the target holds `artifacts`.

    `settings(artifact)` gives the upload settings the target would apply now; an object already
    up with the same bytes but other recorded settings is updated in place (a manifest entry
    written before settings were recorded counts as different: its settings are unknown).
    Objects no longer part of the site are `stale`; with `prune`, those that left it more than
    `keep_seconds` before `now` (`stale_since` in the manifest) are deleted, the others kept.
    """
    put, update, skip, changes = [], [], [], []
    for artifact in sorted(artifacts, key=lambda a: (a.stage, a.key)):
        known = manifest.get(artifact.key)
        if not known or known.get("sha256") != artifact.sha256 or known.get("size") != artifact.size:
            put.append(artifact)
            continue
        wanted = settings(artifact) if settings is not None else None
        if wanted is not None and known.get("settings") != wanted:
            update.append(artifact)
            changes.append((artifact.key, describe_change(known.get("settings"), wanted)))
        else:
            skip.append(artifact)
    wanted_keys = {a.key for a in artifacts}
    referenced = {ref for a in artifacts for ref in a.references}
    stale = sorted(k for k in manifest if k not in wanted_keys and k not in referenced)
    delete: list[str] = []
    if prune:
        due = [k for k in stale if _left_before(manifest[k], now, keep_seconds)]
        # Feeds go first, media last: the reverse of publishing, so that a feed being removed
        # never lists an enclosure already deleted.
        delete = sorted(due, key=lambda k: (-stage_of(k, manifest[k]), k))
    kept = tuple(k for k in stale if k not in set(delete))
    return Plan(tuple(put), tuple(update), tuple(skip), tuple(delete), kept, tuple(changes))


def _left_before(entry: dict, now: datetime | None, keep_seconds: float) -> bool:
    """Whether the object left the site more than `keep_seconds` before `now`."""
    since = entry.get("stale_since")
    if now is None:
        return True
    if not isinstance(since, str):
        return False  # first seen stale now: the publish that sees it records when
    try:
        left = datetime.fromisoformat(since)
    except ValueError:
        return False
    return (now - left).total_seconds() >= keep_seconds


def prune_due(entry: dict, keep_seconds: float = KEEP_SECONDS) -> datetime | None:
    """When a stale object may be pruned (None if its leaving is not recorded yet)."""
    since = entry.get("stale_since")
    try:
        return (
            datetime.fromisoformat(since) + timedelta(seconds=keep_seconds)
            if isinstance(since, str)
            else None
        )
    except ValueError:
        return None


def describe_change(before: Settings | None, after: Settings) -> str:
    """`acl: none -> public-read, cache_control: ... -> ...` (or why the settings are re-applied)."""
    if before is None:
        return "settings not recorded yet"
    parts = [
        f"{name}: {before.get(name) or 'none'} -> {after.get(name) or 'none'}"
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    ]
    return ", ".join(parts)


def stage_of(key: str, entry: dict) -> int:
    """The stage a manifest entry was published at; guessed from the key for manifests written
    before entries recorded it."""
    stage = entry.get("stage")
    if isinstance(stage, int) and stage in {s.value for s in Stage}:
        return stage
    if key.endswith((".xml", ".opml", ".rss")):
        return Stage.FEED
    if key.endswith(".html"):
        return Stage.PAGE
    return Stage.MEDIA
