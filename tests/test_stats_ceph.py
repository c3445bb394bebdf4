"""Real traffic: the demo published to a real Ceph RADOS Gateway writing its ops log, downloaded by
real HTTP clients playing several listeners (X-Forwarded-For), and `count_downloads` on that log.

The gateway (../shared/s3/start with S3_OPS_LOG) takes the client address from X-Forwarded-For, as
behind a CDN. The test's own traffic is cut out of the log between two marker requests (as a log
rotation would), so its exact counts are known; the whole log, publish included, gives the same
downloads. Skipped with the reason when the gateway cannot start here.
"""

from __future__ import annotations

import http.client
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import pytest

from grandirenhlm.catalog import load_catalog
from grandirenhlm.config import load_project
from grandirenhlm.stats import EpisodeRef, count_downloads, episode_refs
from tests.conftest import REPO, allow_anonymous_reads

# one worker starts the gateways, one after the other (`make test` runs the tests on two: `--dist loadgroup`)
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("ceph")]
S3_SCRIPTS = REPO.parent / "shared" / "s3"

ANTENNAPOD = "AntennaPod/3.4.0"
APPLE = "Podcasts/1700.1 CFNetwork/1474 Darwin/23.0.0"
OVERCAST = "Overcast/3.0 (+http://overcast.fm/; iOS podcast app)"
DEEZER = "Deezer/7.0 (Android; 13; Mobile; fr)"
CRAWLER = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
WATCH = "Podcasts/1.0 watchOS/10.1"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def rgw_ops() -> Iterator[dict[str, str]]:
    """A gateway on free ports in a private folder, writing its ops log; its endpoint, keys and log."""
    if not (S3_SCRIPTS / "start").is_file():
        pytest.skip(f"no Ceph RGW scripts at {S3_SCRIPTS}")
    home = Path(tempfile.mkdtemp(prefix="rgw-ops-"))
    shutil.rmtree(home)  # start makes it, so that stop --purge may delete it
    env = {
        **os.environ, "S3_HOME": str(home), "S3_PORT": str(_free_port()), "S3_MON_PORT": str(_free_port()),
        "S3_OPS_LOG": str(home / "ops.log"),
    }  # fmt: skip
    done = subprocess.run([str(S3_SCRIPTS / "start")], env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no output"])[-1]
        pytest.skip(f"Ceph RGW could not start here: {reason}")
    values = {}
    for line in done.stdout.splitlines():
        if line.startswith("export "):
            key, _, value = line.removeprefix("export ").partition("=")
            values[key] = value.strip("'\"")
    try:
        assert values["S3_OPS_LOG"] == str(home / "ops.log")
        yield values
    finally:
        subprocess.run([str(S3_SCRIPTS / "stop"), "--purge"], env=env, capture_output=True, timeout=120)


class Client:
    """Plain HTTP requests to the gateway, as podcast apps make them (one connection each)."""

    def __init__(self, endpoint: str, bucket: str):
        url = urlsplit(endpoint)
        self.host, self.port, self.prefix = url.hostname, url.port, f"/{bucket}/hlm/"

    def fetch(self, key: str, ua: str | None, addr: str | None, *, byte_range: str | None = None,
              method: str = "GET", raw_path: str | None = None) -> tuple[int, int]:  # fmt: skip
        """(status, body bytes received)."""
        headers = {}
        if ua is not None:
            headers["User-Agent"] = ua  # http.client sends none unless told: an empty User-Agent
        if addr is not None:
            headers["X-Forwarded-For"] = addr
        if byte_range:
            headers["Range"] = f"bytes={byte_range}"
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            conn.request(method, raw_path or self.prefix + key, headers=headers)
            response = conn.getresponse()
            return response.status, len(response.read())
        finally:
            conn.close()


def wait_for_marker(log: Path, marker: str, timeout: float = 60.0) -> int:
    """Wait until the gateway has written the line of the marker request; the offset after it."""
    deadline = time.monotonic() + timeout
    while True:
        data = log.read_bytes() if log.exists() else b""
        at = data.find(marker.encode())
        if at >= 0:
            return data.index(b"\n", at) + 1
        assert time.monotonic() < deadline, f"the ops log never showed {marker}"
        time.sleep(0.05)  # polling the file for the event: the gateway gives no other signal


def test_real_traffic_on_ceph_gives_the_downloads_the_rules_say(
    demo_project: Path, rgw_ops, aws_env, monkeypatch
):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", rgw_ops["AWS_ACCESS_KEY_ID"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", rgw_ops["AWS_SECRET_ACCESS_KEY"])
    endpoint, log = rgw_ops["S3_ENDPOINT_URL"], Path(rgw_ops["S3_OPS_LOG"])
    bucket = f"stats-{uuid.uuid4().hex[:10]}"
    s3 = boto3.Session().client("s3", endpoint_url=endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)
    allow_anonymous_reads(s3, bucket)
    published = subprocess.run(
        [sys.executable, "-m", "grandirenhlm", "--project", str(demo_project), "publish", "--quiet",
         "--to", f"s3://{bucket}/hlm", "--endpoint-url", endpoint, "--addressing-style", "path",
         "--public-base-url", f"{endpoint}/{bucket}/hlm/"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert published.returncode == 0, published.stderr
    refs = episode_refs(load_catalog(load_project(demo_project)), demo_project)
    by_slug: dict[str, EpisodeRef] = {r.slug: r for r in refs}
    key = {slug: r.files[0].key for slug, r in by_slug.items()}
    size = {slug: r.files[0].size for slug, r in by_slug.items()}
    assert all(r.files[0].threshold == r.files[0].size for r in refs)  # the demo: all under a minute

    client = Client(endpoint, bucket)
    start_marker, end_marker = f"marker-{uuid.uuid4().hex}", f"marker-{uuid.uuid4().hex}"
    client.fetch("", "marker", None, raw_path=f"/{bucket}/{start_marker}")
    start = wait_for_marker(log, start_marker)

    t1, t2, t3, t4, t5 = (f"temoignage-{i}" for i in range(1, 6))
    expect = []

    def get(slug_or_key, ua, addr, status, **kw):
        got = client.fetch(key.get(slug_or_key, slug_or_key), ua, addr, **kw)
        expect.append(got[0])
        assert got[0] == status, (slug_or_key, ua, addr, kw, got)

    # A: a whole download, then the same listener again with ranges: one download (R7)
    get(t1, ANTENNAPOD, "203.0.113.10", 200)
    get(t1, ANTENNAPOD, "203.0.113.10", 206, byte_range="0-1")
    get(t1, ANTENNAPOD, "203.0.113.10", 206, byte_range=f"0-{size[t1] - 1}")
    # H: the same address with another app is another listener (R3)
    get(t1, OVERCAST, "203.0.113.10", 200)
    # B: an Apple-style probe, then the file in two ranges: covered = the whole file (R5, R6)
    half = size[t2] // 2
    get(t2, APPLE, "2001:db8:1:2::10", 206, byte_range="0-1")
    get(t2, APPLE, "2001:db8:1:2::10", 206, byte_range=f"0-{half - 1}")
    get(t2, APPLE, "2001:db8:1:2::10", 206, byte_range=f"{half}-")
    # C: another address of the same IPv6 /64 with the same app: the same listener (R3)
    get(t2, APPLE, "2001:db8:1:2:aaaa::99", 200)
    # D: a probe only; E: the same half twice (overlaps count once): under the threshold (R5, R6)
    get(t3, OVERCAST, "198.51.100.20", 206, byte_range="0-1")
    get(t3, OVERCAST, "198.51.100.21", 206, byte_range=f"0-{size[t3] // 2}")
    get(t3, OVERCAST, "198.51.100.21", 206, byte_range=f"0-{size[t3] // 2}")
    # a crawler, an empty User-Agent, an Apple Watch (R2)
    get(t4, CRAWLER, "198.51.100.30", 200)
    get(t4, None, "198.51.100.31", 200)
    get(t5, WATCH, "198.51.100.32", 200)
    # a HEAD, a range past the end, a feed and a page (R1)
    get(t5, ANTENNAPOD, "203.0.113.10", 200, method="HEAD")
    get(t5, ANTENNAPOD, "203.0.113.10", 416, byte_range=f"{size[t5] + 10}-")
    get("grandir-en-hlm/feed.xml", ANTENNAPOD, "203.0.113.10", 200)
    get("grandir-en-hlm/temoignage-1/index.html", ANTENNAPOD, "203.0.113.10", 200)
    # F: the replay probed as video, then downloaded as its audio-only alternate: one download
    replay = by_slug["replay-2023"]
    get(replay.files[0].key, DEEZER, "192.0.2.50", 206, byte_range="0-1")
    get(replay.files[1].key, DEEZER, "192.0.2.50", 200)

    client.fetch("", "marker", None, raw_path=f"/{bucket}/{end_marker}")
    end = wait_for_marker(log, end_marker)
    ours = log.parent / "ours.log"
    ours.write_bytes(log.read_bytes()[start:end])
    warnings: list[str] = []
    doc = count_downloads([ours], refs, warn=warnings.append).to_json()
    assert warnings == []
    downloads = {e["slug"]: (e["downloads"], e["by_app"]) for e in doc["episodes"] if e["downloads"]}
    assert downloads == {
        t1: (2, {"AntennaPod": 1, "Overcast": 1}),
        t2: (1, {"Apple Podcasts": 1}),
        "replay-2023": (1, {"Deezer": 1}),
    }
    assert doc["excluded"] == {
        "not_get": 1, "status": 1, "bot": 1, "empty_user_agent": 1, "apple_watch": 1, "under_threshold": 3,
    }  # fmt: skip
    assert doc["requests"] == {"read": len(expect) + 1, "media": len(expect) - 2, "not_media": 3}

    # the whole log (bucket creation, the publish and its checks of every enclosure): same downloads
    whole = count_downloads([log], refs, warn=warnings.append).to_json()
    assert warnings == []
    assert {
        e["slug"]: (e["downloads"], e["by_app"]) for e in whole["episodes"] if e["downloads"]
    } == downloads
    assert whole["excluded"]["not_get"] > 1 and whole["requests"]["read"] > doc["requests"]["read"]
    assert str(ours).endswith("ours.log") and b"203.0.113.10" in ours.read_bytes()  # the log has them
