"""The record schema: TOML <-> model for one file (show definitions, episode records, the project
configuration), read and written here and nowhere else.

Every reader collects all the problems of a file and raises them at once, each naming the file and
the key; the `podcast:` values go through the rules of `namespace.py`. An episode record is written
from typed values (`write_episode`): a new record in the order `ingest` has always written, a record
read from its file (`read_episode`) with every key whose value did not change kept as the file wrote
it. Writes are atomic (`files.write_atomic`).
"""

from __future__ import annotations

import ast
import contextlib
import difflib
import hashlib
import json
import os
import re
import stat
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

# tomli is the parser the standard library's tomllib was taken from, the same code (TOML 1.0, the
# same errors), published compiled with mypyc: 10,000 records parse in 0.49 s instead of 0.9 s
import tomli
import tomli_w

from grandirenhlm import cachekey
from grandirenhlm import namespace as ns
from grandirenhlm.characters import CONTROL, control_character
from grandirenhlm.errors import ConfigError, ValidationError
from grandirenhlm.files import (
    DisplayPath,
    cache_folder,
    display_path,
    escapes_project,
    outside_project,
    write_atomic,
)
from grandirenhlm.fingerprint import Seen
from grandirenhlm.model import (
    PUBLISHABLE_MIME_TYPES,
    Chapter,
    EncodeSettings,
    Episode,
    EpisodeMedia,
    Funding,
    Live,
    Location,
    Owner,
    Person,
    Show,
)
from grandirenhlm.namespace import NamespaceError

EPISODE_TYPES = ("full", "trailer", "bonus")
SHOW_TYPES = ("episodic", "serial")
T = TypeVar("T")

if TYPE_CHECKING:
    from grandirenhlm.episodecache import EpisodeCache


class TomlCache:
    """Parsed records by path, size and modification time, kept in `.grandirenhlm/records.json`.

    Parsing TOML is slow, even compiled (tomli): 1,000 episode records took longer than everything
    else a no-op publish does. JSON loads in C, so an unchanged record costs a read and a SHA-256
    (both in C) instead. TOML's dates and times, which JSON lacks, are stored tagged and restored as the same
    objects. The cache only skips parsing: entries are keyed by the file's content (not its size
    and time, which an edit can keep), and a damaged cache is ignored.
    """

    # 1 keyed entries by size and modification time; 2 had no "clean" mark; 3 was one JSON document
    VERSION = 4
    _TAG = "\x00toml"

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._entries: dict[str, list] | None = None  # loaded on the first read (see `keep`)
        self.used: dict[str, list] = {}
        self.kept: set[str] = set()
        self.changed = False
        # Reads parsed without loading the table: while the episode cache answers for nearly every
        # record (`catalog` sets this when it has entries), the few it misses are records just
        # edited, which no entry here holds either; loading 10,000 entries and writing them back
        # for them was a tenth of a build after one edit. Past this many, the table is loaded.
        self.parse_before_loading = 0

    @property
    def entries(self) -> dict[str, list]:
        if self._entries is None:
            self._entries = {}
            if self.path is not None:
                # this user's runs wrote it (`cachekey`): its "clean" marks skip a check
                try:
                    table = cachekey.load_table(self.path, object_hook=self._decode)
                except (ValueError, KeyError, TypeError):  # a damaged date tag
                    table = None
                if (
                    table is not None
                    and isinstance(table[0], dict)
                    and table[0].get("version") == self.VERSION
                ):
                    self._entries = {  # [sha256, parsed, clean]; a damaged entry is read again
                        key: hit
                        for key, hit in table[1].items()
                        if isinstance(hit, list)
                        and len(hit) == 3
                        and isinstance(hit[0], str)
                        and isinstance(hit[1], dict)
                    }
        return self._entries

    @classmethod
    def for_project(cls, root: Path) -> TomlCache:
        return cls(cache_folder(root) / "records.json")

    def read(self, path: Path, raw: bytes | None = None, stamp: str | None = None) -> dict[str, Any]:
        """The parsed record at `path` (whose bytes the caller may have read already: `raw`, and
        hashed: `stamp`, their SHA-256)."""
        raw = read_toml_bytes(path) if raw is None else raw  # it names the problem
        # keyed by content: an edit that keeps the size and the modification time is still seen
        stamp = hashlib.sha256(raw).hexdigest() if stamp is None else stamp
        key = str(path)
        if self._entries is None and self.parse_before_loading > 0:
            # kept as read (saved if a later read loads the table), without loading it now
            self.parse_before_loading -= 1
            return self._parsed(key, path, raw, stamp)
        hit = self.entries.get(key)
        if hit is None or hit[0] != stamp:
            return self._parsed(key, path, raw, stamp)
        self.used[key] = hit
        return hit[1]

    def _parsed(self, key: str, path: Path, raw: bytes, stamp: str) -> dict[str, Any]:
        """A record parsed now: kept as the JSON text `save` writes, not as the parsed tables,
        which weigh twice as much (10,000 of them held through a cold load), and which a helper's
        child sends in one string instead of a tree of objects to unpickle (`catalog.py`)."""
        parsed = parse_toml(path, raw)
        text = json.dumps(parsed, ensure_ascii=False, default=self._encode)
        self.used[key] = [stamp, cachekey.Encoded(text), False]
        self.changed = True
        return parsed

    def clean(self, path: Path) -> bool:
        """Whether the record read last from `path` was found free of control characters, in any
        text at any depth (a scan of every string: a tenth of loading a record from this cache)."""
        hit = self.used.get(str(path))
        return bool(hit and len(hit) > 2 and hit[2])

    def mark_clean(self, path: Path) -> None:
        hit = self.used.get(str(path))
        if hit is not None and not self.clean(path):
            hit[2:] = [True]
            self.changed = True

    def keep(self, path: Path) -> None:
        """The record at `path` was not read in this run (its validated episode was cached: see
        `episodecache`) but is still there: its entry stays."""
        self.kept.add(str(path))

    def adopt(self, key: str, hit: list | None, kept: bool, changed: bool) -> None:
        """What a `read` or `keep` of the record at `key` left in another process's copy of this
        cache (the helper of `catalog.py`): taken as if it had happened here."""
        if changed and self._entries is None:  # a read here would have counted or loaded the table
            if self.parse_before_loading > 0:
                self.parse_before_loading -= 1
            else:
                self.entries  # noqa: B018  # loaded, so that `save` keeps what was read
        if hit is not None:
            self.used[key] = hit
        if kept:
            self.kept.add(key)
        self.changed |= changed

    def save(self) -> None:
        """Keep the records read or kept in this run; skipped if nothing was read (the file is then
        not even loaded: a deleted record's entry stays until a run reads one) or nothing changed."""
        if self.path is None or self._entries is None:
            return
        used = self.used | {k: self._entries[k] for k in self.kept - self.used.keys() if k in self._entries}
        if not self.changed and used.keys() == self._entries.keys():
            return
        lines = ((key, self._line(hit)) for key, hit in used.items())
        with contextlib.suppress(OSError):  # a read-only project still builds, only slower
            cachekey.save_table(self.path, {"version": self.VERSION}, lines, default=self._encode)

    @staticmethod
    def _line(hit: list) -> list | cachekey.Encoded:
        """An entry as its line holds it: read from the file, as it was read; parsed in this run,
        as JSON text around the text `_parsed` kept."""
        if type(hit[1]) is not cachekey.Encoded:
            return hit
        return cachekey.encoded_list(hit)

    @classmethod
    def _encode(cls, value: Any) -> dict[str, str]:
        for kind in (datetime, date, time):  # datetime first: it is also a date
            if isinstance(value, kind):
                return {cls._TAG: kind.__name__, "v": value.isoformat()}
        raise TypeError(f"{type(value).__name__} is not a TOML value")

    @classmethod
    def _decode(cls, obj: dict) -> Any:
        kind = obj.get(cls._TAG)
        if kind is None:
            return obj
        return {"datetime": datetime, "date": date, "time": time}[kind].fromisoformat(obj["v"])


