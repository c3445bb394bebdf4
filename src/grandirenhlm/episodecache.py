"""Validated episodes by record, kept in `.grandirenhlm/episodes.json`: a rebuild after one edit
does not read and check 10,000 unchanged records again.

An entry is the `Episode` a record gave when it was read without a problem, keyed by the record's
path and the SHA-256 of its bytes (an edit that keeps the size and time is seen), the show, the
project folder and the time zone it was read with. The bytes are not read and hashed again while
the file's size, modification and change times and inode are those seen when they were (its change
time, which no one sets, moves with every write; a change time within three seconds of the reading
is not trusted, as a write in the same tick of the clock would keep it); the whole file is keyed by the code that read it
(`fingerprint.code_lines`: an upgrade or an edit of the schema reads every record again). What lies
outside the record is not trusted to the cache: `records.load_episode` checks the files a cached
episode names again (inside the project, there, the same size, a poster's first bytes) and reads
the record anew when one of them changed, so that the problem is named as on a first read.

JSON, not pickle, and signed with this user's key (`cachekey`): the project folder may come from
a pull request, and a cache committed there must neither run code nor hand back values that were
never validated; a file without this user's MAC is ignored. Values are stored tagged (paths, dates
with their time zone, tuples, the model's dataclasses by name, fields left at their default
omitted) and come back as equal objects with the same `repr`. A value of another kind is not
cached; a damaged file or entry is ignored.

The episode's place in a page's key (`PageCache`) is spelled from its entry (`spellings`): the
hash of what the entry is keyed by, from which the episode is read, and the hash of its table
without the notes (its player page and oEmbed JSON do not show them), made with the entry. An
episode that came through the cache is never `repr`-ed to key its pages.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
from datetime import datetime, timedelta, timezone, tzinfo
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from grandirenhlm import cachekey, fingerprint
from grandirenhlm.files import cache_folder
from grandirenhlm.model import Chapter, Episode, EpisodeMedia, Live, Location, Person

_CLASSES: dict[str, type] = {c.__name__: c for c in (Episode, EpisodeMedia, Chapter, Person, Location, Live)}
_CONCRETE_PATH = type(Path())  # PosixPath (WindowsPath): what a catalog's record paths are
_TAG = "\x00"  # the key of a tagged value (a key no TOML record can produce here: these are fields)


FOUND = "found"  # `EpisodeCache.sent`: the entry of the file


class EpisodeCache:
    """`get` an episode read before from the same bytes, `put` one just read, `save` at the end."""

    # 1 was one JSON document; 2 a table of one line per entry (`cachekey`), the episode as text;
    # 3 the episode as a table in the line (one parse), how page keys spell it and the record
    # file's state when its bytes were hashed
    VERSION = 3

    def __init__(self, path: Path | None, salt: str = "") -> None:
        self.path = path
        self.salt = salt
        self.entries: dict[str, list] = {}
        self.used: dict[str, list] = {}
        self.changed = False
        # lines added to the file since it was last written whole (`save`)
        self.added = 0
        # id of each episode `get` gave or `put` kept -> (the episode, its spelling in a page key,
        # the same without its notes), the episode held so that its id stays its own
        self.spellings: dict[int, tuple[Episode, str, str]] = {}
        if path is not None:
            self.entries, self.added = _read_entries(path, self.VERSION, salt)

    @classmethod
    def for_project(cls, root: Path) -> EpisodeCache:
        return cls(cache_folder(root) / "episodes.json", _code_salt())

    def unchanged(self, path: Path) -> str | None:
        """The SHA-256 of the record's bytes kept in its entry when the file is as it was when they
        were read (size, times, inode: its change time moves with any write), else None."""
        entry = self.entries.get(str(path))
        if entry is None or not entry[7]:
            return None
        try:
            return entry[0] if _file_key(fingerprint.Seen.of(path)) == entry[7] else None
        except (OSError, ValueError):
            return None

    def get(
        self,
        path: Path,
        stamp: str,
        show: str,
        root: Path,
        zone: tzinfo,
        seen: fingerprint.Seen | None = None,
    ) -> Episode | None:
        """The episode read from these very bytes in the same setting, or None. `seen`: the file as
        its bytes were just read, kept in the entry from now on (`unchanged`)."""
        key = str(path)
        hit = self.entries.get(key)
        if hit is None or hit[:4] != [stamp, show, str(root), _zone_key(zone)]:
            return None
        try:  # signed by this user's runs (`_read_entries`), yet a bug must not stop a build
            fields = _arguments("Episode", hit[4])
            text = os.fspath(path)
            absolute = os.path.abspath(text)
            # the record's own path when it is already absolute and normal (a catalog's are): a
            # Path made again is 10 us an episode
            source = path if absolute == text and type(path) is _CONCRETE_PATH else Path(absolute)
            episode = Episode(show=show, slug=source.stem, source=source, **fields)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError, RecursionError):
            return None  # damaged or foreign: the record is read
        if seen is not None and (file_key := _file_key(seen)) != hit[7]:  # touched, or too recent
            hit = [*hit[:7], file_key]  # to trust: again
            self.changed = True
        self.used[key] = hit
        self._spelled(episode, hit)
        return episode

    def put(
        self,
        path: Path,
        stamp: str,
        show: str,
        root: Path,
        zone: tzinfo,
        episode: Episode,
        seen: fingerprint.Seen | None = None,
    ) -> None:
        """Keep `episode`, just read from `path` without a problem (unless a value is not cacheable);
        `seen`: the file as its bytes were read (`unchanged`)."""
        key, encoded, absolute = str(path), None, os.path.abspath(path)
        # rebuilt from the path when read: only an episode that agrees is kept
        if (episode.show, episode.slug, str(episode.source)) == (show, path.stem, absolute):
            with contextlib.suppress(TypeError):  # a value not cached
                encoded = _encode(episode, top=True)
        if encoded is None:
            self.used.pop(key, None)  # an entry `get` found for these bytes does not hold this episode
            return
        # how a page key spells the episode (`_spelled`): in full, what the entry is keyed by, which
        # the episode is read from, with its path (the page key's salt holds the code that reads
        # it); without its notes, its table without them, with its show and path
        where = (show, absolute)
        setting = [stamp, show, str(root), _zone_key(zone)]  # what `get` compares
        spelled = hashed("\0".join(("episode", stamp, *setting[2:], *where)))
        notes_out = _dumps({k: v for k, v in encoded.items() if k != "description"})
        spelled_without_notes = hashed("\0".join(("episode without notes", *where, notes_out)))
        file_key = _file_key(seen) if seen is not None else ""
        # the table as text until it is saved (a cold catalog's 10,000 tables as dicts held 7 MiB
        # more of a build's peak); in the file, and as `entries` read from it, it is a table
        text = cachekey.Encoded(_dumps(encoded))
        entry = self.used[key] = [*setting, text, spelled, spelled_without_notes, file_key]
        self.changed = True
        self._spelled(episode, entry)

    def sent(self, key: str) -> list | str | None:
        """What a `get` or `put` for `key` left here, for `adopt` in the process this one was forked
        from: the entry used, or `FOUND` for one of the file's, which that process holds too."""
        entry = self.used.get(key)
        return FOUND if entry is not None and entry is self.entries.get(key) else entry

    def adopt(self, key: str, entry: list | str | None, changed: bool, episode: Episode | None) -> None:
        """What a `get` or `put` for the record at `key` left in a forked copy of this cache (the
        helper of `catalog.py`, `sent`): taken as if it had happened here; `episode`, what the
        record gave there (None: a problem), is spelled from the entry."""
        if entry == FOUND:
            entry = self.entries.get(key)
        if isinstance(entry, list):
            self.used[key] = entry
            if episode is not None:
                self._spelled(episode, entry)
        self.changed |= changed

    def _spelled(self, episode: Episode, entry: list) -> None:
        """Keep how `episode`, the one `entry` holds, is spelled in a page key: the two hashes
        `put` made with the entry (no string more per episode: 10,000 of them in a build)."""
        self.spellings[id(episode)] = (episode, entry[5], entry[6])

    def save(self) -> None:
        """Keep the episodes of this run (a deleted record drops out); skipped if nothing changed.

        When no record went and the entries that changed are few, they are added after the file's
        lines (`cachekey.append_table`: a later line replaces an earlier one) instead of writing
        every entry again (0.3 s at 10,000 episodes, for a build after one edit); the file is
        written whole again once the lines added reach an eighth of its entries."""
        if self.path is None or (not self.changed and self.used.keys() == self.entries.keys()):
            return
        header = {"version": self.VERSION, "salt": self.salt}
        with contextlib.suppress(OSError):  # a cache: the next run reads the records
            new = [key for key, entry in self.used.items() if entry is not self.entries.get(key)]
            added = self.added + len(new)
            if (
                self.entries
                and self.entries.keys() <= self.used.keys()
                and added * 8 <= len(self.used)
                and cachekey.append_table(
                    self.path, {**header, "added": added}, ((key, _as_line(self.used[key])) for key in new)
                )
            ):
                return
            cachekey.save_table(
                self.path, header, ((key, _as_line(entry)) for key, entry in self.used.items())
            )


