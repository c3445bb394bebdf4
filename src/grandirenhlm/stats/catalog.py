"""EpisodeRefs from the project's catalog, and the history of every file published per GUID.

Downloads of an episode come from its enclosure, its alternate enclosures and the files it had
before a re-encode (a corrected master gives a new content-addressed name under the same GUID, and
apps that downloaded the old feed keep fetching the old URL). The catalog only knows the current
files, so `remember_media` keeps every file ever published per GUID in `stats/media-history.json`
(public facts only: keys, sizes, bitrates); `episode_refs` merges it with the catalog.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from grandirenhlm import layout
from grandirenhlm.catalog import Catalog
from grandirenhlm.errors import GrandirError
from grandirenhlm.files import write_atomic
from grandirenhlm.model import Episode, EpisodeMedia
from grandirenhlm.stats.model import EpisodeRef, MediaFile
from grandirenhlm.stats.offset import audio_offset

HISTORY = Path("stats") / "media-history.json"


def media_file(key: str, media: EpisodeMedia) -> MediaFile:
    """A MediaFile from an episode record's media facts (reads the file's first bytes for the offset)."""
    offset = audio_offset(media.path) if media.path.is_file() else 0
    return MediaFile(key, media.size, offset, media.bitrate, media.duration_seconds)


def _files(episode: Episode) -> tuple[MediaFile, ...]:
    if episode.media is None:
        return ()
    files = [media_file(layout.media(episode), episode.media)]
    files += [media_file(layout.alternate_media(episode, a.path.name), a) for a in episode.alternates]
    return tuple(files)


def episode_refs(catalog: Catalog, project_root: Path | None = None) -> list[EpisodeRef]:
    """Every episode of the catalog that has media, with its current files and, if `project_root`
    is given, the files its GUID had before (from the media history)."""
    history = load_media_history(project_root) if project_root else {}
    refs = []
    for show in sorted(catalog.episodes):
        for episode in catalog.episodes[show]:
            files = list(_files(episode))
            known = {f.key for f in files}
            files += [f for f in history.get(episode.guid, ()) if f.key not in known]
            if files:
                refs.append(EpisodeRef(episode.guid, episode.show, episode.slug, episode.title, tuple(files)))
    return refs


def load_media_history(project_root: Path) -> dict[str, tuple[MediaFile, ...]]:
    """GUID -> every media file remembered for it."""
    path = project_root / HISTORY
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {guid: tuple(MediaFile(**f) for f in files) for guid, files in data["episodes"].items()}
    except (ValueError, KeyError, TypeError) as exc:
        raise GrandirError(f"{HISTORY}: not a media history written by grandirenhlm ({exc})") from exc


def remember_media(project_root: Path, refs: Iterable[EpisodeRef]) -> None:
    """Add the files of `refs` to the media history (call it after each publish)."""
    history = {guid: list(files) for guid, files in load_media_history(project_root).items()}
    for ref in refs:
        files = history.setdefault(ref.guid, [])
        keys = {f.key for f in files}
        files += [f for f in ref.files if f.key not in keys]
    data = {
        "episodes": {
            guid: [vars(f) for f in sorted(files, key=lambda f: f.key)]
            for guid, files in sorted(history.items())
        }
    }
    text = json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    write_atomic(project_root / HISTORY, text.encode("utf-8"))
