"""A show's episodes listed `SHOW_PAGE_EPISODES` a page: an archive of thousands of episodes is many
light pages linked in reading order, every episode on exactly one of them, and the pages hold fixed
blocks, so that an edit or a new episode makes one or two pages again, not all of them."""

from __future__ import annotations

import dataclasses
import json
import posixpath
import shutil
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import lxml.html
import pytest

from grandirenhlm.build import build_site
from grandirenhlm.catalog import Catalog, load_catalog
from grandirenhlm.config import load_project
from grandirenhlm.pages import SHOW_PAGE_EPISODES, PageCache
from tests.browser_support import unavailable
from tests.test_a11y import _vnu_jar

BASE = "https://podcasts.example.org/"
AT = datetime(2026, 1, 1, tzinfo=UTC)
SHOW = "grandir-en-hlm"
COUNT = 2 * SHOW_PAGE_EPISODES + SHOW_PAGE_EPISODES // 2
SHOW_PAGE = f"{SHOW}/index.html"


def page(n: int) -> str:
    return f"{SHOW}/page/{n}/index.html"


def archive(root: Path, show_type: str, count: int = COUNT, edited: int | None = None) -> tuple:
    """The demo's show as a `show_type` with `count` episodes a day apart (made from its first one),
    as a catalog built in code."""
    project = load_project(root)
    demo = load_catalog(project)
    first = demo.episodes[SHOW][0]
    episodes = tuple(
        dataclasses.replace(
            first,
            slug=f"archive-{i:03d}",
            guid=str(uuid.UUID(int=i + 1)),
            title=f"Archive {i:03d}" + (" (corrigée)" if i == edited else ""),
            number=None,
            pub_date=datetime(2020, 1, 1, tzinfo=UTC) + timedelta(days=i),
        )
        for i in range(count)
    )
    show = dataclasses.replace(demo.shows[SHOW], show_type=show_type)
    return project, Catalog(shows={SHOW: show}, episodes={SHOW: episodes})


def build(root: Path, show_type: str, count: int = COUNT, edited: int | None = None):
    project, catalog = archive(root, show_type, count, edited)
    cache = PageCache(project, root / ".grandirenhlm" / "pages")
    artifacts = build_site(project, catalog, BASE, AT, cache=cache)
    return {a.key: a.data for a in artifacts if a.data is not None}, cache


def list_pages(keys) -> list[str]:
    return sorted(k for k in keys if k == SHOW_PAGE or k.startswith(f"{SHOW}/page/"))


def target(key: str, href: str) -> str:
    """The key a relative link on page `key` leads to (folders end at their index.html)."""
    path = posixpath.normpath(posixpath.join(posixpath.dirname(key), href))
    return path + "/index.html" if href.endswith("/") else path


# reading order of the list pages, and the episodes each lists, for COUNT = 250
READING = {
    # a serial from its first episode: the show's page holds the first block, the last page grows
    "serial": [(SHOW_PAGE, range(0, 100)), (page(2), range(100, 200)), (page(3), range(200, 250))],
    # newest first: the show's page holds the newest 100 to 199, page 1 the oldest block
    "episodic": [(SHOW_PAGE, range(249, 99, -1)), (page(1), range(99, -1, -1))],
}


@pytest.mark.parametrize("show_type", ["serial", "episodic"])
def test_every_episode_is_listed_once_in_reading_order_across_linked_pages(
    demo_project: Path, show_type: str
) -> None:
    site, _ = build(demo_project, show_type)
    reading = READING[show_type]
    keys = [key for key, _ in reading]
    assert list_pages(site) == sorted(keys)
    titles = set()
    for n, (key, listed) in enumerate(reading):
        doc = lxml.html.fromstring(site[key])
        titles.add(doc.findtext(".//title"))
        cards = [target(key, a.get("href")) for a in doc.xpath('//ol[@class="episodes"]/li//h3/a')]
        assert cards == [f"{SHOW}/archive-{i:03d}/index.html" for i in listed]
        # the list numbers each episode by its place in the show, on every page
        (ol,) = doc.xpath('//ol[@class="episodes"]')
        first = listed[0] + 1
        if show_type == "serial":
            assert ol.get("start", "1") == str(first) and ol.get("reversed") is None
        else:
            assert ol.get("start") == str(first) and ol.get("reversed") is not None
        assert doc.xpath('//link[@rel="canonical"]/@href') == [BASE + key.removesuffix("index.html")]
        prev = doc.xpath('//nav[@class="pager"]/a[@rel="prev"]/@href')
        nxt = doc.xpath('//nav[@class="pager"]/a[@rel="next"]/@href')
        assert [target(key, h) for h in prev] == keys[n - 1 : n] if n else prev == []
        assert [target(key, h) for h in nxt] == keys[n + 1 : n + 2]
    assert len(titles) == len(keys)  # each page its own title
    sitemap = site["sitemap.xml"].decode()
    assert all(BASE + k.removesuffix("index.html") in sitemap for k in keys)


