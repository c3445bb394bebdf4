"""TOML <-> model for one file: show definitions, episode records, the project configuration.

Every reader collects all the problems of a file and raises them at once, each naming the file and
the key. Records are written atomically (`files.write_atomic`).
"""

from __future__ import annotations

import contextlib
import json
import os
import tomllib
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import tomli_w

from grandirenhlm.errors import ConfigError, ValidationError
from grandirenhlm.files import DisplayPath, display_path, write_atomic
from grandirenhlm.model import (
    PUBLISHABLE_MIME_TYPES,
    Chapter,
    Episode,
    EpisodeMedia,
    Funding,
    Live,
    Location,
    Owner,
    Person,
    Show,
)

EPISODE_TYPES = ("full", "trailer", "bonus")
SHOW_TYPES = ("episodic", "serial")
MEDIUMS = ("podcast", "music", "video", "film", "audiobook", "newsletter", "blog")


class TomlCache:
    """Parsed records by path, size and modification time, kept in `.grandirenhlm/records.json`.

    tomllib is pure Python: parsing 1,000 episode records takes longer than everything else a no-op
    publish does. JSON loads in C, so an unchanged record costs one `stat` instead. TOML's dates and
    times, which JSON lacks, are stored tagged and restored as the same objects. The cache only
    skips parsing: a record whose size or time changed is read again, and a damaged cache is ignored.
    """

    VERSION = 1
    _TAG = "\x00toml"

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: dict[str, list] = {}
        self.used: dict[str, list] = {}
        self.changed = False
        if path is not None:
            try:
                data = json.loads(path.read_bytes(), object_hook=self._decode)
                if isinstance(data, dict) and data.get("version") == self.VERSION:
                    self.entries = data["entries"]
            except (OSError, ValueError, KeyError, TypeError):
                self.entries = {}

    @classmethod
    def for_project(cls, root: Path) -> TomlCache:
        return cls(root / ".grandirenhlm" / "records.json")

    def read(self, path: Path) -> dict[str, Any]:
        key = str(path)
        try:
            st = os.stat(key)
        except OSError:
            return read_toml(path)  # it names the problem
        stamp = [st.st_size, st.st_mtime_ns]
        hit = self.entries.get(key)
        if hit is None or hit[0] != stamp:
            hit = [stamp, read_toml(path)]
            self.changed = True
        self.used[key] = hit
        return hit[1]

    def save(self) -> None:
        """Keep the records read in this run (a deleted record drops out); skipped if nothing changed."""
        if self.path is None or (not self.changed and self.used.keys() == self.entries.keys()):
            return
        data = json.dumps(
            {"version": self.VERSION, "entries": self.used}, default=self._encode, ensure_ascii=False
        )
        with contextlib.suppress(OSError):  # a read-only project still builds, only slower
            write_atomic(self.path, data.encode("utf-8"), durable=False)  # a cache

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


def read_toml(path: Path) -> dict[str, Any]:
    """Parse one TOML file, turning every failure into a one-line `ConfigError`."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"{display_path(path)}: no such file") from exc
    except IsADirectoryError as exc:
        raise ConfigError(f"{display_path(path)}: is a directory, expected a TOML file") from exc
    except PermissionError as exc:
        raise ConfigError(f"{display_path(path)}: permission denied") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{display_path(path)}: not UTF-8 text") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{display_path(path)}: invalid TOML: {exc}") from exc


def write_toml_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write `data` as TOML so that readers see the old file or the new one, never half of it."""
    write_atomic(path, tomli_w.dumps(data, multiline_strings=True).encode("utf-8"))


