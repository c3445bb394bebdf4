"""After the media went up, and before any feed points at it: can listeners really fetch it?

Each new enclosure is checked through the public base URL, as a podcast app would: a HEAD, then a
`Range: bytes=0-1` GET that must answer 206 with the right Content-Range and Content-Type
(iOS and Safari refuse to play media served without byte ranges or with a wrong type).
When the public base URL does not answer at all (a local folder not served yet, a CDN not set up),
the check is skipped with a note; an answer that is wrong is a failure and stops the feeds.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass

from grandirenhlm import layout
from grandirenhlm.build import Artifact

TIMEOUT = 10


class Unreachable(Exception):
    """The public base URL does not answer: nothing can be checked."""


@dataclass(frozen=True)
class VerifyReport:
    checked: int
    failures: dict[str, str]  # key -> what is wrong
    skipped_reason: str | None = None


def verify_enclosures(base_url: str, artifacts: Sequence[Artifact]) -> VerifyReport:
    failures: dict[str, str] = {}
    checked = 0
    for artifact in artifacts:
        url = layout.absolute(base_url, artifact.key)
        try:
            problem = _check(url, artifact)
        except Unreachable as exc:
            return VerifyReport(
                checked, failures, f"{base_url} does not answer ({exc}); enclosures not checked"
            )
        checked += 1
        if problem:
            failures[artifact.key] = problem
    return VerifyReport(checked, failures)


def _request(url: str, method: str, headers: dict[str, str]):
    request = urllib.request.Request(url, method=method, headers=headers)
    try:
        return urllib.request.urlopen(request, timeout=TIMEOUT)  # http(s) base URL only
    except urllib.error.HTTPError as exc:
        return exc
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise Unreachable(getattr(exc, "reason", exc)) from exc


def _check(url: str, artifact: Artifact) -> str | None:
    expected_type = artifact.content_type.split(";")[0]
    with _request(url, "HEAD", {}) as head:
        if head.status != 200:
            return f"HEAD {url} answered {head.status}, listeners cannot download it"
        if head.headers.get("Content-Length") != str(artifact.size):
            return (
                f"HEAD {url}: Content-Length {head.headers.get('Content-Length')}, expected {artifact.size}"
            )
    with _request(url, "GET", {"Range": "bytes=0-1"}) as ranged:
        if ranged.status != 206:
            return f"GET {url} with Range answered {ranged.status}, not 206: players cannot seek"
        if ranged.headers.get("Content-Range") != f"bytes 0-1/{artifact.size}":
            return f"GET {url}: Content-Range {ranged.headers.get('Content-Range')!r}, expected bytes 0-1/{artifact.size}"
        content_type = (ranged.headers.get("Content-Type") or "").split(";")[0]
        if content_type != expected_type:
            return f"GET {url}: Content-Type {content_type!r}, expected {expected_type}"
        if ranged.headers.get("Content-Length") != "2":
            return f"GET {url}: Content-Length {ranged.headers.get('Content-Length')} for 2 bytes"
    return None
