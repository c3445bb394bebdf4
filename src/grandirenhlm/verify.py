"""Before a feed goes out: can listeners really fetch everything it points at?

Every object a feed references (enclosures, alternate enclosures, images, chapters, transcripts) is
checked through the public base URL as a podcast app would fetch it, anonymously: a HEAD, then a
`Range: bytes=0-1` GET that must answer 206 with the right Content-Range and Content-Type (iOS and
Safari refuse media served without byte ranges or with a wrong type). A publish records the base URL
that verified each object in the target's manifest, only when the whole run succeeded, so an object
is checked once, and again whenever its bytes, its upload settings or the base URL change.

A base URL that does not answer at all (wrong address, a CDN not set up, a folder not served) is
reported as such: the feeds then stay out, unless the user skips the check (`--no-verify`).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit, urlunsplit

from grandirenhlm import layout
from grandirenhlm.artifact import Artifact

TIMEOUT = 10
CONCURRENCY = 8  # requests in flight: a first publish of a big archive checks thousands of objects


class Unreachable(Exception):
    """The public base URL does not answer: nothing can be checked."""


@dataclass(frozen=True)
class VerifyReport:
    checked: int
    failures: dict[str, str]  # key -> what is wrong
    unreachable: str | None = None  # why nothing could be checked
    passed: tuple[str, ...] = field(default=())  # keys seen answering as they should


def public_url_for_messages(base_url: str) -> str:
    """The base URL without user:password@, for messages."""
    parts = urlsplit(base_url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return base_url


@dataclass(frozen=True)
class Verifier:
    """Checks objects through `base_url`, the address listeners reach the target at."""

    base_url: str

    def check(self, artifacts: Sequence[Artifact]) -> VerifyReport:
        failures: dict[str, str] = {}
        passed: list[str] = []
        if not artifacts:
            return VerifyReport(0, failures)
        from concurrent.futures import ThreadPoolExecutor  # here, as urllib in `_request`: a publish
        # with nothing to send loads neither (about 40 ms of its start)

        with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
            futures = [(a, pool.submit(_check, layout.absolute(self.base_url, a.key), a)) for a in artifacts]
            unreachable = None
            for artifact, future in futures:
                try:
                    problem = future.result()
                except Unreachable as exc:
                    unreachable = unreachable or str(exc)
                    continue
                if problem:
                    failures[artifact.key] = problem
                else:
                    passed.append(artifact.key)
        if unreachable and not passed and not failures:
            where = public_url_for_messages(self.base_url)
            return VerifyReport(0, {}, f"{where} does not answer ({unreachable})")
        if unreachable:  # some answered, some not: a flaky CDN is a failure like any other
            for artifact, _ in futures:
                if artifact.key not in failures and artifact.key not in passed:
                    failures[artifact.key] = f"no answer ({unreachable})"
        return VerifyReport(len(passed) + len(failures), failures, None, tuple(passed))

    def readable(self, key: str) -> bool | None:
        """Whether an anonymous GET of `key` succeeds (None: the base URL does not answer)."""
        try:
            with _request(layout.absolute(self.base_url, key), "GET", {"Range": "bytes=0-0"}) as answer:
                return answer.status in (200, 206)
        except Unreachable:
            return None


def _request(url: str, method: str, headers: dict[str, str]):
    import urllib.error
    import urllib.request

    parts = urlsplit(url)
    if parts.username is not None:  # https://user:password@cdn/...: basic auth, never in messages
        token = base64.b64encode(f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode())
        headers = {**headers, "Authorization": f"Basic {token.decode()}"}
        url = public_url_for_messages(url)
    request = urllib.request.Request(url, method=method, headers=headers)
    try:
        return urllib.request.urlopen(request, timeout=TIMEOUT)  # http(s) base URL only
    except urllib.error.HTTPError as exc:
        return exc
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError, ValueError) as exc:
        # ValueError: http.client's InvalidURL (a bad port, say)
        raise Unreachable(getattr(exc, "reason", exc)) from exc


def _check(url: str, artifact: Artifact) -> str | None:
    shown = public_url_for_messages(url)
    expected_type = artifact.content_type.split(";")[0]
    with _request(url, "HEAD", {}) as head:
        if head.status != 200:
            return f"HEAD {shown} answered {head.status}, listeners cannot download it"
        if head.headers.get("Content-Length") != str(artifact.size):
            return (
                f"HEAD {shown}: Content-Length {head.headers.get('Content-Length')}, expected {artifact.size}"
            )
    if artifact.size < 2:  # nothing to take a range of
        return None
    with _request(url, "GET", {"Range": "bytes=0-1"}) as ranged:
        if ranged.status != 206:
            return f"GET {shown} with Range answered {ranged.status}, not 206: players cannot seek"
        if ranged.headers.get("Content-Range") != f"bytes 0-1/{artifact.size}":
            return f"GET {shown}: Content-Range {ranged.headers.get('Content-Range')!r}, expected bytes 0-1/{artifact.size}"
        content_type = (ranged.headers.get("Content-Type") or "").split(";")[0]
        if content_type != expected_type:
            return f"GET {shown}: Content-Type {content_type!r}, expected {expected_type}"
        if ranged.headers.get("Content-Length") != "2":
            return f"GET {shown}: Content-Length {ranged.headers.get('Content-Length')} for 2 bytes"
    return None
