"""`grandirenhlm import`, run as users run it (a subprocess), against a local podcast host serving
the committed fixture feeds (tests/fixtures/import/, three hosts' styles) and media the tests make.

After each import the project must pass `check`, and `build` must give a feed whose items carry the
source's guids, titles and dates and whose podcast:guid is the source's."""

from __future__ import annotations

import html
import json
import tomllib
import uuid
from collections.abc import Iterator
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import feedparser
import pytest
from lxml import etree

from tests.import_server import FIXTURES, Host, HostServer, assert_one_line_error, cli, records
from tests.support import make_cover, make_mp3, make_mp4

PODCAST = "https://podcastindex.org/namespace/1.0"


# ---------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Real media for the fixture feeds: MP3s by LAME, M4As by ffmpeg, covers by Pillow."""
    folder = tmp_path_factory.mktemp("media")
    out = {}
    for name, seconds in (("bz-1", 3.0), ("bz-2", 2.0), ("pl005", 2.0), ("pl003", 2.0), ("pl002", 2.0)):
        out[f"/media/{name}.mp3"] = make_mp3(folder / f"{name}.mp3", seconds).read_bytes()
    out["/media/pl001.mp3"] = make_mp3(folder / "pl001.mp3", 2.5, freq=330.0).read_bytes()
    out["/media/anchor-1.mp3"] = make_mp3(folder / "anchor-1.mp3", 2.0, freq=550.0).read_bytes()
    out["/media/pl004.m4a"] = make_mp4(folder / "pl004.m4a", 3.0, video=False).read_bytes()
    out["/media/anchor-3.m4a"] = make_mp4(folder / "anchor-3.m4a", 2.0, video=False).read_bytes()
    out["/art/voix.jpg"] = make_cover(folder / "voix.jpg").read_bytes()
    out["/art/minute.jpg"] = make_cover(folder / "minute.jpg").read_bytes()
    out["/art/coeurs.png"] = make_cover(folder / "coeurs.png", fmt="PNG").read_bytes()
    return out


@pytest.fixture
def host(media: dict[str, bytes]) -> Iterator[Host]:
    """The fixture host on 127.0.0.1, every fixture feed and file served."""
    with HostServer() as host:
        for path, data in media.items():
            host.add(path, data)
        for name, path in (
            ("bz-13012345-chapters.json", "/bz/13012345/chapters.json"),
            ("bz-13012345.vtt", "/bz/13012345/transcript.vtt"),
            ("bz-13012346.srt", "/bz/13012346/transcript.srt"),
            ("bz-13012346.html", "/bz/13012346/transcript.html"),
            ("pl-3-transcript.json", "/pl/3/transcript.json"),
        ):
            host.add_fixture(name, path)
        for feed in sorted(FIXTURES.glob("*.xml")):
            host.add_fixture(feed.name)
        yield host


@pytest.fixture
def empty(tmp_path: Path) -> Path:
    """A project with no show yet."""
    root = tmp_path / "project"
    (root / "feeds").mkdir(parents=True)
    (root / "grandirenhlm.toml").write_text('[site]\ntitle = "Essai"\nlanguage = "fr"\n', encoding="utf-8")
    return root


def source_items(host: Host, *pages: str) -> dict[str, dict]:
    """guid -> (title, date, isPermaLink) of the fixture pages as the host serves them, read by lxml."""
    out = {}
    for page in pages:
        channel = etree.fromstring(host.routes[f"/{page}"].data).find("channel")
        for item in channel.findall("item"):
            guid = item.find("guid")
            out.setdefault(
                guid.text,
                {
                    # what apps show: a title's entities inside CDATA ("&amp;" written twice) decoded
                    "title": html.unescape(item.findtext("title")),
                    "date": _date(item.findtext("pubDate")),
                    "permalink": guid.get("isPermaLink", "true") == "true",
                },
            )
    return out


def _date(text: str) -> datetime | None:
    try:
        return parsedate_to_datetime(text)
    except ValueError:  # the fixture's unreadable date: that item is dropped
        return None


def built_feed(root: Path, show: str) -> bytes:
    result = cli(root, "build", "--base-url", "http://127.0.0.1:8000/")
    assert result.returncode == 0, result.stderr
    return (root / "public" / show / "feed.xml").read_bytes()


