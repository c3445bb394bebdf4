"""The pages of the published demo, read back with lxml: discovery tags, JSON-LD, sitemap, robots,
statement pages from configuration, subscribe links, French typography, cover renditions."""

from __future__ import annotations

import io
import json
import re
import shutil
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import jinja2
import lxml.etree
import lxml.html
import pytest
from PIL import Image

from grandirenhlm import layout, site
from grandirenhlm import pages as page_module
from grandirenhlm.build import build_site
from grandirenhlm.catalog import load_catalog
from grandirenhlm.config import load_project
from grandirenhlm.pages import PageCache
from grandirenhlm.pagestore import PageStore
from grandirenhlm.text import NNBSP, duration_fr, iso_duration, typo_fr
from tests.browser_support import page_files, publish_demo
from tests.support import REPO, assert_clean_error, run_cli

BASE = "http://127.0.0.1:8000/"  # the demo's public_base_url
AT = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The published demo's output folder."""
    return publish_demo(tmp_path_factory.mktemp("pages")) / "public"


def _pages(public: Path) -> dict[str, lxml.html.HtmlElement]:
    return {
        p.relative_to(public).as_posix(): lxml.html.fromstring(p.read_bytes()) for p in page_files(public)
    }


def _meta(doc, prop: str) -> str | None:
    found = doc.xpath(f"//meta[@property='{prop}' or @name='{prop}']/@content")
    return found[0] if found else None


def _jsonld(doc) -> dict:
    (script,) = doc.xpath("//script[@type='application/ld+json']")
    return json.loads(script.text)


def _records() -> dict[str, dict]:
    return {
        f"{p.parent.name}/{p.stem}": tomllib.loads(p.read_text(encoding="utf-8"))
        for p in sorted((REPO / "episodes").glob("*/*.toml"))
    }


# ---------------------------------------------------------------- text helpers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Durée : 12 min", f"Durée{NNBSP}: 12 min"),
        ("Quoi ? Oui ! Bon ; fini", f"Quoi{NNBSP}? Oui{NNBSP}! Bon{NNBSP}; fini"),
        ("le thème « Enfance et Hlm »", f"le thème «{NNBSP}Enfance et Hlm{NNBSP}»"),
        ("«Enfance»", f"«{NNBSP}Enfance{NNBSP}»"),
        ("Durée\u00a0: 3 s", f"Durée{NNBSP}: 3 s"),
        ("https://example.org/a?b=1", "https://example.org/a?b=1"),  # URLs untouched
        ("à 12:30", "à 12:30"),  # times untouched
        (f"déjà{NNBSP}: fait", f"déjà{NNBSP}: fait"),  # idempotent
    ],
)
def test_french_typographic_spacing(text: str, expected: str):
    assert typo_fr(text) == expected
    assert typo_fr(typo_fr(text)) == expected


def test_durations_in_french_and_iso_8601():
    assert duration_fr(750) == "12\u00a0min\u00a030\u00a0s"
    assert iso_duration(750) == "PT12M30S"
    assert iso_duration(3723) == "PT1H2M3S"


# ---------------------------------------------------------------- every page


def test_every_page_has_title_description_canonical_and_open_graph(demo: Path):
    pages = _pages(demo)
    titles = set()
    for key, doc in pages.items():
        assert doc.get("lang") == "fr", key
        title = doc.findtext(".//title").strip()
        assert title and title not in titles, (key, title)
        titles.add(title)
        description = _meta(doc, "description")
        assert description and len(description) <= 160, (key, description)
        assert len(doc.xpath("//h1")) == 1, key
        if key == "404.html":
            assert not doc.xpath("//link[@rel='canonical']"), "a 404 page has no canonical URL"
            continue
        if "/lecteur/" in key:  # a player page for iframes: not indexed, its episode page is the one
            assert doc.xpath("//link[@rel='canonical']/@href") == [
                BASE + key.removesuffix("lecteur/index.html")
            ]
            assert _meta(doc, "robots") == "noindex", key
            continue
        # Where the server answers a folder's address (serve, website endpoints): no index.html.
        assert doc.xpath("//link[@rel='canonical']/@href") == [BASE + key.removesuffix("index.html")], key
        assert _meta(doc, "og:title") and _meta(doc, "og:description"), key
        assert _meta(doc, "og:locale") == "fr_FR"
    # home, 2 shows and their subscribe pages, 7 episodes and their player pages, statements, 404
    assert len(pages) == 22, sorted(pages)


def test_show_and_episode_pages_announce_feed_image_and_media(demo: Path):
    records = _records()
    for key, doc in _pages(demo).items():
        parts = key.split("/")
        if len(parts) < 2 or parts[0] in ("accessibilite", "mentions-legales") or "lecteur" in parts:
            continue
        if parts[1] == "abonnement":  # the subscribe page names the feed too
            feeds = doc.xpath("//link[@rel='alternate'][@type='application/rss+xml']/@href")
            assert feeds == [f"{BASE}{parts[0]}/feed.xml"], key
            continue
        show = parts[0]
        feeds = doc.xpath("//link[@rel='alternate'][@type='application/rss+xml']/@href")
        assert feeds == [f"{BASE}{show}/feed.xml"], key
        assert (demo / show / "feed.xml").is_file()
        image = _meta(doc, "og:image")
        assert image.startswith(BASE) and image.endswith("-1200.jpg"), (key, image)
        with Image.open(demo / image.removeprefix(BASE)) as im:
            assert im.width == 1200 and im.format == "JPEG"
        if len(parts) == 3:  # an episode page
            media = records[f"{show}/{parts[1]}"]["media"]
            kind = "video" if media["mime_type"].startswith("video/") else "audio"
            url = _meta(doc, f"og:{kind}")
            assert url == f"{BASE}media/{show}/{Path(media['file']).name}", key
            assert _meta(doc, f"og:{kind}:type") == media["mime_type"]


def test_json_ld_podcast_series_and_episodes(demo: Path):
    records = _records()
    pages = _pages(demo)
    series = _jsonld(pages["grandir-en-hlm/index.html"])
    assert series["@context"] == "https://schema.org" and series["@type"] == "PodcastSeries"
    assert series["name"] == "Grandir en Hlm"
    assert series["webFeed"] == BASE + "grandir-en-hlm/feed.xml"
    assert series["url"] == BASE + "grandir-en-hlm/"
    for name, record in records.items():
        data = _jsonld(pages[f"{name}/index.html"])
        media = record["media"]
        assert data["@type"] == "PodcastEpisode", name
        assert data["name"] == record["title"]
        assert data["duration"] == iso_duration(media["duration_seconds"])
        assert re.fullmatch(r"PT(\d+H)?(\d+M)?\d+S", data["duration"])
        assert data["partOfSeries"]["@type"] == "PodcastSeries"
        assert data["partOfSeries"]["url"] == f"{BASE}{name.split('/')[0]}/"
        assert data["url"] == f"{BASE}{name}/"
        associated = data["associatedMedia"]
        video = media["mime_type"].startswith("video/")
        assert associated["@type"] == ("VideoObject" if video else "AudioObject")
        assert associated["contentUrl"].endswith(Path(media["file"]).name)
        assert associated["encodingFormat"] == media["mime_type"]
        assert data["datePublished"].startswith(str(record["pub_date"].date()))