class FieldReader:
    """Typed access to one TOML table that records a problem instead of raising."""

    def __init__(self, data: dict[str, Any], where: str, problems: list[str], prefix: str = ""):
        self.data = data
        self.where = where
        self.problems = problems
        self.prefix = prefix

    def problem(self, key: str, message: str) -> None:
        self.problems.append(f"{self.where}: {self.prefix}{key}: {message}")

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

    def text(self, key: str, required: bool = True, max_chars: int | None = None) -> str | None:
        value = self.value(key, required, "a text", lambda v: isinstance(v, str))
        if value is not None:
            value = value.strip()
            if not value and required:
                self.problem(key, "is empty")
                return None
            if max_chars is not None and len(value) > max_chars:
                self.problem(key, f"{len(value)} characters, at most {max_chars} allowed")
        return value

    def boolean(self, key: str, default: bool | None = None) -> bool | None:
        value = self.value(key, False, "true or false", lambda v: isinstance(v, bool))
        return default if value is None else value

    def integer(self, key: str, minimum: int = 0, required: bool = False) -> int | None:
        value = self.value(
            key,
            required,
            f"a whole number >= {minimum}",
            lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= minimum,
        )
        return value

    def number(self, key: str, required: bool = True) -> float | None:
        value = self.value(
            key,
            required,
            "a number >= 0",
            lambda v: isinstance(v, int | float) and not isinstance(v, bool) and v >= 0,
        )
        return None if value is None else float(value)

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        value = self.value(key, False, "one of " + ", ".join(choices), lambda v: v in choices)
        return default if value is None else value

    def moment(self, key: str, required: bool = True) -> datetime | None:
        """A TOML date-time (with offset) or date; a date means midnight UTC."""
        value = self.value(
            key,
            required,
            "a date like 2023-06-26 or 2023-06-26T10:00:00+02:00",
            lambda v: isinstance(v, date | datetime),
        )
        if value is None:
            return None
        if not isinstance(value, datetime):
            return datetime.combine(value, time(0), tzinfo=UTC)
        if value.tzinfo is None:
            self.problem(key, f"needs a UTC offset, like {value.isoformat()}+02:00")
            return None
        return value

    def table(self, key: str, required: bool = True) -> FieldReader | None:
        value = self.value(key, required, "a table", lambda v: isinstance(v, dict))
        if value is None:
            return None
        return FieldReader(value, self.where, self.problems, f"{self.prefix}{key}.")

    def unknown_keys(self, known: set[str]) -> None:
        for key in sorted(set(self.data) - known):
            self.problem(key, "unknown key")

    def relative_path(self, key: str, base: Path, required: bool = True) -> Path | None:
        value = self.text(key, required)
        if not value:
            return None
        # absolute and normalised without resolving symlinks: resolve() costs an lstat per component
        path = Path(os.path.abspath(base / value))
        if not path.is_file():
            self.problem(key, f"no such file: {value}")
            return None
        return path


SHOW_KEYS = {
    "title", "subtitle", "description", "language", "author", "owner", "image", "category",
    "subcategory", "explicit", "type", "complete", "copyright", "website", "podcast_guid",
    "medium", "links", "new_feed_url", "block", "update_frequency", "update_rrule", "license",
    "license_url", "location", "person", "funding", "txt", "page_size",
    "encoding",  # read by encode.load_settings when ingest encodes a master
}  # fmt: skip
LIVE_STATUSES = ("pending", "live", "ended")
LOCATION_RELS = ("subject", "creator")


