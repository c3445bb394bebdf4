"""The demo site published to a temporary copy and served by a real `grandirenhlm serve` process.

Shared by the browser tests (tests/test_browser.py) and the accessibility and HTML checks
(tests/test_a11y.py). Not a test module: nothing here is collected.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import REPO, run_cli

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def unavailable(reason: str, *, module: bool = True) -> None:
    """Skip on a developer's machine; fail in CI, where a missing tool must not pass silently."""
    if os.environ.get("CI"):
        pytest.fail(f"cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=module)


def publish_demo(folder: Path) -> Path:
    """A copy of the demo project in `folder`, published to `folder/public`; returns the copy."""
    root = folder / "demo"
    root.mkdir()
    for name in ("feeds", "episodes", "media", "templates"):
        shutil.copytree(REPO / name, root / name)
    shutil.copy(REPO / "grandirenhlm.toml", root / "grandirenhlm.toml")
    result = run_cli(root, "publish", "--quiet")
    assert result.exit_code == 0, result.stderr
    return root


@dataclass(frozen=True)
class ServedSite:
    root: Path  # the project
    base: str  # http://127.0.0.1:PORT, no trailing slash

    @property
    def public(self) -> Path:
        return self.root / "public"

    def pages(self) -> list[str]:
        """URL paths of every HTML page of the published site, `/…/` for index pages."""
        paths = []
        for html in page_files(self.public):
            key = html.relative_to(self.public).as_posix()
            paths.append("/" + key.removesuffix("index.html"))
        return paths


def page_files(public: Path) -> list[Path]:
    """Every page of a published site: the `index.html` files and the 404 page (not the HTML
    transcript fragments beside the episode pages)."""
    return sorted(p for p in public.rglob("*.html") if p.name in ("index.html", "404.html"))


@contextmanager
def serve(root: Path) -> Iterator[ServedSite]:
    """`grandirenhlm serve` on a free port of 127.0.0.1 (`--port 0`: the port the kernel gave is
    in its first line, so no other test worker can take it between a pick and the bind), stopped
    on exit."""
    log_path = root / "serve.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "grandirenhlm", "--project", str(root), "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().decode()  # printed once the socket listens
        with log_path.open("wb") as log:
            log.write(first.encode())
        # request logs go on to the file from a thread, so a full pipe can never block the server
        threading.Thread(target=_drain, args=(proc.stdout, log_path), daemon=True).start()
        base = served_base(first, root / "public")
        if base is None:
            proc.wait(timeout=10)
            pytest.fail(f"`grandirenhlm serve` did not start: {log_path.read_text()}")
        yield ServedSite(root, base)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            proc.kill()
            proc.wait()


def _drain(stream, log_path: Path) -> None:
    with log_path.open("ab") as log:
        for line in stream:
            log.write(line)
            log.flush()


def served_base(first_line: str, folder: Path) -> str | None:
    """The address `grandirenhlm serve` says it serves `folder` at, from its first line."""
    found = re.match(rf"serving {re.escape(str(folder))} at (http://127\.0\.0\.1:[1-9][0-9]*)/ ", first_line)
    return found.group(1) if found else None


@contextmanager
def launch_chromium() -> Iterator:
    """Debian's Chromium driven by Playwright (never Playwright's own browser download)."""
    from playwright.sync_api import sync_playwright

    # launch() gives Chromium a new, empty temporary --user-data-dir of its own, removed on close.
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
