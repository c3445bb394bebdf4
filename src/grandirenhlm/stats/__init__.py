"""Audience measurement (issue 15): downloads counted from the storage's own access logs.

The rules are the IAB Podcast Measurement Guidelines 2.1 as the README states them (R1 to R7); the
report's methodology section says them in French. Only counts are ever produced or written.

Modules: `formats` (detection and parsers of the four log formats), `opawg` (rule R2 and apps, over
the OPAWG lists copied in `opawg/`), `engine` (`count_downloads`: DuckDB for Ceph ops logs, the
rules in SQL), `model` (`MediaFile`, `EpisodeRef`, `StatsReport`), `report` (terminal table, French
HTML and CSV, legal-notice paragraph), `store` (`--record`: one JSON file per UTC day under
`stats/`), `catalog` (EpisodeRefs from the catalog, history of published media per GUID), `offset`
(`audio_offset`: bytes before the audio of an MP3 or MP4).

Wiring the command (cli.py), all of it::

    from grandirenhlm import stats

    @main.command("stats")
    @click.argument("logs", nargs=-1, type=click.Path(path_type=Path))
    @click.option("--json", "as_json", is_flag=True)
    @click.option("--since", type=click.DateTime(["%Y-%m-%d"]))
    @click.option("--until", type=click.DateTime(["%Y-%m-%d"]))
    @click.option("--output", type=click.Path(path_type=Path, file_okay=False))
    @click.option("--record", is_flag=True)
    def stats_command(logs, as_json, since, until, output, record):
        project = load_project(root)
        refs = stats.episode_refs(load_catalog(project), project.root)
        since, until = since and since.date(), until and until.date()
        if logs:
            report = stats.count_downloads(list(logs), refs, since=since, until=until,
                                           warn=lambda m: click.echo(f"warning: {m}", err=True))
            if record:
                stats.record_days(report, project.root)
        else:
            report = stats.load_recorded(project.root, since, until, refs)
        if as_json:
            click.echo(json.dumps(report.to_json(), sort_keys=True, ensure_ascii=False, indent=2))
        else:
            click.echo(stats.render_table(report))
        if output:
            stats.write_report(report, output)

`count_downloads` raises `GrandirError` (exit 1) only when nothing could be read; every other
problem (an unreadable or unknown file, a truncated gzip, malformed lines by number) goes to `warn`
as one line. After each publish, `stats.remember_media(project.root, refs)` keeps the files each GUID
had, so downloads of an episode's files from before a re-encode still count for it; the legal-notice
page may include `stats.privacy_notice_fr()`.
"""

from grandirenhlm.stats.catalog import episode_refs, load_media_history, media_file, remember_media
from grandirenhlm.stats.engine import count_downloads
from grandirenhlm.stats.model import THRESHOLD_SECONDS, EpisodeRef, MediaFile, StatsReport
from grandirenhlm.stats.offset import audio_offset
from grandirenhlm.stats.opawg import OPAWG_COMMIT
from grandirenhlm.stats.report import privacy_notice_fr, render_csv, render_html, render_table, write_report
from grandirenhlm.stats.store import load_recorded, record_days

__all__ = [
    "OPAWG_COMMIT",
    "THRESHOLD_SECONDS",
    "EpisodeRef",
    "MediaFile",
    "StatsReport",
    "audio_offset",
    "count_downloads",
    "episode_refs",
    "load_media_history",
    "load_recorded",
    "media_file",
    "privacy_notice_fr",
    "record_days",
    "remember_media",
    "render_csv",
    "render_html",
    "render_table",
    "write_report",
]
