"""`stats --record`: figures kept in the project as aggregates per UTC day, one JSON file a day.

`stats/<YYYY-MM-DD>.json` holds that day's downloads per (episode, app), its excluded requests per
reason and its requests per kind: counts, and the public titles of the episodes, nothing else (the
listener keys died with the run that computed them). A day recorded again replaces its file, so a
day is never counted twice; since listeners cannot be recognised across runs, a day's logs must be
given in one run.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from grandirenhlm.errors import GrandirError
from grandirenhlm.files import write_atomic
from grandirenhlm.stats.model import THRESHOLD_SECONDS, EpisodeRef, StatsReport
from grandirenhlm.stats.opawg import OPAWG_COMMIT

STATS_DIR = "stats"
FORMAT = 1


def day_path(project_root: Path, day: str) -> Path:
    return project_root / STATS_DIR / f"{day}.json"


def record_days(report: StatsReport, project_root: Path) -> list[Path]:
    """Write one file per day of the report that had requests (replacing any earlier one)."""
    episodes = {e.guid: e for e in report.episodes}
    written = []
    for day in report.days:
        downloads = sorted((g, app, n) for g, d, app, n in report.downloads if d == day)
        guids = sorted({g for g, _, _ in downloads})
        data = {
            "format": FORMAT,
            "day": day,
            "method": {"opawg_commit": OPAWG_COMMIT, "threshold_seconds": THRESHOLD_SECONDS},
            "episodes": [
                {"guid": g, "show": episodes[g].show, "slug": episodes[g].slug, "title": episodes[g].title}
                for g in guids
            ],
            "downloads": [list(row) for row in downloads],
            "excluded": {reason: n for d, reason, n in report.excluded if d == day},
            "requests": {kind: n for d, kind, n in report.requests if d == day},
        }
        path = day_path(project_root, day)
        text = json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
        write_atomic(path, text.encode("utf-8"))
        written.append(path)
    return written


def load_recorded(
    project_root: Path,
    since: date | None = None,
    until: date | None = None,
    episodes: Sequence[EpisodeRef] = (),
) -> StatsReport:
    """A report from the recorded days between `since` and `until` (inclusive). Episodes given are
    listed even without downloads, with their current titles."""
    folder = project_root / STATS_DIR
    refs = {e.guid: e for e in episodes}
    recorded: dict[str, EpisodeRef] = {}
    downloads: dict[tuple[str, str, str], int] = defaultdict(int)
    excluded: dict[tuple[str, str], int] = {}
    requests: dict[tuple[str, str], int] = {}
    days = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
        try:
            day = date.fromisoformat(path.stem)
        except ValueError:
            continue  # not a day file (media-history.json)
        if (since and day < since) or (until and day > until):
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT or data.get("day") != path.stem:
                raise ValueError("unknown format or day")
            for e in data["episodes"]:
                recorded.setdefault(e["guid"], EpisodeRef(e["guid"], e["show"], e["slug"], e["title"]))
            for guid, app, n in data["downloads"]:
                downloads[(guid, path.stem, app)] += int(n)
            excluded.update({(path.stem, k): int(n) for k, n in data["excluded"].items()})
            requests.update({(path.stem, k): int(n) for k, n in data["requests"].items()})
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise GrandirError(
                f"{STATS_DIR}/{path.name}: not a day recorded by grandirenhlm stats ({exc})"
            ) from exc
        days.append(path.stem)
    merged = {**recorded, **refs}
    return StatsReport.build(merged.values(), downloads, excluded, requests, days, since, until)
