"""Pure: artifacts + the target's manifest -> the ordered `Plan` of what to put and delete."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from grandirenhlm.build import Artifact, Stage


@dataclass(frozen=True)
class Plan:
    put: tuple[Artifact, ...]  # in publish order: media, assets, pages, feeds
    skip: tuple[Artifact, ...]  # already there with the same sha256 and size
    delete: tuple[str, ...]  # stale keys, only with prune, never one a feed references; feeds first

    def lines(self) -> list[str]:
        """The plan as `--dry-run` prints it: one action and key per line, in order."""
        out = [f"PUT    {a.key}" for a in self.put]
        out += [f"SKIP   {a.key}" for a in self.skip]
        out += [f"DELETE {k}" for k in self.delete]
        return out

    def stages(self) -> list[tuple[Stage, tuple[Artifact, ...]]]:
        return [(s, tuple(a for a in self.put if a.stage == s)) for s in Stage]


def plan_publish(artifacts: Sequence[Artifact], manifest: dict[str, dict], prune: bool = False) -> Plan:
    put, skip = [], []
    for artifact in sorted(artifacts, key=lambda a: (a.stage, a.key)):
        known = manifest.get(artifact.key)
        if known and known.get("sha256") == artifact.sha256 and known.get("size") == artifact.size:
            skip.append(artifact)
        else:
            put.append(artifact)
    delete: list[str] = []
    if prune:
        wanted = {a.key for a in artifacts}
        referenced = {ref for a in artifacts for ref in a.references}
        stale = (k for k in manifest if k not in wanted and k not in referenced)
        # Feeds go first, media last: the reverse of publishing, so that a feed being removed
        # never lists an enclosure already deleted.
        delete = sorted(stale, key=lambda k: (-stage_of(k, manifest[k]), k))
    return Plan(tuple(put), tuple(skip), tuple(delete))


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