def assert_feed_keeps(feed: bytes, expected: dict[str, dict], podcast_guid: str) -> None:
    """The built feed has exactly the expected items: guids, isPermaLink, titles, dates; and the podcast:guid."""
    tree = etree.fromstring(feed)
    assert tree.findtext(f"channel/{{{PODCAST}}}guid") == podcast_guid
    got = {}
    for item in tree.iter("item"):
        guid = item.find("guid")
        got[guid.text] = {
            "title": item.findtext("title"),
            "date": parsedate_to_datetime(item.findtext("pubDate")),
            "permalink": guid.get("isPermaLink", "true") == "true",
        }
    assert got == expected
    # a second, independent parser reads the same guids
    assert {e.id for e in feedparser.parse(feed).entries} == set(expected)


def check_passes(root: Path) -> None:
    result = cli(root, "check")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


# ---------------------------------------------------------------- locked, chapters, transcripts


def test_a_locked_feed_is_refused_without_the_owners_word(host: Host, empty: Path):
    result = cli(empty, "import", host.url("/buzzsprout-locked.xml"), "--show", "voix")
    assert_one_line_error(result, "podcast:locked", "marie.dupont@example.org", "--owner-confirmed")
    assert sorted(p.name for p in empty.rglob("*")) == ["feeds", "grandirenhlm.toml"]


def test_buzzsprout_style_feed_keeps_guids_chapters_and_transcripts(host: Host, empty: Path):
    result = cli(empty, "import", host.url("/buzzsprout-locked.xml"), "--show", "voix", "--owner-confirmed")
    assert result.returncode == 0, result.stderr
    assert "imported: 2 item(s)" in result.stdout
    assert "mismatch" not in result.stdout  # the fixture's lengths and durations are right
    assert "publish" in result.stdout and "301" in result.stdout  # the switch-over steps

    show = tomllib.loads((empty / "feeds" / "voix.toml").read_text(encoding="utf-8"))
    assert show["podcast_guid"] == "917393e3-1b1e-5cef-ace4-edaa54e1f810"
    assert show["owner"] == {"name": "Marie Dupont", "email": "marie.dupont@example.org"}
    assert (show["category"], show["subcategory"], show["language"]) == (
        "Society & Culture",
        "Documentary",
        "fr-fr",
    )
    assert show["funding"] == [{"url": "https://voix.example.org/soutenir", "text": "Soutenir le podcast"}]
    assert show["person"][0]["name"] == "Marie Dupont"
    assert (empty / "feeds" / show["image"]).read_bytes() == host.routes["/art/voix.jpg"].data
    assert show["description"] == (
        "Des habitantes et habitants racontent leur quartier.\n\n"
        "Un podcast de l’association Voix du Quartier (https://voix.example.org/)."
    )

    by_guid = records(empty, "voix")
    first, second = by_guid["Buzzsprout-13012345"], by_guid["Buzzsprout-13012346"]
    assert "guid_is_permalink" not in first  # isPermaLink="false": our default
    assert first["pub_date"] == datetime.fromisoformat("2024-02-27T06:00:00-05:00")
    assert (first["episode"], first["season"]) == (1, 1)
    assert first["chapters"] == [
        {"start_seconds": 0.0, "title": "Bienvenue"},
        {"start_seconds": 1.0, "title": "L’arrivée en 1998"},
        {"start_seconds": 2.5, "title": "Aujourd’hui"},
    ]
    assert first["person"][0]["name"] == "Ahmed Benali"
    vtt = (first["_path"].parent / first["transcript"]).read_text(encoding="utf-8")
    assert "<v Ahmed Benali>Je suis arrivé en 1998, à l’automne." in vtt
    srt_vtt = (second["_path"].parent / second["transcript"]).read_text(encoding="utf-8")
    assert "00:00:01.200 --> 00:00:02.000\nPuis la musique commence." in srt_vtt  # SRT converted
    assert second["description"] == (
        "Comment s’organise la fête des voisins ?\n\nLes tables\n\nLa musique\n\n"
        "Plus d’infos : la page de l’épisode (https://voix.example.org/fete)"
    )
    media = first["_path"].parent / first["media"]["file"]
    assert media.read_bytes() == host.routes["/media/bz-1.mp3"].data
    assert first["media"]["size"] == len(host.routes["/media/bz-1.mp3"].data)
    assert abs(first["media"]["duration_seconds"] - 3.0) < 0.1  # measured from the file

    check_passes(empty)
    assert_feed_keeps(
        built_feed(empty, "voix"),
        source_items(host, "buzzsprout-locked.xml"),
        "917393e3-1b1e-5cef-ace4-edaa54e1f810",
    )
    chapters = json.loads((empty / "public" / "voix").glob("*/chapters.json").__next__().read_text("utf-8"))
    assert [c["title"] for c in chapters["chapters"]] == ["Bienvenue", "L’arrivée en 1998", "Aujourd’hui"]