def _read_entries(path: Path, version: int, salt: str) -> tuple[dict[str, list], int]:
    """The entries of a cache file this user's runs wrote (`cachekey`) with this code, every entry
    of the expected shape (the others dropped), and how many lines were added to it since it was
    written whole. Anything else (no file, damaged, foreign, another version) is an empty cache."""
    table = cachekey.load_table(path)
    if table is None:
        return {}, 0
    header, entries = table
    if not isinstance(header, dict) or header.get("version") != version or header.get("salt") != salt:
        return {}, 0
    added = header.get("added", 0)
    return {
        key: entry
        for key, entry in entries.items()
        if isinstance(entry, list)
        and len(entry) == 8
        and isinstance(entry[4], dict)
        and all(isinstance(entry[i], str) for i in (0, 1, 2, 3, 5, 6, 7))
    }, added if type(added) is int and added >= 0 else len(entries)  # odd: written whole next time


def _file_key(seen: fingerprint.Seen) -> str:
    """What says a record file is as it was (`EpisodeCache.unchanged`): its size, modification
    and change times and inode; "" while its change time is too close to when it was seen to trust
    (a write in the same tick of the file system's clock would keep it), as for folders in
    `fingerprint`."""
    st = seen.stat
    if fingerprint.too_recent(st.st_ctime_ns, seen.at, st.st_dev):
        return ""
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}"


