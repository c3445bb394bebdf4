"""Media file -> content-addressed copy in the media store + a new or updated episode record.

Identity rules: an episode's GUID is assigned once, at first ingest, and kept forever. The media
copy is named by its content hash, so a corrected file gets a new URL (podcast apps cache byte
ranges per URL) while the episode, and its GUID, stay the same.

Records are typed values here (`records.EpisodeRecord`, `model.Episode`): `records` reads and
writes their TOML.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import uuid
from collections import deque
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from grandirenhlm.config import Project
from grandirenhlm.encode import (
    EncodeJob,
    EncodeReporter,
    EncodeSettings,
    Master,
    Progress,
    encode_cached,
    extract_audio_cached,
    extract_poster,
    load_settings,
    make_encode_reporter,
    read_master,
    run_jobs,
    store_derived,
)
from grandirenhlm.errors import ConfigError, GrandirError, MediaError, ValidationError
from grandirenhlm.files import copy_atomic, display_path, real_path, record_files, write_atomic
from grandirenhlm.media import probe
from grandirenhlm.model import Chapter, Episode, EpisodeMedia, IngestResult, MediaInfo
from grandirenhlm.names import make_slug, require_slug
from grandirenhlm.records import (
    EpisodeRecord,
    MasterFile,
    load_show,
    read_episode,
    recorded_media_sha256,
    write_episode,
)
from grandirenhlm.tagging import TagData


def require_show(project: Project, show: str) -> None:
    require_slug(show, "--show")
    if not (project.feeds_dir / f"{show}.toml").is_file():
        known = ", ".join(p.stem for p in project.show_files()) or "none"
        raise ConfigError(f"--show: unknown show {show!r} (shows: {known})")


def ingest_files(
    project: Project,
    show: str,
    paths: Iterable[Path],
    *,
    force: bool = False,
    now: datetime | None = None,
    encode: bool = False,
    settings: EncodeSettings | None = None,
    jobs: int = 1,
    reporter: EncodeReporter | None = None,
) -> Iterator[tuple[Path, IngestResult | GrandirError]]:
    """Ingest many files: each gives its result or its error, in the order given, and a bad file
    never stops the rest.

    The show's records are read once for the batch, and the batch shares one date, so that
    episodes ingested together keep the order of their episode numbers. Files are read (probed,
    hashed) by `jobs - 1` worker processes ahead of this one, which stores each file and writes
    its record as its turn comes (see `_read_masters`). From the first file that needs an encode
    on, the rest are read first, their encodes run `jobs` at a time, then their records are
    written in order.
    """
    require_show(project, show)  # wrong for every file: raise now
    index = MediaIndex(project.episodes_dir / show)
    cache = IngestCache(project.cache_dir / "ingest-cache.json")
    now = now or datetime.now(UTC)
    settings = settings or load_settings(project.root, show)
    paths = list(paths)
    known = [None if (force or encode) else cache.lookup(path) for path in paths]
    unread = [k is None or index.get(k) is None for k in known]
    masters = _read_masters([p for p, u in zip(paths, unread, strict=True) if u], jobs - 1)
    encodes: list[tuple[Path, Prepared | IngestResult | GrandirError]] = []
    try:
        for path, sha256, read in zip(paths, known, unread, strict=True):
            master = next(masters) if read else None
            plan: Prepared | IngestResult | GrandirError
            if sha256 is not None and (record := index.get(sha256)) is not None:
                index.claim(record.stem)
                plan = IngestResult(path, record, "unchanged", sha256)  # not even read again
            elif isinstance(master, GrandirError):
                plan = master
            else:
                try:
                    plan = prepare_ingest(
                        project, show, path, force=force, encode=encode, settings=settings, index=index,
                        master=master,
                    )  # fmt: skip
                except GrandirError as exc:
                    plan = exc
            if encodes or (isinstance(plan, Prepared) and plan.has_jobs()):
                encodes.append((path, plan))  # from here on: read all, encode, then write in order
                continue
            yield path, _finished(project, show, plan, force, now, index, cache)
        _run_prepared(
            [p for _, p in encodes if isinstance(p, Prepared)], jobs, reporter, project.media_dir / show
        )
        for path, plan in encodes:
            yield path, _finished(project, show, plan, force, now, index, cache)
    finally:
        masters.close()  # stops the worker processes
        # Records and media are written without a flush each: the batch reaches the disk with one
        # sync (a flush per record cost more than reading, hashing and copying the file).
        os.sync()
        cache.save()


def _finished(
    project: Project,
    show: str,
    plan: Prepared | IngestResult | GrandirError,
    force: bool,
    now: datetime,
    index: MediaIndex,
    cache: IngestCache,
) -> IngestResult | GrandirError:
    """`plan`'s outcome: a prepared file is stored and its record written (and the ingest cache
    told what it holds)."""
    if not isinstance(plan, Prepared):
        return plan
    try:
        result = finish_ingest(project, show, plan, force=force, now=now, index=index)
    except GrandirError as exc:
        return exc
    cache.remember(plan.source, result.sha256)
    return result


# Reading a file (mutagen, our own checks, SHA-256) is pure Python: the batch's reading runs in
# worker processes while this one stores files and writes records. A worker starts a new Python
# (spawn: forking a process that may run threads can deadlock), which costs about what reading
# 100 files does: small batches are read here.
_POOL_FROM = 200
_CHUNK = 16  # files per task: one round trip to a worker per chunk


def _read_masters(paths: list[Path], workers: int) -> Generator[Master | GrandirError, None, None]:
    """`read_master` of each of `paths`, in order (a file's error in its place), by up to
    `workers` worker processes a few chunks ahead of the caller; closing it stops them. Should a
    worker die (killed, out of memory), the files it had not answered are read here.

    A library caller passing `jobs` > 1 from a script must guard its entry point
    (`if __name__ == "__main__":`): a spawned worker imports the main module."""
    if workers < 1 or len(paths) < _POOL_FROM:
        for path in paths:
            yield _read_one(path)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    chunks = [paths[i : i + _CHUNK] for i in range(0, len(paths), _CHUNK)]
    workers = min(workers, len(chunks))
    pool = ProcessPoolExecutor(workers, multiprocessing.get_context("spawn"), initializer=_quiet_worker)
    try:
        # Workers start with Ctrl-C blocked (a signal mask survives exec): one pressed while they
        # import prints no traceback from them; this process answers it once the mask is lifted.
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            pending = deque(pool.submit(_read_chunk, chunk) for chunk in chunks[: 2 * workers + 1])
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        broken = False
        for n, chunk in enumerate(chunks):
            done = None
            if not broken:
                try:
                    done = pending.popleft().result()
                    if n + len(pending) + 1 < len(chunks):
                        pending.append(pool.submit(_read_chunk, chunks[n + len(pending) + 1]))
                except BrokenProcessPool:
                    broken = True  # from here on, what the pool did not answer is read here
            yield from done if done is not None else (_read_one(path) for path in chunk)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _quiet_worker() -> None:
    """Ctrl-C reaches the whole process group: the parent answers it, its workers stay quiet."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _read_chunk(paths: list[Path]) -> list[Master | GrandirError]:
    """In a worker: the errors go back to the parent pickled, so each is sent as a plain
    `MediaError`/`ConfigError`/`GrandirError` with its one-line message."""
    out: list[Master | GrandirError] = []
    for path in paths:
        read = _read_one(path)
        if isinstance(read, GrandirError) and type(read) not in (GrandirError, MediaError, ConfigError):
            read = (ConfigError if isinstance(read, ConfigError) else GrandirError)(str(read))
        out.append(read)
    return out


def _read_one(path: Path) -> Master | GrandirError:
    try:
        return read_master(path)
    except GrandirError as exc:  # kept as it is: an `EncodeInterrupted` stops the batch
        return exc


class IngestCache:
    """sha256 of files already ingested, keyed by absolute path, size and mtime (as git and rsync
    decide a file is unchanged), so re-ingesting an unchanged folder reads no media file."""

    def __init__(self, path: Path):
        self.path = path
        self.changed = False
        self._folders: dict[str, str] = {}  # resolved once per folder during this run (real_path)
        try:
            self.entries: dict[str, list] = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(self.entries, dict):
                raise ValueError("not an object")
        except (OSError, ValueError):
            self.entries = {}  # a missing or damaged cache only costs a full read

    def _key(self, path: Path) -> tuple[str, list] | None:
        try:
            stat = path.stat()
        except OSError:
            return None
        return real_path(path, self._folders), [stat.st_size, stat.st_mtime_ns]

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
            data = json.dumps(self.entries, indent=0, sort_keys=True).encode()
            with contextlib.suppress(OSError):  # a cache: a full disk costs the next ingest a hash
                write_atomic(self.path, data, durable=False)


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
    encode: bool = False,
    settings: EncodeSettings | None = None,
    reporter: EncodeReporter | None = None,
) -> IngestResult:
    """Ingest one file into `show`. Raises `GrandirError` (nothing written) on any problem.

    Pass the same `index` for a batch of files so the show's records are read once, not per file.
    """
    plan = prepare_ingest(
        project,
        show,
        path,
        slug=slug,
        title=title,
        force=force,
        encode=encode,
        settings=settings,
        index=index,
    )
    if isinstance(plan, IngestResult):
        return plan
    _run_prepared([plan], 1, reporter, project.media_dir / show)
    try:
        return finish_ingest(project, show, plan, force=force, now=now, index=index)
    finally:
        os.sync()  # the record and its media on disk before we say so (see ingest_files)