def load_show(path: Path) -> Show:
    """Read `feeds/<slug>.toml` into a `Show`, raising every problem of the file at once."""
    data = read_toml(path)
    problems: list[str] = []
    r = FieldReader(data, display_path(path), problems)
    r.unknown_keys(SHOW_KEYS)
    owner = r.table("owner")
    owner_name = owner.text("name") if owner else None
    owner_email = owner.text("email") if owner else None
    if owner_email and "@" not in owner_email:
        r.problem("owner.email", f"not an email address: {owner_email!r}")
    links = r.value("links", False, "a table of platform = URL", _is_str_table) or {}
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
        website=r.text("website", required=False),
        podcast_guid=r.text("podcast_guid", required=False),
        medium=r.choice("medium", MEDIUMS, "podcast"),
        links=dict(links),
        new_feed_url=r.text("new_feed_url", required=False),
        block=r.boolean("block", False),
        update_frequency=r.text("update_frequency", required=False, max_chars=128),
        update_rrule=r.text("update_rrule", required=False),
        license=r.text("license", required=False, max_chars=128),
        license_url=r.text("license_url", required=False),
        location=_read_location(r),
        persons=_read_persons(r),
        funding=tuple(
            Funding(t["url"], t["text"])
            for t in _read_tables(r, "funding", {"url": True, "text": True}, max_chars=128)
        ),
        txt=tuple(
            (t["text"], t.get("purpose"))
            for t in _read_tables(r, "txt", {"text": True, "purpose": False}, max_chars=4000)
        ),
        page_size=r.integer("page_size", minimum=1),
    )
    if problems:
        raise ValidationError(problems)
    return Show(owner=Owner(owner_name, owner_email), **show)  # type: ignore[arg-type]


def _is_str_table(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


EPISODE_KEYS = {
    "guid", "title", "pub_date", "description", "episode", "season", "episode_type", "explicit",
    "draft", "media", "chapters", "transcript", "publish_at", "block", "alternate", "person",
    "location", "license", "license_url", "live",
    "master", "poster",  # written by ingest: the master the media was encoded from, a video's poster frame
}  # fmt: skip
MEDIA_KEYS = {"file", "sha256", "size", "mime_type", "duration_seconds", "bitrate", "width", "height"}


def load_episode(path: Path, show_slug: str, cache: TomlCache | None = None) -> Episode:
    """Read `episodes/<show>/<slug>.toml` into an `Episode`, raising every problem at once."""
    data = cache.read(path) if cache is not None else read_toml(path)
    problems: list[str] = []
    r = FieldReader(data, DisplayPath(path), problems)  # type: ignore[arg-type]
    r.unknown_keys(EPISODE_KEYS)
    live = _read_live(r)
    # A live item may have no media yet: it becomes a normal item once its replay is ingested.
    media = _read_media(r, path.parent, required=live is None)
    chapters = _read_chapters(r)
    episode = dict(
        show=show_slug,
        slug=path.stem,
        source=Path(os.path.abspath(path)),
        guid=r.text("guid", max_chars=255),
        title=r.text("title", max_chars=255),
        pub_date=r.moment("pub_date"),
        description=r.text("description", required=False) or "",
        number=r.integer("episode", minimum=1),
        season=r.integer("season", minimum=1),
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
        license=r.text("license", required=False, max_chars=128),
        license_url=r.text("license_url", required=False),
        live=live,
        poster=r.relative_path("poster", path.parent, required=False),
    )
    master = r.table("master", required=False)
    if master is not None:
        master.unknown_keys({"file", "sha256"})  # the master itself may live elsewhere: not required
    if problems:
        raise ValidationError(problems)
    return Episode(media=media, **episode)  # type: ignore[arg-type]


def _read_media(r: FieldReader, base: Path, required: bool = True) -> EpisodeMedia | None:
    m = r.table("media", required)
    if m is None:
        return None
    return _media_from(m, base)


def _read_alternates(r: FieldReader, base: Path) -> tuple[EpisodeMedia, ...]:
    """`[[alternate]]`: other renditions of the media (the audio-only track of a video replay)."""
    out = []
    for i, item in enumerate(_array(r, "alternate")):
        m = FieldReader(item, r.where, r.problems, f"alternate[{i}].")
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
    r: FieldReader, key: str, fields: dict[str, bool], max_chars: int | None = None
) -> list[dict[str, str]]:
    """`[[key]]` tables of text fields (field -> required); only complete ones are returned."""
    out = []
    for i, item in enumerate(_array(r, key)):
        t = FieldReader(item, r.where, r.problems, f"{key}[{i}].")
        t.unknown_keys(set(fields))
        values = {f: t.text(f, required=req, max_chars=max_chars) for f, req in fields.items()}
        if all(values[f] for f, req in fields.items() if req):
            out.append({f: v for f, v in values.items() if v})
    return out


