"""What `stats` shows and writes: a terminal table, and with `--output DIR` a French HTML report
(methodology included) and a CSV for open data. Also the French paragraph for the legal notice.

Everything here reads a `StatsReport`, which holds counts only; the files are written atomically.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

from babel.dates import format_date
from babel.numbers import format_decimal
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from grandirenhlm.files import write_atomic
from grandirenhlm.stats.model import (
    MALFORMED,
    MEDIA,
    NOT_GET,
    NOT_MEDIA,
    OUTSIDE_PERIOD,
    STATUS,
    THRESHOLD_SECONDS,
    UNDER_THRESHOLD,
    StatsReport,
)
from grandirenhlm.stats.opawg import APPLE_WATCH, BOT, EMPTY_USER_AGENT, OPAWG_COMMIT, OTHER_APP

REPORT_HTML = "index.html"
REPORT_CSV = "telechargements.csv"

REASONS_FR = {
    NOT_GET: "requête autre que GET (HEAD…)",
    STATUS: "réponse autre que 200 ou 206",
    EMPTY_USER_AGENT: "User-Agent vide",
    BOT: "robot (liste OPAWG)",
    APPLE_WATCH: "Apple Watch",
    UNDER_THRESHOLD: "moins d’une minute d’audio reçue",
}
KINDS_FR = {
    MEDIA: "fichiers audio et vidéo",
    NOT_MEDIA: "autres (flux, pages, images)",
    OUTSIDE_PERIOD: "hors de la période",
    MALFORMED: "lignes illisibles",
}

# The rules, as the report's methodology section and the README state them (README in English).
RULES_FR = (
    ("R1", "Est candidate une requête GET à laquelle le serveur a répondu 200 ou 206 pour un fichier "
           "audio ou vidéo publié ; flux, pages, requêtes HEAD et réponses 3xx, 4xx, 5xx ne sont pas des téléchargements."),
    ("R2", "Sont écartées les requêtes sans User-Agent, celles dont le User-Agent est un robot de la liste "
           f"de l’OPAWG (ordre déterministe de l’OPAWG : robots, applications, bibliothèques, navigateurs ; "
           f"la première correspondance l’emporte ; liste au commit {OPAWG_COMMIT}) et celles d’une Apple Watch "
           "(User-Agent contenant « watchOS » ou commençant par « Watch/ » suivi de chiffres), comme le "
           "demandent les recommandations de l’IAB (version 2.1)."),
    ("R3", "Un auditeur est l’adresse du client (une adresse IPv4 entière, les 64 premiers bits d’une "
           "adresse IPv6) et la chaîne User-Agent complète."),
    ("R4", "Le jour d’une requête est son jour calendaire en temps universel (UTC)."),
    ("R5", "Octets reçus : une réponse 200 couvre [0, octets envoyés) ; une réponse 206 couvre "
           "[début, début + octets envoyés) quand le journal donne le début de la plage (en-tête Range, "
           "champs de plage de CloudFront), sinon ses octets s’ajoutent à une somme ; les octets couverts "
           "sont la taille de la réunion des intervalles plus cette somme."),
    ("R6", f"Seuil : les octets des {THRESHOLD_SECONDS} premières secondes d’audio (les octets qui précèdent "
           f"l’audio, comme l’étiquette ID3, plus {THRESHOLD_SECONDS} secondes au débit du fichier), ou le "
           f"fichier entier s’il dure moins de {THRESHOLD_SECONDS} secondes."),
    ("R7", "Un téléchargement par (épisode, jour, auditeur) dont les octets couverts atteignent le seuil, "
           "quel que soit le fichier de l’épisode (fichier principal, autre version, fichier d’avant un réencodage)."),
)  # fmt: skip


def privacy_notice_fr() -> str:
    """The paragraph for the site's legal notice: what the audience measurement keeps, and for how long."""
    return (
        "Mesure d’audience. Le nombre de téléchargements des épisodes est établi à partir des journaux "
        "d’accès de notre hébergement de fichiers, sans cookie, sans traceur et sans aucun service tiers. "
        "Pour compter une seule fois un même auditeur dans une journée, l’adresse IP (réduite à ses "
        "64 premiers bits pour IPv6) et le User-Agent de chaque requête sont transformés, le temps du "
        "calcul et en mémoire seulement, en une empreinte (HMAC) dont la clé, tirée au hasard à chaque "
        "calcul, n’est jamais enregistrée. Seuls des totaux sont conservés : téléchargements par "
        "épisode, par jour et par application, et nombre de requêtes écartées par motif. Aucune "
        "adresse, aucun User-Agent ni aucune empreinte n’est conservé ni transmis à quiconque ; ces "
        "statistiques anonymes relèvent de l’exemption de consentement prévue par la CNIL pour la "
        "mesure d’audience. Les journaux d’accès eux-mêmes sont conservés par l’hébergeur selon sa propre "
        "politique, puis supprimés."
    )


# ---------------------------------------------------------------- terminal