def test_json_ld_cannot_be_closed_by_text(tmp_path: Path):
    """A `</script>` in a description stays inside the JSON-LD script."""
    from grandirenhlm.pages import jsonld

    text = str(jsonld({"description": "</script><script>alert(1)</script> & co"}))
    assert "</" not in text and "<" not in text and "&" not in text
    assert json.loads(text)["description"] == "</script><script>alert(1)</script> & co"


def test_sitemap_lists_every_page_and_robots_points_at_it(demo: Path):
    tree = lxml.etree.fromstring((demo / "sitemap.xml").read_bytes())
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    urls = tree.xpath("//s:url/s:loc/text()", namespaces=ns)
    # every page people look for, by its folder; not the 404 page, not the player pages for iframes
    expected = {BASE + layout.folder(k) for k in _pages(demo) if k != "404.html" and "/lecteur/" not in k}
    assert sorted(urls) == sorted(expected)
    robots = (demo / "robots.txt").read_text(encoding="utf-8").splitlines()
    assert "User-agent: *" in robots
    assert f"Sitemap: {BASE}sitemap.xml" in robots


def test_more_pages_than_a_sitemap_may_list_are_split_under_a_sitemap_index(tmp_path: Path):
    """sitemaps.org allows 50,000 URLs in one sitemap: a site with more pages (25,000 episodes)
    gets numbered sitemaps of at most that many, each page in exactly one, and `sitemap.xml` is
    their index, where robots.txt points. One page fewer, and `sitemap.xml` lists them all."""
    from grandirenhlm.pages import SITEMAP_URLS, site_pages, template_environment

    project = load_project(REPO)
    env = template_environment(project)
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    always = 2  # the accessibility statement and the legal notice are listed too
    for count, parts in ((SITEMAP_URLS - always, 0), (2 * SITEMAP_URLS + 10, 3)):
        keys = [f"archives/episode-{i:06d}/index.html" for i in range(count)]
        made = {key: data for key, _, data in site_pages(env, project, BASE, keys)}
        index = lxml.etree.fromstring(made["sitemap.xml"])
        if not parts:
            assert lxml.etree.QName(index).localname == "urlset"
            assert len(index.xpath("//s:url/s:loc/text()", namespaces=ns)) == SITEMAP_URLS
            assert not [k for k in made if k.startswith("sitemap-")]
            continue
        assert lxml.etree.QName(index).localname == "sitemapindex"
        listed = index.xpath("//s:sitemap/s:loc/text()", namespaces=ns)
        assert listed == [f"{BASE}sitemap-{n}.xml" for n in range(1, parts + 1)]
        urls: list[str] = []
        for n in range(1, parts + 1):
            part = lxml.etree.fromstring(made[f"sitemap-{n}.xml"])
            found = part.xpath("//s:url/s:loc/text()", namespaces=ns)
            assert lxml.etree.QName(part).localname == "urlset" and 0 < len(found) <= SITEMAP_URLS
            assert len(made[f"sitemap-{n}.xml"]) < 50 * 1024 * 1024  # the protocol's other limit
            urls += found
        assert len(urls) == len(set(urls)) == count + always
        assert {BASE + layout.folder(k) for k in keys} <= set(urls)
        assert f"Sitemap: {BASE}sitemap.xml" in made["robots.txt"].decode()


def test_the_sitemap_is_made_again_when_the_pages_it_lists_change(tmp_path: Path):
    """The sitemap's page key holds a digest of what it lists: the same pages, it comes from the
    page cache; one page more, it is rendered again and lists it."""
    from grandirenhlm.pages import site_pages, template_environment

    project = load_project(REPO)
    env = template_environment(project)
    keys = [f"archives/episode-{i:03d}/index.html" for i in range(300)]

    def sitemap(listed: list[str]) -> tuple[bytes, int]:
        cache = PageCache(project, tmp_path / "pages")
        made = {key: data for key, _, data in site_pages(env, project, BASE, listed, cache=cache)}
        cache.close()
        return made["sitemap.xml"], cache.rendered

    first, rendered = sitemap(keys)
    assert rendered == 6  # the site's pages: nothing in the cache yet
    assert sitemap(list(keys)) == (first, 0)
    more, rendered = sitemap([*keys, "archives/episode-300/index.html"])
    assert rendered == 1 and f"{BASE}archives/episode-300/".encode() in more
    assert f"{BASE}archives/episode-300/".encode() not in first


def test_the_404_page_links_from_the_site_root(demo: Path):
    """Served for any missing path, so its links cannot be relative to where it lives."""
    doc = lxml.html.fromstring((demo / "404.html").read_bytes())
    hrefs = doc.xpath("//a/@href | //link[@rel='stylesheet']/@href | //script/@src")
    local = [h for h in hrefs if not h.startswith(("http", "mailto:", "#"))]
    assert local and all(h.startswith("/") for h in local), local
    assert "/assets/style.css" in local


def test_french_typography_in_every_page(demo: Path):
    """No ordinary or wide no-break space before : ; ! ? », nor after «, in any visible text."""
    seen_narrow = False
    for key, doc in _pages(demo).items():
        for bad in doc.xpath("//script | //style"):
            bad.drop_tree()
        text = doc.text_content()
        for match in re.finditer(r"[ \u00a0][:;!?»]|«[ \u00a0]", text):
            context = text[max(0, match.start() - 30) : match.end() + 10]
            pytest.fail(f"{key}: ordinary space in {context!r}")
        seen_narrow |= NNBSP + ":" in text
    assert seen_narrow


def test_no_resource_comes_from_another_site(demo: Path):
    for key, doc in _pages(demo).items():
        refs = doc.xpath(
            "//script/@src | //link[@rel!='alternate' and @rel!='canonical']/@href"
            " | //img/@src | //img/@srcset | //source/@src | //source/@srcset | //track/@src"
            " | //video/@poster | //*[local-name()='use']/@href"
        )
        for ref in refs:
            for url in ref.split(","):
                # neither https://host/ nor a protocol-relative //host/ reference
                assert not urlsplit(url.strip().split(" ")[0]).netloc, (key, url)


