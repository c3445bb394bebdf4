"""All shows and their episodes, loaded together so that every problem is reported at once."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from grandirenhlm.config import Project
from grandirenhlm.episodecache import EpisodeCache
from grandirenhlm.errors import ConfigError, ValidationError
from grandirenhlm.files import display_path, record_files, resolving_folders_once
from grandirenhlm.helper import TailHelper
from grandirenhlm.helper import wanted as helper_wanted
from grandirenhlm.memory import give_back
from grandirenhlm.model import Episode, Show
from grandirenhlm.records import TomlCache, load_episode, load_show


@dataclass(frozen=True)
class Catalog:
    shows: dict[str, Show]
    episodes: dict[str, tuple[Episode, ...]]  # show slug -> episodes in feed order
    # record path -> SHA-256 of the bytes its episode was read from (the feed's item store is keyed
    # by it: by what was loaded, not by the file as it is later, which an edit may have changed)
    record_digests: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    # id of an episode -> (the episode, how a page key spells it, the same without its notes), for
    # the episodes that came through the episode cache (`EpisodeCache.spellings`); the others are
    # spelled from their repr (`pages.PageCache`)
    spellings: dict[int, tuple[Episode, str, str]] = field(default_factory=dict, compare=False, repr=False)

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
        catalog = _load_catalog(project)
    # what the records were read through (their texts, the caches' lines) is let go: its free
    # memory goes back before the build, and before its helpers fork (`memory.py`)
    give_back()
    return catalog


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
    # Each record, or a problem of the folders, in order (the problems are listed in this order).
    items: list[tuple[str, Path] | str] = []
    if project.episodes_dir.is_dir():
        # hidden names are not records (an editor's or macOS's `._x.toml`), as for the fingerprint
        for folder in sorted(p for p in project.episodes_dir.iterdir() if p.is_dir() and p.name[0] != "."):
            if folder.name not in shows:
                items.append(
                    f"{display_path(folder)}: no show {folder.name!r} in {display_path(project.feeds_dir)}"
                )
                continue
            items.extend((folder.name, path) for path in record_files(folder))

    def read(j: int) -> tuple[bool, Episode | list[str]]:
        """Item `j`: (True, its episode) or (False, its problems)."""
        item = items[j]
        if isinstance(item, str):
            return False, [item]
        slug, path = item
        try:
            return True, load_episode(path, slug, cache, project.root, project.timezone, validated, digests)
        except ValidationError as exc:
            return False, exc.problems
        except ConfigError as exc:
            return False, [str(exc)]

    outcomes: list[tuple[bool, Episode | list[str]] | None] = [None] * len(items)
    helper: TailHelper | None = None
    try:
        for j in range(len(items)):
            if (
                j == 1
                and len(items) >= HELPER_MIN_RECORDS
                and len(validated.entries) * 2 < len(items)
                and helper_wanted()
            ):
                # the records read and checked from the last one down by a second process
                # (`helper.py`), when the episode cache cannot answer for most of them: what one
                # answers for costs less to make here than to take from the helper (an episode
                # unpickled costs as much as one decoded: 10,000 loaded in 1.7 s alone, 2.1 s shared)
                helper = TailHelper.start(
                    len(items),
                    _reading(items, read, cache, validated, digests),
                    _taking(items, outcomes, cache, validated, digests),
                    "records",
                )
            if helper is not None:
                helper.before(j)
            if outcomes[j] is None:
                outcomes[j] = read(j)
    finally:
        if helper is not None:
            helper.close()
    for j, outcome in enumerate(outcomes):
        assert outcome is not None
        ok, value = outcome
        if ok:
            episodes[items[j][0]].append(value)  # type: ignore[arg-type,index]
        else:
            problems.extend(value)  # type: ignore[arg-type]

    cache.save()
    validated.save()
    problems.extend(_cross_checks(shows, episodes))
    if problems:
        raise ValidationError(problems)
    return Catalog(
        shows=shows,
        episodes={slug: tuple(sorted(eps, key=episode_order)) for slug, eps in episodes.items()},
        record_digests=digests,
        spellings=validated.spellings,
    )


# Below this many records (0.1 s with no cache, 0.04 s with one), a second process is not worth its fork.
HELPER_MIN_RECORDS = 200


def _reading(items, read, cache: TomlCache, validated: EpisodeCache, digests: dict[str, str]):
    """In the helper's child: item `j` read, with what it added to the caches and the digests
    (sent to the command, which keeps them as if it had read the record itself)."""

    def work(j: int) -> tuple:
        cache.changed = validated.changed = False
        outcome = read(j)
        item = items[j]
        if isinstance(item, str):
            return outcome, None, None, False, False, None, False
        key = str(item[1])
        return (
            outcome,
            digests.get(os.path.abspath(item[1])),
            cache.used.get(key),
            key in cache.kept,
            cache.changed,
            validated.sent(key),
            validated.changed,
        )

    return work


def _taking(items, outcomes: list, cache: TomlCache, validated: EpisodeCache, digests: dict[str, str]):
    """In the command: what the helper's child read of item `j` (`_reading`), taken as its own."""

    def adopt(j: int, sent: tuple) -> None:
        outcome, digest, parsed, kept, parsed_changed, checked, checked_changed = sent
        outcomes[j] = outcome
        item = items[j]
        if isinstance(item, str):
            return
        key = str(item[1])
        if digest is not None:
            digests[os.path.abspath(item[1])] = digest
        cache.adopt(key, parsed, kept, parsed_changed)
        validated.adopt(key, checked, checked_changed, outcome[1] if outcome[0] else None)

    return adopt


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