@dataclass
class Prepared:
    """A file read and checked, with the encodes it needs (run in parallel for a batch)."""

    source: Path
    info: MediaInfo | None  # the publishable file as given (None: the media comes from `job`)
    slug: str | None = None
    title: str | None = None
    master: Master | None = None  # set when the published file is encoded from this master
    job: EncodeJob | None = None  # makes the published file (from a master)
    audio_job: EncodeJob | None = None  # makes the audio-only version of a video
    poster_job: EncodeJob | None = None
    outputs: dict[str, Path | GrandirError] = field(default_factory=dict)
    fresh: list[Path] = field(default_factory=list)  # files this ingest added to the media store
    record: Path | None = None  # the record it writes, once decided, with its media's sha256
    sha256: str | None = None
    record_before: tuple[int, int] | None = None  # that record's (inode, mtime) before, if any

    def has_jobs(self) -> bool:
        return any(job is not None for job in (self.job, self.audio_job, self.poster_job))


def prepare_ingest(
    project: Project,
    show: str,
    path: Path,
    *,
    slug: str | None = None,
    title: str | None = None,
    force: bool = False,
    encode: bool = False,
    settings: EncodeSettings | None = None,
    index: MediaIndex | None = None,
    master: Master | None = None,
) -> Prepared | IngestResult:
    """Read `path` (unless its `master` was read already) and decide what to make: nothing (a
    publishable file, kept bit-for-bit), an encode (a master, or any file with `encode`), or the
    audio-only version and poster of a video."""
    require_show(project, show)
    if slug is not None:
        require_slug(slug, "--slug")
    master = master or read_master(path)
    info = master.info
    records = project.episodes_dir / show
    if index is None or index.folder != records:
        index = MediaIndex(records)
    if info is not None and info.publishable and not (encode and not info.has_video):
        existing = index.get(info.sha256)
        if existing is not None and not (force and info.has_video):
            index.claim(existing.stem)
            return IngestResult(path, existing, "unchanged", info.sha256)
        # --force on a video already ingested: derive its audio-only version and poster again,
        # into the record that has it
        plan = Prepared(path, info, slug=slug or (existing.stem if existing else None), title=title)
        if plan.slug:
            index.claim(plan.slug)
        if info.has_video:
            _plan_video_extras(
                project, show, plan, settings or load_settings(project.root, show), encode, force, index
            )
        return plan
    # A master: encode it. The record's texts become the tags, so read the record first.
    tags = info.tags if info else {}
    slug = slug or index.unclaimed(make_slug(title or tags.get("title") or path.stem))
    index.claim(slug)
    record_path = records / f"{slug}.toml"
    record = existing_record(record_path, show, project.timezone)
    if record is not None and not force:
        if record.master is not None and record.master.sha256 == master.sha256:
            return IngestResult(path, record_path, "unchanged", _media_sha256(record))
        raise _exists(record_path, record)
    resolved = (settings or load_settings(project.root, show)).resolve(master.channels)
    tag_data = episode_tags(project, show, record, master, title)
    folder = project.media_dir / show
    plan = Prepared(path, None, slug=slug, title=title, master=master)
    plan.job = EncodeJob(
        display_path(path),
        master.duration_seconds,
        lambda progress: store_derived(
            encode_cached(master, resolved, project.root, progress), folder, slug, tag_data
        ),
    )
    return plan