# Limits of a TOML file (records, show definitions, grandirenhlm.toml), stated in the README: far above
# any real record (the demo's largest is 2 KiB, Apple's description limit 4000 bytes), far below what
# would slow every later command or exhaust the parser's recursion.
MAX_TOML_BYTES = 1024 * 1024
MAX_TOML_DEPTH = 20


def read_toml(path: Path) -> dict[str, Any]:
    """Parse one TOML file, turning every failure into a one-line `ConfigError`."""
    return parse_toml(path, read_toml_bytes(path))


def read_toml_bytes(path: Path) -> bytes:
    """The bytes of a TOML file, at most `MAX_TOML_BYTES`; a failure is a one-line `ConfigError`."""
    return read_toml_file(path)[0]


def read_toml_file(path: Path) -> tuple[bytes, Seen]:
    """`read_toml_bytes`, and the file's `fstat` taken before its bytes were read (with the time)."""
    try:
        with path.open("rb") as fh:
            seen = Seen.of(fh.fileno())
            size = seen.stat.st_size
            if size > MAX_TOML_BYTES:
                raise ConfigError(
                    f"{display_path(path)}: {size} bytes, a TOML file here may hold at most "
                    f"{MAX_TOML_BYTES} (1 MiB); keep long texts out of records"
                )
            # What fstat says and one byte more: a buffer of the file's size, not of the bound (a
            # 1 MiB buffer per record cost 0.5 s a catalog of 10,000). A file that grew meanwhile, or
            # one whose size reads 0 (a pipe), is read on, up to the bound.
            raw = fh.read(size + 1)
            if len(raw) > size:
                raw += fh.read(MAX_TOML_BYTES + 1 - len(raw))
    except FileNotFoundError as exc:
        raise ConfigError(f"{display_path(path)}: no such file") from exc
    except IsADirectoryError as exc:
        raise ConfigError(f"{display_path(path)}: is a directory, expected a TOML file") from exc
    except PermissionError as exc:
        raise ConfigError(f"{display_path(path)}: permission denied") from exc
    if len(raw) > MAX_TOML_BYTES:
        raise ConfigError(f"{display_path(path)}: more than {MAX_TOML_BYTES} bytes (1 MiB)")
    return raw, seen


def parse_toml(path: Path, raw: bytes) -> dict[str, Any]:
    """Parse the bytes of the TOML file `path`; every failure is a one-line `ConfigError`."""
    try:
        data = tomli.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{display_path(path)}: not UTF-8 text") from exc
    except tomli.TOMLDecodeError as exc:
        advice = _toml_mistake(raw, str(exc))
        if advice:
            raise ConfigError(f"{display_path(path)}: {advice}") from exc
        raise ConfigError(f"{display_path(path)}: invalid TOML: {exc}") from exc
    except RecursionError as exc:  # tomli recurses once per nested array or inline table
        raise ConfigError(f"{display_path(path)}: {_too_deep()}") from exc
    if _depth(data) > MAX_TOML_DEPTH:
        raise ConfigError(f"{display_path(path)}: {_too_deep()}")
    return data


def _too_deep() -> str:
    return f"tables and arrays nested more than {MAX_TOML_DEPTH} deep; records nest 3 deep"


def _depth(data: Any) -> int:
    """How deep tables and arrays nest, counted without recursion (the data may be deep)."""
    deepest, stack = 0, [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_TOML_DEPTH:
                return deepest
            stack.extend((v, depth) for v in (value.values() if isinstance(value, dict) else value))
    return deepest


_LINE_BREAK = re.compile("[\t\n\x85\u2028\u2029]")  # a key is one line: no tab or line break


def _line_break(key: str) -> str | None:
    found = _LINE_BREAK.search(key)
    return None if found is None else f"U+{ord(found.group()):04X}"


# What `control_character_problems` finds in a key: a control character or a line break
_BAD_IN_KEY = re.compile(f"{CONTROL.pattern}|{_LINE_BREAK.pattern}")


def _clean_texts(data: Any) -> bool:
    """Whether no text and no key of `data` (at any depth) holds what `control_character_problems`
    reports: every text and every key searched once, joined by spaces (a record's 30 texts in two
    searches, not 30 searches and the names of 30 keys made in case one is bad)."""
    keys: list[str] = []
    texts: list[str] = []
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            keys.extend(value)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str):
            texts.append(value)
    return not CONTROL.search(" ".join(texts)) and not _BAD_IN_KEY.search(" ".join(keys))


def control_character_problems(data: Any, prefix: str = "") -> list[tuple[str, str]]:
    """(key, problem) for every key (at any depth, `a.b[0].c`) whose text or name holds a control
    character; a key that holds one is named by its `repr` (the message never prints it raw)."""
    return [] if _clean_texts(data) else _problems_of(data, prefix)


def _problems_of(data: Any, prefix: str) -> list[tuple[str, str]]:
    problems = []
    if isinstance(data, dict):
        for key, value in data.items():
            name = f"{prefix}{key}"
            bad = control_character(key) or _line_break(key)  # a key is one line: no tab or newline
            if bad is not None:
                problems.append((repr(name), f"the key holds the control character {bad}; remove it"))
                continue
            problems += _problems_of(value, f"{name}.")
    elif isinstance(data, list):
        for i, item in enumerate(data):
            problems += _problems_of(item, f"{prefix.removesuffix('.')}[{i}].")
    elif isinstance(data, str):
        bad = control_character(data)
        if bad is not None:
            problems.append((prefix.removesuffix("."), f"holds the control character {bad}; remove it"))
    return problems


def write_toml_atomic(path: Path, data: dict[str, Any], *, durable: bool = True) -> None:
    """Write `data` as TOML so that readers see the old file or the new one, never half of it;
    `durable` also waits for the disk (fsync) before the rename."""
    write_atomic(path, tomli_w.dumps(data, multiline_strings=True).encode("utf-8"), durable=durable)


def is_web_url(value: str) -> bool:
    """An absolute http or https URL with a host: the only links a page or feed carries (with
    `mailto:` made from an email address, and the site's own relative links)."""
    return value.lower().startswith(("https://", "http://")) and len(value.split("/", 3)[2]) > 0


_EMAIL = re.compile(r"[^@\s:/<>\"]+@[^@\s:/<>\"]+\.[^@\s:/<>\"]+")


def is_email(value: str) -> bool:
    """A plain email address (`name@example.org`): pages turn it into a `mailto:` link."""
    return _EMAIL.fullmatch(value) is not None


