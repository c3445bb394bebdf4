"""The same publish path against a real Ceph RADOS Gateway (../shared/s3/start), stricter than moto.

Skipped with the reason when the gateway cannot start here (no ../shared/s3, no apt); .ci/run
runs it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import boto3
import feedparser
import pytest

from grandirenhlm import site
from grandirenhlm.config import Target, load_project
from grandirenhlm.lock import LockInfo, publish_lock
from grandirenhlm.plan import KEEP_SECONDS
from grandirenhlm.storage import MANIFEST_KEY
from grandirenhlm.storage.s3 import S3Storage
from tests import test_publish_faults as faults
from tests.faultproxy import FaultProxy, Rule
from tests.support import (
    DEMO_SITE_FILES,
    REPO,
    aged_manifest,
    allow_anonymous_reads,
    assert_clean_error,
    run_cli,
)
from tests.test_publish_s3_settings import add_big_episodes, configure, media_heads

# one worker starts the gateways, one after the other (`make test` runs the tests on two: `--dist loadgroup`)
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("ceph")]
S3_SCRIPTS = REPO.parent / "shared" / "s3"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def rgw() -> Iterator[dict[str, str]]:
    """Start a gateway on free ports in a private folder; yield its endpoint and keys."""
    if not (S3_SCRIPTS / "start").is_file():
        pytest.skip(f"no Ceph RGW scripts at {S3_SCRIPTS}")
    home = Path(tempfile.mkdtemp(prefix="rgw-"))
    shutil.rmtree(home)  # start makes it, so that stop --purge may delete it
    env = {**os.environ, "S3_HOME": str(home), "S3_PORT": str(_free_port()), "S3_MON_PORT": str(_free_port())}
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
        yield values
    finally:
        subprocess.run([str(S3_SCRIPTS / "stop"), "--purge"], env=env, capture_output=True, timeout=120)


@pytest.fixture
def rgw_bucket(rgw: dict[str, str], aws_env: None, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", rgw["AWS_ACCESS_KEY_ID"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", rgw["AWS_SECRET_ACCESS_KEY"])
    endpoint = rgw["S3_ENDPOINT_URL"]
    bucket = f"ceph-{uuid.uuid4().hex[:10]}"
    # a new session: boto3's default one caches the credentials of an earlier test
    client = boto3.Session().client("s3", endpoint_url=endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=bucket)
    allow_anonymous_reads(client, bucket)
    return endpoint, bucket


@pytest.fixture
def rgw_private_bucket(
    rgw: dict[str, str], aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, str]:
    """A new bucket with no policy: only its owner can read it, as a new user's bucket starts."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", rgw["AWS_ACCESS_KEY_ID"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", rgw["AWS_SECRET_ACCESS_KEY"])
    endpoint = rgw["S3_ENDPOINT_URL"]
    bucket = f"ceph-{uuid.uuid4().hex[:10]}"
    boto3.Session().client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    return endpoint, bucket


