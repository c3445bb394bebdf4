"""Each rule of the `podcast:` namespace is written once, in `namespace.py`: the record reader, the
linter and the feed extensions all report a bad value with that one rule's words."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from grandirenhlm import namespace as ns
from grandirenhlm.catalog import load_catalog
from grandirenhlm.check import check_catalog
from grandirenhlm.config import load_project
from grandirenhlm.errors import ValidationError
from grandirenhlm.podcast_namespace import PodcastIndexEntryExtension, PodcastIndexExtension
from tests.support import SHOW_TOML, make_mp3

SHOW_FILE = "feeds/grandir-en-hlm.toml"
EPISODE_FILE = "episodes/grandir-en-hlm/un.toml"
NOW = datetime(2024, 1, 10, 18, tzinfo=UTC)
LONG = "x" * 129
CHANNEL, ITEM = PodcastIndexExtension, PodcastIndexEntryExtension


def _live(status: str, end: str) -> str:
    return f'[live]\nstatus = "{status}"\nstart = 2024-01-10T18:00:00+00:00\nend = {end}\n'


# (the rule applied to a bad value, the same value given to a feed extension, the file that holds it:
# a line for the top of the show, a table for its end, or an episode record's extra TOML, the key, and
# who reports it: the reader ("load": the file does not load) or the linter ("check": a finding))
CASES: list[tuple[str, Callable[[], object], Callable[[], object], dict[str, str], str, str]] = [
    ("medium", lambda: ns.medium("tv"), lambda: CHANNEL().medium("tv"), {"top": 'medium = "tv"'}, "medium", "load"),
    ("guid not a UUID", lambda: ns.guid("3e37be38"), lambda: CHANNEL().guid("3e37be38"),
     {"top": 'podcast_guid = "3e37be38"'}, "podcast_guid", "check"),
    ("guid not v5", lambda: ns.guid("3e37be38-ef1c-4ad4-8f56-6990ae707657"),
     lambda: CHANNEL().guid("3e37be38-ef1c-4ad4-8f56-6990ae707657"),
     {"top": 'podcast_guid = "3e37be38-ef1c-4ad4-8f56-6990ae707657"'}, "podcast_guid", "check"),
    ("person group", lambda: ns.person_group("orchestre"), lambda: CHANNEL().person("Nom", "host", "orchestre"),
     {"end": '[[person]]\nname = "Nom"\ngroup = "orchestre"'}, "person[0].group", "check"),
    ("person name", lambda: ns.person_name(LONG), lambda: ITEM().person(LONG),
     {"episode": f'[[person]]\nname = "{LONG}"'}, "person[0].name", "load"),
    ("location country", lambda: ns.location_country("France"),
     lambda: CHANNEL().location("Lieu", country="France"),
     {"end": '[location]\nname = "Lieu"\ncountry = "France"'}, "location.country", "load"),
    ("location rel", lambda: ns.location_rel("home"), lambda: ITEM().location("Lieu", rel="home"),
     {"episode": '[location]\nname = "Lieu"\nrel = "home"'}, "location.rel", "load"),
    ("location geo", lambda: ns.location_geo("48.85,2.35"), lambda: CHANNEL().location("Lieu", geo="48.85,2.35"),
     {"end": '[location]\nname = "Lieu"\ngeo = "48.85,2.35"'}, "location.geo", "load"),
    ("location osm", lambda: ns.location_osm("X12"), lambda: CHANNEL().location("Lieu", osm="X12"),
     {"end": '[location]\nname = "Lieu"\nosm = "X12"'}, "location.osm", "load"),
    ("location name", lambda: ns.location_name(LONG), lambda: CHANNEL().location(LONG),
     {"end": f'[location]\nname = "{LONG}"'}, "location.name", "load"),
    ("license", lambda: ns.license_name(LONG), lambda: ITEM().license(LONG),
     {"episode": f'license = "{LONG}"'}, "license", "load"),
    ("funding", lambda: ns.funding_text(LONG), lambda: CHANNEL().funding("https://exemple.fr/dons", LONG),
     {"end": f'[[funding]]\nurl = "https://exemple.fr/dons"\ntext = "{LONG}"'}, "funding[0].text", "load"),
    ("txt", lambda: ns.txt_text("x" * 4001), lambda: CHANNEL().txt("x" * 4001),
     {"end": f'[[txt]]\ntext = "{"x" * 4001}"'}, "txt[0].text", "load"),
    ("txt purpose", lambda: ns.txt_purpose(LONG), lambda: CHANNEL().txt("jeton", LONG),
     {"end": f'[[txt]]\ntext = "jeton"\npurpose = "{LONG}"'}, "txt[0].purpose", "check"),
    ("updateFrequency", lambda: ns.update_frequency(LONG), lambda: CHANNEL().update_frequency(LONG),
     {"top": f'update_frequency = "{LONG}"'}, "update_frequency", "load"),
    ("live status", lambda: ns.live_status("soon"),
     lambda: CHANNEL().live_item("soon", NOW, NOW + timedelta(hours=1), "g", "t", "d", "l"),
     {"episode": _live("soon", "2024-01-10T19:00:00+00:00")}, "live.status", "load"),
    ("live end", lambda: ns.live_times(NOW, NOW), lambda: CHANNEL().live_item("live", NOW, NOW, "g", "t", "d", "l"),
     {"episode": _live("live", "2024-01-10T18:00:00+00:00")}, "live.end", "load"),
    ("episode", lambda: ns.episode(0), lambda: ITEM().episode(0), {"episode": "episode = 0"}, "episode", "load"),
    ("season", lambda: ns.season(0), lambda: ITEM().season(0), {"episode": "season = 0"}, "season", "load"),
]  # fmt: skip


def _reported(project: Path) -> list[str]:
    """What the reader refuses, else what the linter finds: `file: key: message` lines."""
    try:
        catalog = load_catalog(load_project(project))
    except ValidationError as exc:
        return exc.problems
    return [f"{f.where}: {f.message}" for f in check_catalog(catalog) if f.level == "error"]


@pytest.mark.parametrize(
    ("rule", "extension", "edit", "key", "by"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_namespace_rule_is_one_rule_everywhere(
    project: Path, tmp_path: Path, rule, extension, edit, key, by
):
    with pytest.raises(ns.NamespaceError) as refused:
        rule()
    # the feed: the extension raises the rule's own error
    with pytest.raises(ns.NamespaceError) as raised:
        extension()
    assert str(raised.value) == str(refused.value)
    # the files: the reader or the linter names the file and key, in the rule's words, once
    show = project / SHOW_FILE
    show.write_text(f"{edit.get('top', '')}\n{SHOW_TOML}\n{edit.get('end', '')}\n", encoding="utf-8")
    (project / "media").mkdir()
    media = make_mp3(project / "media" / "un.mp3", 0.5)
    record = project / EPISODE_FILE
    record.parent.mkdir(parents=True)
    record.write_text(
        f'title = "Un"\nguid = "un"\npub_date = 2023-06-26T09:00:00+00:00\nepisode_type = "bonus"\n'
        f"{edit.get('episode', '')}\n"
        f'[media]\nfile = "../../media/un.mp3"\nsha256 = "{"0" * 64}"\nsize = {media.stat().st_size}\n'
        'mime_type = "audio/mpeg"\nduration_seconds = 0.5\n',
        encoding="utf-8",
    )
    where = EPISODE_FILE if "episode" in edit else SHOW_FILE
    expected = f"{where}: {key}: {refused.value.problem}"
    lines = _reported(project)
    assert lines.count(expected) == 1, (expected, lines)
    if by == "check":
        load_catalog(load_project(project))  # it loads: the linter's finding stops publish, not the reader
    else:
        with pytest.raises(ValidationError):
            load_catalog(load_project(project))


# Values of the namespace that only `namespace.py` declares (as string literals), and the words of
# its errors, which no other module writes.
VALUES = [
    ns.PODCAST_NS,
    ns.PSC_NS,
    ns.JSON_CHAPTERS_MIME,
    str(ns.PODCAST_GUID_NAMESPACE),
    "audio post-production",  # a person group
    "newsletter",  # a medium
]
WORDS = [
    "the podcast namespace allows",
    "must be an absolute ASCII URL",
    "expected a two-letter ISO 3166 code",
    "expected an OpenStreetMap type",
    "expected a geo URI",
    "is not a Podcast Taxonomy group",
    "a version 5 UUID is required",
]


def test_the_namespace_values_and_rules_are_spelled_out_in_one_module():
    package = Path(ns.__file__).parent
    for path in sorted(package.rglob("*.py")):
        if path.name == "namespace.py":
            continue
        text = path.read_text(encoding="utf-8")
        declared = [v for v in VALUES if f'"{v}"' in text or f"'{v}'" in text]
        assert declared == [], (path.name, declared)
        assert [w for w in WORDS if w in text] == [], path.name
        raising = [line for line in text.splitlines() if re.search(r"raise \w*Error\(.*podcast:", line)]
        assert raising == [], (path.name, raising)
    namespace = (package / "namespace.py").read_text(encoding="utf-8")
    assert all(f'"{v}"' in namespace for v in VALUES) and all(w in namespace for w in WORDS)
