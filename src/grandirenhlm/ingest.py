"""Media file -> content-addressed copy in the media store + a new or updated episode record.

Identity rules: an episode's GUID is assigned once, at first ingest, and kept forever. The media
copy is named by its content hash, so a corrected file gets a new URL (podcast apps cache byte
ranges per URL) while the episode, and its GUID, stay the same.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from slugify import slugify

from grandirenhlm.config import Project
from grandirenhlm.errors import ConfigError, GrandirError, MediaError
from grandirenhlm.media import probe
from grandirenhlm.model import MediaInfo
from grandirenhlm.records import (
    display_path,
    episode_to_toml,
    read_toml,
    write_bytes_atomic,
    write_toml_atomic,
)


@dataclass(frozen=True)
class IngestResult:
    source: Path
    record: Path
    action: str  # "created", "updated" or "unchanged"
    sha256: str


def make_slug(text: str) -> str:
    """ASCII-only, lowercase, hyphenated: what URLs and file names made from French titles need."""
    # Elisions split words (« l’école » -> l-ecole); « n° » is a number sign, not "deg".
    replacements = [["’", "-"], ["'", "-"], ["°", ""]]
    return slugify(text, max_length=80, word_boundary=True, replacements=replacements) or "episode"


def require_show(project: Project, show: str) -> None:
    if not (project.feeds_dir / f"{show}.toml").is_file():
        known = ", ".join(sorted(p.stem for p in project.feeds_dir.glob("*.toml"))) or "none"
        raise ConfigError(f"--show: unknown show {show!r} (shows: {known})")


def ingest_files(
    project: Project, show: str, paths: Iterable[Path], *, force: bool = False, now: datetime | None = None
) -> Iterator[tuple[Path, IngestResult | GrandirError]]:
    """Ingest many files: each gives its result or its error, and a bad file never stops the rest.

    The show's records are read once for the batch, and the batch shares one date, so that
    episodes ingested together keep the order of their episode numbers.
    """
    require_show(project, show)  # wrong for every file: raise now
    index = MediaIndex(project.episodes_dir / show)
    cache = IngestCache(project.root / CACHE_PATH)
    now = now or datetime.now(UTC)
    try:
        for path in paths:
            known = cache.lookup(path)
            if known is not None and (record := index.get(known)) is not None:
                yield path, IngestResult(path, record, "unchanged", known)  # not even read again
                continue
            try:
                result = ingest_file(project, show, path, force=force, now=now, index=index)
            except GrandirError as exc:
                yield path, exc
                continue
            cache.remember(path, result.sha256)
            yield path, result
    finally:
        cache.save()


CACHE_PATH = Path(".grandirenhlm") / "ingest-cache.json"


class IngestCache:
    """sha256 of files already ingested, keyed by absolute path, size and mtime (as git and rsync
    decide a file is unchanged), so re-ingesting an unchanged folder reads no media file."""

    def __init__(self, path: Path):
        self.path = path
        self.changed = False
        try:
            self.entries: dict[str, list] = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(self.entries, dict):
                raise ValueError("not an object")
        except (OSError, ValueError):
            self.entries = {}  # a missing or damaged cache only costs a full read

    @staticmethod
    def _key(path: Path) -> tuple[str, list] | None:
        try:
            stat = path.stat()
        except OSError:
            return None
        return str(path.resolve()), [stat.st_size, stat.st_mtime_ns]

    def lookup(self, path: Path) -> str | None:
        key = self._key(path)
        if key is None:
            return None
        entry = self.entries.get(key[0])
        if isinstance(entry, list) and entry[:2] == key[1] and len(entry) == 3:
            return entry[2]
        return None

    def remember(self, path: Path, sha256: str) -> None:
        key = self._key(path)
        if key is not None:
            self.entries[key[0]] = [*key[1], sha256]
            self.changed = True

    def save(self) -> None:
        if self.changed:
            write_bytes_atomic(self.path, json.dumps(self.entries, indent=0, sort_keys=True).encode())


def ingest_file(
    project: Project,
    show: str,
    path: Path,
    *,
    slug: str | None = None,
    title: str | None = None,
    force: bool = False,
    now: datetime | None = None,
    index: MediaIndex | None = None,
) -> IngestResult:
    """Ingest one file into `show`. Raises `GrandirError` (nothing written) on any problem.

    Pass the same `index` for a batch of files so the show's records are read once, not per file.
    """
    require_show(project, show)
    info = probe(path)
    if not info.publishable:
        raise MediaError(
            f"{display_path(path)}: {info.mime_type} ({info.container}) is a master format, "
            "not publishable as a podcast enclosure; encode it to MP3 or M4A first"
        )
    records = project.episodes_dir / show
    if index is None or index.folder != records:
        index = MediaIndex(records)
    existing = index.get(info.sha256)
    if existing is not None:
        return IngestResult(path, existing, "unchanged", info.sha256)

    slug = slug or make_slug(title or info.tags.get("title") or path.stem)
    record_path = records / f"{slug}.toml"
    record = read_toml(record_path) if record_path.exists() else None  # read before any write
    if record is not None and not force:
        raise GrandirError(
            f"{display_path(record_path)}: already exists with other media "
            f"(sha256 {record.get('media', {}).get('sha256', '?')[:12]}…); "
            "use --force to replace its media (its GUID is kept)"
        )
    stored = store_media(project, show, slug, info)
    media = _media_table(info, stored, record_path)
    if record is not None:
        record["media"] = media
        write_toml_atomic(record_path, episode_to_toml(record))
        index.add(info.sha256, record_path)
        return IngestResult(path, record_path, "updated", info.sha256)

    record = _new_record(info, title, media, now or datetime.now(UTC))
    write_toml_atomic(record_path, episode_to_toml(record))
    index.add(info.sha256, record_path)
    return IngestResult(path, record_path, "created", info.sha256)


def _new_record(info: MediaInfo, title: str | None, media: dict, now: datetime) -> dict[str, Any]:
    """Defaults from the file's tags; the user edits the record afterwards."""
    record: dict[str, Any] = {
        "title": title or info.tags.get("title") or info.path.stem,
        "guid": f"urn:uuid:{uuid.uuid4()}",
        "pub_date": tag_moment(info.tags.get("date", "")) or now.replace(microsecond=0),
        "description": info.tags.get("comment", ""),
    }
    track = info.tags.get("track", "").split("/")[0]
    if track.isdigit() and int(track) > 0:
        record["episode"] = int(track)
    record["media"] = media
    if info.chapters:
        record["chapters"] = [{"start_seconds": c.start_seconds, "title": c.title} for c in info.chapters]
    return record


