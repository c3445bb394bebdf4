"""The project: its folders and `grandirenhlm.toml` (site settings and publish targets)."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from grandirenhlm.errors import ConfigError, ValidationError
from grandirenhlm.files import display_path
from grandirenhlm.records import FieldReader, read_toml

CONFIG_NAME = "grandirenhlm.toml"
DEFAULT_LOCAL_BASE_URL = "http://127.0.0.1:8000/"
ADDRESSING_STYLES = ("auto", "path", "virtual")
CHECKSUM_MODES = ("when_supported", "when_required")
ACLS = ("none", "private", "public-read")


@dataclass(frozen=True)
class Target:
    """Where `publish` writes: a local folder or `s3://bucket/prefix`, and how to reach it."""

    name: str
    url: str
    public_base_url: str
    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    addressing_style: str = "auto"
    acl: str = "none"
    checksums: str | None = None  # None: when_required for custom endpoints, AWS default otherwise
    storage_class: str | None = None
    multipart_threshold_mb: int = 16
    max_concurrency: int = 8
    read_timeout_seconds: int = 60  # S3: an answer slower than this is retried (slow links: raise it)

    @property
    def is_s3(self) -> bool:
        return self.url.startswith("s3://")

    @property
    def is_remote(self) -> bool:
        """Storage on another machine: an S3 endpoint that is not a loopback address (AWS itself
        when no endpoint is set). What goes there reaches listeners."""
        if not self.is_s3:
            return False
        endpoint = (
            self.endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        )
        return not is_loopback_url(endpoint)


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


@dataclass(frozen=True)
class Project:
    root: Path
    site_title: str = "Podcasts"
    site_description: str = ""
    language: str = "fr"
    default_target: str = "local"
    targets: dict[str, Target] = field(default_factory=dict)
    accessibility: Notice = Notice()
    legal: Notice = Notice()

    @property
    def config_display(self) -> str:
        """`grandirenhlm.toml` as messages name it."""
        return display_path(self.root / CONFIG_NAME)

    @property
    def feeds_dir(self) -> Path:
        return self.root / "feeds"

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
        base = DEFAULT_LOCAL_BASE_URL if not url.startswith("s3://") else ""
        return Target(name=key, url=url, public_base_url=base)


def _normalise_target_url(url: str, where: str) -> str:
    if url.startswith("s3://"):
        parts = urlsplit(url)
        if not parts.netloc:
            raise ConfigError(f"{where}: {url!r} has no bucket name, expected s3://BUCKET/PREFIX")
        return url.rstrip("/")
    if url.startswith("file://"):
        url = url.removeprefix("file://")
    if "://" in url:
        raise ConfigError(f"{where}: unsupported target {url!r}, expected a folder or s3://BUCKET")
    return url


def with_overrides(target: Target, **overrides: object) -> Target:
    """Apply command-line flags (those not None) on top of a configured target."""
    values = {k: v for k, v in overrides.items() if v is not None}
    if values.get("public_base_url"):
        values["public_base_url"] = ensure_slash(str(values["public_base_url"]))
    return replace(target, **values)


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
    r.unknown_keys({"site", "publish", "targets"})
    site = r.table("site", required=False) or FieldReader({}, r.where, problems, "site.")
    site.unknown_keys({"title", "description", "language", "accessibility", "legal"})
    accessibility = _read_notice(site, "accessibility", {"text", "contact", "status"})
    legal = _read_notice(site, "legal", {"text", "contact", "publisher", "host"})
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
    if problems:
        raise ValidationError(problems)
    return Project(
        root=root,
        site_title=site.text("title", required=False) or "Podcasts",
        site_description=site.text("description", required=False) or "",
        language=site.text("language", required=False) or "fr",
        default_target=default,
        targets=targets,
        accessibility=accessibility,
        legal=legal,
    )


def _read_notice(site: FieldReader, key: str, keys: set[str]) -> Notice:
    t = site.table(key, required=False)
    if t is None:
        return Notice()
    t.unknown_keys(keys)
    values = {k: t.text(k, required=False) or "" for k in sorted(keys - {"status"})}
    if "status" in keys:
        values["status"] = t.choice("status", RGAA_STATUSES, "")
    return Notice(**values)


TARGET_KEYS = {
    "url", "public_base_url", "endpoint_url", "region", "profile", "addressing_style", "acl",
    "checksums", "storage_class", "multipart_threshold_mb", "max_concurrency", "read_timeout_seconds",
}  # fmt: skip


def _read_target(name: str, t: FieldReader) -> Target | None:
    t.unknown_keys(TARGET_KEYS)
    if any(k in t.data for k in ("aws_access_key_id", "aws_secret_access_key")):
        t.problem("credentials", "never put keys in files; use AWS_* variables or a profile")
    url = t.text("url")
    before = len(t.problems)
    try:
        url = _normalise_target_url(url, f"{t.where}: {t.prefix}url") if url else None
    except ConfigError as exc:
        t.problems.append(str(exc))
    base = t.text("public_base_url", required=False)
    if base and not base.startswith(("http://", "https://")):
        t.problem("public_base_url", f"expected an http(s) URL, got {base!r}")
    endpoint = t.text("endpoint_url", required=False)
    if endpoint and not endpoint.startswith(("http://", "https://")):
        t.problem("endpoint_url", f"expected an http(s) URL, got {endpoint!r}")
    values = dict(
        endpoint_url=endpoint,
        region=t.text("region", required=False),
        profile=t.text("profile", required=False),
        addressing_style=t.choice("addressing_style", ADDRESSING_STYLES, "auto"),
        acl=t.choice("acl", ACLS, "none"),
        checksums=t.choice("checksums", CHECKSUM_MODES, "") or None,
        storage_class=t.text("storage_class", required=False),
        multipart_threshold_mb=t.integer("multipart_threshold_mb", minimum=5) or 16,
        max_concurrency=t.integer("max_concurrency", minimum=1) or 8,
        read_timeout_seconds=t.integer("read_timeout_seconds", minimum=1) or 60,
    )
    if url is None or len(t.problems) > before:
        return None
    if not base:
        base = DEFAULT_LOCAL_BASE_URL if not url.startswith("s3://") else ""
    return Target(name=name, url=url, public_base_url=ensure_slash(base) if base else "", **values)