# ---------------------------------------------------------------- the mistakes people make in TOML

_AT_LINE = re.compile(r"\(at line (\d+), column \d+\)")
_KEY_VALUE = re.compile(r"""\s*("[^"]*"|'[^']*'|[A-Za-z0-9_.-]+)\s*=\s*(.*?)\s*$""")
_FRENCH_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_NO_SECONDS = re.compile(r"(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2})(?!:\d)(.*)")


def toml_date_fix(text: str) -> str | None:
    """What to write for a date or date-time given as `text` (quoted, in French order, a time
    without seconds): a TOML literal that parses as a date or date-time, or None."""
    text = text.strip()
    if m := _FRENCH_DATE.fullmatch(text):
        day, month, year = int(m[1]), int(m[2]), int(m[3])
        fix = f"{year:04d}-{month:02d}-{day:02d}"
        if m[4]:
            fix += f"T{int(m[4]):02d}:{m[5]}:{m[6] or '00'}"
    elif m := _NO_SECONDS.fullmatch(text):
        fix = f"{m[1]}T{m[2]}:00{m[3].strip()}"
    else:
        fix = text
    try:
        value = tomli.loads(f"v = {fix}")["v"]
    except tomli.TOMLDecodeError:
        return None
    return fix if isinstance(value, date | datetime | time) else None


def _quoted_date_advice(key: str, written: str, fix: str | None) -> str:
    if fix is None:
        return ""
    if fix == written.strip():
        return f"; a date in quotes is text: remove the quotes: {key} = {fix}"
    return f"; write {key} = {fix} (no quotes, year-month-day, seconds in times)"


def _toml_mistake(raw: bytes, error: str) -> str | None:
    """For a TOML syntax error on a line people often get wrong, "line N: key: what is wrong;
    what to write instead"; None for the others (the parser's own message is kept)."""
    where = _AT_LINE.search(error)
    if where is None:
        return None
    number = int(where[1])
    lines = raw.decode("utf-8", errors="replace").splitlines()
    if not 1 <= number <= len(lines):
        return None
    m = _KEY_VALUE.fullmatch(lines[number - 1])
    if m is None:
        return None
    key, value = m[1], re.sub(r"\s+#[^\"']*$", "", m[2])  # without a trailing comment
    fix = toml_date_fix(value)
    if fix is not None and fix != value:
        if _FRENCH_DATE.fullmatch(value):
            why = f"{value} is a date in day/month/year order; TOML dates are year-month-day"
        else:
            why = f"{value} is a time without seconds; TOML times have them"
        return f"line {number}: {key}: {why}: write {key} = {fix}"
    if value.startswith('"') and not value.startswith('"""') and value.count('"') - value.count('\\"') > 2:
        inner = value[1:-1] if value.endswith('"') else value[1:]
        if "'" not in inner:
            instead = f"{key} = '{inner}'"
        else:
            instead = f'{key} = "' + re.sub(r'(?<!\\)"', '\\"', inner) + '"'
        return f'line {number}: {key}: a " inside a text ends it; write {instead}'
    return None


def key_line(text: str, name: str) -> int | None:
    """The line (1-based) of a TOML text that sets `name` (`a.b[2].c`: key `c` under `[a.b]` or
    `[[a.b]]`), or None."""
    parts = re.sub(r"\[\d+\]", "", name).split(".")
    key, table = parts[-1].strip("'\""), ".".join(parts[:-1])
    current = ""
    fallback = None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if header := re.fullmatch(r"\[\[?\s*([^\]]+?)\s*\]\]?(\s*#.*)?", stripped):
            current = header[1]
            continue
        m = _KEY_VALUE.fullmatch(line)
        if m and m[1].strip("'\"") == key:
            if current == table:
                return number
            fallback = fallback or number
        elif fallback is None and re.search(rf"[{{,]\s*{re.escape(key)}\s*=", line):
            fallback = number  # in an inline table
    return fallback


# Numbers beyond these are mistakes, refused when read rather than failing later (a duration of `inf`
# cannot be rounded for itunes:duration): 10,000,000 s is 115 days of audio.
MAX_SECONDS = 10_000_000.0
MAX_INTEGER = 2**53 - 1


