"""`export`: everything a show needs to move elsewhere, in one folder (reversibility):

    DIR/feed.xml        the show's feed with every published episode in one document (no RFC 5005
                        pages), its URLs those of the site as published: what another host imports
    DIR/site/...        the published objects at their site keys: media/<show>/..., and under <show>/
                        the cover, chapters.json and transcript.vtt/.srt/.json/.html of each episode
    DIR/project/...     the show's records as a project of their own: feeds/<show>.toml and its cover,
                        episodes/<show>/ (records, transcripts' sources), media/<show>/ (the files the
                        records name; hard links to site/media where the file system allows)
    DIR/README.txt      what each part is

Nothing in the project changes; every file is written under a temporary name and renamed.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from grandirenhlm import layout
from grandirenhlm.catalog import load_catalog
from grandirenhlm.config import Project
from grandirenhlm.errors import GrandirError
from grandirenhlm.feed import render_feed
from grandirenhlm.files import copy_atomic, display_path, sha256_file, write_atomic

README = """\
Export of the podcast "{title}" (podcast:guid {guid}), made by grandirenhlm.

feed.xml   every published episode in one RSS feed; its URLs are those of the site at {base}
site/      the published files at the paths of those URLs (media, cover, chapters, transcripts):
           upload this folder as it is and the feed's links work at the new address
project/   the show's records (feeds/, episodes/, media/): a grandirenhlm project of its own
           (grandirenhlm --project project check)

To move: import feed.xml at the new host (or `grandirenhlm import`), keep the item guids and the
podcast:guid, then make the old feed URL answer 301 to the new one and set new_feed_url.
"""


@dataclass(frozen=True)
class ExportResult:
    folder: Path
    episodes: int
    files: int
    bytes: int


def export_show(project: Project, show: str, folder: Path, base_url: str, at: datetime) -> ExportResult:
    """Write show `show` into `folder` (new or empty), as the module docstring lays out."""
    catalog = load_catalog(project)
    if show not in catalog.shows:
        known = ", ".join(sorted(catalog.shows)) or "none"
        raise GrandirError(f"--show: unknown show {show!r} (shows: {known})")
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise GrandirError(f"{display_path(folder)}: not an empty folder; export into a new one")
    from grandirenhlm.site import refuse_project_folder, render

    refuse_project_folder(project, folder, "DIR")
    s = catalog.shows[show]
    cover_key = layout.cover(s, sha256_file(s.image))
    episodes = catalog.published(show, at)
    written = [0, 0]

    def put_bytes(target: Path, data: bytes) -> None:
        write_atomic(target, data, durable=False)
        written[0] += 1
        written[1] += len(data)

    def put_file(target: Path, source: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        copy_atomic(source, target, durable=False)
        written[0] += 1
        written[1] += source.stat().st_size

    put_bytes(
        folder / "feed.xml", render_feed(s, episodes, base_url, cover_key, catalog.live_items(show, at))
    )
    site_dir = folder / "site"
    for artifact in render(project, base_url, at, catalog, cache=False):
        if not _belongs(artifact.key, show):
            continue
        target = site_dir / artifact.key
        if artifact.source is not None:
            put_file(target, artifact.source)
        else:
            data = artifact.made()
            assert data is not None
            put_bytes(target, data)

    # The records, as a project of their own; the media they name linked from site/ when possible.
    records = folder / "project"
    put_file(records / "feeds" / f"{show}.toml", s.source)
    put_file(records / "feeds" / os.path.relpath(s.image, s.source.parent), s.image)
    source_episodes = project.episodes_dir / show
    for path in sorted(source_episodes.rglob("*")):
        if path.is_file():
            put_file(records / "episodes" / show / path.relative_to(source_episodes), path)
    for episode in catalog.episodes[show]:
        for media in (episode.media, *episode.alternates):
            if media is None:
                continue
            relative = os.path.relpath(media.path, episode.source.parent)
            target = Path(os.path.normpath(records / "episodes" / show / relative))
            if target.exists():
                continue
            published = site_dir / "media" / show / media.path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(published, target)  # the same bytes once on disk
                written[0] += 1
            except OSError:
                put_file(target, media.path)
    guid = s.podcast_guid or "none"
    put_bytes(folder / "README.txt", README.format(title=s.title, guid=guid, base=base_url).encode("utf-8"))
    return ExportResult(folder, len(episodes), written[0], written[1])


def _belongs(key: str, show: str) -> bool:
    """What another host needs of the show's site objects: media, cover, chapters and transcripts
    (not the pages, which the new host makes, nor the feed's pages, merged into feed.xml)."""
    if key.startswith(f"media/{show}/"):
        return True
    if not key.startswith(f"{show}/"):
        return False
    name = key.rsplit("/", 1)[-1]
    return name.startswith(("cover-", "chapters.", "transcript."))


def remove_partial(folder: Path, keep_folder: bool) -> None:
    """After a failed export: remove what it wrote (the folder was new, or empty: `keep_folder`)."""
    if not keep_folder:
        shutil.rmtree(folder, ignore_errors=True)
        return
    for child in folder.iterdir() if folder.is_dir() else ():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)
