"""The project: its folders and `grandirenhlm.toml` (site settings and publish targets)."""

from __future__ import annotations

import difflib
import ipaddress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from grandirenhlm.errors import ConfigError, ValidationError
from grandirenhlm.files import cache_folder, display_path, record_files
from grandirenhlm.notify import PODCASTINDEX_URL, NotifySettings
from grandirenhlm.records import FieldReader, read_toml

CONFIG_NAME = "grandirenhlm.toml"
DEFAULT_LOCAL_BASE_URL = "http://127.0.0.1:8000/"
DEFAULT_TIMEZONE = "Europe/Paris"  # the team publishes from France


@dataclass(frozen=True)
class Target:
    """Where `publish` writes (a folder, `s3://bucket/prefix`...) and how listeners reach it.

    `options` are the settings of the target's backend (see `storage.BACKENDS`: each backend
    declares and reads its own), already checked."""

    name: str
    url: str
    public_base_url: str  # "" for the backend's default
    options: dict[str, Any] = field(default_factory=dict, hash=False, compare=True)

    @property
    def scheme(self) -> str:
        from grandirenhlm.storage import scheme_of

        return scheme_of(self.url)

    @property
    def is_folder(self) -> bool:
        return self.scheme == "file"

    def option(self, name: str, default: Any = None) -> Any:
        value = self.options.get(name)
        return default if value is None else value


def is_loopback_url(url: str | None) -> bool:
    """An http(s) URL naming this machine: localhost, 127.0.0.0/8, ::1."""
    if not url:
        return False
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


RGAA_STATUSES = ("non conforme", "partiellement conforme", "totalement conforme")


@dataclass(frozen=True)
class Notice:
    """`[site.accessibility]` or `[site.legal]`: the French text of the accessibility statement or
    of the legal notice page; what is left empty shows as « à compléter » on the page."""

    text: str = ""  # paragraphs, blank lines between them
    contact: str = ""  # an email address or a URL
    status: str = ""  # accessibility: the RGAA conformance status (RGAA_STATUSES)
    publisher: str = ""  # legal: who publishes the site
    host: str = ""  # legal: who hosts it (name and address)
    audience_measurement: bool = False  # legal: downloads are counted (`stats`): say how, on the page


@dataclass(frozen=True)
class Project:
    root: Path
    site_title: str = "Podcasts"
    site_description: str = ""
    language: str = "fr"
    # `[site] timezone`: dates and times written without an offset (records, `--at`) are read in it
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo(DEFAULT_TIMEZONE))
    default_target: str = "local"
    targets: dict[str, Target] = field(default_factory=dict)
    accessibility: Notice = Notice()
    legal: Notice = Notice()
    notify: NotifySettings = field(default_factory=NotifySettings)

    @property
    def config_display(self) -> str:
        """`grandirenhlm.toml` as messages name it."""
        return display_path(self.root / CONFIG_NAME)

    @property
    def feeds_dir(self) -> Path:
        return self.root / "feeds"

    def show_files(self) -> list[Path]:
        """The show definitions (`feeds/*.toml`), without loading them."""
        return record_files(self.feeds_dir)

    @property
    def episodes_dir(self) -> Path:
        return self.root / "episodes"

    @property
    def media_dir(self) -> Path:
        return self.root / "media"

    @property
    def templates_dir(self) -> Path:
        return self.root / "templates"

    @property
    def cache_dir(self) -> Path:
        """`.grandirenhlm/`: the caches, the fingerprints of the last runs, encodes kept for reuse."""
        return cache_folder(self.root)

    @property
    def output_dir(self) -> Path:
        return self.root / "public"

    def target(self, name_or_url: str | None) -> Target:
        """A configured target by name, or an ad-hoc one from a folder path or s3:// URL."""
        key = name_or_url or self.default_target
        if key in self.targets:
            return self.targets[key]
        if "://" not in key and not key.startswith(("/", ".")) and "/" not in key:
            known = ", ".join(sorted(self.targets)) or "none"
            raise ConfigError(f"--to: unknown target {key!r} (configured targets: {known})")
        url = _normalise_target_url(key, "--to")
        base = DEFAULT_LOCAL_BASE_URL if "://" not in url else ""
        return Target(name=key, url=url, public_base_url=base)