def test_episode_page_content(demo: Path):
    records = _records()
    doc = _pages(demo)["grandir-en-hlm/temoignage-1/index.html"]
    record = records["grandir-en-hlm/temoignage-1"]
    # Player: native, no autoplay, metadata only; download link with the size.
    (audio,) = doc.xpath("//main//audio")
    assert audio.get("preload") == "metadata" and audio.get("autoplay") is None
    assert audio.get("controls") is not None and audio.get("aria-label")
    assert doc.xpath("//a[@download]/text()")[0].endswith("ko)")
    # Chapters: every chapter of the record, as text, with its start for the script.
    chapters = doc.xpath("//ol[@class='chapters']/li")
    assert [li.text_content().split(" ", 1)[1].strip() for li in chapters] == [
        typo_fr(c["title"]) for c in record["chapters"]
    ]
    assert [float(li.get("data-start")) for li in chapters] == [
        round(c["start_seconds"], 3) for c in record["chapters"]
    ]
    # Subscribe, notes, chapters, then the transcript (test_episode_page_order), speakers named.
    sections = doc.xpath("//main/section/@aria-labelledby")
    assert sections == ["abonnement", "notes", "chapitres", "transcription", "partager"], sections
    cues = doc.xpath("//div[@class='transcript']/p[@class='cue']")
    assert cues and all(c.xpath("span[@class='speaker']") for c in cues)
    files = doc.xpath("//p[@class='transcript-files']/a/@href")
    assert [f.rsplit(".", 1)[1] for f in files] == ["vtt", "srt", "json", "html"]
    for href in files:
        assert (demo / "grandir-en-hlm/temoignage-1" / Path(href).name).is_file()
    # Share links carry the page URL; the pager leads on.
    shares = doc.xpath("//ul[@class='share']/a/@href | //ul[@class='share']/li/a/@href")
    assert len(shares) == 5 and all("temoignage-1" in s for s in shares)
    assert doc.xpath("//a[@rel='next']/@href") == ["../../grandir-en-hlm/temoignage-2/"]
    assert "Témoignage n° 2" in doc.xpath("//a[@rel='next']")[0].text_content()  # with its title


def test_replay_page_has_captions_poster_and_audio_version(demo: Path):
    doc = _pages(demo)["l-emission/replay-2023/index.html"]
    (video,) = doc.xpath("//main//video")
    # the frame ingest took from the video, published beside the media under its content's name
    poster = video.get("poster")
    assert poster.startswith("../../media/l-emission/replay-2023-poster-") and poster.endswith(".jpg")
    assert (demo / "l-emission" / "replay-2023" / poster).resolve().is_file()
    assert video.get("preload") == "metadata"
    # libxml2's HTML parser does not know <source> is void: what follows it nests inside.
    (track,) = video.xpath(".//track")
    assert (track.get("kind"), track.get("srclang")) == ("captions", "fr")
    assert (demo / "l-emission/replay-2023" / Path(track.get("src")).name).is_file()
    audio = doc.xpath("//main//audio/source/@src")
    assert len(audio) == 1 and audio[0].endswith(".m4a")
    assert (demo / audio[0].replace("../", "")).is_file()


def test_show_page_covers_are_resized_and_the_feed_keeps_the_original(demo: Path):
    doc = _pages(demo)["grandir-en-hlm/index.html"]
    (picture,) = doc.xpath("//main/header//picture")
    webp = picture.xpath(".//source[@type='image/webp']/@srcset")[0]
    widths = [int(part.strip().rsplit(" ", 1)[1].removesuffix("w")) for part in webp.split(",")]
    assert widths == [300, 600, 1200]
    for part in webp.split(","):
        with Image.open(demo / "grandir-en-hlm" / Path(part.strip().split(" ")[0]).name) as im:
            assert im.format == "WEBP" and im.width == int(part.strip().rsplit(" ", 1)[1][:-1])
    img = picture.xpath(".//img")[0]
    assert img.get("alt") and img.get("width") == "300"
    feed = (demo / "grandir-en-hlm/feed.xml").read_text(encoding="utf-8")
    original = re.search(r'<itunes:image href="([^"]+)"', feed).group(1)
    assert re.search(r"/cover-[0-9a-f]{12}\.jpg$", original), original
    with Image.open(demo / original.removeprefix(BASE)) as im:
        assert im.width >= 1400


# ---------------------------------------------------------------- from the project's files


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "demo"
    root.mkdir()
    for name in ("feeds", "episodes", "media", "templates"):
        shutil.copytree(REPO / name, root / name)
    shutil.copy(REPO / "grandirenhlm.toml", root / "grandirenhlm.toml")
    return root


def _build(root: Path) -> Path:
    result = run_cli(root, "build", "--output", str(root / "out"))
    assert result.exit_code == 0, result.stderr
    return root / "out"


def test_subscribe_links_from_the_show_definition(project: Path):
    show = project / "feeds" / "grandir-en-hlm.toml"
    show.write_text(
        show.read_text(encoding="utf-8")
        + '\n[links]\napple_podcasts = "1234567890"\nspotify = "https://open.spotify.com/show/abc123"\n'
        'deezer = "555"\namazon_music = "a1b2-c3"\nyoutube = "PLabc"\npodcast_index = "920666"\n',
        encoding="utf-8",
    )
    out = _build(project)
    doc = lxml.html.fromstring((out / "grandir-en-hlm/index.html").read_bytes())
    links = [(a.text_content(), a.get("href")) for a in doc.xpath("//ul[@class='platforms']//a")]
    assert links == [
        ("Apple Podcasts", "https://podcasts.apple.com/fr/podcast/id1234567890"),
        ("Spotify", "https://open.spotify.com/show/abc123"),
        ("Deezer", "https://www.deezer.com/fr/show/555"),
        ("Amazon Music", "https://music.amazon.fr/podcasts/a1b2-c3"),
        ("YouTube", "https://www.youtube.com/playlist?list=PLabc"),
        ("Podcast Index", "https://podcastindex.org/podcast/920666"),
    ]
    # Each button shows the platform's own icon (self-hosted) beside its name.
    icons = doc.xpath("//ul[@class='platforms']//a/svg/use/@href")
    assert [i.split("#")[1] for i in icons] == [
        "apple-podcasts", "spotify", "deezer", "amazon-music", "youtube", "podcast-index"
    ]  # fmt: skip
    sprite = lxml.etree.fromstring((out / "assets/icons.svg").read_bytes())
    symbols = set(sprite.xpath("//*[local-name()='symbol']/@id"))
    assert {i.split("#")[1] for i in icons} <= symbols
    (field,) = doc.xpath("//input[@id='adresse-flux']")
    assert field.get("value") == BASE + "grandir-en-hlm/feed.xml" and field.get("readonly") is not None
    assert doc.xpath("//label[@for='adresse-flux']")
    # No link people click leads to the raw feed: only to the subscribe page.
    assert not doc.xpath("//a[contains(@href, 'feed.xml')]")
    assert doc.xpath("//section[@class='subscribe']//a/@href")[-1] == "../grandir-en-hlm/abonnement/"
    # A show listed nowhere: no list, and no sentence promising one.
    other = lxml.html.fromstring((out / "l-emission/index.html").read_bytes())
    assert not other.xpath("//ul[@class='platforms']")
    subscribe = other.xpath("//section[@class='subscribe']")[0].text_content()
    assert "plateforme" not in subscribe and "ajoutez-y l’adresse" in subscribe


def test_statement_pages_come_from_the_configuration(project: Path):
    out = _build(project)
    a11y = lxml.html.fromstring((out / "accessibilite/index.html").read_bytes()).text_content()
    assert "non conforme" in a11y and "axe-core" in a11y
    legal = lxml.html.fromstring((out / "mentions-legales/index.html").read_bytes())
    assert "Union sociale pour l’habitat" in legal.text_content()
    assert legal.xpath("//a[@href='mailto:podcasts@example.org']")
    footer = lxml.html.fromstring((out / "index.html").read_bytes()).xpath("//footer//a/text()")
    assert f"Accessibilité{NNBSP}: non conforme" in footer and "Mentions légales" in footer

    config = project / "grandirenhlm.toml"
    text = config.read_text(encoding="utf-8")
    text = text.replace('status = "non conforme"', 'status = "partiellement conforme"')
    text = text.replace('publisher = "Union sociale pour l’habitat"\n', "")
    config.write_text(text, encoding="utf-8")
    out = _build(project)
    a11y = lxml.html.fromstring((out / "accessibilite/index.html").read_bytes()).text_content()
    assert "partiellement conforme" in a11y
    legal = lxml.html.fromstring((out / "mentions-legales/index.html").read_bytes()).text_content()
    assert "À compléter" in legal


