"""Per-target S3 settings seen from the server side (moto on 127.0.0.1): multipart threshold and
storage class from grandirenhlm.toml, overridden by flags; secrets kept out of every message."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import assert_clean_error, make_mp3, run_cli, s3_client

SECRET = "testing-secret-do-not-print"


@pytest.fixture
def big_show(project: Path) -> Path:
    return add_big_episodes(project)


def add_big_episodes(project: Path) -> Path:
    """The test project with two episodes: a 6 MB MP3 (above a 5 MiB threshold) and a small one."""
    media = project / "src"
    media.mkdir()
    make_mp3(media / "long.mp3", seconds=150, bitrate=320, title="Un long épisode", track="1")
    make_mp3(media / "short.mp3", seconds=2, title="Un court épisode", track="2")
    result = run_cli(project, "ingest", "--show", "grandir-en-hlm", "src/long.mp3", "src/short.mp3")
    assert result.exit_code == 0, result.stderr
    return project


def configure(root: Path, endpoint: str, bucket: str, **settings: object) -> None:
    lines = [
        "[targets.bucket]",
        f'url = "s3://{bucket}/show"',
        f'endpoint_url = "{endpoint}"',
        'addressing_style = "path"',
        f'public_base_url = "{endpoint}/{bucket}/show/"',
    ]
    lines += [f"{k} = {json.dumps(v)}" for k, v in settings.items()]
    (root / "grandirenhlm.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def media_heads(endpoint: str, bucket: str, prefix: str) -> dict[str, dict]:
    client = s3_client(endpoint)
    listing = client.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/media/")["Contents"]
    return {o["Key"].rsplit("/", 1)[1]: client.head_object(Bucket=bucket, Key=o["Key"]) for o in listing}


def test_multipart_threshold_and_storage_class_from_the_target(big_show: Path, s3_bucket):
    endpoint, bucket = s3_bucket
    configure(big_show, endpoint, bucket, multipart_threshold_mb=5, storage_class="STANDARD_IA")
    result = run_cli(big_show, "publish", "--to", "bucket", "--json")
    assert result.exit_code == 0, result.stderr
    heads = media_heads(endpoint, bucket, "show")
    (long_key,) = [k for k in heads if k.startswith("un-long")]
    (short_key,) = [k for k in heads if k.startswith("un-court")]
    # S3 (and moto) give a multipart object the ETag "<md5 of the part md5s>-<number of parts>"
    assert heads[long_key]["ETag"].endswith('-2"'), heads[long_key]["ETag"]  # 6 MB in 5 MiB parts
    assert "-" not in heads[short_key]["ETag"]
    assert {h.get("StorageClass") for h in heads.values()} == {"STANDARD_IA"}
    body = s3_client(endpoint).get_object(Bucket=bucket, Key=f"show/media/grandir-en-hlm/{long_key}")
    local = next((big_show / "media").rglob(long_key))
    assert body["Body"].read() == local.read_bytes()  # the parts were put together in order


def test_flags_override_the_target_settings(big_show: Path, s3_bucket):
    endpoint, bucket = s3_bucket
    configure(big_show, endpoint, bucket, multipart_threshold_mb=5, storage_class="STANDARD_IA")
    result = run_cli(
        big_show, "publish", "--to", "bucket", "--multipart-threshold-mb", "8", "--storage-class",
        "REDUCED_REDUNDANCY", "--quiet",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    heads = media_heads(endpoint, bucket, "show")
    assert not [h["ETag"] for h in heads.values() if "-" in h["ETag"]]  # 6 MB < 8 MiB: one PUT each
    assert {h.get("StorageClass") for h in heads.values()} == {"REDUCED_REDUNDANCY"}
    too_small = run_cli(big_show, "publish", "--to", "bucket", "--multipart-threshold-mb", "4")
    assert too_small.exit_code == 2  # click's usage error: S3 parts are at least 5 MiB
    assert "'--multipart-threshold-mb': 4 is not in the range x>=5" in too_small.stderr


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port on 127.0.0.1 that refuses connections for the whole test: bound here and never
    listened on, so that no other server (another test worker's) can take it meanwhile."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]


@pytest.mark.parametrize(
    ("unreachable", "fragment"),
    [
        (True, "cannot reach the endpoint http://127.0.0.1:"),
        (False, "the bucket does not exist (NoSuchBucket)"),
    ],
    ids=["unreachable endpoint", "missing bucket"],
)
def test_secrets_never_appear_in_messages(
    demo_project, moto_endpoint, aws_env, unreachable, fragment, closed_port, monkeypatch
):
    """Neither the secret key nor a password written into an endpoint URL reaches the output."""
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")  # the closed port is retried with backoff
    url = f"http://admin:{SECRET}@127.0.0.1:{closed_port}" if unreachable else moto_endpoint
    for extra in ((), ("--json",), ("--dry-run",)):
        result = run_cli(
            demo_project, "publish", "--to", "s3://no-such-bucket/p", "--endpoint-url", url,
            "--addressing-style", "path", *extra,
        )  # fmt: skip
        assert_clean_error(result, "error: s3://no-such-bucket/p: ", fragment)
        assert SECRET not in result.stdout + result.stderr
        assert "admin:" not in result.stderr


def test_the_endpoint_may_come_from_aws_endpoint_url(demo_project: Path, s3_bucket, monkeypatch):
    """The standard variable works like --endpoint-url, public URL and checksum quirks included."""
    endpoint, bucket = s3_bucket
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    result = run_cli(
        demo_project, "publish", "--to", f"s3://{bucket}/env", "--addressing-style", "path", "--json"
    )
    assert result.exit_code == 0, result.stderr  # enclosures were verified at endpoint/bucket/env/
    client = s3_client(endpoint)
    feed = client.get_object(Bucket=bucket, Key="env/grandir-en-hlm/feed.xml")["Body"].read()
    assert f"{endpoint}/{bucket}/env/media/grandir-en-hlm/".encode() in feed
    # when_required: no CRC32 sent (Ceph, R2, older MinIO reject it); moto keeps one when sent
    head = client.head_object(Bucket=bucket, Key="env/grandir-en-hlm/feed.xml", ChecksumMode="ENABLED")
    assert not [k for k in head if k.startswith("Checksum")], head