def _normalise_target_url(url: str, where: str) -> str:
    if url.startswith("file://"):
        url = url.removeprefix("file://")
    if "://" not in url:
        return url
    from grandirenhlm.storage import backend

    try:
        backend(url)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    parts = urlsplit(url)
    if not parts.netloc:
        raise ConfigError(f"{where}: {url!r} has no bucket name, expected {parts.scheme}://BUCKET/PREFIX")
    return url.rstrip("/")


def with_overrides(target: Target, public_base_url: str | None = None, **options: object) -> Target:
    """Apply command-line flags (those not None) on top of a configured target; a flag of another
    backend (`--acl` for a folder) is refused."""
    from grandirenhlm.storage import check_options

    values = {k: v for k, v in options.items() if v is not None}
    check_options(target.url, values, "")
    base = ensure_slash(public_base_url) if public_base_url else target.public_base_url
    return replace(target, public_base_url=base, options={**target.options, **values})


def ensure_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def find_project(start: Path) -> Path:
    """The folder holding `grandirenhlm.toml` or `feeds/`: `start` or its nearest parent."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_NAME).is_file() or (folder / "feeds").is_dir():
            return folder
    raise ConfigError(
        f"{display_path(start)}: not inside a grandirenhlm project "
        f"(no {CONFIG_NAME} or feeds/ folder here or above); use --project DIR"
    )


def load_project(root: Path) -> Project:
    """Read the project's configuration; a missing `grandirenhlm.toml` means all defaults."""
    path = root / CONFIG_NAME
    local = Target(name="local", url="public", public_base_url=DEFAULT_LOCAL_BASE_URL)
    if not path.is_file():
        return Project(root=root, targets={"local": local})
    data = read_toml(path)
    problems: list[str] = []
    r = FieldReader(data, display_path(path), problems)
    r.source = path
    r.refuse_control_characters()
    r.unknown_keys({"site", "publish", "targets", "notify"})
    site = r.table("site", required=False) or FieldReader({}, r.where, problems, "site.")
    site.unknown_keys({"title", "description", "language", "timezone", "accessibility", "legal"})
    zone = _read_timezone(site)
    accessibility = _read_notice(site, "accessibility", {"text", "contact", "status"})
    legal = _read_notice(site, "legal", {"text", "contact", "publisher", "host", "audience_measurement"})
    publish = r.table("publish", required=False) or FieldReader({}, r.where, problems, "publish.")
    publish.unknown_keys({"target"})
    targets = {"local": local}
    tables = r.table("targets", required=False)
    for name in sorted(tables.data) if tables else []:
        t = tables.table(name)
        if t is not None:
            target = _read_target(name, t)
            if target:
                targets[name] = target
    default = publish.text("target", required=False) or "local"
    if default not in targets:
        publish.problem("target", f"no [targets.{default}] table")
    notify = _read_notify(r)
    if problems:
        raise ValidationError(problems)
    return Project(
        root=root,
        site_title=site.text("title", required=False) or "Podcasts",
        site_description=site.text("description", required=False) or "",
        language=site.text("language", required=False) or "fr",
        timezone=zone,
        default_target=default,
        targets=targets,
        accessibility=accessibility,
        legal=legal,
        notify=notify,
    )