def anonymous(url: str, **headers: str) -> tuple[int, bytes]:
    """GET `url` as a listener's app would: no credentials."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def assert_listeners_can_fetch_what_feeds_list(endpoint: str, bucket: str, prefix: str = "hlm") -> int:
    """The invariant, checked from outside: every feed an anonymous client can read lists only
    enclosures (and alternate enclosures) it can fetch with a byte range. Returns the number of
    feeds it could read."""
    from lxml import etree

    client = boto3.Session().client("s3", endpoint_url=endpoint, region_name="us-east-1")
    listed = client.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/").get("Contents", [])
    readable = 0
    for key in sorted(o["Key"] for o in listed if o["Key"].endswith(".xml") and "/feed" in o["Key"]):
        status, body = anonymous(f"{endpoint}/{bucket}/{key}")
        if status != 200:
            continue
        readable += 1
        root = etree.fromstring(body)
        urls = [e.get("url") for e in root.iter("enclosure")]
        urls += [e.get("uri") for e in root.iter("{https://podcastindex.org/namespace/1.0}source")]
        assert urls, key
        for url in urls:
            status, data = anonymous(url, Range="bytes=0-1")
            assert (status, len(data)) == (206, 2), f"{key} lists {url}, which answers {status}"
    return readable


def publish(root: Path, endpoint: str, bucket: str, *extra: str):
    return run_cli(
        root, "publish", "--json", "--to", f"s3://{bucket}/hlm", "--endpoint-url", endpoint,
        "--addressing-style", "path", "--public-base-url", f"{endpoint}/{bucket}/hlm/", *extra,
    )  # fmt: skip


def test_publish_to_ceph_is_readable_anonymously_and_incremental(demo_project: Path, rgw_bucket):
    endpoint, bucket = rgw_bucket
    first = publish(demo_project, endpoint, bucket)
    assert first.exit_code == 0, first.stderr
    assert json.loads(first.stdout)["uploaded"] == DEMO_SITE_FILES == site_size(demo_project)

    import urllib.request

    with urllib.request.urlopen(f"{endpoint}/{bucket}/hlm/grandir-en-hlm/feed.xml", timeout=10) as r:
        assert r.headers["Content-Type"] == "application/xml; charset=utf-8"  # browsers render XML
        parsed = feedparser.parse(r.read())
    assert len(parsed.entries) == 6
    for entry in parsed.entries:
        enclosure = entry.enclosures[0]
        request = urllib.request.Request(enclosure.href, headers={"Range": "bytes=0-1"})
        with urllib.request.urlopen(request, timeout=10) as r:
            assert r.status == 206
            assert r.headers["Content-Length"] == "2"
            assert r.headers["Content-Type"] == "audio/mpeg"
            assert r.headers["Content-Range"] == f"bytes 0-1/{enclosure.length}"
    page = parsed.entries[0].link
    assert page.startswith(f"{endpoint}/{bucket}/hlm/grandir-en-hlm/") and page.endswith("/index.html")
    with urllib.request.urlopen(page, timeout=10) as r:
        assert r.headers["Content-Type"] == "text/html; charset=utf-8"
        assert b"<audio" in r.read()
    second = publish(demo_project, endpoint, bucket)
    assert json.loads(second.stdout)["uploaded"] == 0


def test_wrong_credentials_are_a_clean_error_without_secrets(demo_project: Path, rgw_bucket, monkeypatch):
    endpoint, bucket = rgw_bucket
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-right-secret-key")
    result = publish(demo_project, endpoint, bucket)
    assert_clean_error(result, f"error: s3://{bucket}/hlm: wrong credentials")
    assert "not-the-right-secret-key" not in result.stderr + result.stdout
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "UNKNOWNKEY0000000000")
    assert_clean_error(
        publish(demo_project, endpoint, bucket), "wrong credentials: the access key is not known"
    )


def site_size(root: Path) -> int:
    """How many objects a publish of the project puts (the site grows with the features)."""
    project = load_project(root)
    return len(site.render(project, "http://x/", datetime.now(UTC), cache=False))


def test_the_publish_lock_is_exclusive_on_ceph(demo_project: Path, rgw_bucket):
    """RGW honours If-None-Match: * on PUT, so the second lock attempt fails at the server."""
    endpoint, bucket = rgw_bucket
    target = Target(
        name="ceph", url=f"s3://{bucket}/hlm", public_base_url="",
        options={"endpoint_url": endpoint, "addressing_style": "path"},
    )  # fmt: skip
    first, second = S3Storage(target), S3Storage(target)
    with publish_lock(first) as mine:
        assert second.create_lock(b"{}") is False  # refused by the server itself
        assert LockInfo.parse(second.read_lock()) == mine
        refused = publish(demo_project, endpoint, bucket)
        assert_clean_error(refused, f"error: s3://{bucket}/hlm: another publish is running (pid {mine.pid} ")
    assert second.read_lock() is None  # released
    done = publish(demo_project, endpoint, bucket)
    assert done.exit_code == 0, done.stderr


def test_multipart_upload_on_ceph(project: Path, rgw_bucket):
    endpoint, bucket = rgw_bucket
    big_show = add_big_episodes(project)
    configure(big_show, endpoint, bucket, multipart_threshold_mb=5)
    result = run_cli(big_show, "publish", "--to", "bucket", "--json")
    assert result.exit_code == 0, result.stderr
    etags = {k: h["ETag"] for k, h in media_heads(endpoint, bucket, "show").items()}
    (long_key,) = [k for k in etags if k.startswith("un-long")]
    assert etags[long_key].endswith('-2"'), etags
    assert all("-" not in e for k, e in etags.items() if k != long_key)


def test_missing_bucket_on_ceph(demo_project: Path, rgw_bucket):
    endpoint, _ = rgw_bucket
    assert_clean_error(publish(demo_project, endpoint, "no-such-bucket"), "the bucket does not exist")


# ---------------------------------------------------------------- faults, through the test proxy


@pytest.fixture
def rgw_proxy(rgw_bucket) -> Iterator[FaultProxy]:
    proxy = FaultProxy(upstream=rgw_bucket[0]).start()
    try:
        yield proxy
    finally:
        proxy.stop()


def test_ceph_publish_killed_in_the_middle_then_rerun(demo_project: Path, rgw_bucket, rgw_proxy):
    endpoint, bucket = rgw_bucket
    held = faults.hold_media_after(rgw_proxy, 2)
    args = faults.publish_args(rgw_proxy.url, endpoint, bucket)
    victim = faults.spawn(demo_project, args)
    rgw_proxy.wait_for_count(2, "PUT", 200, "/media/")
    victim.kill()
    victim.communicate(timeout=30)
    held.set()
    assert not [k for k in faults.bucket_keys(endpoint, bucket) if k.endswith("feed.xml")]

    rgw_proxy.clear()
    rgw_proxy.add(Rule(faults.is_media_put, status=503, code="SlowDown", times=4))  # and busy
    code, out, err = faults.finish(faults.spawn(demo_project, [*args, "--json"]))
    assert code == 0, err
    assert f"taking over the lock left by pid {victim.pid}" in err
    assert "note: 2 object(s) already on the target from an interrupted publish" in err  # no manifest
    assert json.loads(out)["uploaded"] == DEMO_SITE_FILES - 2 == site_size(demo_project) - 2
    assert faults.assert_no_feed_points_at_a_missing_object(endpoint, bucket) == 2
    assert faults.LOCK_KEY not in faults.bucket_keys(endpoint, bucket)


# ---------------------------------------------------------------- a new user's bucket, run after run


def test_a_private_bucket_keeps_the_feeds_out_run_after_run_until_it_is_readable(
    demo_project: Path, rgw_private_bucket
):
    endpoint, bucket = rgw_private_bucket
    for attempt in ("first run", "rerun"):
        result = publish(demo_project, endpoint, bucket, "--quiet")
        assert_clean_error(result, "feeds not updated", "answered 403, listeners cannot download it")
        assert assert_listeners_can_fetch_what_feeds_list(endpoint, bucket) == 0, attempt
        client = boto3.Session().client("s3", endpoint_url=endpoint, region_name="us-east-1")
        keys = {o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]}
        assert not [k for k in keys if k.endswith("feed.xml")], attempt
    # a rerun with a public ACL re-applies it to what is already up, then the check passes
    acl = publish(demo_project, endpoint, bucket, "--acl", "public-read", "--quiet")
    assert acl.exit_code == 0, acl.stderr
    summary = json.loads(acl.stdout)
    assert summary["updated"] > 0 and summary["verified"] > 0
    assert assert_listeners_can_fetch_what_feeds_list(endpoint, bucket) == 2
    assert anonymous(f"{endpoint}/{bucket}/hlm/.grandirenhlm/manifest.json")[0] == 403  # never an ACL


def test_a_policy_added_by_hand_lets_the_rerun_through(demo_project: Path, rgw_private_bucket):
    endpoint, bucket = rgw_private_bucket
    assert publish(demo_project, endpoint, bucket, "--quiet").exit_code == 1
    client = boto3.Session().client("s3", endpoint_url=endpoint, region_name="us-east-1")
    allow_anonymous_reads(client, bucket)
    result = publish(demo_project, endpoint, bucket, "--quiet")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["uploaded"] == 2 and summary["verified"] > 0  # only the feeds were left to put
    assert assert_listeners_can_fetch_what_feeds_list(endpoint, bucket) == 2
    again = json.loads(publish(demo_project, endpoint, bucket, "--quiet").stdout)
    assert (again["uploaded"], again["updated"], again["verified"]) == (0, 0, 0)  # verified once


def test_setup_makes_a_new_bucket_ready_and_keeps_the_manifest_private(
    demo_project: Path, rgw, aws_env, monkeypatch
):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", rgw["AWS_ACCESS_KEY_ID"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", rgw["AWS_SECRET_ACCESS_KEY"])
    endpoint = rgw["S3_ENDPOINT_URL"]
    bucket = f"ceph-{uuid.uuid4().hex[:10]}"  # does not exist yet: setup creates it
    env = {
        "AWS_ACCESS_KEY_ID": rgw["AWS_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": rgw["AWS_SECRET_ACCESS_KEY"],
    }
    args = ["--to", f"s3://{bucket}/hlm", "--endpoint-url", endpoint, "--addressing-style", "path"]
    done = subprocess.run(
        [sys.executable, "-m", "grandirenhlm", "--project", str(demo_project), "setup", *args],
        capture_output=True, text=True, env={**os.environ, **env}, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == f"created the bucket {bucket}"
    assert "bucket policy: anyone may read hlm/, except .grandirenhlm/ (manifest and lock)" in done.stdout
    assert done.stdout.splitlines()[-1] == "checked from outside: the site is public, .grandirenhlm/ is not"
    published = subprocess.run(
        [sys.executable, "-m", "grandirenhlm", "--project", str(demo_project), "publish", "--json", *args],
        capture_output=True, text=True, env={**os.environ, **env}, timeout=300,
    )  # fmt: skip
    assert published.returncode == 0, published.stderr
    assert json.loads(published.stdout)["uploaded"] == DEMO_SITE_FILES
    assert assert_listeners_can_fetch_what_feeds_list(endpoint, bucket) == 2
    assert anonymous(f"{endpoint}/{bucket}/hlm/.grandirenhlm/manifest.json")[0] == 403
    assert anonymous(f"{endpoint}/{bucket}/hlm/index.html")[0] == 200
    assert "is readable by anyone" not in published.stderr


def test_an_unpublished_episode_is_kept_until_prune_then_gone(demo_project: Path, rgw_bucket):
    endpoint, bucket = rgw_bucket
    assert publish(demo_project, endpoint, bucket, "--quiet").exit_code == 0
    record = demo_project / "episodes" / "grandir-en-hlm" / "temoignage-6.toml"
    record.write_text(
        record.read_text(encoding="utf-8").replace("explicit = false\n", "explicit = false\ndraft = true\n"),
        encoding="utf-8",
    )
    kept = publish(demo_project, endpoint, bucket)
    assert kept.exit_code == 0, kept.stderr
    stale = json.loads(kept.stdout)["stale"]
    assert stale > 0
    assert f"note: {stale} object(s) on the target are no longer part of the site" in kept.stderr
    assert "`grandirenhlm publish --prune` deletes them" in kept.stderr
    page = f"{endpoint}/{bucket}/hlm/grandir-en-hlm/temoignage-6/index.html"
    assert anonymous(page)[0] == 200  # still there until pruned
    client = boto3.Session().client("s3", endpoint_url=endpoint, region_name="us-east-1")
    early = publish(demo_project, endpoint, bucket, "--prune")
    assert json.loads(early.stdout)["deleted"] == 0  # feeds that listed them may still be cached
    assert anonymous(page)[0] == 200
    key = f"hlm/{MANIFEST_KEY}"
    manifest = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    client.put_object(Bucket=bucket, Key=key, Body=aged_manifest(manifest, KEEP_SECONDS))  # an hour later
    pruned = publish(demo_project, endpoint, bucket, "--prune")
    assert pruned.exit_code == 0, pruned.stderr
    assert json.loads(pruned.stdout)["deleted"] == stale
    assert anonymous(page)[0] in (403, 404)  # a bare S3 endpoint: no website, no 404 page
    assert assert_listeners_can_fetch_what_feeds_list(endpoint, bucket) == 2