def _plan_video_extras(
    project: Project,
    show: str,
    plan: Prepared,
    settings: EncodeSettings,
    encode: bool,
    force: bool,
    index: MediaIndex,
) -> None:
    """The audio-only version of a video (its AAC track copied, or encoded with the show's
    settings) and a poster frame, both for the episode's page and `podcast:alternateEnclosure`."""
    info = plan.info
    assert info is not None
    slug = plan.slug or index.unclaimed(make_slug(plan.title or info.tags.get("title") or info.path.stem))
    index.claim(slug)
    record_path = project.episodes_dir / show / f"{slug}.toml"
    record = existing_record(record_path, show, project.timezone)
    if record is not None and not force:  # refuse before extracting anything
        raise _exists(record_path, record)
    plan.slug = slug
    master = Master(info.path, info.sha256, info.duration_seconds, info.channels, info)
    tag_data = episode_tags(project, show, record, master, plan.title)
    folder = project.media_dir / show
    # mp4a.40.2 is AAC-LC (mutagen's codec name): already what an M4A carries, copied as it is
    copy = "mp4a.40" in info.codec and not encode and not settings.normalize
    resolved = settings.resolve(info.channels)

    def audio(progress: Progress) -> Path:
        made = (
            extract_audio_cached(master, project.root, progress)
            if copy
            else encode_cached(master, resolved, project.root, progress)
        )
        return store_derived(made, folder, f"{slug}-audio", tag_data)

    plan.audio_job = EncodeJob(display_path(info.path), info.duration_seconds, audio)
    at = min(5.0, info.duration_seconds / 10)  # past a fade from black, early enough to exist
    plan.poster_job = EncodeJob(
        display_path(info.path) + " (poster)",
        None,
        lambda _progress: extract_poster(info.path, folder, slug, at),
    )


