"""Publish targets, by URL scheme: a registry of backends, each owning its options, its storage,
its bucket setup, its default public URL and whether it can be verified from outside.

| scheme | module | target URL |
|---|---|---|
| `file` | `storage.local` | a folder, relative to the project (`public`) or absolute |
| `s3` | `storage.s3` | `s3://BUCKET/PREFIX` (AWS, OVHcloud, Scaleway, R2, MinIO, Ceph) |

Adding a backend (Azure Blob, Google Cloud Storage) is one module with a `BACKEND` object (see
`Backend`) and one line in `BACKENDS`.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from grandirenhlm.errors import ConfigError, StorageError

if TYPE_CHECKING:
    from grandirenhlm.build import Artifact
    from grandirenhlm.config import Project, Target
    from grandirenhlm.verify import Verifier

# scheme -> module holding its BACKEND
BACKENDS = {"file": "grandirenhlm.storage.local", "s3": "grandirenhlm.storage.s3"}


@dataclass(frozen=True)
class OptionSpec:
    """One setting of a backend: a key of `[targets.NAME]` in grandirenhlm.toml and a command-line
    flag of `publish`/`setup` (`--endpoint-url` for `endpoint_url`)."""

    name: str
    help: str
    kind: str = "text"  # text, choice, int
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    default: Any = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


class Backend(Protocol):
    """What a scheme provides (see the module docstring)."""

    scheme: str
    options: tuple[OptionSpec, ...]

    def open(self, project: Project, target: Target) -> Storage: ...

    def default_base_url(self, target: Target) -> str:
        """Where anonymous clients reach the target when no public_base_url is set."""
        ...

    def is_remote(self, target: Target) -> bool:
        """Storage on another machine: what goes there reaches listeners."""
        ...

    def verifier(self, target: Target, base_url: str) -> Verifier | None:
        """How a publish checks that listeners can fetch what feeds list (None: it cannot)."""
        ...


def scheme_of(url: str) -> str:
    return url.split("://", 1)[0] if "://" in url else "file"


def backend(url: str) -> Backend:
    """The backend of a target URL (a folder path is the `file` scheme)."""
    scheme = scheme_of(url)
    if scheme not in BACKENDS:
        known = ", ".join(f"{s}://" for s in BACKENDS if s != "file")
        raise ConfigError(f"{url}: unsupported target, expected a folder or one of {known}")
    return _load(scheme)


def _load(scheme: str) -> Backend:
    return importlib.import_module(BACKENDS[scheme]).BACKEND


def all_options() -> list[tuple[str, OptionSpec]]:
    """(scheme, option) of every backend, for the command line."""
    return [(scheme, spec) for scheme in BACKENDS for spec in _load(scheme).options]


def check_options(target_url: str, values: Mapping[str, Any], where: str) -> None:
    """Refuse settings that belong to another backend (`--acl` for a folder)."""
    mine = {spec.name for spec in backend(target_url).options}
    for name in sorted(values):
        if name not in mine:
            flag = "--" + name.replace("_", "-")
            owners = [s for s, spec in all_options() if spec.name == name]
            raise ConfigError(
                f"{where}{flag}: only for {', '.join(f'{o}://' for o in owners)} targets, not {target_url}"
            )


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

    def setup(self, readable: Callable[[str], bool | None] | None) -> list[str]:
        """Make the target ready to serve the site (`grandirenhlm setup`); the lines say what was
        done. `readable(key)`: can an anonymous client read `key` (None: no answer)?"""
        ...


def open_storage(project: Project, target: Target) -> Storage:
    return backend(target.url).open(project, target)


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