def test_an_edit_makes_only_the_page_that_lists_the_episode_again(demo_project: Path) -> None:
    build(demo_project, "serial")
    pages, cache = build(demo_project, "serial", edited=125)  # on page 2
    assert list_pages(cache.rendered_keys) == [page(2)]
    assert "Archive 125 (corrigée)".encode() in pages[page(2)]


def test_new_episodes_make_only_the_show_page_again_until_a_block_is_archived(demo_project: Path) -> None:
    build(demo_project, "episodic")
    _, cache = build(demo_project, "episodic", COUNT + 1)  # one more episode
    assert list_pages(cache.rendered_keys) == [SHOW_PAGE]
    site, cache = build(demo_project, "episodic", 3 * SHOW_PAGE_EPISODES)  # a block is full: archived
    # the new page, the show's page it left, and the page before it, whose link now leads there
    assert list_pages(cache.rendered_keys) == [SHOW_PAGE, page(1), page(2)]
    assert list_pages(site) == [SHOW_PAGE, page(1), page(2)]


def test_a_show_without_episodes_has_its_page(demo_project: Path) -> None:
    project, catalog = archive(demo_project, "episodic", 0)
    site = {a.key: a.data for a in build_site(project, catalog, BASE, AT) if a.data is not None}
    assert "Aucun épisode n’est encore publié".encode() in site[SHOW_PAGE]
    assert list_pages(site) == [SHOW_PAGE]


def test_paged_show_pages_are_valid_html(demo_project: Path, tmp_path: Path) -> None:
    """The W3C Nu HTML checker (as in test_a11y, which sees only the demo's unpaged shows) on every
    list page of a paged serial and a paged episodic show."""
    java = shutil.which("java")
    if java is None:
        unavailable("java is missing; run scripts/ensure-test-java (as root) to install it", module=False)
    files = []
    for show_type in READING:
        site, _ = build(demo_project, show_type)
        for key, _ in READING[show_type]:
            path = tmp_path / show_type / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(site[key])
            files.append(str(path))
    proc = subprocess.run(
        [java, "-Xss4m", "-jar", str(_vnu_jar()), "--format", "json", "--stdout", *files],
        capture_output=True,
        text=True,
        timeout=300,
    )
    errors = [m["message"] for m in json.loads(proc.stdout)["messages"] if m["type"] == "error"]
    assert errors == [] and proc.returncode == 0, errors


def test_check_warns_when_a_project_show_template_does_not_link_the_pages(demo_project: Path) -> None:
    """A project's own show.html made before lists were paged would hide all but one block."""
    from grandirenhlm.check import template_findings

    _, catalog = archive(demo_project, "episodic")
    own = demo_project / "templates" / "show.html"
    own.parent.mkdir(exist_ok=True)
    packaged = (Path(__file__).resolve().parents[1] / "templates" / "show.html").read_text(encoding="utf-8")
    own.write_text(packaged, encoding="utf-8")
    assert template_findings(demo_project / "templates", catalog) == []  # the packaged one links them
    # a project's template from before: every episode it is given, no link to other pages
    own.write_text(
        '{% extends "base.html" %}{% block main %}{% for e in episodes %}{{ e.title }}{% endfor %}{% endblock %}',
        encoding="utf-8",
    )
    (finding,) = template_findings(demo_project / "templates", catalog)
    assert finding.level == "warning" and "show.html" in finding.where and SHOW in finding.message
    short = Catalog(shows=catalog.shows, episodes={SHOW: catalog.episodes[SHOW][:SHOW_PAGE_EPISODES]})
    assert template_findings(demo_project / "templates", short) == []  # one page: nothing hidden