def tag_moment(text: str) -> datetime | None:
    """A full date-time from a date tag (ID3 TDRC, ©day, DATE): one without offset is UTC.

    A bare year or date is not precise enough to order episodes: it is ignored.
    """
    if "T" not in text and " " not in text.strip():
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _media_table(info: MediaInfo, stored: Path, record_path: Path) -> dict[str, Any]:
    table: dict[str, Any] = {
        "file": os.path.relpath(stored, record_path.parent),
        "sha256": info.sha256,
        "size": info.size,
        "mime_type": info.mime_type,
        "duration_seconds": info.duration_seconds,
    }
    if info.bitrate:
        table["bitrate"] = info.bitrate
    if info.has_video and info.width and info.height:
        table["width"], table["height"] = info.width, info.height
    return table


def store_media(project: Project, show: str, slug: str, info: MediaInfo) -> Path:
    """Copy the file to `media/<show>/<slug>-<sha256[:12]><ext>` atomically; reuse it if present."""
    target = project.media_dir / show / f"{slug}-{info.sha256[:12]}{info.extension}"
    if target.is_file() and target.stat().st_size == info.size:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        shutil.copyfile(info.path, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise MediaError(f"{display_path(target)}: cannot write to the media store: {exc.strerror}") from exc
    return target


class MediaIndex:
    """sha256 of each record's media -> record path, for one show's folder of records."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._by_sha: dict[str, Path] = {}
        self._by_record: dict[Path, str] = {}
        for path in sorted(folder.glob("*.toml")) if folder.is_dir() else ():
            try:
                media = read_toml(path).get("media", {})
            except ConfigError:
                continue  # `check` reports broken records; ingest only needs the good ones
            if isinstance(media, dict) and isinstance(media.get("sha256"), str):
                self._by_sha.setdefault(media["sha256"], path)
                self._by_record[path] = media["sha256"]

    def get(self, sha256: str) -> Path | None:
        return self._by_sha.get(sha256)

    def add(self, sha256: str, record: Path) -> None:
        old = self._by_record.get(record)
        if old is not None and self._by_sha.get(old) == record:
            del self._by_sha[old]  # the record no longer points at its old media
        self._by_sha[sha256] = record
        self._by_record[record] = sha256