def render_table(report: StatsReport) -> str:
    """A plain-text table for the terminal: downloads per episode, then totals and exclusions."""
    by_day = report.episode_by_day()
    rows = [(e.show, e.slug, sum(by_day.get(e.guid, {}).values())) for e in report.episodes]
    show_w = max([4, *(len(r[0]) for r in rows)])
    slug_w = max([7, *(len(r[1]) for r in rows)])
    lines = [f"{'show':<{show_w}}  {'episode':<{slug_w}}  {'downloads':>9}"]
    lines += [f"{s:<{show_w}}  {e:<{slug_w}}  {n:>9}" for s, e, n in rows]
    lines.append(f"{'total':<{show_w}}  {'':<{slug_w}}  {report.total:>9}")
    period = report.period()
    lines.append("")
    lines.append(
        f"period: {period['first_day'] or '-'} to {period['last_day'] or '-'} ({period['days']} days, UTC)"
    )
    requests = report.request_totals()
    lines.append(
        "requests read: " + ", ".join(f"{k} {n}" for k, n in sorted(requests.items()))
        if requests
        else "requests read: 0"
    )
    excluded = report.excluded_totals()
    if excluded:
        lines.append("excluded requests: " + ", ".join(f"{k} {n}" for k, n in sorted(excluded.items())))
    return "\n".join(lines)


# ---------------------------------------------------------------- files


def _int_fr(n: int) -> str:
    return format_decimal(n, locale="fr_FR")


def _date_fr(day: date) -> str:
    return format_date(day, format="long", locale="fr_FR")


def _monday(day: str) -> date:
    d = date.fromisoformat(day)
    return d - timedelta(days=d.weekday())


def _percent(part: int, whole: int) -> str:
    return f"{format_decimal(100 * part / whole, format='0.0', locale='fr_FR')}\u00a0%" if whole else "–"


def _chart(weeks: list[tuple[str, int]]) -> dict:
    """Bar geometry for the weekly chart (inline SVG, the numbers are also in a table)."""
    width, height, left, bottom, top = 640, 240, 48, 40, 16
    peak = max([n for _, n in weeks] + [1])
    slot = (width - left - 8) / max(len(weeks), 1)
    bars = []
    for i, (label, n) in enumerate(weeks):
        h = (height - bottom - top) * n / peak
        bars.append(
            {
                "x": round(left + i * slot + slot * 0.15, 1),
                "y": round(height - bottom - h, 1),
                "w": round(slot * 0.7, 1),
                "h": round(h, 1),
                "n": n,
                "label": label,
                "cx": round(left + i * slot + slot / 2, 1),
            }
        )
    return {
        "width": width,
        "height": height,
        "base": height - bottom,
        "left": left,
        "bars": bars,
        "peak": peak,
    }


def _context(report: StatsReport) -> dict:
    by_day, by_app = report.episode_by_day(), report.episode_by_app()
    weeks = sorted({_monday(day) for _, day, _, _ in report.downloads})
    episodes = []
    for e in report.episodes:
        days = by_day.get(e.guid, {})
        per_week: dict[date, int] = defaultdict(int)
        for day, n in days.items():
            per_week[_monday(day)] += n
        episodes.append({"ref": e, "total": sum(days.values()), "weeks": [per_week.get(w, 0) for w in weeks]})
    week_totals = [sum(ep["weeks"][i] for ep in episodes) for i in range(len(weeks))]
    apps: dict[str, int] = defaultdict(int)
    for table in by_app.values():
        for app, n in table.items():
            apps[app] += n
    period = report.period()
    return {
        "total": report.total,
        "episodes": episodes,
        "weeks": [_date_fr(w) for w in weeks],
        "week_totals": week_totals,
        "chart": _chart([(w.strftime("%d/%m"), n) for w, n in zip(weeks, week_totals, strict=True)]),
        "apps": sorted(apps.items(), key=lambda kv: (-kv[1], kv[0])),
        "excluded": sorted(report.excluded_totals().items(), key=lambda kv: (-kv[1], kv[0])),
        "requests": sorted(report.request_totals().items()),
        "first_day": _date_fr(date.fromisoformat(period["first_day"])) if period["first_day"] else None,
        "last_day": _date_fr(date.fromisoformat(period["last_day"])) if period["last_day"] else None,
        "days": period["days"],
        "rules": RULES_FR,
        "privacy": privacy_notice_fr(),
        "opawg_commit": OPAWG_COMMIT,
        "other_app": OTHER_APP,
        "reasons": REASONS_FR,
        "kinds": KINDS_FR,
    }


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("grandirenhlm.stats", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["nombre"] = _int_fr
    env.filters["part"] = lambda n, whole: _percent(n, whole)
    return env


def render_html(report: StatsReport) -> str:
    """The French report page: totals per episode and per week, apps, exclusions, methodology."""
    return _environment().get_template("report.html").render(**_context(report))


def render_csv(report: StatsReport) -> str:
    """Open data: one row per (day, episode, app) with its downloads; UTF-8, comma-separated."""
    refs = {e.guid: e for e in report.episodes}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["jour", "emission", "episode", "guid", "titre", "application", "telechargements"])
    for guid, day, app, n in sorted(
        report.downloads, key=lambda r: (r[1], refs[r[0]].show, refs[r[0]].slug, r[2])
    ):
        e = refs[guid]
        writer.writerow([day, e.show, e.slug, guid, e.title, app, n])
    return out.getvalue()


def write_report(report: StatsReport, out_dir: Path) -> list[Path]:
    """Write `index.html` (French report) and `telechargements.csv` into `out_dir`; returns them."""
    html_path, csv_path = out_dir / REPORT_HTML, out_dir / REPORT_CSV
    write_atomic(html_path, render_html(report).encode("utf-8"))
    write_atomic(csv_path, render_csv(report).encode("utf-8"))
    return [html_path, csv_path]