def _read_timezone(site: FieldReader) -> ZoneInfo:
    """`[site] timezone`, an IANA name (zoneinfo, from the system's or the tzdata package's data)."""
    name = site.text("timezone", required=False) or DEFAULT_TIMEZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        close = difflib.get_close_matches(name, sorted(available_timezones()), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else "; expected a name like Europe/Paris"
        site.problem("timezone", f"unknown time zone {name!r}{hint}")
        return ZoneInfo(DEFAULT_TIMEZONE)


def _read_notify(r: FieldReader) -> NotifySettings:
    """`[notify]`: WebSub hubs, the Podcast Index hub, podping (see `notify.py`)."""
    t = r.table("notify", required=False)
    if t is None:
        return NotifySettings()
    t.unknown_keys({"websub_hubs", "podcastindex", "podcastindex_url", "podping_url"})
    hubs = t.value("websub_hubs", False, "a list of URLs", lambda v: isinstance(v, list)) or []
    for i, hub in enumerate(hubs):
        if not (isinstance(hub, str) and hub.startswith(("http://", "https://"))):
            t.problem(f"websub_hubs[{i}]", f"expected an http(s) URL, got {hub!r}")
    urls = {}
    for key in ("podcastindex_url", "podping_url"):
        value = t.text(key, required=False)
        if value and not value.startswith(("http://", "https://")):
            t.problem(key, f"expected an http(s) URL, got {value!r}")
        urls[key] = value
    podcastindex = t.boolean("podcastindex", None)
    index_url = urls["podcastindex_url"] or (PODCASTINDEX_URL if podcastindex else None)
    if podcastindex is False:
        index_url = None
    return NotifySettings(tuple(h for h in hubs if isinstance(h, str)), index_url, urls["podping_url"])


def _read_notice(site: FieldReader, key: str, keys: set[str]) -> Notice:
    t = site.table(key, required=False)
    if t is None:
        return Notice()
    t.unknown_keys(keys)
    values: dict = {
        k: t.text(k, required=False) or ""
        for k in sorted(keys - {"status", "audience_measurement", "contact"})
    }
    # pages make a link of it: an address (mailto:) or an http(s) URL, never `javascript:` and the like
    values["contact"] = t.url("contact", email=True) or ""
    if "status" in keys:
        values["status"] = t.choice("status", RGAA_STATUSES, "")
    if "audience_measurement" in keys:
        values["audience_measurement"] = bool(t.boolean("audience_measurement", False))
    return Notice(**values)


COMMON_TARGET_KEYS = {"url", "public_base_url"}


def _read_target(name: str, t: FieldReader) -> Target | None:
    from grandirenhlm.storage import backend

    if any(k in t.data for k in ("aws_access_key_id", "aws_secret_access_key")):
        t.problem("credentials", "never put keys in files; use AWS_* variables or a profile")
    url = t.text("url")
    before = len(t.problems)
    try:
        url = _normalise_target_url(url, f"{t.where}: {t.prefix}url") if url else None
    except ConfigError as exc:
        t.problems.append(str(exc))
        url = None
    base = t.text("public_base_url", required=False)
    if base and not base.startswith(("http://", "https://")):
        t.problem("public_base_url", f"expected an http(s) URL, got {base!r}")
    if url is None:
        t.unknown_keys(COMMON_TARGET_KEYS | {spec.name for _, spec in _all_specs()})
        return None
    specs = backend(url).options
    t.unknown_keys(COMMON_TARGET_KEYS | {spec.name for spec in specs})
    options = {spec.name: _read_option(t, spec) for spec in specs}
    if len(t.problems) > before:
        return None
    if not base:
        base = DEFAULT_LOCAL_BASE_URL if "://" not in url else ""
    options = {k: v for k, v in options.items() if v is not None}
    return Target(name=name, url=url, public_base_url=ensure_slash(base) if base else "", options=options)


def _all_specs():
    from grandirenhlm.storage import all_options

    return all_options()


def _read_option(t: FieldReader, spec) -> Any:
    if spec.kind == "choice":
        return t.choice(spec.name, spec.choices, "") or None
    if spec.kind == "int":
        return t.integer(spec.name, minimum=spec.minimum)
    value = t.text(spec.name, required=False)
    if value and spec.kind == "url" and not value.startswith(("http://", "https://")):
        t.problem(spec.name, f"expected an http(s) URL, got {value!r}")
    return value
