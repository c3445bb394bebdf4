"""Publish targets. `open_storage(target)` gives a `Storage`: a local folder or an S3 bucket."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from grandirenhlm.errors import StorageError

if TYPE_CHECKING:
    from grandirenhlm.build import Artifact
    from grandirenhlm.config import Project, Target

MANIFEST_KEY = ".grandirenhlm/manifest.json"

# Called after each object is written: (key, bytes written).
Progress = Callable[[str, int], None]
# Called as bytes go out (S3: per chunk, negative when a part is retried; folder: per file).
BytesProgress = Callable[[int], None]


class Storage(Protocol):
    """What `publish` needs from a target. Keys are relative to the target's prefix."""

    name: str  # how messages name the target (never with credentials)

    def read_manifest(self) -> dict[str, dict]:
        """{key: {"sha256": ..., "size": ...}} of what a previous publish left, or {}."""
        ...

    def put_many(
        self, artifacts: Sequence[Artifact], progress: Progress, on_bytes: BytesProgress | None = None
    ) -> dict[str, str]:
        """Write every artifact; return {key: reason} for those that failed (others succeeded)."""
        ...

    def settings(self, artifact: Artifact) -> dict[str, str | None] | None:
        """The upload settings this target gives the object (type, cache policy, ACL, storage
        class), recorded in the manifest so that a change re-applies them; None where the target
        keeps none (a folder)."""
        ...

    def update_many(self, artifacts: Sequence[Artifact], progress: Progress) -> dict[str, str]:
        """Re-apply the upload settings to objects already there with the right bytes; return
        {key: reason} for those that failed."""
        ...

    def delete(self, keys: Sequence[str]) -> None: ...

    def write_manifest(self, data: bytes) -> None: ...

    # the publish lock (see `grandirenhlm.lock`)
    def create_lock(self, data: bytes) -> bool: ...

    def read_lock(self) -> bytes | None: ...

    def remove_lock(self) -> None: ...


def open_storage(project: Project, target: Target) -> Storage:
    if target.is_s3:
        from grandirenhlm.storage.s3 import S3Storage

        return S3Storage(target)
    from grandirenhlm.storage.local import LocalStorage

    return LocalStorage(project.root / target.url, name=target.url)


def parse_manifest(raw: bytes, where: str) -> dict[str, dict]:
    try:
        data = json.loads(raw)
        objects = data["objects"]
        if not isinstance(objects, dict):
            raise TypeError("objects is not a table")
        return {k: v for k, v in objects.items() if isinstance(v, dict) and "sha256" in v}
    except (ValueError, KeyError, TypeError) as exc:
        raise StorageError(
            f"{where}: {MANIFEST_KEY} is damaged ({exc}); delete it to republish everything"
        ) from exc


def dump_manifest(objects: dict[str, dict], base_url: str | None = None) -> bytes:
    """The manifest's bytes: `base_url`, the address the site's links were built for (which
    `serve` rewrites to its own), and `objects`. Each entry: `sha256`, `size`, `stage`, and where
    they apply the upload `settings` and `verified` (the public base URL through which an
    anonymous client was seen fetching the object: set only by a run that succeeded)."""
    data = {"version": 2, "base_url": base_url, "objects": dict(sorted(objects.items()))}
    return json.dumps(data, indent=1).encode()


def manifest_base_url(raw: bytes) -> str | None:
    """The base URL a manifest says the site was built for (None for older manifests)."""
    try:
        value = json.loads(raw).get("base_url")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) and value.startswith(("http://", "https://")) else None
