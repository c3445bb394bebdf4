"""After a publish: tell the directories at once that a feed changed, instead of waiting for their
next poll (minutes to a day).

Configured in `grandirenhlm.toml`::

    [notify]
    websub_hubs = ["https://pubsubhubbub.appspot.com/"]   # WebSub (W3C): a form POST per hub
    podcastindex = true      # Podcast Index's hub: a GET ?url=; podcastindex_url overrides it
    podping_url = "https://podping.cloud/"                 # token from the environment: PODPING_TOKEN

Only feeds whose bytes changed in a publish that succeeded are announced, and only once the new
feed is seen at its public URL (a directory told too early would fetch the old one). Each endpoint
is tried a bounded number of times with a growing pause (5xx, timeouts, refused connections);
failures are warnings, never a failed publish, and every outcome is in `publish --json`.
"""

from __future__ import annotations

import hashlib
import os
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass

PODCASTINDEX_URL = "https://api.podcastindex.org/api/1.0/hub/pubnotify"
TOKEN_VARIABLE = "PODPING_TOKEN"
ATTEMPTS = 3
FIRST_PAUSE = 0.5  # seconds before the second attempt; doubled before each next one
TIMEOUT = 10
USER_AGENT = "grandirenhlm (podcast publisher; +https://pypi.org/project/grandirenhlm/)"


@dataclass(frozen=True)
class NotifySettings:
    """`[notify]` of grandirenhlm.toml."""

    websub_hubs: tuple[str, ...] = ()
    podcastindex_url: str | None = None
    podping_url: str | None = None

    @property
    def any(self) -> bool:
        return bool(self.websub_hubs or self.podcastindex_url or self.podping_url)


@dataclass(frozen=True)
class ChangedFeed:
    """A feed a publish put: its public URL, its bytes' sha256, and why podping is told (update,
    or live / liveEnd when a live item started or ended)."""

    url: str
    sha256: str
    reason: str = "update"


@dataclass(frozen=True)
class Outcome:
    endpoint: str  # websub, podcastindex, podping
    url: str  # where the request went (without query string or token)
    feed: str
    ok: bool
    status: int | None  # the last HTTP status, None when nothing answered
    attempts: int
    detail: str = ""

    def to_json(self) -> dict:
        return {
            "endpoint": self.endpoint,
            "url": self.url,
            "feed": self.feed,
            "ok": self.ok,
            "status": self.status,
            "attempts": self.attempts,
            "detail": self.detail,
        }


Sleep = Callable[[float], None]


def notify(
    settings: NotifySettings,
    feeds: Sequence[ChangedFeed],
    warn: Callable[[str], None],
    sleep: Sleep = time.sleep,
) -> list[Outcome]:
    """Announce each feed at every configured endpoint; warnings for what failed."""
    outcomes: list[Outcome] = []
    if not settings.any or not feeds:
        return outcomes
    token = os.environ.get(TOKEN_VARIABLE, "")
    if settings.podping_url and not token:
        warn(f"notify: podping skipped: set {TOKEN_VARIABLE} to the token podping.cloud gave you")
    for feed in feeds:
        problem = _read_back(feed)
        if problem:
            warn(f"notify: {feed.url}: not announced: {problem}")
            continue
        for hub in settings.websub_hubs:
            body = urllib.parse.urlencode({"hub.mode": "publish", "hub.url": feed.url}).encode()
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            outcomes.append(_call("websub", hub, hub, feed.url, "POST", body, headers, sleep))
        if settings.podcastindex_url:
            url = _with_query(settings.podcastindex_url, {"url": feed.url})
            outcomes.append(
                _call("podcastindex", settings.podcastindex_url, url, feed.url, "GET", None, {}, sleep)
            )
        if settings.podping_url and token:
            query = {"url": feed.url, "reason": feed.reason, "medium": "podcast"}
            url = _with_query(settings.podping_url, query)
            headers = {"Authorization": token}
            outcomes.append(
                _call("podping", settings.podping_url, url, feed.url, "GET", None, headers, sleep)
            )
    for outcome in outcomes:
        if not outcome.ok:
            warn(
                f"notify: {outcome.endpoint} {outcome.url}: {outcome.detail} "
                f"after {outcome.attempts} attempt(s); {outcome.feed} will be seen at the next poll"
            )
    return outcomes


def _with_query(url: str, query: dict[str, str]) -> str:
    return url + ("&" if "?" in url else "?") + urllib.parse.urlencode(query)


def _read_back(feed: ChangedFeed) -> str | None:
    """None when the public URL serves the new feed's bytes, else what is wrong."""
    import urllib.error  # the network, only when something is sent (the CLI starts faster)
    import urllib.request

    request = urllib.request.Request(
        feed.url, headers={"Cache-Control": "no-cache", "Pragma": "no-cache", "User-Agent": USER_AGENT}
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
            data = answer.read()
    except urllib.error.HTTPError as exc:
        return f"its public URL answered {exc.code}"
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError, ValueError) as exc:
        return f"its public URL does not answer ({getattr(exc, 'reason', exc)})"
    if hashlib.sha256(data).hexdigest() != feed.sha256:
        return "its public URL still serves the previous feed (a cache in front of it?)"
    return None


def _call(
    endpoint: str,
    shown: str,
    url: str,
    feed: str,
    method: str,
    body: bytes | None,
    headers: dict[str, str],
    sleep: Sleep,
) -> Outcome:
    """One endpoint, retried on 5xx, timeouts and refused connections; 4xx are final."""
    import urllib.error  # the network, only when something is sent (the CLI starts faster)
    import urllib.request

    status: int | None = None
    detail = ""
    for attempt in range(1, ATTEMPTS + 1):
        if attempt > 1:
            sleep(FIRST_PAUSE * 2 ** (attempt - 2))
        request = urllib.request.Request(
            url, data=body, method=method, headers={"User-Agent": USER_AGENT, **headers}
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
                return Outcome(endpoint, shown, feed, True, answer.status, attempt)
        except urllib.error.HTTPError as exc:
            status, detail = exc.code, f"answered {exc.code}"
            if exc.code < 500 and exc.code != 429:
                return Outcome(endpoint, shown, feed, False, status, attempt, detail)
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            status, detail = None, f"no answer ({getattr(exc, 'reason', exc)})"
    return Outcome(endpoint, shown, feed, False, status, ATTEMPTS, detail)
