"""Publish targets, by URL scheme: a registry of backends, each owning its options, its storage,
its bucket setup, its default public URL and whether it can be verified from outside.

| scheme | module | target URL |
|---|---|---|
| `file` | `storage.local` | a folder, relative to the project (`public`) or absolute |
| `s3` | `storage.s3_backend` (client: `storage.s3`) | `s3://BUCKET/PREFIX` (AWS, OVHcloud, Scaleway, R2, MinIO, Ceph) |

Adding a backend (Azure Blob, Google Cloud Storage) is one module with a `BACKEND` object (see
`Backend`) and one line in `BACKENDS`.
"""

from __future__ import annotations

import importlib
import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from grandirenhlm.errors import ConfigError, StorageError

if TYPE_CHECKING:
    from grandirenhlm.artifact import Artifact
    from grandirenhlm.config import Project, Target
    from grandirenhlm.verify import Verifier

# scheme -> module holding its BACKEND
BACKENDS = {"file": "grandirenhlm.storage.local", "s3": "grandirenhlm.storage.s3_backend"}


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

    def redirect_note(self, target: Target, base_url: str) -> str | None:
        """What to know when an object moved (`Artifact.redirect`) and listeners reach the target
        at `base_url`: None when the target itself answers its old URL with the redirect."""
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

    def read_manifest(self) -> Manifest:
        """What previous publishes recorded (an empty `Manifest` for a new target)."""
        ...

    def existing(self, artifacts: Sequence[Artifact]) -> dict[str, dict]:
        """Manifest entries for those of `artifacts` already on the target with the same bytes
        though no manifest records them (a run killed before writing its manifest)."""
        ...

    def state(self) -> str:
        """A stamp of what the target holds, cheap to take, that changes when anything else
        changes it (a folder: its manifest file and its entries' names and folders' times, see
        `storage.local.folder_state`; a bucket: its manifest's ETag): a publish whose inputs did
        not change skips the target only while this is as it left it."""
        ...

    def abort_incomplete_uploads(self) -> int:
        """Abort multipart uploads an interrupted run left (called under the lock); how many."""
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


@dataclass
class Manifest:
    """What a target holds, as the publishes that wrote it recorded (`.grandirenhlm/manifest.json`).

    - `objects`: key -> {sha256, size, stage}, and where they apply the upload `settings`,
      `verified` (the public base URL through which an anonymous client was seen fetching the
      object, set only by a run that succeeded) and `stale_since` (when the object left the site:
      `--prune` deletes it once feeds that listed it can no longer be cached anywhere);
    - `shows`: whose site this is (show slug -> podcast:guid), so that another project publishing
      to the same place is refused instead of replacing its manifest and pruning its files;
    - `base_url`: the address the site's links were built for (`serve` rewrites it to its own).
    """

    objects: dict[str, dict | tuple] = field(default_factory=dict)  # tuples: read `compact`
    shows: dict[str, str] = field(default_factory=dict)
    base_url: str | None = None

    @classmethod
    def parse(cls, raw: bytes, where: str, *, compact: bool = False) -> Manifest:
        """`compact`: each entry that is what a build writes (`PLAIN_ENTRY`) is held as the tuple
        of its values (`entry_table` gives its table back), made as it is parsed: a folder's 40,000
        objects as dicts were the peak of a build after one edit (`storage.local.write_folder`)."""
        try:
            data = json.loads(raw, object_hook=_compacted if compact else None)
            objects = data["objects"]
            if not isinstance(objects, dict):
                raise TypeError("objects is not a table")
            shows = data.get("shows") or {}
            if not isinstance(shows, dict):
                raise TypeError("shows is not a table")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise StorageError(
                f"{where}: {MANIFEST_KEY} is damaged ({exc}); delete it to republish everything"
            ) from exc
        base = data.get("base_url")
        return cls(
            {k: v for k, v in objects.items() if type(v) is tuple or (isinstance(v, dict) and "sha256" in v)},
            {str(k): str(v) for k, v in shows.items()},
            base if isinstance(base, str) and base.startswith(("http://", "https://")) else None,
        )

    def dump(self) -> bytes:
        """`json.dumps(data, indent=1)` of the manifest (`manifest_pieces`), written into one
        buffer as the pieces are made (joined, they would first be a list of every piece)."""
        out = io.BytesIO()
        for piece in manifest_pieces(self.shows, self.base_url, sorted(self.objects.items())):
            out.write(piece)
        return out.getvalue()

    def belongs_to_another(self, shows: dict[str, str]) -> bool:
        """True when the manifest names shows and none of them is one of `shows` (same slug or
        same podcast:guid): the site of another project."""
        if not self.shows or not shows:
            return False
        guids = {g for g in shows.values() if g}
        return not (set(self.shows) & set(shows)) and not ({g for g in self.shows.values() if g} & guids)


