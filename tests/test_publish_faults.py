"""Publishing through faults, for real: a fault-injecting proxy (tests/faultproxy.py) sits between
`grandirenhlm publish` (a real child process) and moto's S3 server on 127.0.0.1.

Each case checks what a listener would meet: the command exits non-zero naming the failure, no
feed in the bucket points at a missing object, and a rerun once the fault is gone finishes the job.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest

from grandirenhlm.artifact import Stage
from grandirenhlm.lock import LOCK_KEY, LockInfo
from grandirenhlm.plan import KEEP_SECONDS
from grandirenhlm.storage import MANIFEST_KEY
from tests.faultproxy import FaultProxy, Rule
from tests.support import (
    GRANDIRENHLM_INTERRUPTIBLE,
    aged_manifest,
    assert_clean_error,
    render_site,
    run_cli,
    s3_client,
)

SECRET = "testing-secret-do-not-print"
PREFIX = "podcasts"


@pytest.fixture
def site(demo_project: Path) -> dict:
    """What a publish of the demo puts: the number of objects, and how many are feeds (the last
    stage)."""
    artifacts = render_site(demo_project)
    return {
        "objects": len(artifacts),
        "feeds": sum(a.stage == Stage.FEED for a in artifacts),
        "media": sum(a.key.startswith("media/") for a in artifacts),
    }


@pytest.fixture
def proxy(moto_endpoint: str) -> Iterator[FaultProxy]:
    proxy = FaultProxy(upstream=moto_endpoint).start()
    try:
        yield proxy
    finally:
        proxy.stop()


def publish_args(endpoint: str, public: str, bucket: str, *extra: str) -> list[str]:
    return [
        "publish",
        "--to",
        f"s3://{bucket}/{PREFIX}",
        "--endpoint-url",
        endpoint,
        "--addressing-style",
        "path",
        "--public-base-url",
        f"{public}/{bucket}/{PREFIX}/",  # listeners reach moto directly, without the faults
        *extra,
    ]


_SPAWNED: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def _no_publish_left_running() -> Iterator[None]:
    """A failed assertion before `finish` must not leave a publish running (one may wait 120 s)."""
    yield
    while _SPAWNED:
        process = _SPAWNED.pop()
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)


def spawn(root: Path, args: list[str], **env: str) -> subprocess.Popen:
    """`grandirenhlm publish` in its own process, as a user (or a second user) runs it."""
    process = subprocess.Popen(
        [*GRANDIRENHLM_INTERRUPTIBLE, "--project", str(root), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )
    _SPAWNED.append(process)
    return process


def finish(process: subprocess.Popen, timeout: float = 120) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    assert "Traceback" not in err, err
    assert SECRET not in out + err
    return process.returncode, out, err


def bucket_keys(endpoint: str, bucket: str) -> set[str]:
    client = s3_client(endpoint)
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {o["Key"].removeprefix(f"{PREFIX}/") for page in pages for o in page.get("Contents", [])}


def assert_no_feed_points_at_a_missing_object(endpoint: str, bucket: str) -> int:
    """Every feed in the bucket is complete: each enclosure is there with its length. Returns the
    number of feeds found."""
    client = s3_client(endpoint)
    keys = bucket_keys(endpoint, bucket)
    feeds = sorted(k for k in keys if k.endswith("feed.xml"))
    for feed in feeds:
        body = client.get_object(Bucket=bucket, Key=f"{PREFIX}/{feed}")["Body"].read()
        for entry in feedparser.parse(body).entries:
            enclosure = entry.enclosures[0]
            key = enclosure.href.split(f"/{bucket}/{PREFIX}/", 1)[1]
            assert key in keys, f"{feed} points at {key}, which is not in the bucket"
            head = client.head_object(Bucket=bucket, Key=f"{PREFIX}/{key}")
            assert head["ContentLength"] == int(enclosure.length), key
    return len(feeds)


def read_until(process: subprocess.Popen, count: int, prefix: str, timeout: float = 60) -> list[str]:
    """Read the child's stderr until `count` lines start with `prefix` (what it prints once it has
    recorded an upload); returns the lines read. The rest stays for `communicate`."""
    lines: list[str] = []
    done = threading.Event()

    def reader() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line)
            if sum(x.startswith(prefix) for x in lines) >= count:
                break
        done.set()

    threading.Thread(target=reader, daemon=True).start()
    assert done.wait(timeout), f"timed out waiting for {count} lines starting with {prefix!r}: {lines}"
    assert sum(x.startswith(prefix) for x in lines) >= count, lines  # not an early exit
    return lines


def is_media_put(request) -> bool:
    return request.method == "PUT" and f"/{PREFIX}/media/" in request.key


def hold_media_after(proxy: FaultProxy, count: int) -> threading.Event:
    """Let `count` media uploads through, then hold the others until the returned event is set,
    and drop them then: a publish interrupted meanwhile is surely in the middle, however busy the
    machine, and exactly `count` media reached the server."""
    gate = threading.Event()
    proxy.add(Rule(is_media_put, times=count))  # forwarded as they are
    proxy.add(Rule(is_media_put, gate=gate, drop=True))
    return gate


# ------------------------------------------------------------------------------ transient errors


def test_transient_503s_are_retried_and_the_publish_succeeds(demo_project, s3_bucket, proxy, site):
    endpoint, bucket = s3_bucket
    slow_down = proxy.add(Rule(is_media_put, status=503, code="SlowDown", times=6))
    code, out, err = finish(spawn(demo_project, publish_args(proxy.url, endpoint, bucket, "--json")))
    assert code == 0, err
    assert slow_down.hits == 6 and proxy.count("PUT", 503) == 6
    summary = json.loads(out)
    assert summary["uploaded"] == site["objects"] and summary["skipped"] == 0
    assert assert_no_feed_points_at_a_missing_object(endpoint, bucket) == 2


def test_500s_for_a_while_fail_the_run_then_a_rerun_finishes(demo_project, s3_bucket, proxy, site):
    endpoint, bucket = s3_bucket
    video = Rule(lambda r: r.method == "PUT" and r.key.endswith(".mp4"), status=500, code="InternalError")
    proxy.add(video)
    args = publish_args(proxy.url, endpoint, bucket)
    code, _, err = finish(spawn(demo_project, args, AWS_MAX_ATTEMPTS="2"))
    assert code == 1
    (line,) = err.strip().splitlines()[-1:]
    assert line.startswith(f"error: s3://{bucket}/{PREFIX}: 1 object(s) failed, feeds not updated: media/")
    assert ".mp4: " in line and "InternalError" in line
    assert video.hits >= 2  # retried, then given up
    keys = bucket_keys(endpoint, bucket)
    assert not [k for k in keys if k.endswith("feed.xml")]  # no feed while its media is missing
    assert ".grandirenhlm/manifest.json" in keys and LOCK_KEY not in keys

    proxy.clear()  # the server is healthy again
    code, out, err = finish(spawn(demo_project, [*args, "--json"]))
    assert code == 0, err
    assert json.loads(out)["uploaded"] == 1 + site["feeds"]  # the video and the feeds; the rest was kept
    assert assert_no_feed_points_at_a_missing_object(endpoint, bucket) == 2


def test_slow_responses_still_publish(demo_project, s3_bucket, proxy, site):
    endpoint, bucket = s3_bucket
    slow = proxy.add(Rule(lambda r: r.method == "PUT", delay=0.3))
    code, out, err = finish(spawn(demo_project, publish_args(proxy.url, endpoint, bucket, "--json")))
    assert code == 0, err
    assert slow.hits == proxy.count("PUT") >= site["objects"]  # every upload went through the delay
    assert json.loads(out)["uploaded"] == site["objects"]
    assert assert_no_feed_points_at_a_missing_object(endpoint, bucket) == 2


# ------------------------------------------------------------------------------ the server goes away


def test_server_stopped_in_the_middle_then_back(demo_project, s3_bucket, proxy, site):
    endpoint, bucket = s3_bucket
    puts = []

    def crash_after_three_media(request) -> None:
        if is_media_put(request):
            puts.append(request.key)
            if len(puts) == 4:
                proxy.stop_soon()  # the server goes away while uploads are in flight

    proxy.on_request = crash_after_three_media
    proxy.add(Rule(lambda r: is_media_put(r) and len(puts) >= 4, drop=True))
    args = publish_args(proxy.url, endpoint, bucket)
    code, _, err = finish(spawn(demo_project, args, AWS_MAX_ATTEMPTS="2"))
    assert code == 1
    assert err.strip().splitlines()[-1].startswith(f"error: s3://{bucket}/{PREFIX}: ")
    assert "cannot reach the endpoint" in err or "closed the connection" in err, err
    keys = bucket_keys(endpoint, bucket)
    assert not [k for k in keys if k.endswith("feed.xml")]
    assert "warning: could not remove the lock" in err  # the server was gone; the next run takes over

    proxy.on_request = None
    proxy.clear()
    proxy.start()  # the same port again
    code, out, err = finish(spawn(demo_project, [*args, "--json"]))
    assert code == 0, err
    assert 0 < json.loads(out)["uploaded"] <= site["objects"]
    assert assert_no_feed_points_at_a_missing_object(endpoint, bucket) == 2
    assert LOCK_KEY not in bucket_keys(endpoint, bucket)


def test_publish_killed_in_the_middle_then_rerun(demo_project, s3_bucket, proxy, site):
    endpoint, bucket = s3_bucket
    held = hold_media_after(proxy, 2)
    args = publish_args(proxy.url, endpoint, bucket)
    victim = spawn(demo_project, args)
    proxy.wait_for_count(2, "PUT", 200, "/media/")
    victim.kill()  # SIGKILL, while its other uploads are held: no cleanup at all
    victim.communicate(timeout=30)
    held.set()
    keys = bucket_keys(endpoint, bucket)
    assert LOCK_KEY in keys  # left behind by the killed process
    assert not [k for k in keys if k.endswith("feed.xml")]

    proxy.clear()
    code, out, err = finish(spawn(demo_project, [*args, "--json"]))
    assert code == 0, err
    assert f"note: taking over the lock left by pid {victim.pid}" in err
    # the killed run wrote no manifest: the two media it finished are found on the target
    assert "note: 2 object(s) already on the target from an interrupted publish: not uploaded again" in err
    assert json.loads(out)["uploaded"] == site["objects"] - 2
    assert assert_no_feed_points_at_a_missing_object(endpoint, bucket) == 2
    assert LOCK_KEY not in bucket_keys(endpoint, bucket)


# ------------------------------------------------------------------------------ two publishes at once


def test_second_concurrent_publish_stops_or_waits(demo_project, s3_bucket, proxy, site):
    endpoint, bucket = s3_bucket
    gate = threading.Event()
    proxy.add(Rule(is_media_put, gate=gate))  # the first publish hangs in its uploads until told
    first = spawn(demo_project, publish_args(proxy.url, endpoint, bucket, "--json"))
    try:
        client = s3_client(endpoint)
        proxy.wait_for_count(1, "PUT", 200, LOCK_KEY)  # the first publish holds the lock
        holder = LockInfo.parse(client.get_object(Bucket=bucket, Key=f"{PREFIX}/{LOCK_KEY}")["Body"].read())
        assert holder is not None and holder.pid == first.pid

        second = run_cli(demo_project, *publish_args(endpoint, endpoint, bucket, "--no-verify"))
        assert_clean_error(
            second,
            f"error: s3://{bucket}/{PREFIX}: another publish is running (pid {first.pid} on ",
            "use --wait SECONDS to wait for it; if it crashed, run again with --break-lock",
        )
        lock_reads = proxy.count("GET", contains=LOCK_KEY)
        third = spawn(demo_project, publish_args(proxy.url, endpoint, bucket, "--json", "--wait", "120"))
        proxy.wait_for_count(lock_reads + 1, "GET", contains=LOCK_KEY)  # the third found the lock
        assert first.poll() is None and third.poll() is None  # both running: one uploads, one waits
    finally:
        gate.set()
    code1, out1, err1 = finish(first)
    code3, out3, err3 = finish(third)
    assert code1 == 0 and code3 == 0, (err1, err3)
    assert json.loads(out1)["uploaded"] == site["objects"]
    assert f"waiting for the publish of pid {first.pid}" in err3
    assert json.loads(out3)["uploaded"] == 0  # planned again after the wait: nothing left to do
    assert assert_no_feed_points_at_a_missing_object(endpoint, bucket) == 2
    assert LOCK_KEY not in bucket_keys(endpoint, bucket)


# ------------------------------------------------------------------------------ refusals, named once


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        (403, "AccessDenied", "permission denied (AccessDenied)"),
        (403, "InvalidAccessKeyId", "wrong credentials: the access key is not known to this endpoint"),
        (403, "SignatureDoesNotMatch", "wrong credentials: the secret key does not match the access key"),
    ],
)
def test_refused_uploads_are_one_line_naming_the_target(
    demo_project, s3_bucket, proxy, status, code, message
):
    endpoint, bucket = s3_bucket
    proxy.add(Rule(lambda r: r.method == "PUT" and LOCK_KEY not in r.key, status=status, code=code))
    result = run_cli(demo_project, *publish_args(proxy.url, endpoint, bucket, "--no-verify", "--quiet"))
    assert_clean_error(result, f"error: s3://{bucket}/{PREFIX}: {message}")
    assert len(result.stderr.strip().splitlines()) == 1
    assert SECRET not in result.stdout + result.stderr
    assert LOCK_KEY not in bucket_keys(endpoint, bucket)  # released on the way out


def test_a_bucket_that_refuses_acls_is_named(demo_project, s3_bucket, proxy, site):
    """R2 and buckets with "object ownership: enforced" answer AccessControlListNotSupported."""
    endpoint, bucket = s3_bucket
    refusal = proxy.add(
        Rule(lambda r: "x-amz-acl" in r.headers, status=400, code="AccessControlListNotSupported")
    )
    args = publish_args(proxy.url, endpoint, bucket, "--no-verify")
    result = run_cli(demo_project, *args, "--acl", "public-read", "--quiet")
    assert_clean_error(
        result, f'error: s3://{bucket}/{PREFIX}: the bucket refuses ACLs; set acl = "none" for this target'
    )
    refused = refusal.hits
    assert refused > 0
    assert not [k for k in bucket_keys(endpoint, bucket) if k.endswith("feed.xml")]
    again = run_cli(demo_project, *args, "--json")  # the default: no ACL header at all
    assert again.exit_code == 0, again.stderr
    assert refusal.hits == refused and json.loads(again.stdout)["uploaded"] == site["objects"]


def test_dry_run_on_s3_reads_and_writes_nothing(demo_project, s3_bucket, proxy, site):
    endpoint, bucket = s3_bucket
    result = run_cli(demo_project, *publish_args(proxy.url, endpoint, bucket, "--dry-run"))
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == site["objects"] and all(line.startswith("PUT    ") for line in lines)
    assert {m for m, _, _ in proxy.seen} == {"GET"}  # the manifest lookup only
    assert bucket_keys(endpoint, bucket) == set()


# ------------------------------------------------------------------------------ prune


def test_prune_after_a_failed_feed_upload_deletes_nothing(demo_project, s3_bucket, proxy):
    endpoint, bucket = s3_bucket
    args = publish_args(proxy.url, endpoint, bucket, "--no-verify")
    assert finish(spawn(demo_project, [*args, "--quiet"]))[0] == 0
    stale = {k for k in bucket_keys(endpoint, bucket) if "temoignage-6" in k}
    assert any(k.startswith("media/") for k in stale)
    (demo_project / "episodes" / "grandir-en-hlm" / "temoignage-6.toml").unlink()  # leaves the site

    feed = proxy.add(
        Rule(
            lambda r: r.method == "PUT" and r.key.endswith("/grandir-en-hlm/feed.xml"),
            status=500,
            code="InternalError",
        )
    )
    code, _, err = finish(spawn(demo_project, [*args, "--prune", "--quiet"], AWS_MAX_ATTEMPTS="1"))
    assert code == 1 and feed.hits >= 1
    assert "grandir-en-hlm/feed.xml: " in err and "feeds not updated" in err
    assert stale <= bucket_keys(endpoint, bucket)  # the live feed still lists episode 6: all kept
    assert proxy.count("POST", contains="?delete") == 0
    assert assert_no_feed_points_at_a_missing_object(endpoint, bucket) == 2

    proxy.clear()
    deletes: list[list[str]] = []
    proxy.on_request = lambda r: (
        r.method == "POST"
        and "delete" in r.path
        and deletes.append(
            [k.removeprefix(f"{PREFIX}/") for k in re.findall(r"<Key>([^<]+)</Key>", r.body.decode())]
        )
    )
    code, out, err = finish(spawn(demo_project, [*args, "--prune", "--json"]))
    assert code == 0, err
    assert json.loads(out)["deleted"] == 0 and deletes == []  # feeds listing them may be cached
    assert stale <= bucket_keys(endpoint, bucket)
    client, key = s3_client(endpoint), f"{PREFIX}/{MANIFEST_KEY}"
    aged = aged_manifest(client.get_object(Bucket=bucket, Key=key)["Body"].read(), KEEP_SECONDS)
    client.put_object(Bucket=bucket, Key=key, Body=aged)  # an hour later
    code, out, err = finish(spawn(demo_project, [*args, "--prune", "--json"]))
    assert code == 0, err
    assert json.loads(out)["deleted"] == len(stale)
    assert not stale & bucket_keys(endpoint, bucket)
    order = [key for request in deletes for key in request]
    assert set(order) == stale
    pages = [i for i, k in enumerate(order) if k.endswith(".html")]
    media = [i for i, k in enumerate(order) if k.startswith("media/")]
    assert max(pages) < min(media)  # the reverse of publishing: what links first, media last
    assert len(deletes) >= 2  # one request per stage
    assert assert_no_feed_points_at_a_missing_object(endpoint, bucket) == 2
    body = s3_client(endpoint).get_object(Bucket=bucket, Key=f"{PREFIX}/grandir-en-hlm/feed.xml")["Body"]
    assert len(feedparser.parse(body.read()).entries) == 5


def test_a_gateway_without_conditional_writes_still_gets_a_lock(demo_project, s3_bucket, proxy, site):
    """Older gateways answer 501 NotImplemented to If-None-Match on PUT: look, write, read back."""
    endpoint, bucket = s3_bucket
    refused = proxy.add(
        Rule(lambda r: r.method == "PUT" and "if-none-match" in r.headers, status=501, code="NotImplemented")
    )
    args = publish_args(proxy.url, endpoint, bucket, "--no-verify", "--json")
    result = run_cli(demo_project, *args)
    assert result.exit_code == 0, result.stderr
    assert refused.hits == 1 and json.loads(result.stdout)["uploaded"] == site["objects"]
    assert proxy.count("PUT", 200, LOCK_KEY) == 1 and proxy.count("DELETE", contains=LOCK_KEY) == 1

    client = s3_client(endpoint)
    client.put_object(
        Bucket=bucket, Key=f"{PREFIX}/{LOCK_KEY}", Body=LockInfo("elsewhere", 7, "x", "t").dump()
    )
    (demo_project / "episodes" / "l-emission" / "replay-2023.toml").unlink()  # something to publish
    held = run_cli(demo_project, *args)
    assert_clean_error(held, "another publish is running (pid 7 on elsewhere")


# ------------------------------------------------------------------------------ answers too slow


def add_target(root: Path, proxy: FaultProxy, public: str, bucket: str, **settings: object) -> None:
    lines = [
        "",
        "[targets.slow]",
        f'url = "s3://{bucket}/{PREFIX}"',
        f'endpoint_url = "{proxy.url}"',
        'addressing_style = "path"',
        f'public_base_url = "{public}/{bucket}/{PREFIX}/"',
        *(f"{k} = {json.dumps(v)}" for k, v in settings.items()),
    ]
    with (root / "grandirenhlm.toml").open("a", encoding="utf-8") as config:
        config.write("\n".join(lines) + "\n")


def test_an_answer_slower_than_the_read_timeout_is_retried(demo_project, s3_bucket, proxy, site):
    endpoint, bucket = s3_bucket
    add_target(demo_project, proxy, endpoint, bucket, read_timeout_seconds=2)
    stall = proxy.add(Rule(is_media_put, delay=4.5, times=1))  # one answer comes too late
    received: list[str] = []
    proxy.on_request = lambda r: is_media_put(r) and received.append(r.key)
    code, out, err = finish(spawn(demo_project, ["publish", "--to", "slow", "--json"]))
    assert code == 0, err
    assert stall.hits == 1 and json.loads(out)["uploaded"] == site["objects"]
    assert len(received) >= site["media"] + 1  # the stalled upload was sent again
    assert assert_no_feed_points_at_a_missing_object(endpoint, bucket) == 2


def test_a_server_that_stays_too_slow_fails_the_run(demo_project, s3_bucket, proxy):
    endpoint, bucket = s3_bucket
    add_target(demo_project, proxy, endpoint, bucket, read_timeout_seconds=2)
    proxy.add(Rule(lambda r: is_media_put(r) and r.key.endswith(".mp4"), delay=4.5))
    code, _, err = finish(spawn(demo_project, ["publish", "--to", "slow", "--quiet"], AWS_MAX_ATTEMPTS="2"))
    assert code == 1
    (line,) = err.splitlines()
    assert line.startswith(f"error: s3://{bucket}/{PREFIX}: 1 object(s) failed, feeds not updated: media/")
    assert line.endswith(".mp4: the endpoint stopped answering (read timeout)")
    assert not [k for k in bucket_keys(endpoint, bucket) if k.endswith("feed.xml")]


def test_ctrl_c_in_the_middle_releases_the_lock(demo_project, s3_bucket, proxy, site):
    endpoint, bucket = s3_bucket
    held = hold_media_after(proxy, 2)
    args = publish_args(proxy.url, endpoint, bucket)
    interrupted = spawn(demo_project, args)
    before = read_until(interrupted, 2, "PUT media/")  # two uploads done and recorded by the child
    interrupted.send_signal(signal.SIGINT)  # while its other uploads are held at the proxy
    held.set()  # the signal is pending: the uploads in flight may end, the publish cannot
    _, rest = interrupted.communicate(timeout=60)
    err = "".join(before) + rest
    assert interrupted.returncode != 0
    assert "Traceback" not in err
    keys = bucket_keys(endpoint, bucket)
    assert LOCK_KEY not in keys  # released on the way out, not left for the next run to judge
    assert not [k for k in keys if k.endswith("feed.xml")]
    assert ".grandirenhlm/manifest.json" in keys  # what did go up is recorded

    proxy.clear()
    code, out, err = finish(spawn(demo_project, [*args, "--json"]))
    assert code == 0, err
    assert "lock" not in err
    assert 0 < json.loads(out)["uploaded"] <= site["objects"] - 2  # the media done before Ctrl-C stay
    assert assert_no_feed_points_at_a_missing_object(endpoint, bucket) == 2


def test_sigterm_is_handled_like_ctrl_c(demo_project, s3_bucket, proxy, site):
    """How CI cancels a job: the manifest records what went up, the lock is released, one error
    line and status 143; the rerun does not upload those objects again."""
    endpoint, bucket = s3_bucket
    held = hold_media_after(proxy, 2)
    args = publish_args(proxy.url, endpoint, bucket)
    terminated = spawn(demo_project, args)
    before = read_until(terminated, 2, "PUT media/")
    terminated.send_signal(signal.SIGTERM)
    held.set()
    _, rest = terminated.communicate(timeout=60)
    err = "".join(before) + rest
    assert terminated.returncode == 143
    assert err.strip().splitlines()[-1] == (
        "error: terminated (SIGTERM); what was done is kept: run the command again to finish"
    )
    assert "Traceback" not in err
    keys = bucket_keys(endpoint, bucket)
    assert LOCK_KEY not in keys and ".grandirenhlm/manifest.json" in keys
    assert not [k for k in keys if k.endswith("feed.xml")]
    proxy.clear()
    code, out, err = finish(spawn(demo_project, [*args, "--json"]))
    assert code == 0, err
    assert json.loads(out)["uploaded"] == site["objects"] - 2


def test_multipart_uploads_a_killed_run_left_are_aborted(project, s3_bucket, proxy):
    from tests.test_publish_s3_settings import add_big_episodes

    endpoint, bucket = s3_bucket
    big = add_big_episodes(project)
    gate = threading.Event()
    proxy.add(Rule(lambda r: r.method == "PUT" and "partNumber=" in r.path, gate=gate, drop=True))
    args = publish_args(proxy.url, endpoint, bucket, "--multipart-threshold-mb", "5", "--no-verify")
    victim = spawn(big, args)
    proxy.wait_for_count(1, "POST", 200, "?uploads")  # a multipart upload was started
    victim.kill()
    victim.communicate(timeout=30)
    gate.set()
    client = s3_client(endpoint)
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads")
    proxy.clear()
    code, _, err = finish(spawn(big, [*args, "--json"]))
    assert code == 0, err
    assert "note: aborted 1 multipart upload(s) an interrupted publish left" in err
    assert not client.list_multipart_uploads(Bucket=bucket).get("Uploads")
