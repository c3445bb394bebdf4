"""The media store (`media/<show>/`) against the records: embedded tags that no longer follow their
record (`check --deep` reports them, `retag` rewrites them), and files no record references any
more (`gc` lists and removes them; never a master, never anything outside the media store)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from grandirenhlm.catalog import load_catalog
from grandirenhlm.config import Project
from grandirenhlm.errors import MediaError
from grandirenhlm.files import display_path
from grandirenhlm.media import probe
from grandirenhlm.media.types import AUDIO_M4A, AUDIO_MPEG
from grandirenhlm.model import Episode, EpisodeMedia
from grandirenhlm.records import read_episode, write_episode

# The media types ingest tags from the record (a video is published as the producer made it).
TAGGED = (AUDIO_MPEG.mime_type, AUDIO_M4A.mime_type)


def tag_differences(episode: Episode) -> list[str]:
    """What the embedded tags of the episode's media (title TIT2/©nam, comment COMM/©cmt, chapters
    CHAP or MP4 chapters) say differently from its record; empty when they agree or are absent."""
    media = episode.media
    if media is None or media.mime_type not in TAGGED or not media.path.is_file():
        return []
    info = probe(media.path)
    found = []
    # A tag the file does not have cannot have gone stale: a file published untagged is left alone.
    title = info.tags.get("title")
    if title is not None and title != episode.title.strip():
        found.append(f"title {title!r}")
    comment = info.tags.get("comment")
    if comment is not None and comment != episode.description.strip():
        found.append("comment (the description)")
    embedded = [(round(c.start_seconds, 3), c.title) for c in info.chapters]
    recorded = [(round(c.start_seconds, 3), c.title) for c in episode.chapters]
    if embedded and embedded != recorded:
        found.append(f"chapters ({len(embedded)} embedded, {len(recorded)} in the record)")
    return found


@dataclass(frozen=True)
class Retagged:
    record: Path
    old: Path
    new: Path


def retag(project: Project, show: str | None = None) -> list[Retagged]:
    """Rewrite the tags of every stored MP3/M4A whose tags differ from its record (`show`: one show
    only): a tagged copy named by its new hash goes into the media store and the record's `[media]`
    points at it; the old file stays until `gc` (a published feed may still list it)."""
    from grandirenhlm.encode import Master, store_derived
    from grandirenhlm.ingest import episode_tags

    catalog = load_catalog(project)
    done = []
    for slug in sorted(catalog.episodes):
        if show is not None and slug != show:
            continue
        for episode in catalog.episodes[slug]:
            if not tag_differences(episode):
                continue
            media = episode.media
            assert media is not None
            record = read_episode(episode.source, slug)
            master = Master(media.path, media.sha256, media.duration_seconds, None, None)
            tags = episode_tags(project, slug, record, master, None)
            new = store_derived(media.path, media.path.parent, episode.slug, tags)
            info = probe(new)
            stored = EpisodeMedia(
                path=new,
                sha256=info.sha256,
                size=info.size,
                mime_type=media.mime_type,
                duration_seconds=media.duration_seconds,
                bitrate=media.bitrate,
                width=media.width,
                height=media.height,
            )
            write_episode(episode.source, replace(record, episode=replace(record.episode, media=stored)))
            done.append(Retagged(episode.source, media.path, new))
    return done


# What ingest names a stored file: <slug>-<sha256[:12]>.<ext>, also -audio- and -poster- ones.
_STORED_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*-[0-9a-f]{12}\.[a-z0-9]+")


def unreferenced(project: Project) -> list[Path]:
    """Files of the media store that no record references (media, alternates, posters,
    transcripts, masters), named as ingest names them; refuses while any record does not load,
    since its references would be unknown."""
    catalog = load_catalog(project)  # raises, listing every problem, if a record is broken
    used: set[Path] = set()
    for slug, episodes in catalog.episodes.items():
        for episode in episodes:
            files = [
                episode.media.path if episode.media else None,
                *(a.path for a in episode.alternates),
                episode.poster,
                episode.transcript,
            ]
            used.update(p.resolve() for p in files if p is not None)
            master = read_episode(episode.source, slug).master
            if master is not None:  # never a master, wherever it is kept
                used.add((project.root / master.file).resolve())
    store = project.media_dir
    if not store.is_dir():
        return []
    return sorted(
        p
        for p in store.rglob("*")
        if p.is_file() and not p.is_symlink() and _STORED_NAME.fullmatch(p.name) and p.resolve() not in used
    )


def collect_garbage(project: Project, dry_run: bool = False) -> list[Path]:
    """Remove (unless `dry_run`) and return the media store's unreferenced files."""
    found = unreferenced(project)
    if not dry_run:
        for path in found:
            try:
                path.unlink()
            except OSError as exc:
                raise MediaError(f"{display_path(path)}: cannot remove: {exc.strerror}") from exc
    return found