# ---------------------------------------------------------------- paging, non-ASCII, Podlove chapters


def test_podlove_paged_feed_is_read_to_its_last_page(host: Host, empty: Path):
    url = host.url("/podlove-1.xml")
    result = cli(empty, "import", url, "--show", "coeurs")
    assert result.returncode == 0, result.stderr
    assert "(3 page(s), 6 item(s))" in result.stdout
    assert "imported: 5 item(s)" in result.stdout
    assert "repeated on page 2" in result.stdout  # page 2 repeats page 1's last item: imported once
    # no podcast:guid in the source: the spec's UUIDv5 of the feed URL without its scheme
    expected_guid = str(uuid.uuid5(uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6"), url.split("://")[1]))
    assert f"podcast:guid: {expected_guid} (computed from the feed URL)" in result.stdout
    assert [r[1] for r in host.requests if r[1].startswith("/podlove")] == [
        "/podlove-1.xml",
        "/podlove-2.xml",
        "/podlove-3.xml",
    ]

    by_guid = records(empty, "coeurs")
    permalink = by_guid["https://podcast.example.org/?p=512"]
    assert permalink["guid_is_permalink"] is True  # no isPermaLink attribute: RSS says true
    assert permalink["title"] == "Épisode 5 : « Là-haut », au 14ᵉ étage"
    assert permalink["chapters"] == [
        {"start_seconds": 0.0, "title": "Ouverture"},
        {"start_seconds": 1.25, "title": "Le témoignage & la suite"},
        {"start_seconds": 2.0, "title": "Générique"},
    ]
    greek = by_guid["podlove-2024-05-31t08:00:00+00:00-4c1d2e9"]
    assert greek["title"] == "Épisode 4 : Ελληνικά, 日本語 et français"
    assert greek["media"]["mime_type"] == "audio/x-m4a" and greek["media"]["file"].endswith(".m4a")
    assert abs(greek["media"]["duration_seconds"] - 3.0) < 0.1
    zoe = by_guid["podlove-2024-05-24t08:00:00+00:00-9a8b7c6"]
    vtt = (zoe["_path"].parent / zoe["transcript"]).read_text(encoding="utf-8")
    assert "<v Zoë>Je peins les halls" in vtt and "<v Karim>Et c’est beau !" in vtt  # JSON converted
    show = tomllib.loads((empty / "feeds" / "coeurs.toml").read_text(encoding="utf-8"))
    assert (show["type"], show["complete"], show["license"]) == ("serial", True, "CC-BY-4.0")
    assert show["location"]["name"] == "Saint-Étienne"
    assert show["image"].endswith(".png")

    check_passes(empty)
    expected = source_items(host, "podlove-1.xml", "podlove-2.xml", "podlove-3.xml")
    assert len(expected) == 5
    assert_feed_keeps(built_feed(empty, "coeurs"), expected, expected_guid)


def test_pages_that_link_to_each_other_are_read_once(host: Host, empty: Path):
    result = cli(empty, "import", host.url("/loop-a.xml"), "--show", "boucle")
    assert result.returncode == 0, result.stderr
    assert "(2 page(s), 2 item(s))" in result.stdout
    assert "links back to a page already read" in result.stdout
    assert set(records(empty, "boucle")) == {"loop-a-1", "loop-b-1"}


# ---------------------------------------------------------------- what the source got wrong


def test_anchor_style_feed_reports_mismatches_and_drops_with_reasons(host: Host, empty: Path):
    result = cli(empty, "import", host.url("/anchor.xml"), "--show", "minute")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "imported: 2 item(s)" in out
    real_m4a = len(host.routes["/media/anchor-3.m4a"].data)
    real_mp3 = len(host.routes["/media/anchor-1.mp3"].data)
    assert f"mismatch: le-bail-c-est-quoi: length declared 0 bytes, real {real_m4a} bytes" in out
    assert "mismatch: le-bail-c-est-quoi: type declared audio/mpeg, real audio/x-m4a" in out
    assert "mismatch: le-bail-c-est-quoi: duration declared 0:10:00, real 0:00:02" in out
    assert f"mismatch: l-apl-vous: length declared 999999 bytes, real {real_mp3} bytes" in out
    assert "dropped: Annonce : la saison 2 arrive: no enclosure (no media to import)" in out
    assert "dropped: Épisode à la date illisible: pubDate 'le 20 mai' is not a date" in out

    by_guid = records(empty, "minute")
    bail = by_guid["5f6e7d8c-1a2b-4c3d-9e8f-7a6b5c4d3e2f"]
    assert bail["media"]["size"] == real_m4a  # the real size, not the declared one
    assert bail["description"] == (
        "Le bail expliqué simplement.\nDeuxième ligne.\n\nSource : la loi (https://www.example.org/bail)"
    )
    apl = by_guid["1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"]
    assert apl["title"] == "L'APL & vous" and apl["episode_type"] == "trailer"
    show = tomllib.loads((empty / "feeds" / "minute.toml").read_text(encoding="utf-8"))
    assert "evil" not in show["description"] and "script" not in show["description"]
    assert show["description"] == (
        "Chaque semaine, une minute pour comprendre le logement social.\n\nContact : minute@example.org"
    )
    check_passes(empty)
    expected = source_items(host, "anchor.xml")
    kept = {g: v for g, v in expected.items() if g in by_guid}
    assert_feed_keeps(built_feed(empty, "minute"), kept, show["podcast_guid"])


# ---------------------------------------------------------------- re-import, dry run, identity


def test_a_reimport_adds_only_the_new_items_and_changes_nothing_else(host: Host, empty: Path):
    url = host.url("/anchor.xml")
    assert cli(empty, "import", url, "--show", "minute").returncode == 0
    before = {p: p.read_bytes() for p in empty.rglob("*") if p.is_file() and ".grandirenhlm" not in p.parts}

    again = cli(empty, "import", url, "--show", "minute")
    assert again.returncode == 0, again.stderr
    assert "imported: 0 item(s)" in again.stdout and "already imported: 2 item(s), unchanged" in again.stdout

    new_item = (
        b'<item><title>Nouveau : la caution</title><guid isPermaLink="false">new-guid-42</guid>'
        b"<pubDate>Mon, 10 Jun 2024 05:00:00 GMT</pubDate>"
        b'<enclosure url="'
        + host.url("/media/pl002.mp3").encode()
        + b'" length="1" type="audio/mpeg"/></item>'
    )
    route = host.routes["/anchor.xml"]
    route.data = route.data.replace(b"<item>", new_item + b"<item>", 1)
    third = cli(empty, "import", url, "--show", "minute")
    assert third.returncode == 0, third.stderr
    assert "imported: 1 item(s)" in third.stdout
    after = {p: p.read_bytes() for p in empty.rglob("*") if p.is_file() and ".grandirenhlm" not in p.parts}
    assert {p: after[p] for p in before} == before  # every file of the first import byte for byte
    added = sorted(set(after) - set(before))
    assert [p.name for p in added if p.suffix == ".toml"] == ["nouveau-la-caution.toml"]
    assert "new-guid-42" in records(empty, "minute")


def test_dry_run_reports_and_writes_nothing(host: Host, empty: Path):
    result = cli(empty, "import", host.url("/podlove-1.xml"), "--show", "coeurs", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "would import: 5 item(s)" in result.stdout
    assert sorted(p.name for p in empty.rglob("*")) == ["feeds", "grandirenhlm.toml"]
    assert not [r for r in host.requests if r[1].startswith("/media/")]  # no media fetched


def test_another_show_with_the_same_identity_is_refused(host: Host, empty: Path):
    assert cli(empty, "import", host.url("/anchor.xml"), "--show", "minute").returncode == 0
    twice = cli(empty, "import", host.url("/anchor.xml"), "--show", "minute-bis")
    assert_one_line_error(twice, "feeds/minute.toml", "already has podcast_guid", "--show minute")
    # the same items under a new podcast:guid: their guids belong to show "minute"
    copy = host.routes["/anchor.xml"].data.replace(
        b"<channel>",
        b'<channel><podcast:guid xmlns:podcast="https://podcastindex.org/namespace/1.0">'
        b"6c1b2a3d-4e5f-5a6b-8c7d-9e0f1a2b3c4d</podcast:guid>",
        1,
    )
    host.add("/copy.xml", copy)
    clash = cli(empty, "import", host.url("/copy.xml"), "--show", "copie")
    assert_one_line_error(clash, "5f6e7d8c-1a2b-4c3d-9e8f-7a6b5c4d3e2f", "already belongs to another show")
    assert (
        not (empty / "feeds" / "minute-bis.toml").exists() and not (empty / "feeds" / "copie.toml").exists()
    )


def test_a_web_feed_cannot_page_into_local_files(host: Host, empty: Path):
    page = host.routes["/loop-a.xml"].data.replace(b'href="loop-b.xml"', b'href="file:///etc/passwd"')
    host.add("/hostile.xml", page)
    result = cli(empty, "import", host.url("/hostile.xml"), "--show", "hostile")
    assert_one_line_error(result, "file:///etc/passwd", "not an http(s) URL")


def test_not_a_feed_and_unknown_urls_are_one_line_errors(host: Host, empty: Path):
    host.add("/page.html", b"<html><body>hello</body></html>", "text/html")
    assert_one_line_error(cli(empty, "import", host.url("/page.html"), "--show", "x"), "not an")
    assert_one_line_error(cli(empty, "import", host.url("/missing.xml"), "--show", "x"), "404")
    assert_one_line_error(cli(empty, "import", str(empty / "nope.xml"), "--show", "x"), "no such file")
    assert_one_line_error(cli(empty, "import", host.url("/anchor.xml"), "--show", "Not A Slug"), "--show")


# ---------------------------------------------------------------- the demo, out and back in


def test_the_demo_published_feed_imported_into_an_empty_project_keeps_its_identity(
    demo_project: Path, empty: Path
):
    """Round trip: the demo site, built and served, imported show by show into an empty project."""
    from grandirenhlm.records import load_episode, load_show
    from grandirenhlm.transcripts import load_transcript

    with HostServer() as host:
        built = cli(demo_project, "build", "--base-url", host.base + "/")
        assert built.returncode == 0, built.stderr
        public = demo_project / "public"
        for path in public.rglob("*"):
            if path.is_file():
                host.add("/" + path.relative_to(public).as_posix(), path.read_bytes())
        for show in ("grandir-en-hlm", "l-emission"):
            result = cli(empty, "import", host.url(f"/{show}/feed.xml"), "--show", show, "--owner-confirmed")
            assert result.returncode == 0, result.stderr
            assert "mismatch" not in result.stdout and "dropped" not in result.stdout, result.stdout

    check_passes(empty)
    for show in ("grandir-en-hlm", "l-emission"):
        source_show = load_show(demo_project / "feeds" / f"{show}.toml")
        imported_show = load_show(empty / "feeds" / f"{show}.toml")
        assert imported_show.podcast_guid == source_show.podcast_guid
        assert (imported_show.title, imported_show.show_type) == (source_show.title, source_show.show_type)
        source = {
            e.guid: e
            for e in (load_episode(p, show) for p in (demo_project / "episodes" / show).glob("*.toml"))
        }
        imported = {
            e.guid: e for e in (load_episode(p, show) for p in (empty / "episodes" / show).glob("*.toml"))
        }
        assert set(imported) == set(source)
        for guid, before in source.items():
            after = imported[guid]
            assert (after.title, after.pub_date, after.number) == (
                before.title,
                before.pub_date,
                before.number,
            )
            assert after.description == before.description  # the chapter lines the feed added are removed
            assert [(c.start_seconds, c.title) for c in after.chapters] == [
                (c.start_seconds, c.title) for c in before.chapters
            ]
            assert after.media.sha256 == before.media.sha256
            assert after.media.duration_seconds == before.media.duration_seconds
            assert [a.sha256 for a in after.alternates] == [a.sha256 for a in before.alternates]
            assert load_transcript(after.transcript).cues == load_transcript(before.transcript).cues


def test_a_feed_in_latin_1_keeps_its_accents(host: Host, empty: Path):
    result = cli(empty, "import", host.url("/latin1.xml"), "--show", "ete")
    assert result.returncode == 0, result.stderr
    (record,) = records(empty, "ete").values()
    assert record["guid"] == "latin1-ç-1"
    assert record["title"] == "Façade, été, « fête »"
    assert record["description"] == "Ça se passe en été."  # escaped HTML in a plain <description>
    show = tomllib.loads((empty / "feeds" / "ete.toml").read_text(encoding="utf-8"))
    assert show["title"] == "L'été à la cité"
    # the guid is kept as it is (apps know the episode by it); check names what the source got wrong
    check = cli(empty, "check")
    assert check.returncode == 1 and "Traceback" not in check.stderr
    errors = [line for line in check.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "facade-ete-fete.toml: guid: 'latin1-ç-1' must be ASCII" in errors[0]


def test_hidden_toml_files_are_not_records(host: Host, empty: Path):
    """An editor's or macOS's `._x.toml` beside the records (binary, not TOML) is not read."""
    assert cli(empty, "import", host.url("/anchor.xml"), "--show", "minute").returncode == 0
    (empty / "feeds" / "._minute.toml").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X")
    (empty / "episodes" / "minute" / "._x.toml").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X")
    again = cli(empty, "import", host.url("/anchor.xml"), "--show", "minute")
    assert again.returncode == 0, again.stderr
    assert "imported: 0 item(s)" in again.stdout and "already imported: 2 item(s), unchanged" in again.stdout
    check_passes(empty)
