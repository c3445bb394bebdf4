"""Publishing to a local folder and to a real S3 server (moto's server mode on 127.0.0.1)."""

from __future__ import annotations

import hashlib
import json
import socket
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import lxml.html
import pytest

from grandirenhlm import site
from grandirenhlm.artifact import Stage
from grandirenhlm.config import load_project
from grandirenhlm.plan import plan_publish
from grandirenhlm.storage import MANIFEST_KEY
from tests.support import (
    DEMO_SITE_FILES,
    assert_clean_error,
    make_mp3,
    run_cli,
    s3_client,
    without_placeholders,
)


def publish_json(root: Path, *args: str) -> dict:
    result = run_cli(root, "publish", "--json", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_local_publish_is_complete_then_incremental(demo_project: Path):
    first = publish_json(demo_project)
    public = demo_project / "public"
    assert first["uploaded"] == len([p for p in public.rglob("*") if p.is_file()]) - 1  # + manifest
    assert (public / "index.html").is_file()
    for show, count in (("grandir-en-hlm", 6), ("l-emission", 1)):
        parsed = feedparser.parse((public / show / "feed.xml").read_bytes())
        assert len(parsed.entries) == count
        for entry in parsed.entries:
            key = entry.enclosures[0].href.removeprefix("http://127.0.0.1:8000/")
            assert (public / key).stat().st_size == int(entry.enclosures[0].length)
    second = publish_json(demo_project)
    assert second["uploaded"] == 0
    assert second["skipped"] == first["uploaded"]

    record = demo_project / "episodes" / "l-emission" / "replay-2023.toml"
    record.write_text(
        record.read_text(encoding="utf-8").replace("Le replay", "La rediffusion", 1), encoding="utf-8"
    )
    third = publish_json(demo_project)
    changed = {  # the title shows in the feed, the episode's pages and oEmbed, its show's and the home page
        "l-emission/feed.xml",
        "l-emission/index.html",
        "l-emission/replay-2023/index.html",
        "l-emission/replay-2023/lecteur/index.html",
        "l-emission/replay-2023/oembed.json",
        "index.html",
    }
    assert third["uploaded"] == len(changed)


def test_demo_publish_prints_where_the_site_is(demo_project: Path):
    result = run_cli(demo_project, "publish")
    assert result.exit_code == 0, result.stderr
    assert f"site: {demo_project / 'public'}/index.html" in result.stdout
    assert "http://127.0.0.1:8000/" in result.stdout


def test_dry_run_prints_the_plan_and_writes_nothing(demo_project: Path):
    result = run_cli(demo_project, "publish", "--dry-run")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "PUT    grandir-en-hlm/feed.xml" in lines
    assert lines[-1].startswith("PUT    ") and lines[-1].endswith("feed.xml")
    assert not (demo_project / "public").exists()


def test_plan_puts_media_first_feeds_last_and_prunes_only_unreferenced(demo_project: Path):
    project = load_project(demo_project)
    artifacts = site.render(project, "http://x/", datetime.now(UTC), cache=False)
    plan = plan_publish(artifacts, {"old/page.html": {"sha256": "0" * 64, "size": 1}}, prune=True)
    stages = [a.stage for a in plan.put]
    assert stages == sorted(stages)
    assert plan.put[0].stage == Stage.MEDIA and plan.put[-1].stage == Stage.FEED
    assert plan.delete == ("old/page.html",)
    feed = next(a for a in artifacts if a.key == "grandir-en-hlm/feed.xml")
    manifest = {a.key: {"sha256": a.sha256, "size": a.size} for a in artifacts}
    stale_media = feed.references[-1]
    kept = plan_publish([a for a in artifacts if a.key != stale_media], manifest, prune=True)
    assert stale_media not in kept.delete  # a published feed still points at it
    assert plan_publish(artifacts, manifest, prune=False).put == ()


def test_failed_media_upload_keeps_the_old_feed(demo_project: Path):
    project = load_project(demo_project)
    artifacts = site.render(project, "http://127.0.0.1:8000/", datetime.now(UTC), cache=False)
    media_key = next(a.key for a in artifacts if a.stage == Stage.MEDIA and "l-emission" in a.key)
    (demo_project / "public" / media_key).mkdir(parents=True)  # a folder where the file must go
    result = run_cli(demo_project, "publish", "--quiet")
    assert_clean_error(result, "public: 1 object(s) failed, feeds not updated", media_key)
    public = demo_project / "public"
    assert not (public / "l-emission" / "feed.xml").exists()
    assert not (public / "grandir-en-hlm" / "feed.xml").exists()
    manifest = json.loads((public / MANIFEST_KEY).read_text())["objects"]
    assert "media/grandir-en-hlm/" in "".join(manifest)  # what went up is remembered
    (public / media_key).rmdir()
    again = publish_json(demo_project)
    assert again["uploaded"] == 3  # the missing video, then both feeds
    assert (public / "l-emission" / "feed.xml").is_file()


# ------------------------------------------------------------------------------------------- S3


def s3_publish(root: Path, endpoint: str, bucket: str, *extra: str):
    return run_cli(
        root,
        "publish",
        "--to",
        f"s3://{bucket}/podcasts",
        "--endpoint-url",
        endpoint,
        "--addressing-style",
        "path",
        "--public-base-url",
        f"{endpoint}/{bucket}/podcasts/",
        *extra,
    )


def test_s3_publish_uploads_everything_with_types_and_is_incremental(demo_project, s3_bucket):
    endpoint, bucket = s3_bucket
    first = s3_publish(demo_project, endpoint, bucket, "--json")
    assert first.exit_code == 0, first.stderr
    summary = json.loads(first.stdout.strip().splitlines()[-1])
    client = s3_client(endpoint)
    keys = {o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix="podcasts/")["Contents"]}
    assert len(keys) == summary["uploaded"] + 1  # + the manifest
    expected = {
        # XML that browsers render, with the stylesheet it names, from the same origin
        "podcasts/grandir-en-hlm/feed.xml": ("application/xml; charset=utf-8", "max-age=300"),
        "podcasts/assets/feed.xsl": ("application/xml; charset=utf-8", "max-age=300"),
        "podcasts/index.html": ("text/html; charset=utf-8", "max-age=300"),
        "podcasts/grandir-en-hlm/temoignage-1/oembed.json": ("application/json", "max-age=300"),
    }
    for key in keys:
        if key.endswith(".mp3"):
            expected[key] = ("audio/mpeg", "immutable")
        elif key.endswith(".mp4"):
            expected[key] = ("video/mp4", "immutable")
        elif key.endswith(".jpg"):
            expected[key] = ("image/jpeg", "immutable")
    for key, (content_type, cache) in expected.items():
        head = client.head_object(Bucket=bucket, Key=key)
        assert head["ContentType"] == content_type, key
        assert cache in head["CacheControl"], key

    # A bare S3 endpoint answers no folder with its index.html: the pages link to index.html.
    page = client.get_object(Bucket=bucket, Key="podcasts/grandir-en-hlm/index.html")["Body"].read()
    doc = lxml.html.fromstring(page)
    assert doc.xpath("//link[@rel='canonical']/@href") == [
        f"{endpoint}/{bucket}/podcasts/grandir-en-hlm/index.html"
    ]
    assert "../grandir-en-hlm/temoignage-1/index.html" in doc.xpath("//main//h3/a/@href")

    # an anonymous HTTP client reads the feed and streams an enclosure with a byte range
    feed_url = f"{endpoint}/{bucket}/podcasts/grandir-en-hlm/feed.xml"
    with urllib.request.urlopen(feed_url, timeout=10) as response:
        parsed = feedparser.parse(response.read())
    assert len(parsed.entries) == 6
    enclosure = parsed.entries[0].enclosures[0]
    request = urllib.request.Request(enclosure.href, headers={"Range": "bytes=0-1"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 206
        assert response.read() == b"ID"  # the ID3 header of a tagged MP3
        assert response.headers["Content-Range"] == f"bytes 0-1/{enclosure.length}"

    second = s3_publish(demo_project, endpoint, bucket, "--json")
    assert json.loads(second.stdout.strip().splitlines()[-1])["uploaded"] == 0


def test_s3_missing_bucket_is_a_clean_error(demo_project, moto_endpoint, aws_env):
    result = s3_publish(demo_project, moto_endpoint, "no-such-bucket-here")
    assert_clean_error(result, "error: s3://no-such-bucket-here/podcasts: the bucket does not exist")


def test_s3_unreachable_endpoint_is_a_clean_error(demo_project, aws_env):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    result = s3_publish(demo_project, f"http://127.0.0.1:{port}", "bucket")
    assert_clean_error(result, "s3://bucket/podcasts: cannot reach the endpoint")


def test_s3_without_credentials_is_a_clean_error(demo_project, moto_endpoint, aws_env, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result = s3_publish(demo_project, moto_endpoint, "bucket")
    assert_clean_error(result, "no credentials")


def test_secrets_never_appear_in_output(demo_project, moto_endpoint, aws_env):
    result = s3_publish(demo_project, moto_endpoint, "no-such-bucket-here")
    assert "testing-secret-do-not-print" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ('[targets.x]\nurl = "s3://"\n', "has no bucket name"),
        ('[targets.x]\nurl = "ftp://host/dir"\n', "unsupported target"),
        ('[targets.x]\nurl = "s3://b"\naddressing_style = "sideways"\n', "addressing_style: expected one of"),
        ('[targets.x]\nurl = "s3://b"\naws_secret_access_key = "k"\n', "never put keys in files"),
        ('[publish]\ntarget = "nowhere"\n', "publish.target: no [targets.nowhere] table"),
    ],
)
def test_bad_target_configuration_is_named(demo_project: Path, config: str, fragment: str):
    (demo_project / "grandirenhlm.toml").write_text(config, encoding="utf-8")
    result = run_cli(demo_project, "publish", "--dry-run")
    assert_clean_error(result, "grandirenhlm.toml", fragment)


def test_build_writes_a_folder_for_another_base_url(demo_project: Path, tmp_path: Path):
    out = tmp_path / "site"
    result = run_cli(
        demo_project, "build", "--output", str(out), "--base-url", "https://podcasts.example.org/hlm"
    )
    assert result.exit_code == 0, result.stderr
    # media 8 (with the replay's audio), chapters + 4 transcript formats per episode 35, pages, covers,
    # assets, feeds, shows.opml
    assert result.stdout.startswith(f"built {DEMO_SITE_FILES} new file(s), 0 unchanged")
    parsed = feedparser.parse((out / "l-emission" / "feed.xml").read_bytes())
    assert (
        parsed.entries[0].enclosures[0].href.startswith("https://podcasts.example.org/hlm/media/l-emission/")
    )
    assert parsed.entries[0].enclosures[0].type == "video/mp4"
    assert not (demo_project / "public").exists()


def test_build_at_a_date_before_the_replay_leaves_it_out(demo_project: Path, tmp_path: Path):
    out = tmp_path / "site"
    assert run_cli(demo_project, "build", "--output", str(out), "--at", "2023-06-30").exit_code == 0
    assert len(feedparser.parse((out / "l-emission" / "feed.xml").read_bytes()).entries) == 0
    assert len(feedparser.parse((out / "grandir-en-hlm" / "feed.xml").read_bytes()).entries) == 6
    assert_clean_error(run_cli(demo_project, "build", "--at", "yesterday"), "--at: expected a date")


def test_s3_publish_hands_objects_over_in_slices_and_every_one_arrives_whole(
    demo_project, s3_bucket, monkeypatch: pytest.MonkeyPatch
):
    """Pages kept in the page cache are read when handed to the transfer manager, a slice at a
    time: with slices of 5, every object of the manifest is in the bucket with its sha256."""
    monkeypatch.setattr("grandirenhlm.storage.s3._SLICE", 5)
    endpoint, bucket = s3_bucket
    result = s3_publish(demo_project, endpoint, bucket, "--json")
    assert result.exit_code == 0, result.stderr
    client = s3_client(endpoint)
    manifest = json.loads(client.get_object(Bucket=bucket, Key=f"podcasts/{MANIFEST_KEY}")["Body"].read())
    assert len(manifest["objects"]) > 5 * 4
    for key, entry in manifest["objects"].items():
        body = client.get_object(Bucket=bucket, Key=f"podcasts/{key}")["Body"].read()
        assert hashlib.sha256(body).hexdigest() == entry["sha256"], key


def test_noop_publish_does_not_rewrite_the_manifest(demo_project: Path):
    publish_json(demo_project)
    manifest = demo_project / "public" / MANIFEST_KEY
    before = manifest.stat().st_mtime_ns
    assert publish_json(demo_project)["uploaded"] == 0
    assert manifest.stat().st_mtime_ns == before


def feed_references(root: Path) -> set[str]:
    """Every key a feed of the demo points at: enclosures, alternates, covers, chapters, transcripts."""
    project = load_project(root)
    artifacts = site.render(project, "http://x/", datetime.now(UTC), cache=False)
    return {ref for a in artifacts if a.stage == Stage.FEED for ref in a.references}


def test_enclosures_listeners_cannot_fetch_keep_the_feeds_out(demo_project, private_bucket):
    endpoint, bucket = private_bucket
    referenced = feed_references(demo_project)
    assert len([k for k in referenced if k.startswith("media/")]) == 8  # 6 MP3s, the MP4 and its M4A
    for attempt in ("first run", "rerun: the objects are up but still unreadable"):
        result = s3_publish(demo_project, endpoint, bucket, "--quiet")
        assert_clean_error(
            result,
            f"{len(referenced)} object(s) failed, feeds not updated",
            "answered 403, listeners cannot download it",
        )
        client = s3_client(endpoint)
        keys = {o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]}
        assert "podcasts/grandir-en-hlm/feed.xml" not in keys, attempt
        assert "podcasts/media/l-emission/" in "".join(keys)  # the media went up; only the feeds wait
    manifest = json.loads(client.get_object(Bucket=bucket, Key=f"podcasts/{MANIFEST_KEY}")["Body"].read())
    assert not [k for k, v in manifest["objects"].items() if "verified" in v]  # a failed run verifies nothing
    unchecked = s3_publish(demo_project, endpoint, bucket, "--no-verify", "--json")
    assert unchecked.exit_code == 0, unchecked.stderr
    assert json.loads(unchecked.stdout)["uploaded"] == 2  # just the two feeds
    # the feeds are out now, by the user's choice; a publish that checks still says what is wrong
    assert_clean_error(s3_publish(demo_project, endpoint, bucket, "--quiet"), "answered 403")


