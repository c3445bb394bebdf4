"""Golden files: the demo's pages, byte for byte (tests/golden/pages/).

A change to a template or to what a page is made from shows up here as a diff;
`pytest tests/test_pages_golden.py --update-golden` rewrites them, and the diff is reviewed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from grandirenhlm import site
from grandirenhlm.config import load_project

BASE = "http://127.0.0.1:8000/"
AT = datetime(2024, 1, 1, tzinfo=UTC)
GOLDEN = {
    "index.html": "pages/index.html",
    "grandir-en-hlm/index.html": "pages/grandir-en-hlm.html",
    "grandir-en-hlm/temoignage-1/index.html": "pages/temoignage-1.html",
    "l-emission/replay-2023/index.html": "pages/replay-2023.html",
    "accessibilite/index.html": "pages/accessibilite.html",
    "mentions-legales/index.html": "pages/mentions-legales.html",
    "404.html": "pages/404.html",
    "sitemap.xml": "pages/sitemap.xml",
    "robots.txt": "pages/robots.txt",
}


@pytest.fixture(scope="module")
def outputs() -> dict[str, bytes]:
    project = load_project(Path(__file__).resolve().parents[1])
    return {a.key: a.data for a in site.render(project, BASE, AT, cache=False) if a.data is not None}


@pytest.mark.parametrize("key", sorted(GOLDEN))
def test_demo_page_matches_golden_file(outputs: dict[str, bytes], golden, key: str):
    golden(GOLDEN[key], outputs[key])