def test_a_bad_statement_setting_is_one_clean_error(project: Path):
    config = project / "grandirenhlm.toml"
    text = config.read_text(encoding="utf-8").replace('status = "non conforme"', 'status = "conforme"')
    config.write_text(text.replace("[site.legal]\n", "[site.legal]\nowner = 1\n"), encoding="utf-8")
    result = run_cli(project, "build", "--output", str(project / "out"))
    assert_clean_error(
        result,
        "grandirenhlm.toml: site.accessibility.status: expected one of non conforme, partiellement conforme",
        "grandirenhlm.toml: site.legal.owner: unknown key",
    )
    assert not (project / "out").exists()


def test_fragments_made_once_per_place_are_the_bytes_every_page_would_render(project: Path, monkeypatch):
    """The templates' `memo` (pages.fragment_memo) renders the cover's picture, the subscribe block,
    the header, the footer and the head's links once per show and place instead of once per page:
    the site is the same, byte for byte, as with every fragment rendered on every page, linked as
    folders or not (a bare S3 endpoint), and each fragment was made once per place it stands."""
    for slug in ("grandir-en-hlm", "l-emission"):  # the same platforms: their blocks differ by the show
        show = project / "feeds" / f"{slug}.toml"
        show.write_text(
            show.read_text(encoding="utf-8") + '\n[links]\napple_podcasts = "1234567890"\ndeezer = "555"\n',
            encoding="utf-8",
        )
    real = page_module.fragment_memo
    made: list[str] = []
    used: list[str] = []

    def counted() -> object:
        memo = real()

        @jinja2.pass_context
        def counting(context, *key, caller):
            used.append(key[0])
            return memo(context, *key, caller=lambda: made.append(key[0]) or caller())

        return counting

    def every_time() -> object:
        @jinja2.pass_context
        def memo(context, *key, caller):
            return caller()

        return memo

    def site_bytes(folders: bool) -> dict[str, bytes]:
        loaded = load_project(project)
        built = build_site(loaded, load_catalog(loaded), BASE, AT, folders=folders)
        return {a.key: a.data for a in built if a.data is not None}

    for folders in (True, False):
        made.clear(), used.clear()
        monkeypatch.setattr(page_module, "fragment_memo", counted)
        memoized = site_bytes(folders)
        monkeypatch.setattr(page_module, "fragment_memo", every_time)
        assert site_bytes(folders) == memoized
        footers = [
            k for k, d in memoized.items() if k.endswith(".html") and b'<footer class="site-footer">' in d
        ]
        places = {(k == page_module.NOT_FOUND_PAGE, k.count("/")) for k in footers}  # rooted, depth
        assert used.count("footer") == len(footers) > made.count("footer") == len(places)
        assert used.count("subscribe") > made.count("subscribe") >= 2  # two shows
        assert set(made) == {"head", "header", "footer", "picture", "subscribe"}


def test_a_fragment_keyed_by_something_unhashable_is_rendered_every_time(project: Path):
    """A project's template may key `memo` by a list or a dict: the fragment is then rendered on
    each page instead of failing the build."""
    env = page_module.template_environment(load_project(project))
    template = env.from_string('{% call memo("k", [n]) %}<p>{{ n }}</p>{% endcall %}')
    ctx = page_module.PageContext(load_project(project), "show/index.html", BASE)
    assert [template.render(page=ctx, n=n) for n in (1, 2)] == ["<p>1</p>", "<p>2</p>"]


# ---------------------------------------------------------------- incremental builds


def _build_with_cache(root: Path) -> tuple[dict[str, bytes], PageCache]:
    project = load_project(root)
    cache = PageCache(project, root / ".grandirenhlm" / "pages")
    artifacts = build_site(project, load_catalog(project), BASE, AT, cache=cache)
    return {a.key: a.data for a in artifacts if a.data is not None}, cache


def test_an_incremental_build_renders_only_the_pages_whose_inputs_changed(project: Path):
    plain = {
        a.key: a.data
        for a in build_site(load_project(project), load_catalog(load_project(project)), BASE, AT)
        if a.data is not None
    }
    first, cache = _build_with_cache(project)
    assert first == plain  # the cache never changes a byte
    rendered = ("index.html", "404.html", "sitemap.xml", "robots.txt", "oembed.json", "feed.xsl")
    pages = [k for k in first if k.endswith(rendered)]
    # 22 pages (players for iframes and subscribe pages included), 7 oEmbed files, the stylesheet
    # of the feeds, sitemap.xml and robots.txt
    assert cache.rendered == len(pages) == 32 and cache.reused == 0

    again, cache = _build_with_cache(project)  # a new process: the pages come from disk
    assert again == first
    assert (cache.rendered, cache.reused) == (0, 32)

    record = project / "episodes/grandir-en-hlm/temoignage-3.toml"
    record.write_text(
        record.read_text(encoding="utf-8").replace('description = """', 'description = """Note ajoutée. ', 1),
        encoding="utf-8",
    )
    changed, cache = _build_with_cache(project)
    # The episode itself and the show page that lists it with its first sentence; its neighbours
    # show only its title, its player page and oEmbed file none of its notes.
    assert sorted(cache.rendered_keys) == [
        "grandir-en-hlm/index.html",
        "grandir-en-hlm/temoignage-3/index.html",
    ]
    assert b"Note ajout\xc3\xa9e." in changed["grandir-en-hlm/temoignage-3/index.html"]
    # Every page whose bytes changed was rendered.
    assert {k for k in first if first[k] != changed[k] and k in pages} == {
        "grandir-en-hlm/index.html",
        "grandir-en-hlm/temoignage-3/index.html",
    }

    transcript = project / "episodes/grandir-en-hlm/temoignage-2.vtt"
    transcript.write_text(
        transcript.read_text(encoding="utf-8").replace("Témoignage", "Le témoignage", 1), encoding="utf-8"
    )
    _, cache = _build_with_cache(project)
    assert sorted(cache.rendered_keys) == [
        "grandir-en-hlm/temoignage-2/index.html",
        "grandir-en-hlm/temoignage-2/lecteur/index.html",
    ]

    css = project / "templates/assets/style.css"
    css.write_text(css.read_text(encoding="utf-8") + "\n/* edited */\n", encoding="utf-8")
    _, cache = _build_with_cache(project)  # a template or asset edit re-renders everything
    assert (cache.rendered, cache.reused) == (32, 0)
    # Old versions are pruned: the cache holds one site.
    assert len(PageStore(project / ".grandirenhlm" / "pages").index()) == 32


