"""Property tests of the publish plan: whatever the target already holds, the plan is safe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grandirenhlm.artifact import Artifact, Stage
from grandirenhlm.plan import plan_publish, stage_of
from grandirenhlm.storage import MANIFEST_KEY, PLAIN_ENTRY, Manifest, entry_table

keys = st.text(alphabet="abcdef/", min_size=1, max_size=8)


@st.composite
def sites(draw):
    media = draw(st.lists(keys.map(lambda k: f"media/{k}.mp3"), unique=True, max_size=6))
    pages = draw(st.lists(keys.map(lambda k: f"{k}/index.html"), unique=True, max_size=6))
    artifacts = [Artifact.from_bytes(k, Stage.MEDIA, "audio/mpeg", k.encode()) for k in media]
    artifacts += [Artifact.from_bytes(k, Stage.PAGE, "text/html", k.encode()) for k in pages]
    artifacts.append(
        Artifact.from_bytes(
            "show/feed.xml", Stage.FEED, "application/rss+xml", b"<rss/>", references=tuple(media)
        )
    )
    return artifacts


stale_keys = st.tuples(keys, st.sampled_from(["", ".mp3", "/index.html", "/feed.xml"])).map("".join)


@given(sites(), st.lists(stale_keys, unique=True, max_size=8), st.booleans())
def test_plan_is_ordered_complete_and_never_deletes_what_a_feed_needs(artifacts, remote, prune):
    manifest = {key: {"sha256": "0" * 64, "size": 1} for key in remote}  # stale or changed objects
    for a in artifacts[: len(remote)]:  # some objects already up to date
        manifest[a.key] = {"sha256": a.sha256, "size": a.size}
    plan = plan_publish(artifacts, manifest, prune=prune)
    assert {a.key for a in plan.put} | {a.key for a in plan.skip} == {a.key for a in artifacts}
    assert not {a.key for a in plan.put} & {a.key for a in plan.skip}
    stages = [a.stage for a in plan.put]
    assert stages == sorted(stages)  # nothing is put before what it may point at
    referenced = {r for a in artifacts for r in a.references}
    assert not set(plan.delete) & ({a.key for a in artifacts} | referenced)
    if not prune:
        assert plan.delete == ()
    else:
        assert set(plan.delete) == set(manifest) - {a.key for a in artifacts} - referenced
    for a in plan.skip:
        assert manifest[a.key] == {"sha256": a.sha256, "size": a.size}
    stages = [stage_of(k, manifest[k]) for k in plan.delete]
    assert stages == sorted(stages, reverse=True)  # feeds deleted first, media last


def test_stage_of_old_manifest_entries_is_guessed_from_the_key():
    assert stage_of("show/feed.xml", {}) == Stage.FEED
    assert stage_of("shows.opml", {}) == Stage.FEED
    assert stage_of("show/ep/index.html", {}) == Stage.PAGE
    assert stage_of("media/show/ep.mp3", {}) == Stage.MEDIA
    assert stage_of("media/show/ep.mp3", {"stage": int(Stage.ASSET)}) == Stage.ASSET


@given(
    st.dictionaries(
        st.text(max_size=12),
        st.fixed_dictionaries(
            {"sha256": st.text(max_size=64), "size": st.integers(0, 2**40), "stage": st.integers(0, 3)},
            optional={
                "redirect": st.text(max_size=20),
                "verified": st.text(max_size=20),
                "settings": st.dictionaries(
                    st.text(max_size=6),
                    st.one_of(st.text(max_size=6), st.integers(), st.floats(), st.booleans(), st.none()),
                    max_size=3,
                ),
                "stale_since": st.one_of(st.floats(), st.booleans(), st.none()),
            },
        ),
        max_size=12,
    ),
    st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3),
    st.sampled_from([None, "https://exemple.fr/"]),
)
def test_a_manifest_is_written_as_an_indented_json_dump_and_read_back(objects, shows, base_url):
    """`Manifest.dump` writes a few strings per object into one buffer (memory: no list of every
    piece; time: not json's pure-Python indenting encoder): the bytes are json.dumps(…, indent=1)'s,
    for any keys and values, and read back the same."""
    manifest = Manifest(objects, shows, base_url)
    data = {
        "version": 2,
        "base_url": base_url,
        "shows": dict(sorted(shows.items())),
        "objects": dict(sorted(objects.items())),
    }
    dumped = manifest.dump()
    assert dumped == json.dumps(data, indent=1).encode()
    back = Manifest.parse(dumped, "test")
    same = json.dumps(back.objects, sort_keys=True) == json.dumps(objects, sort_keys=True)  # NaN != NaN
    assert same and back.shows == shows
    # read compact (a build's entries as tuples), the same tables and the same bytes again
    compact = Manifest.parse(dumped, "test", compact=True)
    assert compact.dump() == dumped and compact.shows == shows
    tables = {k: entry_table(v) for k, v in compact.objects.items()}
    assert json.dumps(tables, sort_keys=True) == json.dumps(objects, sort_keys=True)
    plain = {k for k, v in objects.items() if tuple(v) == PLAIN_ENTRY}
    assert {k for k, v in compact.objects.items() if type(v) is tuple} == plain


def test_a_rebuild_into_a_folder_rewrites_only_the_changed_entries_of_its_manifest(tmp_path: Path):
    """`write_folder` into a folder a publish wrote (entries with more than a build writes): the
    file whose bytes changed is written and its entry replaced; every other entry, its settings
    and verification included, is kept as it was; nothing changed, the manifest is not rewritten."""
    import hashlib

    from grandirenhlm.artifact import Artifact, Stage
    from grandirenhlm.storage.local import write_folder

    folder = tmp_path / "site"
    pages = {f"épisode-{i}/index.html": f"<p>{i}</p>".encode() for i in range(5)}

    def artifacts() -> list[Artifact]:
        return [Artifact.from_bytes(k, Stage.PAGE, "text/html; charset=utf-8", v) for k, v in pages.items()]

    shows = {"grandir": "urn:uuid:0"}
    assert write_folder(artifacts(), folder, "https://exemple.fr/", shows) == (5, 0)
    manifest = Manifest.parse((folder / MANIFEST_KEY).read_bytes(), "test")
    published = dict(manifest.objects)
    published["épisode-1/index.html"] = {
        **published["épisode-1/index.html"],
        "verified": "https://exemple.fr/",
    }
    published["épisode-2/index.html"] = {
        **published["épisode-2/index.html"],
        "settings": {"CacheControl": "max-age=300"},
    }
    (folder / MANIFEST_KEY).write_bytes(Manifest(published, shows, "https://exemple.fr/").dump())
    before = (folder / MANIFEST_KEY).stat().st_mtime_ns

    assert write_folder(artifacts(), folder, "https://exemple.fr/", shows) == (0, 5)
    assert (folder / MANIFEST_KEY).stat().st_mtime_ns == before  # not rewritten

    pages["épisode-3/index.html"] = b"<p>3, corrige</p>"
    assert write_folder(artifacts(), folder, "https://exemple.fr/", shows) == (1, 4)
    expected = dict(published)
    expected["épisode-3/index.html"] = {
        "sha256": hashlib.sha256(pages["épisode-3/index.html"]).hexdigest(),
        "size": len(pages["épisode-3/index.html"]),
        "stage": int(Stage.PAGE),
    }
    assert (folder / MANIFEST_KEY).read_bytes() == Manifest(expected, shows, "https://exemple.fr/").dump()
    assert (folder / "épisode-3/index.html").read_bytes() == pages["épisode-3/index.html"]


def test_a_new_folders_manifest_is_written_as_it_is_made(tmp_path: Path):
    """`write_folder` writes a new folder's manifest piece by piece (`manifest_pieces` into
    `LocalStorage.write_manifest`): the file holds the bytes `Manifest.dump` makes, whole, and no
    temporary file is left beside it."""
    from grandirenhlm.storage import manifest_pieces
    from grandirenhlm.storage.local import LocalStorage

    objects = {f"épisode-{i}/index.html": {"sha256": f"{i:064x}", "size": i, "stage": 2} for i in range(2500)}
    shows = {"grandir": "urn:uuid:0", "émission": ""}
    storage = LocalStorage(tmp_path / "site")
    storage.root.mkdir()
    storage.write_manifest(manifest_pieces(shows, "https://exemple.fr/", sorted(objects.items())))
    written = (storage.root / MANIFEST_KEY).read_bytes()
    assert written == Manifest(objects, shows, "https://exemple.fr/").dump()
    assert json.loads(written)["objects"] == objects
    assert [p.relative_to(storage.root).as_posix() for p in storage.root.rglob("*") if p.is_file()] == [
        MANIFEST_KEY
    ]


def test_an_atomic_write_takes_one_bytes_like_object_or_pieces(tmp_path: Path):
    """`files.write_atomic`: bytes, a bytearray or a memoryview are written as one piece; any other
    iterable is taken as the pieces of the file, written as they come."""
    from grandirenhlm.files import write_atomic

    target = tmp_path / "objet.bin"
    for data in (b"abc", bytearray(b"abc"), memoryview(b"abc"), iter([b"a", b"bc"]), [b"ab", b"", b"c"]):
        write_atomic(target, data, durable=False)
        assert target.read_bytes() == b"abc", data
    assert [p.name for p in tmp_path.iterdir()] == ["objet.bin"]  # no temporary file left


def test_write_new_refuses_a_file_there_unless_told_to_replace_it(tmp_path: Path):
    """`files.write_new` (a staged build's files): a name taken is refused, or with `replace` the
    file, or a link, is replaced by the new bytes, and what a link pointed at is left alone."""
    from grandirenhlm.files import write_new

    target = tmp_path / "show" / "episode" / "index.html"
    write_new(target, b"first")  # its folders made
    with pytest.raises(FileExistsError):
        write_new(target, b"second")
    assert target.read_bytes() == b"first"
    write_new(target, b"second", replace=True)
    assert target.read_bytes() == b"second" and (target.stat().st_mode & 0o777) == 0o644
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_bytes(b"not the site's")
    link = tmp_path / "show" / "feed.xml"
    link.symlink_to(elsewhere)
    write_new(link, b"<rss/>", replace=True)
    assert not link.is_symlink() and link.read_bytes() == b"<rss/>"
    assert elsewhere.read_bytes() == b"not the site's"
