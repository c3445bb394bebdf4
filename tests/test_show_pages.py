"""A show's episodes listed `SHOW_PAGE_EPISODES` a page: an archive of thousands of episodes is many
light pages linked in order, every episode on exactly one of them, and an edit makes only the page
that lists the episode again."""

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

from grandirenhlm import layout
from grandirenhlm.build import build_site
from grandirenhlm.catalog import Catalog, load_catalog
from grandirenhlm.config import load_project
from grandirenhlm.pages import SHOW_PAGE_EPISODES, PageCache
from tests.browser_support import unavailable
from tests.test_a11y import _vnu_jar

BASE = "https://podcasts.example.org/"
AT = datetime(2026, 1, 1, tzinfo=UTC)
SHOW = "grandir-en-hlm"
COUNT = 2 * SHOW_PAGE_EPISODES + SHOW_PAGE_EPISODES // 2  # three pages, the last one half full


def archive(root: Path, edited: int | None = None) -> tuple:
    """The demo's show with COUNT episodes (made from its first one), as a catalog built in code."""
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
        for i in range(COUNT)
    )
    return project, Catalog(shows={SHOW: demo.shows[SHOW]}, episodes={SHOW: episodes})


def build(root: Path, edited: int | None = None) -> tuple[dict[str, bytes], PageCache]:
    project, catalog = archive(root, edited)
    cache = PageCache(project, root / ".grandirenhlm" / "pages")
    artifacts = build_site(project, catalog, BASE, AT, cache=cache)
    return {a.key: a.data for a in artifacts if a.data is not None}, cache


def target(key: str, href: str) -> str:
    """The key a relative link on page `key` leads to (folders end at their index.html)."""
    path = posixpath.normpath(posixpath.join(posixpath.dirname(key), href))
    return path + "/index.html" if href.endswith("/") else path


@pytest.fixture
def site(demo_project: Path) -> dict[str, bytes]:
    return build(demo_project)[0]


def test_every_episode_is_listed_once_in_order_across_linked_pages(site: dict[str, bytes]) -> None:
    assert b"Les \xc3\xa9pisodes, dans l\xe2\x80\x99ordre" in site[f"{SHOW}/index.html"]  # a serial
    keys = [f"{SHOW}/index.html", f"{SHOW}/page/2/index.html", f"{SHOW}/page/3/index.html"]
    assert [k for k in site if k.startswith(f"{SHOW}/page/") or k == f"{SHOW}/index.html"] == keys[
        :1
    ] + sorted(keys[1:])
    listed: list[str] = []
    titles = set()
    for n, key in enumerate(keys, start=1):
        doc = lxml.html.fromstring(site[key])
        titles.add(doc.findtext(".//title"))
        cards = doc.xpath('//ol[@class="episodes"]/li//h3/a')
        assert len(cards) == (SHOW_PAGE_EPISODES if n < 3 else COUNT - 2 * SHOW_PAGE_EPISODES)
        listed += [target(key, a.get("href")) for a in cards]
        assert doc.xpath('//link[@rel="canonical"]/@href') == [BASE + key.removesuffix("index.html")]
        prev, nxt = (
            doc.xpath('//nav[@class="pager"]/a[@rel="prev"]/@href'),
            doc.xpath('//nav[@class="pager"]/a[@rel="next"]/@href'),
        )
        assert [target(key, h) for h in prev] == ([keys[n - 2]] if n > 1 else [])
        assert [target(key, h) for h in nxt] == ([keys[n]] if n < 3 else [])
        if n > 1:
            assert f"page {n} sur 3" in doc.findtext(".//title")
    # the demo's show is a serial: series order (these have no number: oldest first)
    expected = [f"{SHOW}/archive-{i:03d}/index.html" for i in range(COUNT)]
    assert listed == expected  # each once, in the show's order, page after page
    assert len(titles) == 3  # each page its own title
    sitemap = site["sitemap.xml"].decode()
    assert all(BASE + k.removesuffix("index.html") in sitemap for k in keys)


def test_an_edit_makes_only_the_page_that_lists_the_episode_again(demo_project: Path) -> None:
    build(demo_project)
    edited = COUNT // 2  # listed on page 2
    pages, cache = build(demo_project, edited)
    shows = sorted(
        k for k in cache.rendered_keys if k.startswith(f"{SHOW}/page/") or k == f"{SHOW}/index.html"
    )
    assert shows == [layout.show_page(archive(demo_project)[1].shows[SHOW], 2)]
    assert "Archive 125 (corrigée)".encode() in pages[f"{SHOW}/page/2/index.html"]


def test_a_show_without_episodes_has_its_page(demo_project: Path) -> None:
    project = load_project(demo_project)
    demo = load_catalog(project)
    catalog = Catalog(shows={SHOW: demo.shows[SHOW]}, episodes={SHOW: ()})
    site = {a.key: a.data for a in build_site(project, catalog, BASE, AT) if a.data is not None}
    assert "Aucun épisode n’est encore publié".encode() in site[f"{SHOW}/index.html"]
    assert not any(k.startswith(f"{SHOW}/page/") for k in site)


def test_paged_show_pages_are_valid_html(site: dict[str, bytes], tmp_path: Path) -> None:
    """The W3C Nu HTML checker (as in test_a11y, which sees only the demo's unpaged shows) on the
    first, a middle and the last page of the list."""
    java = shutil.which("java")
    if java is None:
        unavailable("java is missing; run scripts/ensure-test-java (as root) to install it", module=False)
    files = []
    for n, key in enumerate((f"{SHOW}/index.html", f"{SHOW}/page/2/index.html", f"{SHOW}/page/3/index.html")):
        path = tmp_path / f"page-{n + 1}.html"
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
