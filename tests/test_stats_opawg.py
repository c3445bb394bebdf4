"""The packaged OPAWG copy: every pattern compiles with Python's `re`, every example the list ships is
matched by its own entry, and the deterministic order (bots, apps, libraries, browsers) holds."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from grandirenhlm.stats.opawg import LISTS, OPAWG_COMMIT, OTHER_APP, classify, entity

DATA = resources.files("grandirenhlm.stats") / "opawg"


def _load(name: str) -> list[dict]:
    return json.loads((DATA / name).read_text(encoding="utf-8"))["entries"]


def test_the_copy_names_its_commit_and_carries_its_licence():
    assert OPAWG_COMMIT in (DATA / "README.md").read_text(encoding="utf-8")
    assert "MIT License" in (DATA / "LICENSE").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", LISTS)
def test_every_example_is_matched_by_its_own_entry(name: str):
    """As the OPAWG repository's own tests: within a list, the first entry that matches an example
    is the entry the example belongs to."""
    from grandirenhlm.stats.opawg import _lists

    examples = _load(f"{name}.examples.json")
    checked = 0
    for entry in examples:
        for ua in entry["examples"]:
            assert _lists()[name].first(ua) == entry["name"], ua
            checked += 1
    assert checked >= len(_load(f"{name}.runtime.json")) // 2


def test_bots_come_first_then_apps():
    bots = [ua for e in _load("bots.examples.json") for ua in e["examples"]]
    assert all(classify(ua).excluded == "bot" for ua in bots)
    apps = _load("apps.examples.json")
    attributed = [(entity(ua), classify(ua), e["name"]) for e in apps for ua in e["examples"]]
    # an app example that a bot entry also matches is a bot: OPAWG's order, first match wins
    for found, verdict, name in attributed:
        if found == ("apps", name):
            assert verdict.app == name
        else:
            assert found[0] == "bots" and verdict.excluded == "bot"
    assert sum(1 for found, _, name in attributed if found == ("apps", name)) > 900


def test_libraries_and_browsers_are_no_app():
    for name in ("libraries", "browsers"):
        for entry in _load(f"{name}.examples.json"):
            for ua in entry["examples"]:
                if entity(ua) == (name, entry["name"]):
                    assert classify(ua).app == OTHER_APP


@pytest.mark.parametrize(
    ("ua", "reason"),
    [
        ("", "empty_user_agent"),
        ("   ", "empty_user_agent"),
        ("Watch/12 CFNetwork", "apple_watch"),
        ("Podcasts/1.0 watchOS/10.1", "apple_watch"),
        ("Watch/ CFNetwork", None),  # no digits
        ("SmartWatch/3", None),  # not at the start
        ("AntennaPod/3.4.0", None),
    ],
)
def test_rule_r2_reasons(ua: str, reason: str | None):
    assert classify(ua).excluded == reason