class FieldReader:
    """Typed access to one TOML table that records a problem instead of raising.

    `check_files=False` reads paths without requiring their files (ingest rewriting a record whose
    media it replaces)."""

    def __init__(
        self,
        data: dict[str, Any],
        where: str,
        problems: list[str],
        prefix: str = "",
        check_files: bool = True,
        root: Path | None = None,
    ):
        self.data = data
        self.where = where
        self.problems = problems
        self.prefix = prefix
        self.check_files = check_files
        self.root = root  # the project: every file named must lie inside it (None: not checked)
        # keys already reported for a control character: no second problem about the same value
        self.refused: AbstractSet[str] = frozenset()
        self.source: Path | None = None  # the file, read again only to name a problem's line
        self.zone: tzinfo = UTC  # where dates and times written without an offset are read

    def sub(self, data: dict[str, Any], prefix: str) -> FieldReader:
        """A reader of a nested table (`prefix` ends with "."), reporting into the same problems."""
        sub = FieldReader(
            data, self.where, self.problems, f"{self.prefix}{prefix}", self.check_files, self.root
        )
        sub.refused, sub.source, sub.zone = self.refused, self.source, self.zone
        return sub

    def line(self, key: str) -> str:
        """ " (line N)" where the file sets `key`, or "" when it cannot be told."""
        if self.source is None:
            return ""
        try:
            text = self.source.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return ""
        n = key_line(text, f"{self.prefix}{key}")
        return f" (line {n})" if n else ""

    def refuse_control_characters(self) -> None:
        """Report every text of the table (at any depth) that holds a control character, once."""
        found = control_character_problems(self.data, self.prefix)
        # a bad key is named by its repr; its raw name must not get an "unknown key" line either
        raw = {key for key, _ in found if key.startswith("'")}
        self.refused = frozenset({key for key, _ in found} | {ast.literal_eval(k) for k in raw})
        self.problems += [f"{self.where}: {key}: {message}" for key, message in found]

    def problem(self, key: str, message: str) -> None:
        name = f"{self.prefix}{key}"
        if name not in self.refused:
            self.problems.append(f"{self.where}: {name}: {message}")

    def value(self, key: str, required: bool, expected: str, check: Callable[[Any], bool]) -> Any:
        """The value at `key` if `check` accepts it; else record "expected <expected>" and None."""
        if key not in self.data:
            if required:
                self.problem(key, f"missing, expected {expected}")
            return None
        value = self.data[key]
        if not check(value):
            self.problem(key, f"expected {expected}, got {value!r}")
            return None
        return value

    def text(
        self,
        key: str,
        required: bool = True,
        max_chars: int | None = None,
        rule: Callable[[str], str] | None = None,
    ) -> str | None:
        """A text, stripped; `rule` (a `namespace` validator) checks a non-empty one and may rewrite it."""
        value = self.value(key, required, "a text", lambda v: isinstance(v, str))
        if value is not None:
            value = value.strip()
            if not value and required:
                self.problem(key, "is empty")
                return None
            if max_chars is not None and len(value) > max_chars:
                self.problem(key, f"{len(value)} characters, at most {max_chars} allowed")
            if rule is not None and value:
                try:
                    return rule(value)
                except NamespaceError as exc:
                    self.problem(key, exc.problem)
                    return None
        return value

    def url(self, key: str, required: bool = False, email: bool = False) -> str | None:
        """An http(s) URL (or, with `email`, an email address): no other scheme (`javascript:`,
        `data:`, `file:`) may reach a page or a feed."""
        value = self.text(key, required)
        if value and not is_web_url(value) and not (email and is_email(value)):
            expected = "an email address or an http(s) URL" if email else "an http(s) URL"
            self.problem(key, f"{value!r} is not {expected}")
            return None
        return value

    def rule(self, key: str, validate: Callable[[Any], T], missing: str | None = None) -> T | None:
        """The value at `key` as the `namespace` rule `validate` returns it, None if it refuses it.
        `missing`: the problem when the key is absent (None: the key is optional)."""
        if key not in self.data:
            if missing:
                self.problem(key, missing)
            return None
        try:
            return validate(self.data[key])
        except NamespaceError as exc:
            self.problem(key, exc.problem)
            return None

    def boolean(self, key: str, default: bool | None = None) -> bool | None:
        value = self.value(key, False, "true or false", lambda v: isinstance(v, bool))
        return default if value is None else value

    def integer(
        self, key: str, minimum: int = 0, required: bool = False, maximum: int = MAX_INTEGER
    ) -> int | None:
        """A whole number from `minimum` to `maximum` (by default 2**53 - 1, the largest every JSON
        reader and JavaScript keeps exactly)."""
        expected = f"a whole number >= {minimum}"
        if maximum != MAX_INTEGER:
            expected = f"a whole number from {minimum} to {maximum}"
        return self.value(
            key,
            required,
            expected,
            lambda v: isinstance(v, int) and not isinstance(v, bool) and minimum <= v <= maximum,
        )

    def number(self, key: str, required: bool = True, maximum: float = MAX_SECONDS) -> float | None:
        """A finite number from 0 to `maximum` (by default a position or length in seconds)."""
        value = self.value(
            key,
            required,
            f"a number from 0 to {maximum:g}",
            lambda v: isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= maximum,
        )  # nan fails both comparisons, inf the second
        return None if value is None else float(value)

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        value = self.value(key, False, "one of " + ", ".join(choices), lambda v: v in choices)
        return default if value is None else value

    def moment(self, key: str, required: bool = True) -> datetime | None:
        """A TOML date-time or date; without an offset it is read in `zone` (the project's time
        zone), a date meaning midnight there."""
        written = self.data.get(key)
        if isinstance(written, str):  # a date in quotes is text: say what to write instead
            fix = toml_date_fix(written)
            self.problem(
                key,
                "expected a date like 2023-06-26 or 2023-06-26T10:00:00+02:00, got "
                f"{written!r}{self.line(key)}" + _quoted_date_advice(key, written, fix),
            )
            return None
        value = self.value(
            key,
            required,
            "a date like 2023-06-26 or 2023-06-26T10:00:00+02:00",
            lambda v: isinstance(v, date | datetime),
        )
        if value is None:
            return None
        if not isinstance(value, datetime):
            return datetime.combine(value, time(0), tzinfo=self.zone)
        if value.tzinfo is None:
            return value.replace(tzinfo=self.zone)
        return value

    def table(self, key: str, required: bool = True) -> FieldReader | None:
        value = self.value(key, required, "a table", lambda v: isinstance(v, dict))
        if value is None:
            return None
        return self.sub(value, f"{key}.")

    def unknown_keys(self, known: AbstractSet[str]) -> None:
        for key in sorted(set(self.data) - known):
            close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            self.problem(key, f"unknown key{self.line(key)}{hint}")

    def relative_path(self, key: str, base: Path, required: bool = True) -> Path | None:
        value = self.text(key, required)
        if not value:
            return None
        if self.root is not None:
            leaves = outside_project(value, base, self.root)
            if leaves is not None:
                self.problem(key, leaves)
                return None
        # absolute and normalised; symlinks are followed only to check containment (above)
        path = Path(os.path.abspath(os.path.join(base, value)))
        if self.check_files and not path.is_file():
            self.problem(key, f"no such file: {value}")
            return None
        return path


# ---------------------------------------------------------------- show definitions

SHOW_KEYS = {
    "title", "subtitle", "description", "language", "author", "owner", "image", "category",
    "subcategory", "explicit", "type", "complete", "copyright", "website", "podcast_guid",
    "medium", "links", "new_feed_url", "block", "update_frequency", "update_rrule", "license",
    "license_url", "location", "person", "funding", "txt", "page_size", "encoding",
    "theme",  # read by theme.load_theme: the pages' colours
}  # fmt: skip
# [encoding]: how ingest encodes the show's masters (see encode.py)
ENCODE_FORMATS = ("mp3", "m4a")  # the keys of encode.FORMATS, which gives their suffixes
SAMPLE_RATES = (22050, 24000, 32000, 44100, 48000)
ENCODING_KEYS = {"format", "sample_rate", "bitrate", "channels", "normalize", "target_lufs", "true_peak"}


def load_show(path: Path, root: Path | None = None) -> Show:
    """Read `feeds/<slug>.toml` into a `Show`, raising every problem of the file at once; the files
    it names must lie inside the project `root` (default: the folder holding `feeds/`)."""
    data = read_toml(path)
    problems: list[str] = []
    root = root if root is not None else Path(os.path.abspath(path)).parent.parent
    r = FieldReader(data, display_path(path), problems, root=root)
    r.source = path
    r.refuse_control_characters()
    r.unknown_keys(SHOW_KEYS)
    owner = r.table("owner")
    owner_name = owner.text("name") if owner else None
    owner_email = owner.text("email") if owner else None
    if owner_email and "@" not in owner_email:
        r.problem("owner.email", f"not an email address: {owner_email!r}")
    links = _read_links(r)
    show = dict(
        slug=path.stem,
        source=path.resolve(),
        title=r.text("title", max_chars=255),
        subtitle=r.text("subtitle", required=False, max_chars=255),
        description=r.text("description"),
        language=r.text("language"),
        author=r.text("author", max_chars=255),
        image=r.relative_path("image", path.parent),
        category=r.text("category"),
        subcategory=r.text("subcategory", required=False),
        explicit=r.boolean("explicit", False),
        show_type=r.choice("type", SHOW_TYPES, "episodic"),
        complete=r.boolean("complete", False),
        copyright=r.text("copyright", required=False),
        website=r.url("website"),
        podcast_guid=r.text("podcast_guid", required=False),  # a UUIDv5: `check`'s rule, not the loader's
        medium=r.rule("medium", ns.medium) or ns.DEFAULT_MEDIUM,
        links=dict(links),
        new_feed_url=r.url("new_feed_url"),
        block=r.boolean("block", False),
        update_frequency=r.text("update_frequency", required=False, rule=ns.update_frequency),
        update_rrule=r.text("update_rrule", required=False),
        license=r.text("license", required=False, rule=ns.license_name),
        license_url=r.url("license_url"),
        location=_read_location(r),
        persons=_read_persons(r),
        funding=tuple(
            Funding(t["url"], t["text"])
            for t in _read_tables(
                r, "funding", {"url": True, "text": ns.funding_text}, max_chars=128, urls={"url"}
            )
        ),
        # a purpose longer than the namespace's 128 characters loads: `check` names it
        txt=tuple(
            (t["text"], t.get("purpose"))
            for t in _read_tables(r, "txt", {"text": ns.txt_text, "purpose": False}, max_chars=4000)
        ),
        page_size=r.integer("page_size", minimum=1),
        encoding=_read_encoding(r),
    )
    if problems:
        raise ValidationError(problems)
    return Show(owner=Owner(owner_name, owner_email), **show)  # type: ignore[arg-type]


