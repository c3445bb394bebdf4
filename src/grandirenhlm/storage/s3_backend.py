"""The `s3://BUCKET/PREFIX` backend's declaration: its options, public address and verification.

The client itself (boto3, in `storage.s3`) is imported only when a target is opened, so that the
command line, its help and a publish with nothing to do start without loading boto3.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from grandirenhlm.storage import OptionSpec

if TYPE_CHECKING:
    from grandirenhlm.config import Target
    from grandirenhlm.storage.s3 import S3Storage

OPTIONS = (
    OptionSpec("endpoint_url", "S3 API endpoint (MinIO, Ceph, R2, OVHcloud, Scaleway...).", "url"),
    OptionSpec("region", "S3 region."),
    OptionSpec("profile", "AWS profile for credentials."),
    OptionSpec("addressing_style", "S3 bucket addressing (path for most gateways).", "choice",
               ("auto", "path", "virtual"), default="auto"),
    OptionSpec("acl", "Canned ACL to set on objects (default: none; many providers refuse ACLs).", "choice",
               ("none", "private", "public-read"), default="none"),
    OptionSpec("checksums", "botocore checksum mode (default: when_required for custom endpoints).",
               "choice", ("when_supported", "when_required")),
    OptionSpec("storage_class", "S3 storage class of new objects (STANDARD_IA, ONEZONE_IA...)."),
    OptionSpec("multipart_threshold_mb", "Files from this size (MiB) go up in parts of this size.", "int",
               minimum=5, default=16),
    OptionSpec("max_concurrency", "Uploads in flight at once.", "int", minimum=1, default=8),
    OptionSpec("read_timeout_seconds", "An answer slower than this is retried (slow links: raise it).",
               "int", minimum=1, default=60),
)  # fmt: skip
_DEFAULTS = {spec.name: spec.default for spec in OPTIONS}


@dataclass(frozen=True)
class S3Options:
    """A target's S3 settings, with their defaults."""

    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    addressing_style: str = "auto"
    acl: str = "none"
    checksums: str | None = None  # None: when_required for custom endpoints, AWS default otherwise
    storage_class: str | None = None
    multipart_threshold_mb: int = 16
    max_concurrency: int = 8
    read_timeout_seconds: int = 60

    @classmethod
    def of(cls, target: Target) -> S3Options:
        return cls(**{k: target.option(k, _DEFAULTS[k]) for k in _DEFAULTS})


def effective_endpoint(target: Target) -> str | None:
    """The target's endpoint, else the standard AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL variables
    (which boto3 would read anyway: knowing it here keeps the custom-endpoint quirks on)."""
    return (
        target.option("endpoint_url")
        or os.environ.get("AWS_ENDPOINT_URL_S3")
        or os.environ.get("AWS_ENDPOINT_URL")
    )


def default_public_base_url(target: Target) -> str:
    """Where anonymous clients read the bucket when no public_base_url is configured."""
    parts = urlsplit(target.url)
    bucket, prefix = parts.netloc, parts.path.strip("/")
    if endpoint := effective_endpoint(target):
        base = f"{endpoint.rstrip('/')}/{bucket}/"
    else:
        region = target.option("region") or "us-east-1"
        base = f"https://{bucket}.s3.{region}.amazonaws.com/"
    return base + (prefix + "/" if prefix else "")


class S3Backend:
    """`s3://BUCKET/PREFIX` targets (see `storage.Backend`)."""

    scheme = "s3"
    options = OPTIONS

    def open(self, project, target: Target) -> S3Storage:
        from grandirenhlm.storage.s3 import S3Storage

        return S3Storage(target)

    def default_base_url(self, target: Target) -> str:
        return default_public_base_url(target)

    def is_remote(self, target: Target) -> bool:
        """AWS itself (no endpoint), or an endpoint that is not a loopback address."""
        from grandirenhlm.config import is_loopback_url

        return not is_loopback_url(effective_endpoint(target))

    def verifier(self, target: Target, base_url: str):
        from grandirenhlm.verify import Verifier

        return Verifier(base_url)


BACKEND = S3Backend()