# What a build records of each object it writes (`storage.local._entry`), in this order.
PLAIN_ENTRY = ("sha256", "size", "stage")


def _compacted(table: dict) -> dict | tuple:
    """A table of a manifest as `Manifest.parse(compact=True)` holds it."""
    if len(table) == 3 and tuple(table) == PLAIN_ENTRY:
        values = sha256, size, stage = tuple(table.values())
        if type(sha256) is str and type(size) is int and type(stage) is int:
            return values
    return table


def entry_table(entry: dict | tuple) -> dict:
    """An object's entry in a manifest as a table (a compact one's values named)."""
    return dict(zip(PLAIN_ENTRY, entry, strict=True)) if type(entry) is tuple else entry


def entry_size(entry: dict | tuple) -> object:
    return entry[1] if type(entry) is tuple else entry.get("size")


def manifest_pieces(
    shows: dict[str, str], base_url: str | None, objects: Iterable[tuple[str, dict | tuple]]
) -> Iterator[bytes]:
    """`Manifest(dict(objects), shows, base_url).dump()`, the objects given in the order of their
    keys, a piece per object, made as they are taken: a new site's 40,000
    objects are made from its artifacts as they are written here, not held as tables, and its
    7 MB of text is written as it is made (held whole, with the tables before, they were the
    largest part of a cold build's peak).

    The text is `json.dumps(data, indent=1)`'s, made a few strings per object: an indented dump
    is made by json's pure-Python encoder (0.45 s for a site of 40,000 files), as a list of every
    piece of the text (six times the bytes written)."""
    head = {"version": 2, "base_url": base_url, "shows": dict(sorted(shows.items()))}
    yield json.dumps(head, indent=1)[:-2].encode() + b',\n "objects": '
    separator = "{\n  "
    for key, entry in objects:
        yield f"{separator}{_quoted(key)}: {_indented_table(entry)}".encode()
        separator = ",\n  "
    yield b"{}\n}" if separator == "{\n  " else b"\n }\n}"


_quoted = json.encoder.encode_basestring_ascii  # a JSON string as `json.dumps` writes it (C)
_SCALARS = {
    str: _quoted,
    int: int.__repr__,
    bool: lambda v: "true" if v else "false",
    type(None): lambda v: "null",
}


def _indented_table(entry: dict | tuple) -> str:
    """`entry` as `json.dumps(..., indent=1)` writes it two levels down: a table of text and
    whole numbers (every object's, but for the odd setting) spelled here, another by json (JSON
    strings hold no raw newline: every newline of a dump is one of the layout, indented in place)."""
    if type(entry) is tuple:  # a compact entry: text and whole numbers (`_compacted`)
        sha256, size, stage = entry
        return f'{{\n   "sha256": {_quoted(sha256)},\n   "size": {size!r},\n   "stage": {stage!r}\n  }}'
    if not entry:
        return "{}"
    try:
        members = ",\n   ".join(f"{_quoted(k)}: {_SCALARS[type(v)](v)}" for k, v in entry.items())
    except (KeyError, TypeError):  # a value of another kind, a key that is not text
        return json.dumps(entry, indent=1).replace("\n", "\n  ")
    return "{\n   " + members + "\n  }"


def another_project(name: str, manifest: Manifest) -> str:
    """The refusal when a target holds another project's site."""
    return (
        f"{name}: this target holds the site of another project (shows: {', '.join(sorted(manifest.shows))}); "
        "publishing here would replace its manifest and could prune its files: choose another "
        "folder or prefix, or publish from that project"
    )


def manifest_base_url(raw: bytes) -> str | None:
    """The base URL a manifest says the site was built for (None for older manifests)."""
    try:
        return Manifest.parse(raw, "").base_url
    except StorageError:
        return None