def _run_prepared(plans: list[Prepared], jobs: int, reporter: EncodeReporter | None, folder: Path) -> None:
    """Run every encode of the plans, `jobs` at a time; each plan gets its outputs or errors, and
    knows which of them are new in the media store `folder` (removed if its ingest fails)."""
    work: list[tuple[Prepared, str, EncodeJob]] = []
    for plan in plans:
        for kind in ("job", "audio_job", "poster_job"):
            job = getattr(plan, kind)
            if job is not None:
                work.append((plan, kind, job))
    if not work:
        return
    before = set(os.listdir(folder)) if folder.is_dir() else set()
    results = run_jobs([job for _, _, job in work], jobs, reporter or make_encode_reporter(quiet=True))
    for (plan, kind, _), result in zip(work, results, strict=True):
        plan.outputs[kind] = result
        if isinstance(result, Path) and result.name not in before:
            plan.fresh.append(result)


def finish_ingest(
    project: Project,
    show: str,
    plan: Prepared,
    *,
    force: bool = False,
    now: datetime | None = None,
    index: MediaIndex | None = None,
) -> IngestResult:
    """Write the record of a prepared file whose encodes have run. On any error, what this ingest
    added to the media store is removed again: a failed ingest leaves nothing there."""
    records = project.episodes_dir / show
    if index is None or index.folder != records:
        index = MediaIndex(records)
    try:
        result = _finish(project, show, plan, force, now, index)
    except BaseException:  # Ctrl-C and SIGTERM too: whatever moment they come
        if not _written(plan):
            _discard(plan, index)
        raise
    if result.action == "unchanged":
        _discard(plan, index)  # its media was already there under another record
    else:
        index.kept.update(plan.fresh)
    return result


def _written(plan: Prepared) -> bool:
    """Whether `plan`'s record was renamed into place (what commits an ingest: from then on its
    media stays), told by a file there other than the one before and naming the new media."""
    if plan.record is None:
        return False
    try:
        st = plan.record.stat()
        if (st.st_ino, st.st_mtime_ns) == plan.record_before:
            return False  # the record as it was: not written yet (a `--force` may keep the media)
        return recorded_media_sha256(plan.record) == plan.sha256
    except (OSError, ConfigError):
        return False


