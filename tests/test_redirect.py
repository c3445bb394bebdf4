"""Issue 16, item 6: a show that moved (`new_feed_url`) also makes the publish target answer its old
feed URL with a redirect where the storage can: `serve` (from the folder's manifest) and an S3
website endpoint (the object's redirect header); elsewhere a note says what to do."""

from __future__ import annotations

import http.client
import json
import threading
from pathlib import Path
from urllib.parse import urlsplit

from grandirenhlm import site
from tests.support import run_cli, s3_client, without_placeholders

NEW = "https://nouvelle-adresse.example.net/grandir-en-hlm/feed.xml"
FEED = "grandir-en-hlm/feed.xml"


def move(root: Path, url: str | None) -> None:
    show = root / "feeds" / "grandir-en-hlm.toml"
    lines = [line for line in show.read_text("utf-8").splitlines() if not line.startswith("new_feed_url")]
    if url:
        at = next(i for i, line in enumerate(lines) if line.startswith("type = "))
        lines.insert(at + 1, f'new_feed_url = "{url}"')
    show.write_text("\n".join(lines) + "\n", "utf-8")


def get(port: int, path: str) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def test_serve_answers_the_old_feed_url_with_a_301(demo_project: Path) -> None:
    move(demo_project, NEW)
    result = run_cli(demo_project, "publish")
    assert result.exit_code == 0, result.output
    assert f"note: {FEED} moved to {NEW}: `grandirenhlm serve` answers its URL with a 301" in result.stderr
    manifest = json.loads((demo_project / "public" / ".grandirenhlm" / "manifest.json").read_text())
    assert manifest["objects"][FEED]["redirect"] == NEW
    assert "redirect" not in manifest["objects"]["l-emission/feed.xml"]
    feed = (demo_project / "public" / FEED).read_text("utf-8")
    assert f"<itunes:new-feed-url>{NEW}</itunes:new-feed-url>" in feed  # apps that read it move too

    server = site.serve(demo_project / "public", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        moved = get(port, "/" + FEED)
        assert moved.status == 301 and moved.getheader("Location") == NEW
        assert get(port, "/l-emission/feed.xml").status == 200  # the other show did not move
        assert get(port, "/grandir-en-hlm/").status == 200  # nor the show's pages
    finally:
        server.shutdown()
        server.server_close()
        thread.join()

    move(demo_project, None)  # moving back: the redirect goes
    assert run_cli(demo_project, "publish").exit_code == 0
    manifest = json.loads((demo_project / "public" / ".grandirenhlm" / "manifest.json").read_text())
    assert "redirect" not in manifest["objects"][FEED]


def test_s3_feed_object_carries_the_website_redirect(demo_project: Path, s3_bucket) -> None:
    endpoint, bucket = s3_bucket
    without_placeholders(demo_project)
    move(demo_project, NEW)
    target = (
        "publish", "--to", f"s3://{bucket}/podcasts", "--endpoint-url", endpoint,
        "--addressing-style", "path", "--public-base-url", f"{endpoint}/{bucket}/podcasts/",
    )  # fmt: skip
    result = run_cli(demo_project, *target)
    assert result.exit_code == 0, result.output
    assert "the redirect is answered only by the bucket's website endpoint" in result.stderr
    client = s3_client(endpoint)
    head = client.head_object(Bucket=bucket, Key=f"podcasts/{FEED}")
    assert head["WebsiteRedirectLocation"] == NEW
    other = client.head_object(Bucket=bucket, Key="podcasts/l-emission/feed.xml")
    assert "WebsiteRedirectLocation" not in other

    move(demo_project, "https://autre-adresse.example.net/feed.xml")  # moved again: the header follows
    assert run_cli(demo_project, *target).exit_code == 0
    head = client.head_object(Bucket=bucket, Key=f"podcasts/{FEED}")
    assert head["WebsiteRedirectLocation"] == "https://autre-adresse.example.net/feed.xml"
    assert urlsplit(head["WebsiteRedirectLocation"]).scheme == "https"