def _read_persons(r: FieldReader) -> tuple[Person, ...]:
    fields = {"name": True, "role": False, "group": False, "href": False, "img": False}
    return tuple(
        Person(
            name=t["name"],
            role=t.get("role", "host").lower(),
            group=t.get("group", "cast").lower(),
            href=t.get("href"),
            img=t.get("img"),
        )
        for t in _read_tables(r, "person", fields, max_chars=128)
    )


def _read_location(r: FieldReader) -> Location | None:
    t = r.table("location", required=False)
    if t is None:
        return None
    t.unknown_keys({"name", "geo", "osm", "country", "rel"})
    name = t.text("name", max_chars=128)
    rel = t.value("rel", False, "subject or creator", lambda v: v in LOCATION_RELS)
    country = t.text("country", required=False)
    if country and not (len(country) == 2 and country.isascii() and country.isalpha()):
        t.problem("country", f"expected a two-letter ISO 3166 code like FR, got {country!r}")
    osm = t.text("osm", required=False)
    if osm and not (osm[:1] in "NWR" and osm[1:].split("#")[0].isdigit()):
        t.problem("osm", f"expected an OpenStreetMap type and id like R2202162, got {osm!r}")
    geo = t.text("geo", required=False)
    if geo and not geo.startswith("geo:"):
        t.problem("geo", f"expected a geo URI like geo:48.8566,2.3522, got {geo!r}")
    if not name:
        return None
    return Location(name, geo, osm, country.upper() if country else None, rel)


def _read_live(r: FieldReader) -> Live | None:
    t = r.table("live", required=False)
    if t is None:
        return None
    t.unknown_keys({"status", "start", "end", "url", "type"})
    status = t.value("status", True, "pending, live or ended", lambda v: v in LIVE_STATUSES)
    start, end = t.moment("start"), t.moment("end")
    if start and end and end <= start:
        t.problem("end", "is not after start")
    if status and start and end:
        url, mime_type = t.text("url", required=False), t.text("type", required=False)
        return Live(status, start, end, url, mime_type or "audio/mpeg")
    return None


def _media_from(m: FieldReader, base: Path) -> EpisodeMedia | None:
    m.unknown_keys(MEDIA_KEYS)
    path = m.relative_path("file", base)
    sha256 = m.text("sha256")
    if sha256 and (len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256)):
        m.problem("sha256", "expected 64 lowercase hexadecimal digits")
    size = m.integer("size", minimum=1, required=True)
    mime_type = m.text("mime_type")
    if mime_type and mime_type not in PUBLISHABLE_MIME_TYPES:
        m.problem(
            "mime_type",
            f"{mime_type} cannot be published as an enclosure; "
            f"expected one of {', '.join(sorted(PUBLISHABLE_MIME_TYPES))}",
        )
    duration = m.number("duration_seconds")
    if path and size and path.stat().st_size != size:
        m.problem("file", f"{path.name} is {path.stat().st_size} bytes, the record says {size}")
    fields = dict(
        path=path,
        sha256=sha256,
        size=size,
        mime_type=mime_type,
        duration_seconds=duration,
        bitrate=m.integer("bitrate"),
        width=m.integer("width"),
        height=m.integer("height"),
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
        c = FieldReader(item, r.where, r.problems, f"chapters[{i}].")
        start, title = c.number("start_seconds"), c.text("title")
        if start is not None and title:
            chapters.append(Chapter(start_seconds=start, title=title))
    return tuple(chapters)


def episode_to_toml(record: dict[str, Any]) -> dict[str, Any]:
    """Order an episode record's keys the way people read them: identity, texts, then media."""
    order = ["title", "guid", "pub_date", "episode", "season", "episode_type", "explicit", "draft"]
    out = {k: record[k] for k in order if k in record and record[k] is not None}
    out.update({k: v for k, v in record.items() if k not in out and v is not None})
    return out