def test_the_page_store_commits_before_its_pending_pages_grow_large(tmp_path: Path):
    """Pages put are held in memory until their transaction commits (to keep them if the file
    refuses it): a store commits after 500 pages or 2 MiB of them, whichever comes first, so a
    build does not hold a show's large list pages until its end. Seen from another connection."""
    store = PageStore(tmp_path)
    page = b"x" * (600 * 1024)
    for n in range(3):
        store.put(f"digest-{n}", f"sha-{n}", page)
    assert PageStore(tmp_path).index() == {}  # 1.8 MiB: not committed yet
    store.put("digest-3", "sha-3", page)  # 2.4 MiB: committed
    assert sorted(PageStore(tmp_path).index()) == [f"digest-{n}" for n in range(4)]
    small = [(f"small-{n}", b"<p>%d</p>" % n) for n in range(500)]
    for digest, data in small[:499]:
        store.put(digest, "sha", data)
    assert len(PageStore(tmp_path).index()) == 4
    digest, data = small[499]
    store.put(digest, "sha", data)
    assert len(PageStore(tmp_path).index()) == 504
    store.close()


@pytest.mark.parametrize(
    "data",
    [{}, {"version": "1.0", "width": 640}, {"title": 'a,\n "b"\n c', "html": "<iframe>’ é\u2028", "n": 0.5}],
)
def test_oembed_json_is_written_as_json_dumps_with_an_indent_writes_it(data: dict):
    """The oEmbed documents are made by the C encoder (`_flat_json`), byte for byte what
    `json.dumps(indent=1)` (the pure-Python encoder) wrote before, separators in strings included."""
    assert page_module._flat_json(data) == json.dumps(data, ensure_ascii=False, indent=1) + "\n"


def test_resized_covers_are_kept_and_reused(tmp_path: Path):
    from grandirenhlm.images import resize_cover

    cover = REPO / "feeds/art/grandir-en-hlm.jpg"
    first = resize_cover(cover, "show/cover-0123456789ab.jpg", tmp_path)
    assert [(r.width, r.content_type) for r in first.renditions] == [
        (w, t) for w in (300, 600, 1200) for t in ("image/webp", "image/jpeg")
    ] + [(32, "image/png"), (180, "image/png")]  # the favicon and the touch icon
    kept = sorted(p.name for p in tmp_path.iterdir())
    assert len(kept) == 8 and all("cover-0123456789ab-" in name for name in kept), kept
    assert resize_cover(cover, "show/cover-0123456789ab.jpg", tmp_path) == first
    # The second call read the kept files (a marked one, signed as this user's runs sign them,
    # comes back as it is), not the cover. (An unsigned one is not used: test_cache_trust.py.)
    from grandirenhlm import cachekey

    marked = next(p for p in tmp_path.iterdir() if p.name.endswith("-300.jpg"))
    marked.write_bytes(cachekey.sign(b"kept", name=marked.name))
    again = resize_cover(cover, "show/cover-0123456789ab.jpg", tmp_path)
    assert again.nearest(300).data == b"kept"
    assert resize_cover(cover, "show/cover-0123456789ab.jpg") == first  # no cache: resized afresh


def test_a_project_overrides_one_template_and_extends_the_packaged_one(project: Path):
    # The demo's templates/ is a copy of the packaged defaults: start the project's from empty.
    shutil.rmtree(project / "templates")
    (project / "templates").mkdir()
    (project / "templates/legal.html").write_text(
        '{% extends "default:legal.html" %}\n{% block main %}<h1>Nos mentions</h1>{{ super() }}{% endblock %}\n',
        encoding="utf-8",
    )
    out = _build(project)
    legal = lxml.html.fromstring((out / "mentions-legales/index.html").read_bytes())
    assert legal.xpath("//main/h1/text()") == ["Nos mentions", "Mentions légales"]
    assert (out / "assets/player.js").is_file()  # the packaged assets still ship


def test_a_template_error_is_one_clean_line(project: Path):
    (project / "templates/404.html").write_text(
        '{% extends "base.html" %}{% block main %}{{ nothing_here }}{% endblock %}', encoding="utf-8"
    )
    result = run_cli(project, "build", "--output", str(project / "out"))
    assert_clean_error(result, "templates/404.html: 'nothing_here' is undefined")


def test_episodes_in_series_order_for_a_serial_newest_first_otherwise(demo: Path, project: Path):
    def order(public: Path) -> list[str]:
        doc = lxml.html.fromstring((public / "grandir-en-hlm/index.html").read_bytes())
        return [h.split("/")[-2] for h in doc.xpath("//ol[@class='episodes']//h3/a/@href")]

    serial = [f"temoignage-{n}" for n in range(1, 7)]
    assert order(demo) == serial
    show = project / "feeds/grandir-en-hlm.toml"
    show.write_text(show.read_text(encoding="utf-8").replace('type = "serial"', 'type = "episodic"'))
    assert order(_build(project)) == serial[::-1]


# ---------------------------------------------------------------- issue 18: the pages' parts


def _position(doc, xpath: str) -> int:
    """Document order of the first element matching `xpath` (its index among all elements)."""
    (first, *_) = doc.xpath(xpath) or [None]
    assert first is not None, xpath
    return list(doc.iter()).index(first)


@pytest.mark.parametrize(
    "key", ["grandir-en-hlm/temoignage-1/index.html", "l-emission/replay-2023/index.html"]
)
def test_episode_page_order(demo: Path, key: str):
    """Cover beside the title, the player, subscribe, notes, chapters, the transcript, share,
    previous/next: cover and player before the notes, notes before the transcript."""
    doc = _pages(demo)[key]
    parts = [
        "//main/header//picture",  # the cover
        "//main/header//h1",
        "//main//*[@id='lecteur']",  # the player
        "//main/section[@class='subscribe']",
        "//main/section[@class='notes']",
        "//main/section[@aria-labelledby='chapitres']",
        "//main/section[@class='transcript-section']",
        "//main/section[@class='share-section']",
    ]
    positions = [_position(doc, xpath) for xpath in parts]
    assert positions == sorted(positions), list(zip(parts, positions, strict=True))
    if key.endswith("temoignage-1/index.html"):
        assert _position(doc, "//main/section[@class='share-section']") < _position(
            doc, "//nav[@class='pager']"
        )
    # The header holds the show's name, the date and the duration beside the cover and title.
    header = doc.xpath("//main/header")[0].text_content()
    assert ("Grandir en Hlm" in header or "l’Émission" in header) and "2023" in header and "Durée" in header
    # The whole transcript is in the HTML, for search engines and screen readers.
    vtt = (REPO / "episodes" / key.split("/")[0] / (key.split("/")[1] + ".vtt")).read_text(encoding="utf-8")
    assert len(doc.xpath("//div[@class='transcript']/p[@class='cue']")) == vtt.count(" --> ")


