"""The importer's HTTP reads against a real local server with real faults: a connection cut in the
middle of a media file (resumed with Range/If-Range), 503s (retried), a response over its size
limit, a redirect to a local file, and an import whose media download keeps failing (reported, the
rest imported, the rerun completes it)."""

from __future__ import annotations

import hashlib
import signal
import subprocess
from pathlib import Path

import pytest

from grandirenhlm import site
from grandirenhlm.errors import GrandirError
from grandirenhlm.importing.fetch import Fetcher, FetchError, Limits
from tests.import_server import HostServer, cli, records
from tests.support import GRANDIRENHLM_INTERRUPTIBLE, make_cover, make_mp3

FAST = Limits(retry_pause=0.05, attempts=3, resume_from=0)  # the test files are small: resume them


@pytest.fixture
def mp3(tmp_path: Path) -> bytes:
    return make_mp3(tmp_path / "a.mp3", 4.0).read_bytes()


def test_a_cut_download_resumes_with_a_range_request(tmp_path: Path, mp3: bytes):
    with HostServer() as host:
        host.add("/a.mp3", mp3, cut_after=len(mp3) // 3, cuts=1)
        got = Fetcher(FAST).download(host.url("/a.mp3"), tmp_path / "a.part", Limits().media_bytes)
        ranges = [r[2] for r in host.requested("/a.mp3")]
    assert got.resumed and got.size == len(mp3)
    assert hashlib.sha256(got.path.read_bytes()).digest() == hashlib.sha256(mp3).digest()
    assert got.sha256 == hashlib.sha256(mp3).hexdigest()  # hashed as written: the first part, then the rest
    assert ranges == [None, f"bytes={len(mp3) // 3}-"]  # the second request asked for the rest only


def test_a_small_file_cut_short_is_fetched_again_whole(tmp_path: Path, mp3: bytes):
    with HostServer() as host:
        host.add("/a.mp3", mp3, cut_after=len(mp3) // 3, cuts=1)
        limits = Limits(retry_pause=0.05, attempts=3)  # the default resume_from: 1 MiB, more than this file
        got = Fetcher(limits).download(host.url("/a.mp3"), tmp_path / "a.part", limits.media_bytes)
        ranges = [r[2] for r in host.requested("/a.mp3")]
    assert not got.resumed and got.path.read_bytes() == mp3
    assert got.sha256 == hashlib.sha256(mp3).hexdigest()  # not the cut first attempt's bytes too
    assert ranges == [None, None]
    assert not (tmp_path / "a.part.json").exists()


def test_a_part_left_by_an_earlier_run_is_completed(tmp_path: Path, mp3: bytes):
    with HostServer() as host:
        host.add("/a.mp3", mp3, cut_after=1000, cuts=1)
        one_try = Limits(attempts=1, resume_from=0)
        with pytest.raises(FetchError, match="ended after 1000 of"):
            Fetcher(one_try).download(host.url("/a.mp3"), tmp_path / "a.part", one_try.media_bytes)
        assert (tmp_path / "a.part").stat().st_size == 1000  # kept for the next run
        got = Fetcher(one_try).download(host.url("/a.mp3"), tmp_path / "a.part", one_try.media_bytes)
        assert got.resumed and got.path.read_bytes() == mp3
        assert got.sha256 == hashlib.sha256(mp3).hexdigest()  # the earlier run's part hashed first
        assert host.requested("/a.mp3")[-1][2] == "bytes=1000-"


def test_a_changed_file_is_downloaded_whole_again(tmp_path: Path, mp3: bytes):
    with HostServer() as host:
        host.add("/a.mp3", mp3, cut_after=1000, cuts=1)
        one_try = Limits(attempts=1, resume_from=0)
        with pytest.raises(FetchError):
            Fetcher(one_try).download(host.url("/a.mp3"), tmp_path / "a.part", one_try.media_bytes)
        host.add("/a.mp3", mp3[::-1])  # the host replaced the file: its ETag changed, If-Range fails
        got = Fetcher(one_try).download(host.url("/a.mp3"), tmp_path / "a.part", one_try.media_bytes)
    assert not got.resumed and got.path.read_bytes() == mp3[::-1]
    assert got.sha256 == hashlib.sha256(mp3[::-1]).hexdigest()


def test_503_is_retried_and_404_is_not(tmp_path: Path):
    with HostServer() as host:
        host.add("/feed.xml", b"<rss/>", failures=2)
        retries: list[str] = []
        assert Fetcher(FAST, retries.append).fetch(host.url("/feed.xml"), 1000, "feed").data == b"<rss/>"
        assert len(retries) == 2 and "503" in retries[0]
        with pytest.raises(FetchError, match="404") as info:
            Fetcher(FAST).fetch(host.url("/nothing"), 1000, "feed")
        assert info.value.final and len(host.requested("/nothing")) == 1


def test_limits_stop_large_answers(tmp_path: Path, mp3: bytes):
    with HostServer() as host:
        host.add("/big.xml", b"<rss>" + b" " * (5120 - 11) + b"</rss>")
        host.add("/a.mp3", mp3)
        with pytest.raises(FetchError, match=r"feed of 5 KiB, larger than 1 KiB: not read"):
            Fetcher(FAST).fetch(host.url("/big.xml"), 1024, "feed")
        with pytest.raises(FetchError, match="larger than 1 KiB: not downloaded"):
            Fetcher(FAST).download(host.url("/a.mp3"), tmp_path / "a.part", 1024)


def test_a_host_that_trickles_is_stopped(tmp_path: Path):
    """One byte every 50 ms: under the minimum rate once `timeout` has passed, so the read stops,
    as a final error (trying again would trickle again)."""
    with HostServer() as host:
        host.add("/slow.xml", b"<rss>" + b" " * 4000 + b"</rss>", trickle=0.05)
        # timeout 2 s: long enough that a loaded machine never leaves the socket silent that long
        # between two bytes (that would be the other limit, "no byte for ... s", which is retried)
        limits = Limits(timeout=2.0, min_rate=1024, attempts=3, retry_pause=0.05)
        with pytest.raises(FetchError, match="slower than 1 KiB/s: stopped") as info:
            Fetcher(limits).fetch(host.url("/slow.xml"), 1_000_000, "feed")
        assert info.value.final and len(host.requested("/slow.xml")) == 1


def test_a_redirect_to_a_local_file_is_refused(tmp_path: Path):
    with HostServer() as host:
        host.add("/feed.xml", b"", redirect="file:///etc/passwd")
        with pytest.raises(FetchError, match="not an http\\(s\\) URL"):
            Fetcher(FAST).fetch(host.url("/feed.xml"), 1000, "feed")


def test_a_feed_over_the_limit_is_one_error_through_the_library(tmp_path: Path):
    (tmp_path / "feeds").mkdir()
    project = site.open_project(tmp_path)
    with HostServer() as host:
        host.add("/big.xml", b"<rss>" + b" " * 5000 + b"</rss>")
        options = site.ImportOptions(limits=Limits(feed_bytes=1024))
        with pytest.raises(GrandirError, match="larger than 1 KiB"):
            site.import_podcast(project, host.url("/big.xml"), "big", options)
    assert not (tmp_path / "feeds" / "big.toml").exists()


FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">
<channel><title>Pannes</title><description>Un hôte qui flanche.</description><language>fr</language>
<itunes:image href="{base}/cover.jpg"/><itunes:category text="Arts"/>
<itunes:owner><itunes:email>pannes@example.org</itunes:email></itunes:owner>
<item><title>Bon</title><guid>good-1</guid><pubDate>Mon, 01 Apr 2024 10:00:00 +0000</pubDate>
<enclosure url="{base}/good.mp3" length="1" type="audio/mpeg"/></item>
<item><title>Mauvais</title><guid>bad-1</guid><pubDate>Tue, 02 Apr 2024 10:00:00 +0000</pubDate>
<enclosure url="{base}/bad.mp3" length="1" type="audio/mpeg"/></item>
</channel></rss>"""


def test_an_item_whose_media_fails_is_reported_and_the_rerun_imports_it(tmp_path: Path, mp3: bytes):
    root = tmp_path / "project"
    (root / "feeds").mkdir(parents=True)
    with HostServer() as host:
        host.add("/feed.xml", FEED.format(base=host.base).encode())
        host.add("/cover.jpg", make_cover(tmp_path / "c.jpg").read_bytes())
        host.add("/good.mp3", mp3)
        host.add("/bad.mp3", mp3, failures=100)  # more 503s than the importer's tries
        first = cli(root, "import", host.url("/feed.xml"), "--show", "pannes")
        assert first.returncode == 1
        assert "Traceback" not in first.stderr
        assert "dropped: Mauvais: not imported: " in first.stdout and "503" in first.stdout
        assert first.stderr.splitlines()[-1] == (
            "error: some items were not imported (see above); run the same import again"
        )
        assert set(records(root, "pannes")) == {"good-1"}

        host.routes["/bad.mp3"].failures = 0  # the host is back
        second = cli(root, "import", host.url("/feed.xml"), "--show", "pannes")
        assert second.returncode == 0, second.stderr
        assert "imported: 1 item(s)" in second.stdout and "already imported: 1 item(s)" in second.stdout
    assert set(records(root, "pannes")) == {"good-1", "bad-1"}
    assert records(root, "pannes")["good-1"]["guid_is_permalink"] is True  # <guid> without the attribute


def test_ctrl_c_stops_the_downloads_and_keeps_what_was_done(tmp_path: Path, mp3: bytes):
    root = tmp_path / "project"
    (root / "feeds").mkdir(parents=True)
    with HostServer() as host:
        host.add("/feed.xml", FEED.format(base=host.base).encode())
        host.add("/cover.jpg", make_cover(tmp_path / "c.jpg").read_bytes())
        host.add("/good.mp3", mp3)
        host.add("/bad.mp3", mp3, trickle=0.05)  # minutes to send: still running at Ctrl-C
        process = subprocess.Popen(
            [
                *GRANDIRENHLM_INTERRUPTIBLE,
                "--project",
                str(root),
                "import",
                host.url("/feed.xml"),
                "--show",
                "p",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert host.trickling.wait(60)
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=30)  # not the minutes the trickle would take
        finally:
            process.kill()
    assert process.returncode == 130
    assert "Traceback" not in stderr
    assert stderr.splitlines()[-1].startswith("error: interrupted; what was done is kept")
    assert "bad-1" not in records(root, "p")
    assert not list((root / "media").rglob("*.tmp"))


def test_probe_takes_the_downloads_hash_only_for_a_file_of_its_size(tmp_path: Path, mp3: bytes):
    """An import hashes media as it downloads them: `probe` takes that hash for the same number of
    bytes, and hashes the file itself when its size differs (changed since it was written)."""
    from grandirenhlm.media import probe

    path = tmp_path / "a.mp3"
    path.write_bytes(mp3)
    real = hashlib.sha256(mp3).hexdigest()
    told = "ab" * 32  # not the file's: shows that it is taken as told, the file not hashed again
    assert probe(path, (len(mp3), told)).sha256 == told
    assert probe(path, (len(mp3) + 1, told)).sha256 == real
    assert probe(path).sha256 == real
