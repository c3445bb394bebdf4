"""`grandirenhlm platforms`: each directory's requirements against the show as it is now."""

from __future__ import annotations

from pathlib import Path

from tests.support import assert_clean_error, make_cover, run_cli, without_placeholders

DIRECTORIES = ("Apple Podcasts", "Spotify", "Deezer", "Amazon Music", "YouTube", "Podcast Index")


def report(root: Path, *args: str) -> str:
    result = run_cli(root, "platforms", *args)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_the_demo_as_shipped_is_not_ready_and_says_why(demo_project: Path):
    out = report(demo_project, "--show", "grandir-en-hlm")
    assert out.splitlines()[0] == "grandir-en-hlm: http://127.0.0.1:8000/grandir-en-hlm/feed.xml"
    for name in DIRECTORIES:
        assert f"  {name}: not ready\n" in out
    assert out.count("    FAIL an owner e-mail (itunes:email) that is not a placeholder") == 5
    assert out.count("    FAIL the feed at a public https address") == 6
    assert "    submit: https://creators.spotify.com/" in out
    assert '    then: spotify = "<its id or URL>" under [links] in feeds/grandir-en-hlm.toml' in out


def test_a_show_ready_everywhere_then_listed_on_one(demo_project: Path):
    without_placeholders(demo_project)
    out = report(demo_project, "--show", "grandir-en-hlm")
    assert "FAIL" not in out
    for name in DIRECTORIES:
        assert f"  {name}: ready to submit\n" in out
    show = demo_project / "feeds" / "grandir-en-hlm.toml"
    show.write_text(
        show.read_text(encoding="utf-8") + '\n[links]\nspotify = "4rOoJ6Egrf8K2IrywzwOMk"\n', encoding="utf-8"
    )
    out = report(demo_project, "--show", "grandir-en-hlm")
    assert "  Spotify: listed (spotify = 4rOoJ6Egrf8K2IrywzwOMk)" in out
    assert "submit: https://creators.spotify.com/" not in out


def test_artwork_apple_would_refuse_fails_its_rule(demo_project: Path):
    without_placeholders(demo_project)
    show = demo_project / "feeds" / "l-emission.toml"
    image = next(line for line in show.read_text(encoding="utf-8").splitlines() if line.startswith("image"))
    cover = demo_project / "feeds" / image.split('"')[1]
    make_cover(cover, size=1200)  # too small
    out = report(demo_project, "--show", "l-emission")
    assert (
        out.count("    FAIL artwork 1400 to 3000 px, square, RGB JPEG or PNG") == 5
    )  # all but Podcast Index


def test_an_unknown_show_is_named(demo_project: Path):
    assert_clean_error(run_cli(demo_project, "platforms", "--show", "nope"), "--show: no show 'nope'")