def test_an_acl_change_is_applied_to_the_objects_already_up(demo_project, private_bucket):
    """After a failed private run, `--acl public-read` re-applies the ACL in place (a copy onto
    itself), the check passes, and every enclosure a feed lists answers an anonymous byte range."""
    endpoint, bucket = private_bucket
    assert s3_publish(demo_project, endpoint, bucket, "--quiet").exit_code == 1
    dry = s3_publish(demo_project, endpoint, bucket, "--acl", "public-read", "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    updates = [line for line in dry.stdout.splitlines() if line.startswith("UPDATE ")]
    assert updates and all(line.endswith("(acl: none -> public-read)") for line in updates)
    assert "UPDATE media/grandir-en-hlm/" in dry.stdout
    result = s3_publish(demo_project, endpoint, bucket, "--acl", "public-read", "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["updated"] == len(updates) and summary["uploaded"] == DEMO_SITE_FILES - len(updates)
    assert summary["verified"] == len(feed_references(demo_project))
    for show, count in (("grandir-en-hlm", 6), ("l-emission", 1)):
        with urllib.request.urlopen(f"{endpoint}/{bucket}/podcasts/{show}/feed.xml", timeout=10) as r:
            entries = feedparser.parse(r.read()).entries
        assert len(entries) == count
        for entry in entries:
            ranged = urllib.request.Request(entry.enclosures[0].href, headers={"Range": "bytes=0-1"})
            with urllib.request.urlopen(ranged, timeout=10) as r:
                assert r.status == 206
    again = s3_publish(demo_project, endpoint, bucket, "--acl", "public-read", "--json")
    assert json.loads(again.stdout) | {"seconds": 0} == json.loads(again.stdout) | {
        "uploaded": 0, "updated": 0, "verified": 0, "seconds": 0,
    }  # fmt: skip
    back = s3_publish(demo_project, endpoint, bucket, "--quiet")  # acl none: private again, so it fails
    assert_clean_error(back, "answered 403")


def test_setup_bucket_sets_the_cors_rule_players_need(demo_project, s3_bucket):
    endpoint, bucket = s3_bucket
    result = s3_publish(demo_project, endpoint, bucket, "--setup-bucket", "--quiet")
    assert result.exit_code == 0, result.stderr
    (rule,) = s3_client(endpoint).get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert set(rule["AllowedMethods"]) == {"GET", "HEAD"}
    assert "Range" in rule["AllowedHeaders"] and "Content-Range" in rule["ExposeHeaders"]
    assert_clean_error(
        run_cli(demo_project, "publish", "--setup-bucket"), "--setup-bucket: public is a folder"
    )


def test_verification_catches_a_wrong_content_type(demo_project, tmp_path):
    """A server that answers, but not as players need: the check names what is wrong."""
    from grandirenhlm.serve import make_server
    from grandirenhlm.verify import Verifier

    project = load_project(demo_project)
    artifacts = site.render(project, "http://x/", datetime.now(UTC), cache=False)
    media = [a for a in artifacts if a.stage == Stage.MEDIA]
    folder = tmp_path / "site"
    for a in media:
        (folder / a.key).parent.mkdir(parents=True, exist_ok=True)
        (folder / a.key).write_bytes(a.source.read_bytes())
    (folder / media[0].key).write_bytes(b"truncated")
    server = make_server(folder, port=0, quiet=True)
    import threading

    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        report = Verifier(f"http://127.0.0.1:{server.server_address[1]}/").check(media)
    finally:
        server.shutdown()
        server.server_close()
    assert report.checked == len(media) and report.unreachable is None
    assert list(report.failures) == [media[0].key]
    assert set(report.passed) == {a.key for a in media[1:]}
    assert f"Content-Length 9, expected {media[0].size}" in report.failures[media[0].key]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    unreachable = Verifier(f"http://127.0.0.1:{port}/").check(media)
    assert unreachable.failures == {} and unreachable.passed == ()
    assert unreachable.unreachable.startswith(f"http://127.0.0.1:{port}/ does not answer (")


def test_a_feed_without_published_episodes_is_not_reuploaded_by_a_noop_publish(project: Path):
    """lastBuildDate never comes from the clock: a show with only a live item, then only a draft,
    gives the same feed bytes on every run (feedgen would stamp the time of the build)."""
    import tomli_w

    live = {
        "status": "pending",
        "start": datetime(2023, 6, 30, 14, 0, tzinfo=UTC),
        "end": datetime(2023, 6, 30, 15, 0, tzinfo=UTC),
        "url": "https://video.hlm-podcasts.fr/direct.m3u8",
    }
    record = project / "episodes" / "grandir-en-hlm" / "direct.toml"
    record.parent.mkdir(parents=True)
    record.write_text(
        tomli_w.dumps(
            {
                "title": "L’émission en direct",
                "guid": "urn:uuid:11111111-2222-4333-8444-555555555555",
                "pub_date": datetime(2023, 6, 20, 9, 0, tzinfo=UTC),
                "episode": 1,
                "live": live,
            }
        ),
        encoding="utf-8",
    )
    feed = project / "public" / "grandir-en-hlm" / "feed.xml"
    assert publish_json(project, "--quiet")["uploaded"] > 0
    assert b"<lastBuildDate>Tue, 20 Jun 2023 09:00:00 +0000</lastBuildDate>" in feed.read_bytes()
    assert publish_json(project, "--quiet")["uploaded"] == 0

    record.unlink()  # the live item is gone; the only episode is a draft
    mp3 = make_mp3(project.parent / "brouillon.mp3", title="Brouillon")
    assert (
        run_cli(project, "ingest", "--show", "grandir-en-hlm", "--slug", "brouillon", str(mp3)).exit_code == 0
    )
    draft = project / "episodes" / "grandir-en-hlm" / "brouillon.toml"
    draft.write_text("draft = true\nepisode = 1\n" + draft.read_text(encoding="utf-8"), encoding="utf-8")
    assert publish_json(project, "--quiet")["uploaded"] > 0
    assert b"lastBuildDate" not in feed.read_bytes()
    assert feedparser.parse(feed.read_bytes()).feed.title == "Grandir en Hlm"
    assert publish_json(project, "--quiet")["uploaded"] == 0


def test_placeholders_never_go_to_storage_on_another_machine(demo_project: Path, aws_env):
    remote = ["publish", "--to", "s3://podcasts/hlm", "--endpoint-url", "https://s3.fr-par.scw.cloud"]
    result = run_cli(demo_project, *remote)
    assert_clean_error(
        result,
        "error: feeds/grandir-en-hlm.toml: owner.email: podcasts@example.org is a placeholder",
        "error: feeds/l-emission.toml: owner.email: podcasts@example.org is a placeholder",
        "error: grandirenhlm.toml: site.legal.contact: podcasts@example.org is a placeholder",
        "error: s3://podcasts/hlm: not published: this storage is not on this machine",
    )
    without_placeholders(demo_project)
    loopback = run_cli(demo_project, *remote, "--public-base-url", "http://127.0.0.1:8000/")
    assert_clean_error(
        loopback,
        "error: --public-base-url: http://127.0.0.1:8000/ is this machine: feeds and pages built with it "
        "work only here",
    )
    assert len(loopback.stderr.strip().splitlines()) == 2  # the URL, then the refusal


def test_a_public_url_that_does_not_answer_keeps_the_feeds_out(demo_project, s3_bucket):
    endpoint, bucket = s3_bucket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/"
    args = ["publish", "--to", f"s3://{bucket}/podcasts", "--endpoint-url", endpoint, "--addressing-style",
            "path", "--public-base-url", closed, "--quiet"]  # fmt: skip
    result = run_cli(demo_project, *args)
    assert_clean_error(result, f"error: {closed} does not answer (", "feeds not published")
    assert len(result.stderr.strip().splitlines()) == 1
    keys = {o["Key"] for o in s3_client(endpoint).list_objects_v2(Bucket=bucket)["Contents"]}
    assert not [k for k in keys if k.endswith("feed.xml")]
    skipped = run_cli(demo_project, *args, "--no-verify", "--json")
    assert skipped.exit_code == 0, skipped.stderr
    assert json.loads(skipped.stdout)["uploaded"] == 2  # the feeds, by the user's choice