def _discard(plan: Prepared, index: MediaIndex) -> None:
    """Remove the files `plan` added to the media store that no finished ingest of the batch uses."""
    for path in plan.fresh:
        if path not in index.kept:
            path.unlink(missing_ok=True)


def _finish(
    project: Project, show: str, plan: Prepared, force: bool, now: datetime | None, index: MediaIndex
) -> IngestResult:
    for result in plan.outputs.values():
        if isinstance(result, GrandirError):
            raise result
    path = plan.source
    info = probe(plan.outputs["job"]) if plan.job is not None else plan.info  # type: ignore[arg-type]
    assert info is not None
    records = project.episodes_dir / show
    existing = index.get(info.sha256)
    if existing is not None and not (force and plan.audio_job is not None):
        return IngestResult(path, existing, "unchanged", info.sha256)

    slug = plan.slug or index.unclaimed(make_slug(plan.title or info.tags.get("title") or path.stem))
    index.claim(slug)
    record_path = records / f"{slug}.toml"
    record = existing_record(record_path, show, project.timezone)  # read before any write
    if record is not None and not force:
        raise _exists(record_path, record)
    stored = project.media_dir / show / f"{slug}-{info.sha256[:12]}{info.extension}"
    plan.record, plan.sha256 = record_path, info.sha256
    if record is not None:  # a record to replace (`--force`): how to tell the new one from it
        with contextlib.suppress(OSError):
            st = record_path.stat()
            plan.record_before = (st.st_ino, st.st_mtime_ns)
    if not stored.exists():
        plan.fresh.append(stored)
    media = EpisodeMedia.of(info, store_media(project, show, slug, info))
    master = None
    if plan.master is not None:
        master = MasterFile(
            os.path.relpath(plan.master.path.resolve(), project.root.resolve()), plan.master.sha256
        )
    alternates = poster = None
    if "audio_job" in plan.outputs:
        audio = plan.outputs["audio_job"]
        assert isinstance(audio, Path)
        alternates = (EpisodeMedia.of(probe(audio), audio),)
    if "poster_job" in plan.outputs:
        poster = plan.outputs["poster_job"]
        assert isinstance(poster, Path)
    if record is not None:
        # the new media, and what ingest derived from it; every other key as the file has it
        episode = record.episode
        episode = replace(
            episode,
            media=media,
            alternates=episode.alternates if alternates is None else alternates,
            poster=poster or episode.poster,
        )
        write_episode(
            record_path, replace(record, episode=episode, master=master or record.master), durable=False
        )
        index.add(info.sha256, record_path)
        return IngestResult(path, record_path, "updated", info.sha256)

    episode = _new_episode(show, record_path, info, plan.title, media, now or datetime.now(UTC))
    episode = replace(episode, alternates=alternates or (), poster=poster)
    write_episode(record_path, EpisodeRecord(episode, master), durable=False)
    index.add(info.sha256, record_path)
    return IngestResult(path, record_path, "created", info.sha256)


def existing_record(record_path: Path, show: str, zone: tzinfo = UTC) -> EpisodeRecord | None:
    """The record ingest would update, if there is one, its dates without an offset read in `zone`
    (the project's time zone). Its media may be missing (it is being replaced), but a record that
    does not load otherwise is refused: nothing is written over it."""
    if not record_path.exists():
        return None
    try:
        return read_episode(record_path, show, replacing_media=True, zone=zone)
    except ValidationError as exc:  # one line: ingest reports one error per file
        raise ConfigError("; ".join(exc.problems)) from exc


def _media_sha256(record: EpisodeRecord) -> str:
    media = record.episode.media
    return media.sha256 if media is not None else "?"  # a live item has no media yet


def _exists(record_path: Path, record: EpisodeRecord) -> GrandirError:
    return GrandirError(
        f"{display_path(record_path)}: already exists with other media "
        f"(sha256 {_media_sha256(record)[:12]}…); use --force to replace its media (its GUID is kept)"
    )