def test_show_page_has_cover_author_description_subscribe_and_episode_cards(demo: Path):
    doc = _pages(demo)["grandir-en-hlm/index.html"]
    assert doc.xpath("//main/header//picture") and doc.xpath("//main/header//h1/text()") == ["Grandir en Hlm"]
    assert "Par Union sociale pour l’habitat" in doc.xpath("//main/header")[0].text_content()
    order = [
        _position(doc, xpath)
        for xpath in ("//main/header", "//main/section[@class='notes']", "//main/section[@class='subscribe']")
    ]
    assert order == sorted(order)
    cards = doc.xpath("//ol[@class='episodes']/li")
    assert len(cards) == 6
    for card in cards:
        assert card.xpath(".//picture") and card.xpath(".//h3/a")
        meta = card.xpath(".//p[@class='meta']")[0].text_content()
        assert "2023" in meta and "s" in meta  # date, duration
        assert "Épisode" not in meta  # the title already says « n° N »
        excerpt = card.xpath(".//p[@class='excerpt']")[0].text_content()
        assert excerpt.startswith(("Premier", "Deuxième", "Troisième", "Quatrième", "Cinquième", "Sixième"))
        (player,) = card.xpath(".//audio")  # plays in place, nothing fetched before the listener asks
        assert player.get("preload") == "none" and player.get("autoplay") is None
        assert player.get("controls") is not None and player.get("aria-label")
        assert player.xpath("source/@type") == ["audio/mpeg"]
    # The replay, a video, plays its audio-only version in the list.
    other = _pages(demo)["l-emission/index.html"]
    assert other.xpath("//ol[@class='episodes']//audio/source/@src")[0].endswith(".m4a")


def test_home_page_cards(demo: Path):
    doc = _pages(demo)["index.html"]
    cards = doc.xpath("//ul[contains(@class, 'show-cards')]/li")
    assert len(cards) == 2
    text = [c.text_content() for c in cards]
    assert "6 épisodes" in text[0] and "Dernier épisode" in text[0] and "Témoignage n° 6" in text[0]
    assert "1 épisode" in text[1] and "Le replay" in text[1]
    for card in cards:
        assert card.xpath(".//picture") and card.xpath(".//h3/a")
        assert card.xpath(".//a[@class='subscribe-link']/@href")[0].endswith("/abonnement/")


def test_subscribe_page(demo: Path):
    doc = _pages(demo)["grandir-en-hlm/abonnement/index.html"]
    assert doc.xpath("//h1")[0].text_content() == "S’abonner à Grandir en Hlm"
    (field,) = doc.xpath("//input[@id='adresse-flux']")
    assert field.get("value") == BASE + "grandir-en-hlm/feed.xml" and field.get("readonly") is not None
    text = doc.xpath("//main")[0].text_content()
    assert "AntennaPod" in text and "par URL" in text
    assert not doc.xpath("//a[contains(@href, 'feed.xml')]")  # the address is to copy, not to click


def test_no_developer_words_in_public_text(demo: Path):
    """Listeners read « démonstration », not the words of the people who build the site."""
    words = re.compile(r"dépôt|repository|grandirenhlm|template|\bbuild\b|\bgit\b", re.IGNORECASE)
    for key, doc in _pages(demo).items():
        for bad in doc.xpath("//script | //style"):
            bad.drop_tree()
        found = words.findall(doc.text_content())
        assert not found, (key, found)
    for show in ("grandir-en-hlm", "l-emission"):
        channel = lxml.etree.fromstring((demo / show / "feed.xml").read_bytes()).find("channel")
        assert "démonstration" in channel.findtext("description")
        assert not words.search(channel.findtext("description"))


def test_favicon_touch_icon_and_theme_colour(demo: Path):
    for key, doc in _pages(demo).items():
        if "/lecteur/" in key:
            continue
        (icon,) = doc.xpath("//link[@rel='icon']")
        (touch,) = doc.xpath("//link[@rel='apple-touch-icon']/@href")
        assert icon.get("type") == "image/png" and icon.get("sizes") == "32x32"
        folder = (demo / key).parent if key != "404.html" else demo
        for href, size in ((icon.get("href"), 32), (touch, 180)):
            path = demo / href.lstrip("/") if href.startswith("/") else (folder / href).resolve()
            with Image.open(path) as im:
                assert (im.format, im.size) == ("PNG", (size, size)), (key, href)
        colours = doc.xpath("//meta[@name='theme-color']")
        assert [c.get("media") for c in colours] == [
            "(prefers-color-scheme: light)",
            "(prefers-color-scheme: dark)",
        ]
    with Image.open(demo / "favicon.ico") as im:
        assert im.format == "ICO"
    # A show's pages take its colours (feeds/*.toml [theme]); pages of no show the site's own.
    show = _pages(demo)["l-emission/replay-2023/index.html"]
    assert "--show-accent:#1d3557" in show.get("style")
    assert show.xpath("//meta[@name='theme-color']/@content")[0] == "#1d3557"
    assert _pages(demo)["accessibilite/index.html"].get("style") is None


# ---------------------------------------------------------------- issue 18: colours


def test_stylesheet_backgrounds_are_the_ones_the_contrast_check_uses():
    from grandirenhlm import theme

    css = (REPO / "templates/assets/style.css").read_text(encoding="utf-8")
    light, dark = css.split("@media (prefers-color-scheme: dark)", 1)
    dark = dark.split("}", 2)[0] + "}"
    for block, backgrounds, default in (
        (light, theme.LIGHT_BACKGROUNDS, theme.DEFAULT.accent),
        (dark, theme.DARK_BACKGROUNDS, theme.DEFAULT.accent_dark),
    ):
        paper = re.search(r"--paper: (#[0-9a-f]{6})", block).group(1)
        surface = re.search(r"--surface: (#[0-9a-f]{6})", block).group(1)
        assert (paper, surface) == backgrounds
        assert f"--show-accent{'-dark' if block is dark else ''}, {default})" in block
        assert all(theme.contrast(default, b) >= theme.AA for b in backgrounds)


@pytest.mark.parametrize(
    ("accent", "expected"),
    [("#00529c", None), ("#1d3557", None), ("#6fa8dc", "theme.accent: #6fa8dc on #eef2f7 has a contrast of")],
)
def test_theme_contrast_is_checked(project: Path, accent: str, expected: str | None):
    show = project / "feeds" / "l-emission.toml"
    show.write_text(
        show.read_text(encoding="utf-8").replace('accent = "#1d3557"', f'accent = "{accent}"'),
        encoding="utf-8",
    )
    result = run_cli(project, "check")
    theme_lines = [line for line in result.stderr.splitlines() if ": theme." in line]
    if expected is None:
        assert result.exit_code == 0, result.stderr
        assert theme_lines == []
    else:
        assert result.exit_code == 1
        (line,) = theme_lines
        assert line.startswith("error: ") and f"feeds/l-emission.toml: {expected}" in line
        assert "WCAG AA" in line and "darker" in line
        published = run_cli(project, "publish")  # the check stops a publish
        assert published.exit_code == 1 and not (project / "public" / "index.html").exists()


