"""Issue 19, item 6: correctness at scale, tested rather than assumed. A batch of 10,000 small real
MP3 files (made here) goes through the commands users run: every file ingested, a feed with every
item and every page built, and rebuilds (nothing changed; every cache lost) byte-identical."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import feedparser

from tests.support import make_cover, make_mp3, titled_copies

COUNT = 10_000
SHOW = "archives"
SHOW_TOML = """\
title = "Archives des Semaines de l’innovation Hlm"
description = "Dix mille épisodes courts, pour vérifier que rien ne se perd à cette échelle."
language = "fr"
author = "grandirenhlm"
category = "Society & Culture"
type = "episodic"
image = "cover.jpg"
page_size = 2000

[owner]
name = "grandirenhlm"
email = "archives@example.org"
"""


def cli(root: Path, *args: str) -> subprocess.CompletedProcess:
    grandirenhlm = Path(sys.executable).parent / "grandirenhlm"
    proc = subprocess.run([grandirenhlm, *args], cwd=root, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def digest_tree(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_ten_thousand_files_ingest_build_and_rebuild_identically(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "feeds").mkdir(parents=True)
    (project / "feeds" / f"{SHOW}.toml").write_text(SHOW_TOML, encoding="utf-8")
    make_cover(project / "feeds" / "cover.jpg")
    corpus = tmp_path / "corpus"
    # the same audio, each file its own title (and so its own bytes)
    titled_copies(make_mp3(tmp_path / "one.mp3", seconds=0.3), corpus, COUNT, digits=5)

    ingested = cli(project, "ingest", "--show", SHOW, str(corpus))
    assert ingested.stdout.count("created: ") == COUNT
    assert len(list((project / "episodes" / SHOW).glob("*.toml"))) == COUNT
    assert len(list((project / "media").rglob("*.mp3"))) == COUNT
    assert cli(project, "ingest", "--quiet", "--show", SHOW, str(corpus)).stdout == ""  # nothing new

    cli(project, "build", "--output", "out")
    out = project / "out"
    guids: list[str] = []
    for feed in sorted((out / SHOW).glob("feed*.xml")):  # RFC 5005 pages of 2,000 items
        parsed = feedparser.parse(feed.read_bytes())
        assert not parsed.bozo, (feed, parsed.bozo_exception)
        guids += [entry.id for entry in parsed.entries]
    assert len(guids) == len(set(guids)) == COUNT
    pages = [p for p in (out / SHOW).glob("*/index.html")]
    assert len(pages) >= COUNT  # an episode page each (the show's other pages besides)
    built = digest_tree(out)

    again = cli(project, "build", "--output", "out")
    assert again.stdout.startswith("built 0 new file(s)")
    assert digest_tree(out) == built

    shutil.rmtree(project / ".grandirenhlm")  # every cache lost: everything rendered anew
    shutil.rmtree(out)
    cli(project, "build", "--output", "out")
    assert digest_tree(out) == built
