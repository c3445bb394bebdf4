"""Value types of audience measurement: what is counted (media files, episodes) and the report.

No I/O here. A `StatsReport` holds counts only: downloads per (episode, UTC day, app), excluded
requests per (day, reason) and requests read per (day, kind); never an address, a User-Agent or a
listener key, so nothing derived from it can leak one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

THRESHOLD_SECONDS = 60  # rule R6: the first minute of audio (IAB Podcast Measurement Guidelines 2.1)


@dataclass(frozen=True)
class MediaFile:
    """One published media file an episode's downloads may come from."""

    key: str  # site-relative path of a published media file: "media/<show>/<file name>"
    size: int  # bytes
    audio_offset: int  # bytes before the audio starts (an ID3v2 tag, MP4 boxes before mdat...); 0 if unknown
    bitrate: int | None  # average bits per second of the file
    duration_seconds: float

    @property
    def threshold(self) -> int:
        """Rule R6: bytes before the audio plus 60 s at the file's bitrate, or the whole file when
        it is shorter than 60 s (or when its bitrate cannot be known)."""
        if self.duration_seconds < THRESHOLD_SECONDS:
            return self.size
        bitrate = self.bitrate
        if not bitrate and self.duration_seconds > 0:
            bitrate = round((self.size - self.audio_offset) * 8 / self.duration_seconds)
        if not bitrate:
            return self.size
        return min(self.size, self.audio_offset + THRESHOLD_SECONDS * bitrate // 8)


@dataclass(frozen=True)
class EpisodeRef:
    """An episode whose downloads are counted, with every file a listener may have fetched it as."""

    guid: str
    show: str  # show slug
    slug: str
    title: str
    files: tuple[MediaFile, ...] = ()  # its enclosure, alternate enclosures, files before a re-encode


# Kinds of requests read, for `StatsReport.requests` (how much of the logs was what).
MEDIA = "media"  # requests for a published media file (counted or excluded)
NOT_MEDIA = "not_media"  # feeds, pages, covers, unknown paths
OUTSIDE_PERIOD = "outside_period"  # before --since or after --until
MALFORMED = "malformed"  # lines that could not be read (each reported with its line number)

# Rule R1's and R6's exclusion reasons (R2's are in opawg.py).
NOT_GET = "not_get"  # HEAD, PUT, DELETE... of a media file
STATUS = "status"  # answered neither 200 nor 206
UNDER_THRESHOLD = "under_threshold"  # the listener's bytes that day did not reach the threshold


@dataclass(frozen=True)
class StatsReport:
    """Counts only. Tuples sorted, so that equal counts are equal reports and give equal bytes."""

    episodes: tuple[EpisodeRef, ...]  # every episode reported on, also those without downloads
    downloads: tuple[tuple[str, str, str, int], ...]  # (guid, "YYYY-MM-DD", app, n), n > 0
    excluded: tuple[tuple[str, str, int], ...]  # (day, reason, requests); day "" when unknown
    requests: tuple[tuple[str, str, int], ...]  # (day, kind, requests); day "" when unknown
    days: tuple[str, ...]  # UTC days of the period with at least one request read
    since: date | None = None
    until: date | None = None
    problems: tuple[str, ...] = ()  # warnings of the run (unreadable files, malformed lines)

    @staticmethod
    def build(
        episodes: Iterable[EpisodeRef],
        downloads: dict[tuple[str, str, str], int],
        excluded: dict[tuple[str, str], int],
        requests: dict[tuple[str, str], int],
        days: Iterable[str],
        since: date | None = None,
        until: date | None = None,
        problems: Iterable[str] = (),
    ) -> StatsReport:
        """A report from unordered counts: everything sorted, zero counts dropped."""
        refs = {e.guid: EpisodeRef(e.guid, e.show, e.slug, e.title) for e in episodes}
        return StatsReport(
            episodes=tuple(sorted(refs.values(), key=lambda e: (e.show, e.slug, e.guid))),
            downloads=tuple(sorted((*k, n) for k, n in downloads.items() if n)),
            excluded=tuple(sorted((*k, n) for k, n in excluded.items() if n)),
            requests=tuple(sorted((*k, n) for k, n in requests.items() if n)),
            days=tuple(sorted(set(days))),
            since=since,
            until=until,
            problems=tuple(problems),
        )

    # ------------------------------------------------------------ derived figures

    @property
    def total(self) -> int:
        return sum(n for *_, n in self.downloads)

    def episode_by_day(self) -> dict[str, dict[str, int]]:
        """guid -> day -> downloads."""
        out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for guid, day, _app, n in self.downloads:
            out[guid][day] += n
        return out

    def episode_by_app(self) -> dict[str, dict[str, int]]:
        """guid -> app -> downloads."""
        out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for guid, _day, app, n in self.downloads:
            out[guid][app] += n
        return out

    def excluded_totals(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for _day, reason, n in self.excluded:
            out[reason] += n
        return dict(out)

    def request_totals(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for _day, kind, n in self.requests:
            out[kind] += n
        return dict(out)

    def period(self) -> dict[str, str | int | None]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "first_day": self.days[0] if self.days else None,
            "last_day": self.days[-1] if self.days else None,
            "days": len(self.days),
        }

    def to_json(self) -> dict:
        """The `--json` document. Same counts, same document: dump it with sort_keys for same bytes."""
        from grandirenhlm.stats.opawg import OPAWG_COMMIT

        by_day, by_app = self.episode_by_day(), self.episode_by_app()
        episodes = []
        shows: dict[str, dict] = {}
        for e in self.episodes:
            days, apps = dict(by_day.get(e.guid, {})), dict(by_app.get(e.guid, {}))
            downloads = sum(days.values())
            episodes.append(
                {
                    "guid": e.guid, "show": e.show, "slug": e.slug, "title": e.title,
                    "downloads": downloads, "by_day": days, "by_app": apps,
                }
            )  # fmt: skip
            show = shows.setdefault(
                e.show, {"show": e.show, "episodes": 0, "downloads": 0, "by_day": {}, "by_app": {}}
            )
            show["episodes"] += 1
            show["downloads"] += downloads
            for key, table in (("by_day", days), ("by_app", apps)):
                for k, n in table.items():
                    show[key][k] = show[key].get(k, 0) + n
        totals = self.request_totals()
        return {
            "episodes": episodes,
            "shows": [shows[s] for s in sorted(shows)],
            "downloads": self.total,
            "excluded": self.excluded_totals(),
            "requests": {"read": sum(totals.values()), **totals},
            "period": self.period(),
            "method": {"opawg_commit": OPAWG_COMMIT, "threshold_seconds": THRESHOLD_SECONDS},
        }