def _as_line(entry: list) -> list | cachekey.Encoded:
    """An entry as its line holds it: read from the file, as it was read; from `put`, as JSON text
    around the table's text `put` kept (not parsed back to be encoded again: 10,000 tables in a
    cold build)."""
    if isinstance(entry[4], dict):
        return entry
    return cachekey.encoded_list(entry)


def _dumps(encoded: dict) -> str:
    return json.dumps(encoded, ensure_ascii=False, separators=(",", ":"))


def hashed(spelled: str) -> str:
    """A long input's place in a page key (`pages.PageCache`): the SHA-256 of its spelling (as sound
    as the spelling). Here, where the cache spells its episodes for page keys, since pages imports
    this module."""
    return hashlib.sha256(spelled.encode("utf-8", "surrogatepass")).hexdigest()


@cache
def _code_salt() -> str:
    from grandirenhlm.fingerprint import code_lines

    # the package's Python code and the interpreter: templates and the renderers' versions do not
    # change what a record reads as (a template edit keeps the cache)
    lines = [line for line in code_lines() if line.startswith("version\0") or ".py\0" in line]
    lines.sort()
    return hashlib.sha256("\n".join(lines).encode("utf-8", "surrogateescape")).hexdigest()


def _zone_key(zone: tzinfo) -> str:
    return repr(zone)


