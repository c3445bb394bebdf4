"""Show and episode names (issue 13, item 3): slugs are lowercase ASCII letters, digits and hyphens;
derived ones are transliterated and never collide; a name given by the user that breaks the rule is
refused with one line that suggests the valid one, and nothing is written anywhere."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from mutagen.id3 import ID3, TIT2, TRCK
from slugify import slugify

from grandirenhlm.names import MAX_SLUG, SLUG_RULE, make_slug
from tests.support import make_mp3, run_command

SHOW = "grandir-en-hlm"


cli = run_command  # the command in its own process (tests/support.py)


def tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def records(project: Path) -> list[str]:
    return sorted(p.stem for p in (project / "episodes" / SHOW).glob("*.toml"))


@given(st.text(max_size=300))
def test_every_derived_slug_follows_the_rule(text: str) -> None:
    slug = make_slug(text)
    assert SLUG_RULE.fullmatch(slug) and len(slug) <= MAX_SLUG, (text, slug)
    assert make_slug(text) == slug  # the same title always gives the same slug


def test_derived_slugs_are_transliterated(project: Path, tmp_path: Path) -> None:
    make_mp3(tmp_path / "a.mp3", title="L'Émission d'été", track="1")
    make_mp3(tmp_path / "b.mp3", title="Témoignage n° 2 : l’école « au pied des tours » 🏫", track="2")
    done = cli(project, "ingest", "--show", SHOW, str(tmp_path / "a.mp3"), str(tmp_path / "b.mp3"))
    assert done.returncode == 0, done.stderr
    assert records(project) == ["l-emission-d-ete", "temoignage-n-2-l-ecole-au-pied-des-tours"]
    media = sorted(p.name for p in (project / "media" / SHOW).iterdir())
    assert [m.rsplit("-", 1)[0] for m in media] == records(project)


def test_a_slug_that_breaks_the_rule_is_refused_with_the_valid_one(project: Path, tmp_path: Path) -> None:
    make_mp3(tmp_path / "a.mp3", title="Titre", track="1")
    before = tree(tmp_path)
    for given_slug, suggestion in [
        ("../../../x", "x"),
        ("Mon Épisode", "mon-episode"),
        ("a/b", "a-b"),
        ("double--tiret", "double-tiret"),
    ]:
        done = cli(project, "ingest", "--show", SHOW, "--slug", given_slug, str(tmp_path / "a.mp3"))
        assert done.returncode == 1, done.stderr
        assert done.stderr.splitlines()[0] == (
            f"error: --slug: {given_slug!r} is not a valid name (lowercase ASCII letters, digits and "
            f"single hyphens, at most 80); use {suggestion!r}"
        ), done.stderr
        assert "Traceback" not in done.stderr
    assert tree(tmp_path) == before  # nothing written, inside the project or outside it


def test_a_show_name_that_breaks_the_rule_is_refused(project: Path, tmp_path: Path) -> None:
    make_mp3(tmp_path / "a.mp3", title="Titre", track="1")
    # a show definition outside feeds/ that `../name` would reach
    (project / "name.toml").write_text((project / "feeds" / f"{SHOW}.toml").read_text(encoding="utf-8"))
    before = tree(tmp_path)
    done = cli(project, "ingest", "--show", "../name", str(tmp_path / "a.mp3"))
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "error: --show: '../name' is not a valid name (lowercase ASCII letters, digits and single "
        "hyphens, at most 80); use 'name'"
    ]
    assert tree(tmp_path) == before


LONG = (
    "Semaine de l’innovation Hlm 2023, enfance et logement social : le témoignage recueilli à "
    "Villeurbanne auprès des familles, partie {}"
)


def test_a_batch_of_long_titles_differing_after_the_cut_gives_one_episode_each(
    project: Path, tmp_path: Path
) -> None:
    """300 files whose titles differ only past the 80th character of their slug: 300 episodes, each
    with its own slug (cut at a word, with a hash suffix); a rerun changes nothing."""
    drop = tmp_path / "drop"
    drop.mkdir()
    audio = make_mp3(tmp_path / "base.mp3", seconds=0.2).read_bytes()
    count = 300
    for i in range(count):
        path = drop / f"{i:03d}.mp3"
        path.write_bytes(audio)
        tags = ID3()
        tags.add(TIT2(encoding=3, text=LONG.format(i)))
        tags.add(TRCK(encoding=3, text=str(i + 1)))
        tags.save(path, v2_version=4)
    done = cli(project, "ingest", "--show", SHOW, "--quiet", str(drop))
    assert done.returncode == 0, done.stderr[-2000:]
    slugs = records(project)
    assert len(slugs) == count
    assert all(SLUG_RULE.fullmatch(s) and len(s) <= MAX_SLUG for s in slugs)
    # cut at a word boundary: every slug is its title's words up to the cut, then the hash suffix
    uncut = slugify(LONG.format(0).replace("’", "-"))
    assert len(uncut) > MAX_SLUG
    assert all(uncut.startswith(s.rsplit("-", 1)[0] + "-") for s in slugs)
    again = cli(project, "ingest", "--show", SHOW, "--quiet", str(drop))
    assert again.returncode == 0, again.stderr[-2000:]
    assert records(project) == slugs


def test_check_refuses_record_and_show_files_named_against_the_rule(project: Path, tmp_path: Path) -> None:
    make_mp3(tmp_path / "a.mp3", title="Titre", track="1")
    assert cli(project, "ingest", "--show", SHOW, str(tmp_path / "a.mp3")).returncode == 0
    folder = project / "episodes" / SHOW
    (folder / "titre.toml").rename(folder / "Mon Épisode.toml")
    done = cli(project, "check")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert (
        f"error: episodes/{SHOW}/Mon Épisode.toml: file name: 'Mon Épisode' is not a valid name "
        "(lowercase ASCII letters, digits and single hyphens, at most 80); use 'mon-episode' (rename the file)"
    ) in done.stderr.splitlines()
