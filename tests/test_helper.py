"""The second process of a build (`helper.TailHelper`, issue 19): a forked child takes items from the
end of a list (records to read, episodes to render) while the build takes them from the start.
Every item is made exactly once, whatever the child does (finishes, fails at one item, is killed);
the child is always reaped; and a build with the helper writes byte for byte the site a build
without it writes, and fails with the same lines."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grandirenhlm.build import HELPER_MIN_EPISODES
from grandirenhlm.catalog import HELPER_MIN_RECORDS
from grandirenhlm.errors import ConfigError
from grandirenhlm.helper import ENV, wanted
from tests.helper_scenarios import COUNT, EPISODE_ITEMS
from tests.support import make_cover, make_mp3, titled_copies

REPO = Path(__file__).resolve().parent.parent


def scenario(*args: str) -> dict:
    """A `tests/helper_scenarios.py` scenario in a process of its own (see there why)."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.helper_scenarios", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={k: v for k, v in os.environ.items() if k != ENV},
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(autouse=True)
def helper_on(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    if not wanted():
        pytest.skip("one core here: no helper is started")


def test_every_item_is_made_once_by_one_side():
    seen = scenario("plain")
    assert seen["started"]
    own, adopted = seen["own"], seen["adopted"]
    assert sorted(own + adopted) == list(range(COUNT)) and not seen["twice"]
    assert adopted, "the child took no item"
    assert seen["adopted_right"]  # the child's results are the items' own
    assert min(adopted) > max(own)  # the child from the end, the build from the start
    assert seen["reaped"] and seen["error"] is None


def test_an_item_failing_in_the_child_is_made_by_the_build():
    seen = scenario("failing")
    assert sorted(seen["own"] + seen["adopted"]) == list(range(COUNT)) and not seen["twice"]
    assert COUNT - 3 in seen["own"]  # the child stopped there: it and everything below are the build's
    assert seen["adopted"] == [COUNT - 2, COUNT - 1]
    assert seen["reaped"]


def test_a_child_killed_midway_leaves_its_items_to_the_build():
    seen = scenario("killed")
    assert sorted(seen["own"] + seen["adopted"]) == list(range(COUNT)) and not seen["twice"]
    assert seen["adopted"] == [COUNT - 4, COUNT - 3, COUNT - 2, COUNT - 1]
    assert seen["reaped"]


@pytest.mark.parametrize("sink", [False, True], ids=["sent", "written-by-the-child"])
def test_a_shows_feed_and_last_list_pages_are_made_by_the_child(sink: bool, tmp_path: Path):
    """`build._Tail`: a show's list pages and feed are the last items of the loop over its
    episodes, so the child takes the feed first, then list pages from the end (then episodes');
    each page is made once, by one side, and handed out in order; the show's page, made before
    the fork, is not made again; the feed's pages come back with their own episodes (the same
    objects, as the run of the show's they are). With a sink (a new output folder), the child
    writes the feed's pages there and sends only their sha256 and size: the build gets each as
    its file and tells the sink."""
    seen = scenario("show-tail", *([str(tmp_path)] if sink else []))
    assert seen["keys"] == [f"page-{i}" for i in range(COUNT)] and seen["right"]
    assert seen["feed_by_child"] and seen["feed_keys"] == ["feed.xml", "feed-1.xml"]
    assert seen["feed_runs"]
    assert seen["by_child"], "the child made no list page"
    assert seen["by_child"] == list(range(min(seen["by_child"]), COUNT))  # from the end
    # each list page made once, by one side: the show's page here, before the fork
    assert 0 not in seen["by_child"] and seen["rendered"] + len(seen["by_child"]) == COUNT
    assert seen["left"] == {}  # every page the child sent was handed out
    assert seen["episodes_right"]
    # what the child took of the episodes' items, it took from the end, after the show's items
    taken = seen["episodes_by_child"]
    assert not taken or (seen["by_child"][0] == 1 and taken == list(range(min(taken), EPISODE_ITEMS)))


def test_a_build_that_fails_stops_and_reaps_the_child():
    seen = scenario("build-fails")
    assert seen["error"] == "the build failed"
    assert seen["reaped"]  # no child of the process is left running or unreaped


def test_the_setting_turns_it_off_and_a_bad_value_is_named(monkeypatch):
    monkeypatch.setenv(ENV, "1")
    assert wanted() is False
    monkeypatch.setenv(ENV, "deux")
    with pytest.raises(ConfigError, match=f"{ENV}='deux': not a number of processes"):
        wanted()


# ---------------------------------------------------------------- whole builds

SHOW = "archives"
EPISODES = max(HELPER_MIN_EPISODES, HELPER_MIN_RECORDS) + 50
SHOW_TOML = """\
title = "Archives des Semaines de l’innovation Hlm"
description = "Des épisodes courts, assez pour que la construction se partage entre deux processus."
language = "fr"
author = "grandirenhlm"
category = "Society & Culture"
type = "episodic"
image = "cover.jpg"

[owner]
name = "grandirenhlm"
email = "archives@example.org"
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A show with enough episodes for both helpers, ingested by the CLI."""
    root = tmp_path_factory.mktemp("helper")
    project = root / "project"
    (project / "feeds").mkdir(parents=True)
    (project / "feeds" / f"{SHOW}.toml").write_text(SHOW_TOML, encoding="utf-8")
    make_cover(project / "feeds" / "cover.jpg")
    corpus = root / "corpus"
    titled_copies(make_mp3(root / "one.mp3", seconds=0.3), corpus, EPISODES, digits=4)
    done = grandirenhlm(project, "ingest", "--quiet", "--show", SHOW, str(corpus))
    assert done.returncode == 0, done.stderr
    return project


def grandirenhlm(project: Path, *args: str, jobs: str | None = None) -> subprocess.CompletedProcess[str]:
    """The command in a process of its own, from the project's folder, with `ENV` set to `jobs`."""
    env = {**os.environ, ENV: jobs} if jobs is not None else None
    return subprocess.run(
        [sys.executable, "-m", "grandirenhlm", "--project", str(project), *args],
        capture_output=True,
        text=True,
        cwd=project,
        env=env,
        timeout=600,
    )


def build(project: Path, output: str, jobs: str) -> subprocess.CompletedProcess[str]:
    """A cold build (no cache) into a new folder, with or without the helper."""
    shutil.rmtree(project / ".grandirenhlm", ignore_errors=True)
    return grandirenhlm(project, "build", "--output", output, jobs=jobs)


def tree(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and ".grandirenhlm" not in p.parts
    }


def test_a_build_with_the_helper_writes_the_same_site(project: Path):
    alone = build(project, "alone", "1")
    helped = build(project, "helped", "2")
    assert alone.returncode == 0 and helped.returncode == 0, (alone.stderr, helped.stderr)
    assert helped.stdout.replace("helped", "alone") == alone.stdout
    built = tree(project / "alone")
    assert len([k for k in built if k.endswith("/index.html")]) > HELPER_MIN_EPISODES
    assert tree(project / "helped") == built


@pytest.mark.parametrize("kind", ["feed", "page"])
def test_a_child_killed_after_writing_a_file_leaves_a_build_that_writes_it_again(
    project: Path, tmp_path: Path, kind: str
):
    """The pages' child writes into the new folder and then sends what it wrote: killed in
    between, it leaves a file the build knows nothing of. The build makes that page again, and
    its write replaces the file (a new folder's staging copy: no one else writes there)."""
    copy = tmp_path / "project"
    shutil.copytree(
        project, copy, ignore=shutil.ignore_patterns(".grandirenhlm", "alone", "helped", "broken-*")
    )
    seen = scenario("build-killed-after-writing", str(copy), str(tmp_path / "site"), kind)
    # killed at once: before it sent anything, or (a page) after the feed it makes first
    assert seen["made"].get("pages", 0) <= (1 if kind == "page" else 0), seen
    alone = grandirenhlm(copy, "build", "--output", str(tmp_path / "alone"), jobs="1")
    assert alone.returncode == 0, alone.stderr
    assert tree(tmp_path / "site") == tree(tmp_path / "alone")
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")]


def test_a_template_error_in_the_childs_share_fails_the_build_the_same_way(project: Path):
    """The last episode is the child's first: its error stops the child, and the build, making
    that episode itself, fails with the message a build without the helper gives."""
    last = f"Épisode {EPISODES - 1:04d}"
    condition = f'episode.title == "{last}"'
    helped = broken_builds(project, "episode.html", condition, "no_such_value", "broken")
    assert "no_such_value" in helped.stderr and "is undefined" in helped.stderr
    assert not (project / "broken-helped").exists() and not (project / "broken-alone").exists()


def broken_builds(
    project: Path, template: str, condition: str, undefined: str, output: str, *more: tuple[str, str, str]
) -> subprocess.CompletedProcess[str]:
    """Cold builds without and with the helper, `template`'s main block naming an `undefined`
    value where `condition` holds (and so for each of `more`: template, condition, undefined):
    both fail the same way, without a traceback (the helped one is returned)."""
    templates = project / "templates"
    templates.mkdir()
    for name, where, value in ((template, condition, undefined), *more):
        (templates / name).write_text(
            f'{{% extends "default:{name}" %}}\n'
            f"{{% block main %}}{{% if {where} %}}{{{{ {value} }}}}{{% endif %}}"
            "{{ super() }}{% endblock %}\n",
            encoding="utf-8",
        )
    try:
        alone = build(project, f"{output}-alone", "1")
        helped = build(project, f"{output}-helped", "2")
    finally:
        shutil.rmtree(templates)
    assert alone.returncode == helped.returncode == 1
    assert "Traceback" not in helped.stderr
    assert helped.stderr == alone.stderr
    return helped


def test_a_template_error_in_a_list_page_fails_the_build_the_same_way(project: Path):
    """The show's list pages and its feed are shared with a second process too (`build._show_tail`):
    an error in the last list page, made there or here, fails the build with the same message."""
    condition = "paging and paging.number == 1"
    helped = broken_builds(project, "show.html", condition, "no_such_list", "broken-list")
    assert "no_such_list" in helped.stderr and "is undefined" in helped.stderr


def test_errors_in_the_show_page_and_an_episode_are_reported_in_the_same_order(project: Path):
    """The show's page is made before the helper forks (its template compiled once, here): an
    error there is kept until the build reaches the show's pages, so that an episode's error,
    met first in the order of a build without the helper, is still the one reported."""
    episode = ("episode.html", f'episode.title == "Épisode {EPISODES - 1:04d}"', "no_such_episode")
    helped = broken_builds(
        project, "show.html", "not (paging and paging.number)", "no_such_show", "broken-both", episode
    )
    assert "no_such_episode" in helped.stderr and "no_such_show" not in helped.stderr


def test_feed_pages_sent_by_the_helper_come_back_with_their_own_episodes(project: Path):
    """The child sends a feed page's episodes as the run of the show's they are; the build gets
    the same episode objects back, for the pages of a paged feed too."""
    from dataclasses import replace
    from datetime import UTC, datetime

    from grandirenhlm import layout, site
    from grandirenhlm.build import _sent_feed, _taken_feed
    from grandirenhlm.feed import FeedPage, render_feed_pages

    catalog = site.load_catalog(site.open_project(project))
    show = replace(catalog.shows[SHOW], page_size=60)  # RFC 5005 pages of 60 items
    episodes = catalog.published(SHOW, datetime.now(UTC))
    pages = render_feed_pages(show, episodes, "https://example.org/", layout.cover(show, "0" * 64))
    assert len(pages) == -(-len(episodes) // 60) > 2
    back = _taken_feed(_sent_feed(pages, episodes), episodes)
    assert [(p.key, p.data) for p in back] == [(p.key, p.data) for p in pages]
    for got, sent in zip(back, pages, strict=True):
        assert len(got.episodes) == len(sent.episodes)
        assert all(a is b for a, b in zip(got.episodes, sent.episodes, strict=True))
    shuffled = FeedPage("flux.xml", b"", (episodes[3], episodes[1]))  # not a run: made by the build
    with pytest.raises(ValueError, match="not a run"):
        _sent_feed([shuffled], episodes)
    assert _taken_feed(_sent_feed([FeedPage("vide.xml", b"", ())], episodes), episodes)[0].episodes == ()


def test_a_bad_setting_is_one_line(project: Path):
    done = grandirenhlm(project, "build", "--output", "never", jobs="beaucoup")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: {ENV}='beaucoup': not a number of processes (1: no second process)"
    ]
    assert not (project / "never").exists()


def test_records_read_by_the_helper_give_the_same_problems_in_the_same_order(project: Path, tmp_path: Path):
    """A cold load of a catalog with broken records at its start, middle and end (the child's
    share), and a folder of no show: `check` lists the same lines, in the same order, either way."""
    copy = tmp_path / "project"
    shutil.copytree(project, copy, ignore=shutil.ignore_patterns(".grandirenhlm", "alone", "helped"))
    records = sorted((copy / "episodes" / SHOW).glob("*.toml"))
    for record in (records[0], records[len(records) // 2], records[-1]):
        text = record.read_text(encoding="utf-8")
        record.write_text(text.replace("title = ", "title = 12 #", 1), encoding="utf-8")
    records[-2].write_text("title = [unclosed\n", encoding="utf-8")
    (copy / "episodes" / "nowhere").mkdir()
    checks = []
    for jobs in ("1", "2"):
        shutil.rmtree(copy / ".grandirenhlm", ignore_errors=True)
        checks.append(grandirenhlm(copy, "check", jobs=jobs))
    alone, helped = checks
    assert alone.returncode == helped.returncode == 1
    assert helped.stderr == alone.stderr
    lines = helped.stderr.splitlines()
    assert len(lines) >= 5 and all(line.startswith("error: ") for line in lines), lines
    assert any("nowhere" in line for line in lines)
    named = [line for line in lines if SHOW in line]
    assert (
        records[0].name in named[0]
        and records[-1].name in helped.stderr
        and records[-2].name in helped.stderr
    )


def test_a_catalog_partly_in_the_episode_cache_shared_with_the_helper_builds_the_same_and_keeps_every_entry(
    project: Path, tmp_path: Path
):
    """After a build of the first and last 60 records (the cache answers for fewer than half of
    them, so the helper shares the loading), the other 130 back and two of the cached ones edited
    (the first, the build's; the last, the helper's): the cache answers for the others in both
    processes, the edited and new ones are read, and the site and the episode cache come out as a
    build in one process makes them. With every record in the cache, the build loads them alone."""
    base = tmp_path / "base"
    shutil.copytree(
        project, base, ignore=shutil.ignore_patterns(".grandirenhlm", "alone", "helped", "broken-*")
    )
    records = sorted((base / "episodes" / SHOW).glob("*.toml"))
    away = tmp_path / "away"
    away.mkdir()
    for record in records[60:-60]:
        record.rename(away / record.name)
    first = grandirenhlm(base, "build", "--output", "out")
    assert first.returncode == 0, first.stderr
    for record in records[60:-60]:
        (away / record.name).rename(record)
    for record in (records[0], records[-1]):
        text = record.read_text(encoding="utf-8")
        record.write_text(text.replace('title = "', 'title = "Corrigé : ', 1), encoding="utf-8")
    trees, entries = [], []
    for jobs in ("1", "2"):
        copy = tmp_path / f"jobs{jobs}"
        shutil.copytree(base, copy, symlinks=True)
        done = grandirenhlm(copy, "build", "--output", "out", jobs=jobs)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("built ")
        trees.append(tree(copy / "out"))
        # the cache's lines: its MAC, its header, then one [record, entry] per episode (read as
        # they are: the MAC is the build's key's, which this process may hold another of)
        lines = (copy / ".grandirenhlm" / "episodes.json").read_text(encoding="utf-8").splitlines()
        entries.append(sorted({Path(json.loads(line)[0]).name for line in lines[2:]}))
    assert trees[0] == trees[1]
    assert any(
        "Corrigé" in (tmp_path / "jobs2" / "out" / key).read_text(encoding="utf-8")
        for key in trees[1]
        if key.endswith("index.html")
    )
    assert entries[0] == entries[1] == [record.name for record in records]  # every record cached

    shared = tmp_path / "shared"
    shutil.copytree(base, shared, symlinks=True)
    assert scenario("build", str(shared), str(tmp_path / "shared-site"))["made"].get("records", 0) > 0
    # now in the cache, every one of them: loaded by the build alone (pages reused: no page helper)
    assert scenario("build", str(shared), str(tmp_path / "warm-site"))["made"] == {}


def test_a_cold_build_shares_both_loops_with_the_helper(project: Path, tmp_path: Path):
    """Run as a user runs it (a process with no other thread), a cold build of 250 episodes has
    the helper read records and render episodes' pages: the tests above compare outputs, this
    one that there was a helper to compare."""
    copy = tmp_path / "project"
    shutil.copytree(
        project, copy, ignore=shutil.ignore_patterns(".grandirenhlm", "alone", "helped", "broken-*")
    )
    seen = scenario("build", str(copy), str(tmp_path / "site"))
    assert seen["written"] > 3 * EPISODES
    assert seen["made"].get("records", 0) > 0 and seen["made"].get("pages", 0) > 0, seen