# The fields rebuilt from the record's path rather than stored: its show folder, name and path.
_FROM_PATH = ("show", "slug", "source")


_PLAIN = (type(None), bool, int, float, str)


def _encode(value: Any, top: bool = False) -> Any:
    """A model value as JSON: dataclasses as tables tagged with their name (fields left at their
    default omitted), paths as text, dates as [local time, zone], tuples as arrays; the field's
    annotation says how to read each back (`_decoders`)."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if isinstance(value, Path):
        return str(value)
    if kind is datetime:
        return [value.replace(tzinfo=None).isoformat(), _tz_code(value.tzinfo)]
    if kind is tuple:
        return [_encode(v) for v in value]
    fields = _FIELDS.get(kind)
    if fields is None:
        raise TypeError(f"{kind.__name__} is not cached")
    out: dict[str, Any] = {_TAG: kind.__name__}
    for name, default in fields:
        v = getattr(value, name)
        if top and name in _FROM_PATH:
            continue
        if default is dataclasses.MISSING or type(v) is not type(default) or v != default:
            out[name] = v if type(v) in _PLAIN else _encode(v)
    return out


def _tz_code(tz: tzinfo | None) -> Any:
    """A time zone as JSON: a zone of the database by name, a fixed offset in seconds; another kind
    (a named fixed offset) is not cached, since it would not come back with the same repr."""
    if tz is None:
        return None
    if isinstance(tz, ZoneInfo) and tz.key:
        return tz.key
    if type(tz) is timezone:
        offset = tz.utcoffset(None)
        if repr(timezone(offset)) == repr(tz):
            return offset.total_seconds()
    raise TypeError(f"{tz!r} is not cached")


def _datetime(value: list) -> datetime:
    text, z = value
    tz = None if z is None else ZoneInfo(z) if isinstance(z, str) else timezone(timedelta(seconds=z))
    return datetime.fromisoformat(text).replace(tzinfo=tz)


def _field_decoder(annotation: str) -> Any:
    """How a field of this annotation comes back from JSON: None (as it is: text and numbers), a
    function, or False when unsupported."""
    kind = annotation.removesuffix(" | None")
    if kind in ("str", "int", "float", "bool"):
        return None
    if kind in _CLASSES:
        cls = _CLASSES[kind]
        return lambda table: cls(**_arguments(kind, table))
    if kind == "Path":
        return Path
    if kind == "datetime":
        return _datetime
    if kind.startswith("tuple[") and kind.endswith(", ...]"):
        item = kind[6:-6]
        if item in ("str", "float"):
            return tuple
        if item in _CLASSES:
            cls = _CLASSES[item]
            return lambda tables: tuple(cls(**_arguments(item, table)) for table in tables)
    return False


def _decoders() -> dict[str, dict[str, Any]]:
    """Per class, its fields that need converting; a class with a field of another kind is left
    out (its episodes are then not cached), so that a new field can never come back wrong."""
    out = {}
    for name, cls in _CLASSES.items():
        fields = {f.name: _field_decoder(str(f.type)) for f in dataclasses.fields(cls)}
        if False not in fields.values():
            out[name] = {k: v for k, v in fields.items() if v is not None}
    return out


_DECODERS = _decoders()
# Per cacheable class, its fields and their defaults (MISSING: always written), looked up once.
_FIELDS = {
    cls: tuple((f.name, f.default) for f in dataclasses.fields(cls))
    for name, cls in _CLASSES.items()
    if name in _DECODERS
}


def _arguments(kind: str, table: dict) -> dict[str, Any]:
    """The keyword arguments of the class named `kind` from its table in an entry (`_encode`): a
    new dict, each field converted (the entry itself is left as it is, to be saved again)."""
    if table.get(_TAG) != kind:
        raise TypeError(f"not a {kind}")
    convert = _DECODERS[kind]
    out = {}
    for name, value in table.items():
        if name != _TAG:
            how = convert.get(name)
            out[name] = value if how is None or value is None else how(value)
    return out