def write_show(path: Path, show: Show, *, durable: bool = True) -> None:
    """Write a show definition atomically (what `import` makes; people edit it afterwards);
    `durable=False` skips the fsync, for a caller that makes the file again if a crash loses it."""
    write_toml_atomic(path, show_to_toml(show, path.parent), durable=durable)


def show_to_toml(show: Show, folder: Path) -> dict[str, Any]:
    """A show definition as a TOML table that `load_show` reads back to the same `Show`: paths relative
    to `folder`, defaults left out, keys in the order of the demo's show files."""
    out: dict[str, Any] = {"title": show.title}
    optional = (
        ("subtitle", show.subtitle),
        ("description", show.description),
        ("language", show.language),
        ("author", show.author),
        ("category", show.category),
        ("subcategory", show.subcategory),
        ("explicit", show.explicit),
        ("type", show.show_type),
        ("complete", show.complete or None),
        ("image", os.path.relpath(show.image, folder)),
        ("copyright", show.copyright),
        ("website", show.website),
        ("podcast_guid", show.podcast_guid),
        ("medium", None if show.medium == ns.DEFAULT_MEDIUM else show.medium),
        ("new_feed_url", show.new_feed_url),
        ("block", show.block or None),
        ("update_frequency", show.update_frequency),
        ("update_rrule", show.update_rrule),
        ("license", show.license),
        ("license_url", show.license_url),
        ("page_size", show.page_size),
    )
    out.update((k, v) for k, v in optional if v is not None)
    out["owner"] = {"name": show.owner.name, "email": show.owner.email}
    if show.links:
        out["links"] = dict(show.links)
    if show.location is not None:
        out["location"] = _location_toml(show.location)
    if show.persons:
        out["person"] = [_person_toml(p) for p in show.persons]
    if show.funding:
        out["funding"] = [{"url": f.url, "text": f.text} for f in show.funding]
    if show.txt:
        out["txt"] = [{"text": t} | ({"purpose": p} if p else {}) for t, p in show.txt]
    return out


# `[links]` keys pages know how to turn an ID into a URL for (pages.PLATFORMS, which imports these).
PLATFORM_LINKS = ("apple_podcasts", "spotify", "deezer", "amazon_music", "youtube", "podcast_index")
_PLATFORM_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _read_links(r: FieldReader) -> dict[str, str]:
    """`[links]`: a platform's ID or an http(s) URL; any other name takes an http(s) URL only, so a
    `javascript:` or `data:` link never becomes a button on the pages."""
    links = r.value("links", False, "a table of platform = URL", _is_str_table) or {}
    out = {}
    for name, value in links.items():
        value = value.strip()
        if is_web_url(value) or (name in PLATFORM_LINKS and _PLATFORM_ID.fullmatch(value)):
            out[name] = value
        elif name in PLATFORM_LINKS:
            r.problem(
                f"links.{name}", f"{value!r} is neither an ID (letters, digits, - _ .) nor an http(s) URL"
            )
        else:
            r.problem(f"links.{name}", f"{value!r} is not an http(s) URL")
    return out


