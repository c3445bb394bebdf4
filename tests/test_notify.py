"""Notifications after a publish, against a recorder server on 127.0.0.1 standing for WebSub hubs,
the Podcast Index hub and podping: every field of every request, the retries, an endpoint down,
nothing for a no-op publish or a dry run, only the show that changed."""

from __future__ import annotations

import io
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import feedparser
import podcastparser
import pytest
from lxml import etree

from tests.support import run_cli, s3_client

TOKEN = "podping-token-for-tests"


@dataclass
class Recorder:
    """Records every request; answers each path with the statuses given (then 200)."""

    answers: dict[str, list[int]] = field(default_factory=dict)
    seen: list[dict] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> Recorder:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                recorder.seen.append(
                    {
                        "method": self.command,
                        "path": parts.path,
                        "query": parse_qs(parts.query),
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": parse_qs(self.rfile.read(length).decode()) if length else {},
                    }
                )
                queue = recorder.answers.get(parts.path, [])
                status = queue.pop(0) if queue else (204 if self.command == "POST" else 200)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def to(self, path: str) -> list[dict]:
        return [r for r in self.seen if r["path"] == path]


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    r = Recorder().start()
    try:
        yield r
    finally:
        r.stop()


def configure(root: Path, recorder: Recorder, hubs: list[str] | None = None) -> None:
    hubs = hubs if hubs is not None else [f"{recorder.url}/hub-a", f"{recorder.url}/hub-b"]
    config = root / "grandirenhlm.toml"
    config.write_text(
        config.read_text(encoding="utf-8")
        + "\n[notify]\n"
        + f"websub_hubs = {json.dumps(hubs)}\n"
        + f'podcastindex_url = "{recorder.url}/pubnotify"\n'
        + f'podping_url = "{recorder.url}/podping"\n',
        encoding="utf-8",
    )


def publish(root: Path, endpoint: str, bucket: str, *extra: str):
    return run_cli(
        root, "publish", "--json", "--quiet", "--to", f"s3://{bucket}/hlm", "--endpoint-url", endpoint,
        "--addressing-style", "path", "--public-base-url", f"{endpoint}/{bucket}/hlm/", *extra,
    )  # fmt: skip


def feed_url(endpoint: str, bucket: str, show: str) -> str:
    return f"{endpoint}/{bucket}/hlm/{show}/feed.xml"


def test_a_publish_announces_each_changed_feed_at_every_endpoint(
    demo_project, s3_bucket, recorder, monkeypatch
):
    endpoint, bucket = s3_bucket
    monkeypatch.setenv("PODPING_TOKEN", TOKEN)
    configure(demo_project, recorder)
    first = publish(demo_project, endpoint, bucket)
    assert first.exit_code == 0, first.stderr
    feeds = {feed_url(endpoint, bucket, s) for s in ("grandir-en-hlm", "l-emission")}
    for hub in ("/hub-a", "/hub-b"):
        posts = recorder.to(hub)
        assert {r["method"] for r in posts} == {"POST"}
        assert all(r["headers"]["content-type"] == "application/x-www-form-urlencoded" for r in posts)
        assert sorted(r["body"]["hub.url"][0] for r in posts) == sorted(feeds)
        assert all(r["body"]["hub.mode"] == ["publish"] for r in posts)
    assert sorted(r["query"]["url"][0] for r in recorder.to("/pubnotify")) == sorted(feeds)
    pings = recorder.to("/podping")
    assert sorted(r["query"]["url"][0] for r in pings) == sorted(feeds)
    assert all(r["query"]["reason"] == ["update"] and r["query"]["medium"] == ["podcast"] for r in pings)
    assert all(r["headers"]["authorization"] == TOKEN for r in pings)
    outcomes = json.loads(first.stdout)["notifications"]
    assert len(outcomes) == 8 and all(o["ok"] and o["attempts"] == 1 for o in outcomes)
    got = s3_client(endpoint).get_object(Bucket=bucket, Key="hlm/grandir-en-hlm/feed.xml")
    feed = got["Body"].read()
    # The same feed still names its stylesheet for people (issue 17.3) and is served as XML.
    assert feed.splitlines()[1] == b'<?xml-stylesheet type="text/xsl" href="../assets/feed.xsl"?>'
    assert got["ContentType"] == "application/xml; charset=utf-8"
    channel = etree.fromstring(feed).find("channel")
    links = {(a.get("rel"), a.get("href")) for a in channel.findall("{http://www.w3.org/2005/Atom}link")}
    assert {("hub", f"{recorder.url}/hub-a"), ("hub", f"{recorder.url}/hub-b")} <= links
    assert ("self", feed_url(endpoint, bucket, "grandir-en-hlm")) in links  # WebSub needs both
    podping = channel.find("{https://podcastindex.org/namespace/1.0}podping")
    assert podping is not None and podping.get("usesPodping") == "true"
    parsed = feedparser.parse(feed)
    assert not parsed.bozo and len(parsed.entries) == 6
    assert (
        len(podcastparser.parse(feed_url(endpoint, bucket, "grandir-en-hlm"), io.BytesIO(feed))["episodes"])
        == 6
    )
    assert TOKEN not in first.stdout + first.stderr

    recorder.seen.clear()
    noop = publish(demo_project, endpoint, bucket)
    assert json.loads(noop.stdout)["uploaded"] == 0 and recorder.seen == []  # nothing changed
    dry = run_cli(
        demo_project, "publish", "--dry-run", "--to", f"s3://{bucket}/hlm", "--endpoint-url", endpoint
    )
    assert dry.exit_code == 0 and recorder.seen == []

    record = demo_project / "episodes" / "l-emission" / "replay-2023.toml"
    record.write_text(
        record.read_text(encoding="utf-8").replace("Le replay", "La rediffusion", 1), encoding="utf-8"
    )
    one = publish(demo_project, endpoint, bucket)
    assert one.exit_code == 0, one.stderr
    announced = {r["body"].get("hub.url", r["query"].get("url", [None]))[0] for r in recorder.seen}
    assert announced == {feed_url(endpoint, bucket, "l-emission")}  # only the show that changed
    assert len(recorder.seen) == 4