def test_a_dark_accent_is_derived_to_pass_and_a_given_one_is_checked(project: Path):
    from grandirenhlm import theme

    for accent in ("#00529c", "#1d3557", "#8a1538", "#000000", "#004d00"):
        dark = theme.derive_dark(accent)
        assert all(theme.contrast(dark, b) >= theme.AA for b in theme.DARK_BACKGROUNDS), (accent, dark)
    show = project / "feeds" / "l-emission.toml"
    show.write_text(
        show.read_text(encoding="utf-8").replace(
            'accent = "#1d3557"', 'accent = "#1d3557"\naccent_dark = "#1d3557"'
        ),
        encoding="utf-8",
    )
    result = run_cli(project, "check")
    (line,) = [line for line in result.stderr.splitlines() if ": theme." in line]
    assert (
        line.startswith("error: ") and "feeds/l-emission.toml: theme.accent_dark: #1d3557 on #21262d" in line
    )
    assert "lighter" in line and result.exit_code == 1


def test_a_malformed_theme_is_one_clean_error(project: Path):
    show = project / "feeds" / "l-emission.toml"
    show.write_text(
        show.read_text(encoding="utf-8").replace('accent = "#1d3557"', 'accent = "bleu"'), encoding="utf-8"
    )
    expected = "feeds/l-emission.toml: theme.accent: expected a colour like \"#00529c\", got 'bleu'"
    assert_clean_error(run_cli(project, "build", "--output", str(project / "out")), expected)
    assert expected in run_cli(project, "check").stderr
    assert not (project / "out").exists()


# ---------------------------------------------------------------- issue 18: folder links


def test_links_end_at_the_folder_or_at_index_html(project: Path):
    """Folders where the server answers for them; `index.html` for a bare S3 endpoint."""
    pretty = {a.key: a.data for a in site.render(load_project(project), BASE, AT, cache=False) if a.data}
    plain = {
        a.key: a.data
        for a in site.render(load_project(project), BASE, AT, cache=False, folders=False)
        if a.data
    }
    for pages, suffix in ((pretty, ""), (plain, "index.html")):
        doc = lxml.html.fromstring(pages["grandir-en-hlm/temoignage-2/index.html"])
        assert doc.xpath("//link[@rel='canonical']/@href") == [f"{BASE}grandir-en-hlm/temoignage-2/{suffix}"]
        assert doc.xpath("//a[@rel='next']/@href") == [f"../../grandir-en-hlm/temoignage-3/{suffix}"]
        assert doc.xpath("//p[@class='kicker']/a/@href") == [f"../../grandir-en-hlm/{suffix}"]
        assert doc.xpath("//header[@class='site-header']//a/@href") == [f"../../{suffix}"]
        sitemap = lxml.etree.fromstring(pages["sitemap.xml"])
        assert f"{BASE}grandir-en-hlm/{suffix}" in sitemap.xpath("//*[local-name()='loc']/text()")
        oembed = json.loads(pages["grandir-en-hlm/temoignage-2/oembed.json"])
        assert f'src="{BASE}grandir-en-hlm/temoignage-2/lecteur/{suffix}"' in oembed["html"]
        not_found = lxml.html.fromstring(pages["404.html"])
        assert not_found.xpath("//main//a/@href") == [f"/{suffix}"]
    home = lxml.html.fromstring(pretty["index.html"])
    assert home.xpath("//header[@class='site-header']//a/@href") == ["./"]


@pytest.mark.parametrize(
    ("url", "options", "public", "expected"),
    [
        ("public", {}, "", True),  # a folder: what `serve` serves
        ("s3://podcasts/hlm", {"endpoint_url": "http://127.0.0.1:9000"}, "", False),
        ("s3://podcasts/hlm", {"endpoint_url": "http://127.0.0.1:9000"}, "http://127.0.0.1:9000/podcasts/hlm/", False),
        ("s3://podcasts/hlm", {"endpoint_url": "https://s3.fr-par.scw.cloud"}, "https://podcasts.s3.fr-par.scw.cloud/hlm/", False),
        ("s3://podcasts/hlm", {"endpoint_url": "https://s3.fr-par.scw.cloud"}, "https://podcasts.s3-website.fr-par.scw.cloud/hlm/", True),
        ("s3://podcasts/hlm", {"region": "eu-west-3"}, "", False),
        ("s3://podcasts/hlm", {"region": "eu-west-3"}, "https://s3.eu-west-3.amazonaws.com/podcasts/hlm/", False),
        ("s3://podcasts/hlm", {"region": "eu-west-3"}, "http://podcasts.s3-website.eu-west-3.amazonaws.com/hlm/", True),
        ("s3://podcasts/hlm", {"region": "eu-west-3"}, "https://d111111abcdef8.cloudfront.net/hlm/", True),
        ("s3://podcasts/hlm", {"endpoint_url": "https://s3.example.net"}, "https://podcasts.example.org/", True),
        ("s3://podcasts/hlm", {"endpoint_url": "https://s3.example.net", "index_documents": "no"}, "https://podcasts.example.org/", False),
        ("s3://podcasts/hlm", {"endpoint_url": "http://127.0.0.1:9000", "index_documents": "yes"}, "", True),
    ],
)  # fmt: skip
def test_which_targets_serve_folder_indexes(url: str, options: dict, public: str, expected: bool):
    from grandirenhlm.config import Target

    target = Target("t", url, public, options)
    assert site.serves_folder_indexes(target) is expected


def test_index_documents_is_a_target_setting_and_a_flag(project: Path, tmp_path: Path):
    config = project / "grandirenhlm.toml"
    config.write_text(
        config.read_text(encoding="utf-8")
        + '\n[targets.bucket]\nurl = "s3://podcasts/hlm"\nendpoint_url = "http://127.0.0.1:9"\n'
        'public_base_url = "https://podcasts.example.org/"\nindex_documents = "no"\n',
        encoding="utf-8",
    )
    target = load_project(project).targets["bucket"]
    assert target.option("index_documents") == "no" and not site.serves_folder_indexes(target)
    flagged = site.resolve_target(load_project(project), "bucket", index_documents="yes")
    assert site.serves_folder_indexes(flagged)
    config.write_text(config.read_text(encoding="utf-8").replace('= "no"', '= "sometimes"'), encoding="utf-8")
    result = run_cli(project, "check")
    assert_clean_error(
        result, "grandirenhlm.toml: targets.bucket.index_documents: expected one of auto, yes, no"
    )


# ---------------------------------------------------------------- issue 13 item 7: links in notes


def test_links_in_notes_are_links_on_the_page_sanitised_like_the_feed(project: Path):
    record = project / "episodes/grandir-en-hlm/temoignage-2.toml"
    notes = (
        "Pour en savoir plus : https://www.union-habitat.org/ et la série "
        "http://127.0.0.1:8000/grandir-en-hlm/.\n\n<script>alert(1)</script> javascript:alert(2) "
        '<a href="https://example.org/">pas un lien</a>'
    )
    text = record.read_text(encoding="utf-8")
    start = text.index('description = """')
    end = text.index('"""', start + 20) + 3
    record.write_text(text[:start] + f"description = '''{notes}'''" + text[end:], encoding="utf-8")
    out = _build(project)
    doc = lxml.html.fromstring((out / "grandir-en-hlm/temoignage-2/index.html").read_bytes())
    links = [(a.get("href"), a.get("rel"), a.text) for a in doc.xpath("//section[@class='notes']//a")]
    assert links == [
        ("https://www.union-habitat.org/", "noopener", "https://www.union-habitat.org/"),
        ("http://127.0.0.1:8000/grandir-en-hlm/", None, "http://127.0.0.1:8000/grandir-en-hlm/"),
        # HTML in notes is text; the address inside it is still an address, as in the feed
        ("https://example.org/", "noopener", "https://example.org/"),
    ]
    notes_text = doc.xpath("//section[@class='notes']")[0].text_content()
    assert "<script>alert(1)</script>" in notes_text and '<a href="https://example.org/">' in notes_text
    assert not doc.xpath("//section[@class='notes']//script")
    # The feed's content:encoded links the same addresses.
    feed = lxml.etree.fromstring((out / "grandir-en-hlm/feed.xml").read_bytes())
    ns = {"content": "http://purl.org/rss/1.0/modules/content/"}
    item = next(i for i in feed.iter("item") if i.findtext("title") == "Témoignage n° 2")
    encoded = lxml.html.fromstring(item.xpath("content:encoded/text()", namespaces=ns)[0])
    assert [a.get("href") for a in encoded.xpath("//a")] == [h for h, _, _ in links]


