"""`grandirenhlm export --show SHOW DIR`: leaving with everything. The demo show (made a paged feed)
is exported, its records pass `check` on their own, and the exported feed, served from the exported
site folder, imports into an empty project with the same guids, podcast:guid and media."""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

from lxml import etree

from tests.import_server import HostServer, assert_one_line_error, cli, records

PODCAST = "https://podcastindex.org/namespace/1.0"


def test_export_then_import_elsewhere_keeps_the_show(demo_project: Path, tmp_path: Path):
    show_file = demo_project / "feeds" / "grandir-en-hlm.toml"
    show_file.write_text("page_size = 2\n" + show_file.read_text(encoding="utf-8"), encoding="utf-8")
    out = tmp_path / "export"
    with HostServer() as host:
        result = cli(
            demo_project, "export", "--show", "grandir-en-hlm", str(out), "--base-url", host.base + "/"
        )
        assert result.returncode == 0, result.stderr
        assert "exported grandir-en-hlm: 6 episode(s)" in result.stdout

        feed = etree.fromstring((out / "feed.xml").read_bytes())
        guids = [g.text for g in feed.iter("guid")]
        assert len(guids) == 6  # the three pages of the published feed, merged
        assert feed.findtext(f"channel/{{{PODCAST}}}guid") == "3e37be38-ef1c-5ad4-8f56-6990ae707657"
        links = feed.iter("{http://www.w3.org/2005/Atom}link")
        assert not [link for link in links if link.get("rel") == "next"]
        for enclosure in feed.iter("enclosure"):  # every enclosure is in site/ at its URL's path
            local = out / "site" / enclosure.get("url").removeprefix(host.base + "/")
            assert local.stat().st_size == int(enclosure.get("length"))
        assert sorted(p.name for p in (out / "site" / "grandir-en-hlm" / "temoignage-1").iterdir()) == [
            "chapters.json", "transcript.html", "transcript.json", "transcript.srt", "transcript.vtt"
        ]  # fmt: skip

        check = cli(out / "project", "check")
        assert check.returncode == 0, check.stderr
        exported = records(out / "project", "grandir-en-hlm")
        assert set(exported) == set(guids) == set(records(demo_project, "grandir-en-hlm"))

        for path in (out / "site").rglob("*"):
            if path.is_file():
                host.add("/" + path.relative_to(out / "site").as_posix(), path.read_bytes())
        host.add("/feed.xml", (out / "feed.xml").read_bytes())
        empty = tmp_path / "elsewhere"
        (empty / "feeds").mkdir(parents=True)
        moved = cli(empty, "import", host.url("/feed.xml"), "--show", "grandir", "--owner-confirmed")
        assert moved.returncode == 0, moved.stderr
    imported = records(empty, "grandir")
    assert set(imported) == set(guids)
    for guid, record in imported.items():
        media = record["_path"].parent / record["media"]["file"]
        original = exported[guid]["_path"].parent / exported[guid]["media"]["file"]
        assert hashlib.sha256(media.read_bytes()).digest() == hashlib.sha256(original.read_bytes()).digest()
    show = tomllib.loads((empty / "feeds" / "grandir.toml").read_text(encoding="utf-8"))
    assert show["podcast_guid"] == "3e37be38-ef1c-5ad4-8f56-6990ae707657"


def test_export_refuses_a_folder_that_is_not_empty_and_an_unknown_show(demo_project: Path, tmp_path: Path):
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine", encoding="utf-8")
    result = cli(demo_project, "export", "--show", "grandir-en-hlm", str(busy))
    assert_one_line_error(result, "not an empty folder")
    assert [p.name for p in busy.iterdir()] == ["keep.txt"]
    unknown = cli(demo_project, "export", "--show", "nope", str(tmp_path / "new"))
    assert_one_line_error(unknown, "--show", "unknown show 'nope'")
    assert not (tmp_path / "new").exists()