def _is_str_table(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


def _read_encoding(r: FieldReader) -> EncodeSettings:
    """`[encoding]`, every key optional: what `ingest` would refuse to encode is a problem of the show."""
    e = r.table("encoding", required=False)
    if e is None:
        return EncodeSettings()
    e.unknown_keys(ENCODING_KEYS)
    fmt = e.choice("format", ENCODE_FORMATS, "mp3")
    rate = e.value(
        "sample_rate", False, "one of " + ", ".join(map(str, SAMPLE_RATES)), SAMPLE_RATES.__contains__
    )
    bitrate = e.value("bitrate", False, 'a bitrate like "128k" or 128 (kbps), 32 to 320', _kbps_ok)
    channels = e.value("channels", False, "1 (mono) or 2 (stereo)", lambda v: v in (1, 2) and v is not True)
    target = e.value("target_lufs", False, "a loudness in LUFS from -31 to -9", lambda v: _num_in(v, -31, -9))
    peak = e.value("true_peak", False, "a true peak in dBTP from -9 to 0", lambda v: _num_in(v, -9, 0))
    norm = e.boolean("normalize", False)
    return EncodeSettings(
        format=fmt,
        sample_rate=rate or 44100,
        bitrate_kbps=_kbps(bitrate) if bitrate is not None else None,
        channels=channels,
        normalize=bool(norm),
        target_lufs=float(target) if target is not None else None,
        max_true_peak=float(peak) if peak is not None else -1.0,
    )


def _num_in(v: object, low: float, high: float) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and low <= v <= high


def _kbps(v: object) -> int:
    text = str(v).strip().lower().removesuffix("k")
    return int(text)


def _kbps_ok(v: object) -> bool:
    if isinstance(v, bool) or not isinstance(v, int | str):
        return False
    try:
        return 32 <= _kbps(v) <= 320
    except ValueError:
        return False


# ---------------------------------------------------------------- episode records

# An episode record's keys in the order `ingest` writes them: identity first (as people read a
# record), the texts, the media and what ingest adds to it; then the keys only people write.
RECORD_KEYS = (
    "title", "guid", "pub_date", "episode", "season", "episode_type", "explicit", "draft",
    "description", "media", "chapters", "master", "alternate", "poster",
    "transcript", "publish_at", "block", "person", "location", "license", "license_url", "live",
    "guid_is_permalink",
)  # fmt: skip
_LEADING_KEYS = RECORD_KEYS[:8]  # first in every record written, wherever the file had them
EPISODE_KEYS = frozenset(RECORD_KEYS)
MEDIA_KEYS = {"file", "sha256", "size", "mime_type", "duration_seconds", "bitrate", "width", "height"}
# The `Episode` field behind a record key, where their names differ ("master" is the record's own).
_EPISODE_FIELD = {"episode": "number", "alternate": "alternates", "person": "persons"}


@dataclass(frozen=True)
class MasterFile:
    """`[master]`: the file ingest encoded the media from (relative to the project) and its sha256,
    so that ingesting it again is a no-op and a corrected master is recognised."""

    file: str
    sha256: str


@dataclass(frozen=True)
class _Written:
    """What a record file held when it was read: its typed values and its TOML table."""

    episode: Episode
    master: MasterFile | None
    table: Mapping[str, Any]


@dataclass(frozen=True)
class EpisodeRecord:
    """One episode record as typed values: the `Episode` and the master its media came from.

    A record read from its file (`read_episode`) remembers that file, so `write_episode` keeps every
    key whose value did not change as the file wrote it: its place, a date given without a time, the
    line breaks of a description. Change values with `dataclasses.replace`."""

    episode: Episode
    master: MasterFile | None = None
    written: _Written | None = field(default=None, compare=False, repr=False)


def load_episode(
    path: Path,
    show_slug: str,
    cache: TomlCache | None = None,
    root: Path | None = None,
    zone: tzinfo = UTC,
    episodes: EpisodeCache | None = None,
    digests: dict[str, str] | None = None,
) -> Episode:
    """Read `episodes/<show>/<slug>.toml` into an `Episode`, raising every problem at once; the files
    it names must lie inside the project `root` (default: the folder holding `episodes/`), dates
    without an offset are in `zone` (the project's time zone).

    With a `cache` (parsed records) and `episodes` (validated episodes), a record whose bytes were
    read before is not parsed again, and not checked again either when its files did not change;
    `digests` (with a `cache`) gets the SHA-256 of the bytes read, by the record's absolute path."""
    if cache is None:
        episode, _ = _read_episode(
            read_toml(path), path, show_slug, replacing_media=False, root=root, zone=zone
        )
        return episode

    def read() -> tuple[bytes, Seen, str]:
        """The record's bytes (a problem reading them is named), the file as read, their SHA-256."""
        raw, seen = read_toml_file(path)
        stamp = hashlib.sha256(raw).hexdigest()
        if digests is not None:
            digests[os.path.abspath(path)] = stamp
        return raw, seen, stamp

    # A record whose file is as it was when its bytes were hashed (`EpisodeCache.unchanged`) is
    # not read again; another is read (which names the problem) and hashed.
    raw, seen = None, None
    stamp = episodes.unchanged(path) if episodes is not None else None
    if stamp is None:
        raw, seen, stamp = read()
    elif digests is not None:
        digests[os.path.abspath(path)] = stamp
    known = root if root is not None else _project_of(path)
    if episodes is not None:
        hit = episodes.get(path, stamp, show_slug, known, zone, seen)
        if hit is not None and _files_unchanged(hit, known):
            cache.keep(path)
            return hit
    if raw is None:  # the record as it was, whose files changed: read, as the problem is named then
        raw, seen, stamp = read()
    data = cache.read(path, raw, stamp)
    episode, _ = _read_episode(
        data, path, show_slug, replacing_media=False, root=root, zone=zone, clean=cache.clean(path)
    )
    cache.mark_clean(path)  # read without a problem: no control character either
    if episodes is not None:
        episodes.put(path, stamp, show_slug, known, zone, episode, seen)
    return episode


def _project_of(record: Path) -> Path:
    """The project folder of `episodes/<show>/<slug>.toml`."""
    return Path(os.path.abspath(record)).parent.parent.parent


def _files_unchanged(episode: Episode, root: Path) -> bool:
    """Whether the files a cached episode names still pass the checks its record passed when it was
    read: inside the project once links are followed, there, the media of the recorded size, the
    poster an image of its kind. False sends the record to be read again, which names the problem."""
    for media in (episode.media, *episode.alternates):
        if media is None:
            continue
        try:  # one system call for most files (10,000 media files at 10,000 episodes)
            st = os.lstat(media.path)
            link = stat.S_ISLNK(st.st_mode)
            if escapes_project(media.path, root, not_a_link=not link) is not None:
                return False
            if link:
                st = os.stat(media.path)
        except OSError:
            return False
        if not stat.S_ISREG(st.st_mode) or st.st_size != media.size:
            return False
    for path in (episode.transcript, episode.poster):
        if path is not None and (escapes_project(path, root) is not None or not path.is_file()):
            return False
    return episode.poster is None or _poster_problem(episode.poster) is None


def read_episode(
    path: Path, show_slug: str, *, replacing_media: bool = False, zone: tzinfo = UTC
) -> EpisodeRecord:
    """Read an episode record to rewrite it (`write_episode`), raising every problem at once.

    `replacing_media`: the caller (ingest) gives the record new media, so `[media]` may be missing
    (a record written by hand before its media) and the files it names need not exist."""
    data = read_toml(path)
    episode, master = _read_episode(data, path, show_slug, replacing_media, root=None, zone=zone)
    return EpisodeRecord(episode, master, _Written(episode, master, data))


def _read_episode(
    data: dict[str, Any],
    path: Path,
    show_slug: str,
    replacing_media: bool,
    root: Path | None,
    zone: tzinfo = UTC,
    clean: bool = False,
) -> tuple[Episode, MasterFile | None]:
    """`clean`: the same bytes were read before without a control character (`TomlCache.clean`)."""
    problems: list[str] = []
    root = root if root is not None else Path(os.path.abspath(path)).parent.parent.parent
    r = FieldReader(data, DisplayPath(path), problems, check_files=not replacing_media, root=root)  # type: ignore[arg-type]
    r.source, r.zone = path, zone
    if not clean:
        r.refuse_control_characters()
    r.unknown_keys(EPISODE_KEYS)
    live = _read_live(r)
    # A live item may have no media yet: it becomes a normal item once its replay is ingested.
    media = _read_media(r, path.parent, required=live is None and not replacing_media)
    chapters = _read_chapters(r)
    episode = dict(
        show=show_slug,
        slug=path.stem,
        source=Path(os.path.abspath(path)),
        guid=r.text("guid", max_chars=255),
        title=r.text("title", max_chars=255),
        pub_date=r.moment("pub_date"),
        description=r.text("description", required=False) or "",
        number=r.rule("episode", ns.episode),
        season=r.rule("season", ns.season),
        episode_type=r.choice("episode_type", EPISODE_TYPES, "full"),
        explicit=r.boolean("explicit"),
        draft=r.boolean("draft", False),
        chapters=chapters,
        transcript=r.relative_path("transcript", path.parent, required=False),
        publish_at=r.moment("publish_at", required=False),
        block=r.boolean("block", False),
        alternates=_read_alternates(r, path.parent),
        persons=_read_persons(r),
        location=_read_location(r),
        license=r.text("license", required=False, rule=ns.license_name),
        license_url=r.url("license_url"),
        live=live,
        poster=_read_poster(r, path.parent),
        guid_is_permalink=r.boolean("guid_is_permalink", False),
    )
    master = _read_master(r)
    if problems:
        raise ValidationError(problems)
    return Episode(media=media, **episode), master  # type: ignore[arg-type]


# A poster is shown by browsers and published as an image: its name and its first bytes must agree.
POSTER_TYPES = {
    ".jpg": b"\xff\xd8\xff",
    ".jpeg": b"\xff\xd8\xff",
    ".png": b"\x89PNG\r\n\x1a\n",
    ".webp": b"RIFF",
}


def _read_poster(r: FieldReader, base: Path) -> Path | None:
    """`poster`: a JPEG, PNG or WebP image inside the project (never another kind of file)."""
    path = r.relative_path("poster", base, required=False)
    if path is None:
        return None
    magic = POSTER_TYPES.get(path.suffix.lower())
    if magic is None:
        r.problem("poster", f"{path.name} is not an image; expected a .jpg, .png or .webp file")
        return None
    if r.check_files:
        problem = _poster_problem(path)
        if problem is not None:
            r.problem("poster", problem)
            return None
    return path


def _poster_problem(path: Path) -> str | None:
    """Why the poster at `path` (a known image suffix) is not an image of its kind, or None."""
    magic = POSTER_TYPES[path.suffix.lower()]
    try:
        with path.open("rb") as fh:
            head = fh.read(12)
    except OSError as exc:
        return f"cannot read {path.name}: {exc.strerror}"
    if not head.startswith(magic) or (magic == b"RIFF" and head[8:12] != b"WEBP"):
        return f"{path.name} is not a {path.suffix.lstrip('.').upper()} image"
    return None


def _read_master(r: FieldReader) -> MasterFile | None:
    t = r.table("master", required=False)
    if t is None:
        return None
    t.unknown_keys({"file", "sha256"})  # the master itself may live elsewhere: not required
    file, sha256 = t.text("file", required=False), t.text("sha256", required=False)
    return MasterFile(file, sha256) if file and sha256 else None


def _read_media(r: FieldReader, base: Path, required: bool = True) -> EpisodeMedia | None:
    m = r.table("media", required)
    if m is None:
        return None
    return _media_from(m, base)


def _read_alternates(r: FieldReader, base: Path) -> tuple[EpisodeMedia, ...]:
    """`[[alternate]]`: other renditions of the media (the audio-only track of a video replay)."""
    out = []
    for i, item in enumerate(_array(r, "alternate")):
        m = r.sub(item, f"alternate[{i}].")
        media = _media_from(m, base)
        if media is not None:
            out.append(media)
    return tuple(out)


def _array(r: FieldReader, key: str) -> list[dict[str, Any]]:
    """An array of tables (`[[key]]`), each problem recorded; only the tables are returned."""
    raw = r.value(key, False, "an array of tables", lambda v: isinstance(v, list)) or []
    out = []
    for i, item in enumerate(raw):
        if isinstance(item, dict):
            out.append(item)
        else:
            r.problem(f"{key}[{i}]", "expected a table")
    return out


def _read_tables(
    r: FieldReader,
    key: str,
    fields: dict[str, bool | Callable[[str], str]],
    max_chars: int | None = None,
    urls: AbstractSet[str] = frozenset(),
) -> list[dict[str, str]]:
    """`[[key]]` tables of text fields, each field required (True), optional (False) or required
    and checked by a `namespace` rule (instead of `max_chars`); only complete tables are returned."""
    out = []
    for i, item in enumerate(_array(r, key)):
        t = r.sub(item, f"{key}[{i}].")
        t.unknown_keys(set(fields))
        values = {
            f: t.text(f, required=bool(how), max_chars=max_chars)
            if isinstance(how, bool)
            else t.text(f, rule=how)
            for f, how in fields.items()
        }
        for f in urls:  # links: http(s) only
            if values[f] and not is_web_url(values[f]):
                t.problem(f, f"{values[f]!r} is not an http(s) URL")
                values[f] = None
        if all(values[f] for f, how in fields.items() if how):
            out.append({f: v for f, v in values.items() if v})
    return out


def _read_persons(r: FieldReader) -> tuple[Person, ...]:
    """`[[person]]`: any group loads (lowercased); `check` and the feed hold it to the taxonomy."""
    fields = {"name": ns.person_name, "role": False, "group": False, "href": False, "img": False}
    return tuple(
        Person(
            name=t["name"],
            role=ns.taxonomy_name(t.get("role", ns.DEFAULT_PERSON_ROLE)),
            group=ns.taxonomy_name(t.get("group", ns.DEFAULT_PERSON_GROUP)),
            href=t.get("href"),
            img=t.get("img"),
        )
        for t in _read_tables(r, "person", fields, max_chars=128, urls={"href", "img"})
    )


def _read_location(r: FieldReader) -> Location | None:
    t = r.table("location", required=False)
    if t is None:
        return None
    t.unknown_keys({"name", "geo", "osm", "country", "rel"})
    name = t.text("name", rule=ns.location_name)
    rel = t.rule("rel", ns.location_rel)
    country = t.text("country", required=False, rule=ns.location_country)
    osm = t.text("osm", required=False, rule=ns.location_osm)
    geo = t.text("geo", required=False, rule=ns.location_geo)
    if not name:
        return None
    return Location(name, geo, osm, country or None, rel)


def _read_live(r: FieldReader) -> Live | None:
    t = r.table("live", required=False)
    if t is None:
        return None
    t.unknown_keys({"status", "start", "end", "url", "type"})
    status = t.rule("status", ns.live_status, missing=f"missing, expected {ns.LIVE_STATUSES_TEXT}")
    start, end = t.moment("start"), t.moment("end")
    if start and end:
        try:
            ns.live_times(start, end)
        except NamespaceError as exc:
            t.problem("end", exc.problem)
    if status and start and end:
        url, mime_type = t.url("url"), t.text("type", required=False)
        return Live(status, start, end, url, mime_type or Live.mime_type)  # the model's default
    return None


_SHA256 = re.compile("[0-9a-f]{64}")  # as hexdigest() writes it


def _media_from(m: FieldReader, base: Path) -> EpisodeMedia | None:
    m.unknown_keys(MEDIA_KEYS)
    path = m.relative_path("file", base)
    sha256 = m.text("sha256")
    if sha256 and not _SHA256.fullmatch(sha256):
        m.problem("sha256", "expected 64 lowercase hexadecimal digits")
    size = m.integer("size", minimum=1, required=True, maximum=2**40)  # 1 TiB
    mime_type = m.text("mime_type")
    if mime_type and mime_type not in PUBLISHABLE_MIME_TYPES:
        m.problem(
            "mime_type",
            f"{mime_type} cannot be published as an enclosure; "
            f"expected one of {', '.join(sorted(PUBLISHABLE_MIME_TYPES))}",
        )
    duration = m.number("duration_seconds")
    if m.check_files and path and size and path.stat().st_size != size:
        m.problem("file", f"{path.name} is {path.stat().st_size} bytes, the record says {size}")
    fields = dict(
        path=path,
        sha256=sha256,
        size=size,
        mime_type=mime_type,
        duration_seconds=duration,
        bitrate=m.integer("bitrate", maximum=100_000_000),  # 100 Mbit/s
        width=m.integer("width", maximum=65535),  # the largest an MP4 track header describes
        height=m.integer("height", maximum=65535),
    )
    if any(fields[k] is None for k in ("path", "sha256", "size", "mime_type", "duration_seconds")):
        return None
    return EpisodeMedia(**fields)  # type: ignore[arg-type]


def _read_chapters(r: FieldReader) -> tuple[Chapter, ...]:
    raw = r.value("chapters", False, "an array of tables", lambda v: isinstance(v, list))
    chapters = []
    for i, item in enumerate(raw or []):
        if not isinstance(item, dict):
            r.problem(f"chapters[{i}]", "expected a table with start_seconds and title")
            continue
        c = r.sub(item, f"chapters[{i}].")
        start, title = c.number("start_seconds"), c.text("title")
        if start is not None and title:
            chapters.append(Chapter(start_seconds=start, title=title))
    return tuple(chapters)


def recorded_media_sha256(path: Path) -> str | None:
    """The sha256 an episode record gives its media, None if it gives none; only this key is read, so
    ingest can index a folder of records fast. A file that is not TOML raises `ConfigError`."""
    media = read_toml(path).get("media")
    sha256 = media.get("sha256") if isinstance(media, dict) else None
    return sha256 if isinstance(sha256, str) else None


# ---------------------------------------------------------------- writing an episode record


def write_episode(path: Path, record: EpisodeRecord | Episode, *, durable: bool = True) -> str | None:
    """Write an episode record atomically (readers see the old file or the new one, never half);
    `durable=False` skips the fsync: the caller syncs a batch once at its end (ingest), or can
    make the record again (import).

    A record someone annotated keeps its comments (`# ...`) and layout: the new values are merged
    into the file with tomlkit, and the result is used only if it reads back as exactly the record.
    Otherwise the comments are dropped, the old file is kept beside it as `<slug>.toml.bak` (no
    record: only `*.toml` are read), and the returned note says so; None when nothing was lost."""
    table = episode_to_toml(record, path.parent)
    text = tomli_w.dumps(table, multiline_strings=True)
    note = None
    try:
        old = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        old = None
    if old is not None and "#" in old and _has_comments(old):
        merged = _merge_keeping_comments(old, table)
        if merged is not None and tomli.loads(merged) == tomli.loads(text):
            text = merged
        else:
            backup = path.with_name(path.name + ".bak")
            write_atomic(backup, old.encode("utf-8"), durable=durable)
            note = f"{display_path(path)}: its comments could not be kept; the previous file is {backup.name}"
    write_atomic(path, text.encode("utf-8"), durable=durable)
    return note


def _merge_keeping_comments(old: str, table: dict[str, Any]) -> str | None:
    """`old` (TOML text) with the values of `table`, its comments and unchanged values as written."""
    import tomlkit  # only to rewrite a record someone annotated

    try:
        doc = tomlkit.parse(old)
        _merge_into(doc, table)
        return tomlkit.dumps(doc)
    except Exception:  # any failure of the merge: the caller writes the plain record instead
        return None


def _merge_into(container: Any, new: Mapping[str, Any]) -> None:
    for key in [k for k in container if k not in new]:
        del container[key]
    for key, value in new.items():
        if key in container:
            current = container[key]
            if _plain(current) == value:
                continue  # as the file wrote it, with its comment
            if isinstance(value, dict) and isinstance(current, dict):
                _merge_into(current, value)
                continue
        if isinstance(value, str) and "\n" in value:
            import tomlkit

            value = tomlkit.string(value, multiline=True)
        container[key] = value


def _plain(item: Any) -> Any:
    return item.unwrap() if hasattr(item, "unwrap") else item


def _has_comments(text: str) -> bool:
    """Whether a TOML text holds a comment: more '#' than its values hold ('#' in texts and keys)."""
    try:
        values = tomli_w.dumps(tomli.loads(text))
    except (tomli.TOMLDecodeError, TypeError, ValueError):
        return "#" in text
    return text.count("#") > values.count("#")


def episode_to_toml(record: EpisodeRecord | Episode, folder: Path | None = None) -> dict[str, Any]:
    """An episode record as a TOML table, its paths relative to `folder` (default: the record's own).

    Keys come in the order of `RECORD_KEYS`, except that a record read from its file keeps the file's
    order after the leading identity keys, and each key whose typed value is unchanged keeps what the
    file wrote (absent keys stay absent). Defaults are left out (no `draft = false`)."""
    if isinstance(record, Episode):
        record = EpisodeRecord(record)
    folder = folder if folder is not None else record.episode.source.parent
    before = record.written
    if before is not None and before.episode.source.parent != Path(os.path.abspath(folder)):
        before = None  # written elsewhere: its relative paths would point at other files
    keys = list(_LEADING_KEYS)
    if before is not None:
        keys += [k for k in before.table if k not in keys]
    keys += [k for k in RECORD_KEYS if k not in keys]
    out: dict[str, Any] = {}
    for key in keys:
        if before is not None and _typed(record, key) == _typed(before, key):
            if key in before.table:
                out[key] = before.table[key]
            continue
        value = _TOML_VALUE[key](record, folder)
        if value is not None:
            out[key] = value
    return out


def _typed(record: EpisodeRecord | _Written, key: str) -> Any:
    if key == "master":
        return record.master
    return getattr(record.episode, _EPISODE_FIELD.get(key, key))


def _relative(path: Path | None, folder: Path) -> str | None:
    return None if path is None else os.path.relpath(path, folder)


def _media_toml(media: EpisodeMedia, folder: Path) -> dict[str, Any]:
    table: dict[str, Any] = {
        "file": os.path.relpath(media.path, folder),
        "sha256": media.sha256,
        "size": media.size,
        "mime_type": media.mime_type,
        "duration_seconds": media.duration_seconds,
    }
    for key in ("bitrate", "width", "height"):
        if getattr(media, key) is not None:
            table[key] = getattr(media, key)
    return table


def _person_toml(p: Person) -> dict[str, str]:
    table = {"name": p.name, "role": p.role, "group": p.group}
    return table | {k: v for k, v in (("href", p.href), ("img", p.img)) if v is not None}


def _location_toml(loc: Location) -> dict[str, str]:
    fields = (
        ("name", loc.name),
        ("geo", loc.geo),
        ("osm", loc.osm),
        ("country", loc.country),
        ("rel", loc.rel),
    )
    return {k: v for k, v in fields if v is not None}


def _live_toml(live: Live) -> dict[str, Any]:
    table: dict[str, Any] = {"status": live.status, "start": live.start, "end": live.end}
    if live.url is not None:
        table["url"] = live.url
    return table | {"type": live.mime_type}


# How each key is written from typed values (None: left out).
_TOML_VALUE: dict[str, Callable[[EpisodeRecord, Path], Any]] = {
    "title": lambda r, folder: r.episode.title,
    "guid": lambda r, folder: r.episode.guid,
    "pub_date": lambda r, folder: r.episode.pub_date,
    "episode": lambda r, folder: r.episode.number,
    "season": lambda r, folder: r.episode.season,
    "episode_type": lambda r, folder: None if r.episode.episode_type == "full" else r.episode.episode_type,
    "explicit": lambda r, folder: r.episode.explicit,
    "draft": lambda r, folder: r.episode.draft or None,
    "description": lambda r, folder: r.episode.description,  # always: the field people fill in
    "media": lambda r, folder: _media_toml(r.episode.media, folder) if r.episode.media else None,
    "chapters": lambda r, folder: (
        [{"start_seconds": c.start_seconds, "title": c.title} for c in r.episode.chapters] or None
    ),
    "master": lambda r, folder: {"file": r.master.file, "sha256": r.master.sha256} if r.master else None,
    "alternate": lambda r, folder: [_media_toml(m, folder) for m in r.episode.alternates] or None,
    "poster": lambda r, folder: _relative(r.episode.poster, folder),
    "transcript": lambda r, folder: _relative(r.episode.transcript, folder),
    "publish_at": lambda r, folder: r.episode.publish_at,
    "block": lambda r, folder: r.episode.block or None,
    "person": lambda r, folder: [_person_toml(p) for p in r.episode.persons] or None,
    "location": lambda r, folder: _location_toml(r.episode.location) if r.episode.location else None,
    "license": lambda r, folder: r.episode.license,
    "license_url": lambda r, folder: r.episode.license_url,
    "live": lambda r, folder: _live_toml(r.episode.live) if r.episode.live else None,
    "guid_is_permalink": lambda r, folder: r.episode.guid_is_permalink or None,
}