# ---------------------------------------------------------------- issue 17 items 2 and 3


def test_episode_page_offers_the_embed_code_and_announces_its_oembed(demo: Path):
    for key in ("grandir-en-hlm/temoignage-1/index.html", "l-emission/replay-2023/index.html"):
        doc = _pages(demo)[key]
        folder = key.removesuffix("index.html")
        (oembed_link,) = doc.xpath("//link[@rel='alternate'][@type='application/json+oembed']/@href")
        assert oembed_link == f"{BASE}{folder}oembed.json"
        data = json.loads((demo / folder / "oembed.json").read_bytes())
        assert data["version"] == "1.0" and data["type"] == "rich"
        for field in ("html", "width", "height", "title", "author_name", "provider_name", "thumbnail_url"):
            assert data[field], field
        assert data["author_name"] == "Union sociale pour l’habitat"
        assert data["provider_name"] == "Les podcasts de la Semaine de l’innovation Hlm"
        assert (demo / data["thumbnail_url"].removeprefix(BASE)).is_file()
        iframe = lxml.html.fromstring(data["html"])
        assert iframe.tag == "iframe" and iframe.get("src") == f"{BASE}{folder}lecteur/"
        assert (int(iframe.get("width")), int(iframe.get("height"))) == (data["width"], data["height"])
        assert iframe.get("title").startswith("Lecteur")
        # The same code, to copy, on the episode page.
        (code,) = doc.xpath("//textarea[@id='code-integration']")
        assert code.text == data["html"] and code.get("readonly") is not None


@pytest.mark.parametrize("slug", ["grandir-en-hlm/temoignage-1", "l-emission/replay-2023"])
def test_embed_page(demo: Path, slug: str):
    doc = _pages(demo)[f"{slug}/lecteur/index.html"]
    (player,) = doc.xpath("//main//audio | //main//video")
    assert (
        player.get("preload") == "none"
        and player.get("autoplay") is None
        and player.get("controls") is not None
    )
    assert doc.xpath("//h1/a/@href") == [f"../../../{slug}/"] and doc.xpath("//h1/a/@target") == ["_blank"]
    assert "Grandir en Hlm" in doc.text_content() or "l’Émission" in doc.text_content()
    assert doc.xpath("//main/header/img/@src")[0].endswith(".webp")
    assert len(doc.xpath("//ol[@class='chapters']/li")) >= 3 and doc.xpath("//div[@class='transcript']/p")
    if player.tag == "video":
        (track,) = player.xpath(".//track")
        assert track.get("kind") == "captions" and track.get("srclang") == "fr"
    # Everything from this site: relative references only, no iframe, no form, no cookie script.
    refs = doc.xpath("//@src | //@href | //@poster | //@srcset")
    local = [r for r in refs if not r.startswith("http")]
    assert local and all(not urlsplit(r).netloc for r in local)
    assert [r for r in refs if r.startswith("http")] == [doc.xpath("//link[@rel='canonical']/@href")[0]]
    assert "cookie" not in (demo / "assets/player.js").read_text(encoding="utf-8")


def test_feeds_name_their_stylesheet_and_every_parser_still_reads_them(demo: Path):
    import feedparser
    import podcastparser

    xsl = lxml.etree.parse(str(demo / "assets/feed.xsl"))
    assert xsl.getroot().tag == "{http://www.w3.org/1999/XSL/Transform}stylesheet"
    for show, count in (("grandir-en-hlm", 6), ("l-emission", 1)):
        data = (demo / show / "feed.xml").read_bytes()
        first, second = data.splitlines()[:2]
        assert first.startswith(b"<?xml version=") and second == (
            b'<?xml-stylesheet type="text/xsl" href="../assets/feed.xsl"?>'
        )
        parsed = feedparser.parse(data)
        assert not parsed.bozo and len(parsed.entries) == count
        assert len(podcastparser.parse(f"{BASE}{show}/feed.xml", io.BytesIO(data))["episodes"]) == count
        # The stylesheet turns the feed into a French page (lxml's libxslt, as browsers apply it).
        page = lxml.etree.XSLT(xsl)(lxml.etree.fromstring(data))
        html_doc = lxml.html.fromstring(str(page))
        assert html_doc.get("lang") == "fr"
        assert html_doc.xpath("//h1/text()") == [
            "Grandir en Hlm" if show == "grandir-en-hlm" else "l’Émission – Semaine de l’innovation Hlm 2023"
        ]
        assert len(html_doc.xpath("//ol[@class='episodes']/li")) == count
        assert html_doc.xpath("//input[@id='adresse-flux']/@value") == [f"{BASE}{show}/feed.xml"]
        assert html_doc.xpath("//a[starts-with(@href, 'abonnement/')]")
        dates = html_doc.xpath("//ol[@class='episodes']//p[@class='meta']")[0].text_content()
        assert re.search(r"\d{1,2} (juin|juillet) 2023 · \d+ s", " ".join(dates.split())), dates


def test_first_sentence():
    from grandirenhlm.text import first_sentence

    assert first_sentence("Une phrase. Une autre.") == "Une phrase."
    assert first_sentence("Quoi ? « Oui ».") == "Quoi ?"
    assert (
        first_sentence("\n\nPremier paragraphe\nsur deux lignes.\n\nSecond.")
        == "Premier paragraphe sur deux lignes."
    )
    long = "mot " * 80
    cut = first_sentence(long, limit=50)
    assert len(cut) <= 50 and cut.endswith("mot…")


def test_the_player_pages_key_spells_the_episode_without_its_notes(demo_project: Path):
    """The player page's and oEmbed file's cache key spells the episode as if its description were
    empty, cut out of the episode's own spelling: the same text as spelling that copy, also when
    the notes' text appears in another field too (then the copy is spelled)."""
    from dataclasses import replace

    from grandirenhlm.pages import _spell_without_notes

    catalog = load_catalog(load_project(demo_project))
    episodes = [e for eps in catalog.episodes.values() for e in eps]
    tricky = replace(episodes[0], title=f"x', description={episodes[0].description!r}, y")
    for episode in [*episodes, tricky, replace(episodes[0], description="")]:
        expected = repr(replace(episode, description=""))
        assert _spell_without_notes(repr(episode), episode) == expected