# ISO 639-1 (feeds) -> ISO 639-2/B (ID3 TLAN, COMM) for the languages a show is likely to use.
_ID3_LANGUAGES = {
    "fr": "fra",
    "en": "eng",
    "de": "ger",
    "es": "spa",
    "it": "ita",
    "pt": "por",
    "nl": "dut",
    "ar": "ara",
}


def episode_tags(
    project: Project, show: str, record: EpisodeRecord | None, master: Master, title: str | None
) -> TagData:
    """The tags of a derived file: the record's texts when it exists, else the master's tags."""
    s = load_show(project.feeds_dir / f"{show}.toml")
    tags = master.info.tags if master.info else {}
    language = _ID3_LANGUAGES.get(s.language.split("-")[0].lower())
    common = {"artist": s.author, "album": s.title, "language": language, "cover": s.image}
    if record is not None:
        e = record.episode
        return TagData(
            title=title or e.title,
            track=e.number,
            disc=e.season,
            date=e.pub_date.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            comment=e.description or None,
            chapters=tuple(Chapter(c.start_seconds, c.title) for c in e.chapters),
            **common,
        )
    track = tags.get("track", "").split("/")[0]
    return TagData(
        title=title or tags.get("title") or master.path.stem,
        track=int(track) if track.isdigit() and int(track) > 0 else None,
        date=tags.get("date") or None,
        comment=tags.get("comment") or None,
        chapters=tuple(
            Chapter(c.start_seconds, c.title) for c in (master.info.chapters if master.info else ())
        ),
        **common,
    )


def _new_episode(
    show: str, record_path: Path, info: MediaInfo, title: str | None, media: EpisodeMedia, now: datetime
) -> Episode:
    """Defaults from the file's tags; the user edits the record afterwards."""
    track = info.tags.get("track", "").split("/")[0]
    return Episode(
        show=show,
        slug=record_path.stem,
        source=Path(os.path.abspath(record_path)),
        guid=f"urn:uuid:{uuid.uuid4()}",
        title=title or info.tags.get("title") or info.path.stem,
        pub_date=tag_moment(info.tags.get("date", "")) or now.replace(microsecond=0),
        description=info.tags.get("comment", ""),
        media=media,
        number=int(track) if track.isdigit() and int(track) > 0 else None,
        chapters=tuple(Chapter(c.start_seconds, c.title) for c in info.chapters),
    )


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


def store_media(project: Project, show: str, slug: str, info: MediaInfo) -> Path:
    """Copy the file to `media/<show>/<slug>-<sha256[:12]><ext>` atomically; reuse it if present."""
    target = project.media_dir / show / f"{slug}-{info.sha256[:12]}{info.extension}"
    if target.is_file() and target.stat().st_size == info.size:
        return target
    try:
        copy_atomic(info.path, target, durable=False)
    except OSError as exc:
        raise MediaError(f"{display_path(target)}: cannot write to the media store: {exc.strerror}") from exc
    return target


class MediaIndex:
    """sha256 of each record's media -> record path, for one show's folder of records."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._by_sha: dict[str, Path] = {}
        self._by_record: dict[Path, str] = {}
        # slugs given to a file of this batch: a second file with the same title gets another one
        self.claimed: set[str] = set()
        self.kept: set[Path] = set()  # media store files that a finished ingest of this batch uses
        for path in record_files(folder):
            try:
                sha256 = recorded_media_sha256(path)
            except ConfigError:
                continue  # `check` reports broken records; ingest only needs the good ones
            if sha256 is not None:
                self._by_sha.setdefault(sha256, path)
                self._by_record[path] = sha256

    def get(self, sha256: str) -> Path | None:
        return self._by_sha.get(sha256)

    def claim(self, slug: str) -> None:
        self.claimed.add(slug)

    def unclaimed(self, slug: str) -> str:
        """`slug`, or `slug-2`, `slug-3`... if a file of this batch already took it: two different
        files with the same title are two episodes (a rerun finds each by its content first)."""
        n, candidate = 1, slug
        while candidate in self.claimed:
            n += 1
            candidate = f"{slug}-{n}"
        return candidate

    def add(self, sha256: str, record: Path) -> None:
        old = self._by_record.get(record)
        if old is not None and self._by_sha.get(old) == record:
            del self._by_sha[old]  # the record no longer points at its old media
        self._by_sha[sha256] = record
        self._by_record[record] = sha256