def test_failures_are_retried_then_warned_and_never_fail_the_publish(
    demo_project, s3_bucket, recorder, monkeypatch
):
    endpoint, bucket = s3_bucket
    monkeypatch.delenv("PODPING_TOKEN", raising=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/hub"
    recorder.answers = {"/flaky": [503, 502], "/down": [503, 503, 503, 503], "/pubnotify": [404]}
    configure(demo_project, recorder, hubs=[f"{recorder.url}/flaky", f"{recorder.url}/down", closed])
    result = publish(demo_project, endpoint, bucket)
    assert result.exit_code == 0, result.stderr
    outcomes = {(o["endpoint"], o["url"], o["feed"]): o for o in json.loads(result.stdout)["notifications"]}
    grandir = feed_url(endpoint, bucket, "grandir-en-hlm")
    flaky = outcomes[("websub", f"{recorder.url}/flaky", grandir)]
    down = outcomes[("websub", f"{recorder.url}/down", grandir)]
    refused = outcomes[("websub", closed, grandir)]
    index = outcomes[("podcastindex", f"{recorder.url}/pubnotify", grandir)]
    assert (flaky["ok"], flaky["attempts"], flaky["status"]) == (True, 3, 204)
    assert (down["ok"], down["attempts"], down["status"]) == (False, 3, 503)
    assert (refused["ok"], refused["attempts"], refused["status"]) == (False, 3, None)
    assert (index["ok"], index["attempts"], index["status"]) == (False, 1, 404)  # a 4xx is final
    lines = result.stderr.strip().splitlines()
    assert all(line.startswith("warning: notify: ") for line in lines), lines
    assert "warning: notify: podping skipped: set PODPING_TOKEN" in result.stderr
    assert f"warning: notify: websub {recorder.url}/down: answered 503 after 3 attempt(s)" in result.stderr
    assert recorder.to("/podping") == []


def test_a_live_item_going_live_then_ending_is_the_reason_podping_gets(
    demo_project, s3_bucket, recorder, monkeypatch
):
    endpoint, bucket = s3_bucket
    monkeypatch.setenv("PODPING_TOKEN", TOKEN)
    configure(demo_project, recorder, hubs=[])
    record = demo_project / "episodes" / "l-emission" / "direct.toml"
    live = (
        'title = "L’émission en direct"\nguid = "urn:uuid:11111111-2222-4333-8444-555555555555"\n'
        "pub_date = 2023-06-20T09:00:00Z\n"
        '[live]\nstatus = "{status}"\nstart = 2030-06-30T14:00:00Z\nend = 2030-06-30T15:00:00Z\n'
    )
    reasons = []
    for status in ("pending", "live", "ended"):
        record.write_text(live.replace("{status}", status), encoding="utf-8")
        recorder.seen.clear()
        assert publish(demo_project, endpoint, bucket).exit_code == 0
        pings = [r for r in recorder.to("/podping") if "l-emission" in r["query"]["url"][0]]
        reasons.append([r["query"]["reason"][0] for r in pings])
    assert reasons == [["update"], ["live"], ["liveEnd"]]
