"""A real podcast app, gPodder's command line (`gpo`, Debian's gpodder), subscribed to the demo's
feeds through `grandirenhlm serve` on a random port: it must download every episode, bit for bit.

`make test` installs gpodder (scripts/ensure-test-gpodder); without it this test skips, except
under CI, where it fails.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import feedparser

from tests.browser_support import serve, unavailable
from tests.support import run_cli

GPO = Path("/usr/bin/gpo")
if not GPO.is_file():
    unavailable(f"{GPO} is missing; run scripts/ensure-test-gpodder (as root) to install Debian's gpodder")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_gpodder_subscribed_through_serve_on_any_port_downloads_every_episode(demo_project, tmp_path):
    assert run_cli(demo_project, "publish", "--quiet").exit_code == 0
    public = demo_project / "public"
    env = {
        **os.environ,
        "GPODDER_HOME": str(tmp_path / "gpodder"),
        "GPODDER_DOWNLOAD_DIR": str(tmp_path / "downloads"),
    }
    expected = {}
    for show in ("grandir-en-hlm", "l-emission"):
        for entry in feedparser.parse((public / show / "feed.xml").read_bytes()).entries:
            key = entry.enclosures[0].href.removeprefix("http://127.0.0.1:8000/")
            expected[sha256(public / key)] = key
    assert len(expected) == 7

    def gpo(*args: str) -> str:
        done = subprocess.run([str(GPO), *args], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done.stdout

    with serve(demo_project) as site:
        assert not site.base.endswith(":8000")  # not the port the site was built for
        for show in ("grandir-en-hlm", "l-emission"):
            assert "Successfully added" in gpo("subscribe", f"{site.base}/{show}/feed.xml")
        assert "7 episodes downloaded" in gpo("download")
    downloads = [p for p in (tmp_path / "downloads").rglob("*") if p.is_file()]
    assert {sha256(p): p.name for p in downloads}.keys() == expected.keys()
