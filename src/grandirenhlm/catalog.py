"""All shows and their episodes, loaded together so that every problem is reported at once."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from grandirenhlm.config import Project
from grandirenhlm.episodecache import EpisodeCache
from grandirenhlm.errors import ConfigError, ValidationError
from grandirenhlm.files import display_path, record_files, resolving_folders_once
from grandirenhlm.model import Episode, Show
from grandirenhlm.records import TomlCache, load_episode, load_show


@dataclass(frozen=True)
class Catalog:
    shows: dict[str, Show]
    episodes: dict[str, tuple[Episode, ...]]  # show slug -> episodes in feed order
    # record path -> SHA-256 of the bytes its episode was read from (the feed's item store is keyed
    # by it: by what was loaded, not by the file as it is later, which an edit may have changed)
    record_digests: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def published(self, show: str, at: datetime) -> tuple[Episode, ...]:
        """Episodes of `show` visible at `at`: not drafts, not scheduled later, media published."""
        return tuple(e for e in self.episodes[show] if is_visible(e, at) and e.media is not None)

    def live_items(self, show: str, at: datetime) -> tuple[Episode, ...]:
        """Announced live episodes whose replay is not published yet (podcast:liveItem)."""
        return tuple(e for e in self.episodes[show] if is_visible(e, at) and e.media is None)


def is_visible(episode: Episode, at: datetime) -> bool:
    """Not a draft (never published), and neither its date nor its `publish_at` is after `at`."""
    if episode.draft or episode.pub_date > at:
        return False
    return episode.publish_at is None or episode.publish_at <= at


def episode_order(episode: Episode) -> tuple:
    """Feed order: by publication date, then season and number (a batch ingested together shares
    its date), then GUID, so that equal dates still sort the same way every time."""
    return (episode.pub_date, episode.season or 0, episode.number or 0, episode.guid)


def load_catalog(project: Project) -> Catalog:
    """Load `feeds/*.toml` and `episodes/<show>/*.toml`; raise one error listing every problem."""
    with resolving_folders_once():  # the containment check of each file a record names
        return _load_catalog(project)


def _load_catalog(project: Project) -> Catalog:
    problems: list[str] = []
    shows: dict[str, Show] = {}
    if not project.feeds_dir.is_dir():
        raise ConfigError(f"{display_path(project.feeds_dir)}: no such folder (show definitions)")
    for path in project.show_files():
        try:
            shows[path.stem] = load_show(path, project.root)
        except ValidationError as exc:
            problems.extend(exc.problems)
        except ConfigError as exc:  # unreadable, but there: its episodes are not "of no show"
            problems.append(str(exc))
        shows.setdefault(path.stem, None)  # type: ignore[arg-type]  # known even when invalid
    if not shows and not problems:
        problems.append(f"{display_path(project.feeds_dir)}: no show definitions (*.toml)")

    episodes: dict[str, list[Episode]] = {slug: [] for slug in shows}
    digests: dict[str, str] = {}
    cache = TomlCache.for_project(project.root)
    validated = EpisodeCache.for_project(project.root)
    if validated.entries:  # a few records edited since: parsed without loading the records cache
        cache.parse_before_loading = 32
    if project.episodes_dir.is_dir():
        # hidden names are not records (an editor's or macOS's `._x.toml`), as for the fingerprint
        for folder in sorted(p for p in project.episodes_dir.iterdir() if p.is_dir() and p.name[0] != "."):
            if folder.name not in shows:
                problems.append(
                    f"{display_path(folder)}: no show {folder.name!r} in {display_path(project.feeds_dir)}"
                )
                continue
            for path in record_files(folder):
                try:
                    episodes[folder.name].append(
                        load_episode(
                            path, folder.name, cache, project.root, project.timezone, validated, digests
                        )
                    )
                except ValidationError as exc:
                    problems.extend(exc.problems)
                except ConfigError as exc:
                    problems.append(str(exc))

    cache.save()
    validated.save()
    problems.extend(_cross_checks(shows, episodes))
    if problems:
        raise ValidationError(problems)
    return Catalog(
        shows=shows,
        episodes={slug: tuple(sorted(eps, key=episode_order)) for slug, eps in episodes.items()},
        record_digests=digests,
    )


def _cross_checks(shows: dict[str, Show], episodes: dict[str, list[Episode]]) -> list[str]:
    problems = []
    guids = Counter(e.guid for eps in episodes.values() for e in eps)
    for eps in episodes.values():
        for e in eps:
            if guids[e.guid] > 1:
                problems.append(f"{display_path(e.source)}: guid: {e.guid!r} is used by another episode")
    for slug, eps in episodes.items():
        show = shows.get(slug)
        if show is None:
            continue
        if show.show_type == "serial":
            for e in eps:
                if e.number is None and e.episode_type == "full":
                    problems.append(
                        f"{display_path(e.source)}: episode: missing, "
                        f"{show.title!r} is a serial so every full episode needs its number"
                    )
        numbers = Counter((e.season, e.number) for e in eps if e.number is not None)
        for e in eps:
            if e.number is not None and numbers[(e.season, e.number)] > 1:
                problems.append(
                    f"{display_path(e.source)}: episode: number {e.number} is used twice in {slug}"
                )
    return problems


def episodes_dir_for(project: Project, show: str) -> Path:
    return project.episodes_dir / show
