"""S3-compatible buckets (AWS, OVHcloud, Scaleway, Cloudflare R2, MinIO, Ceph RGW).

Every provider quirk lives here:
- custom `endpoint_url` and path-style addressing (MinIO, Ceph, most on-premise gateways);
- no ACL header unless asked (R2 and buckets with "object ownership: enforced" reject ACLs);
- `request_checksum_calculation`/`response_checksum_validation` = when_required for non-AWS
  endpoints: botocore >= 1.36 sends CRC32 trailers that older MinIO, Ceph and R2 reject
  (https://github.com/boto/boto3/issues/4392);
- botocore's standard retry mode (exponential backoff on 5xx, throttling and dropped connections).
Uploads go through boto3's transfer manager: multipart above a threshold, several files at once.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import boto3
import botocore.exceptions
from boto3.s3.transfer import S3UploadFailedError, TransferConfig, create_transfer_manager
from botocore.config import Config
from s3transfer.subscribers import BaseSubscriber

from grandirenhlm.config import Target
from grandirenhlm.errors import StorageError
from grandirenhlm.lock import LOCK_KEY

if TYPE_CHECKING:
    from grandirenhlm.artifact import Artifact

from grandirenhlm.storage import MANIFEST_KEY, BytesProgress, Manifest, Progress
from grandirenhlm.storage.s3_backend import S3Options, effective_endpoint

MB = 1024 * 1024
_SLICE = 256  # objects handed to the transfer manager at a time (see `put_many`)

# S3 error codes -> what the user should hear. Messages never include keys or secrets.
_CLIENT_ERRORS = {
    "InvalidAccessKeyId": "wrong credentials: the access key is not known to this endpoint",
    "SignatureDoesNotMatch": "wrong credentials: the secret key does not match the access key",
    "InvalidToken": "wrong credentials: the session token is invalid",
    "ExpiredToken": "wrong credentials: the session token has expired",
    "NoSuchBucket": "the bucket does not exist",
    "AccessDenied": "permission denied",
    "AllAccessDisabled": "permission denied: all access to this bucket is disabled",
    "AccessControlListNotSupported": 'the bucket refuses ACLs; set acl = "none" for this target',
    "InvalidRequest": "the server refused the request",
    "NotImplemented": "the server does not implement this request",
}


# Failures that every other object would meet too: the run stops with this one message.
_FATAL = (
    "wrong credentials",
    "no credentials",
    "the bucket does not exist",
    "permission denied",
    "the bucket refuses ACLs",
    "cannot reach the endpoint",
)


def describe_error(exc: BaseException) -> str:
    """One line for a botocore/boto3 failure, without credentials."""
    return redact(_describe(exc))


def redact(text: str) -> str:
    """Drop user:password@ from URLs and the secret key itself, wherever a message got them."""
    text = re.sub(r"(?<=//)[^/@\s]+@", "", text)
    for name in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        if len(secret := os.environ.get(name, "")) >= 8:
            text = text.replace(secret, "***")
    return text


def _describe(exc: BaseException) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in _CLIENT_ERRORS:
            return f"{_CLIENT_ERRORS[code]} ({code})"
        if status == 403:
            return f"permission denied ({code or 403})"
        if status == 404 and code in ("404", "NotFound"):
            return "the bucket does not exist (404)"
        return f"the server answered {code or status}"
    if isinstance(exc, S3UploadFailedError):
        text = str(exc)
        for code, message in _CLIENT_ERRORS.items():
            if f"({code})" in text:
                return f"{message} ({code})"
        return "upload failed: " + text.split(": ", 1)[-1]
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"
    if isinstance(exc, botocore.exceptions.ProfileNotFound):
        return f"AWS profile not found: {exc.kwargs.get('profile')}"
    if isinstance(exc, botocore.exceptions.EndpointConnectionError | botocore.exceptions.ConnectTimeoutError):
        return f"cannot reach the endpoint {exc.kwargs.get('endpoint_url', '')}".rstrip()
    if isinstance(exc, botocore.exceptions.ReadTimeoutError):
        return "the endpoint stopped answering (read timeout)"
    if isinstance(exc, botocore.exceptions.ConnectionClosedError):
        return "the endpoint closed the connection"
    if isinstance(exc, botocore.exceptions.BotoCoreError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _max_attempts() -> int:
    """botocore's standard retry mode with 5 attempts, or AWS_MAX_ATTEMPTS when it is set (an
    explicit client config would otherwise hide the standard variable)."""
    value = os.environ.get("AWS_MAX_ATTEMPTS", "")
    return int(value) if value.isdigit() and int(value) > 0 else 5


class S3Storage:
    def __init__(self, target: Target):
        self.options = options = S3Options.of(target)
        parts = urlsplit(target.url)
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/")
        self.name = target.url
        self.target = target
        endpoint = effective_endpoint(target)
        checksums = options.checksums or ("when_required" if endpoint else "when_supported")
        config = Config(
            region_name=options.region,
            s3={"addressing_style": options.addressing_style},
            retries={"mode": "standard", "max_attempts": _max_attempts()},
            request_checksum_calculation=checksums,
            response_checksum_validation=checksums,
            connect_timeout=10,
            read_timeout=options.read_timeout_seconds,
            max_pool_connections=max(10, options.max_concurrency * 2),
        )
        try:
            session = boto3.Session(profile_name=options.profile)
            self.client = session.client("s3", endpoint_url=endpoint, config=config)
        except (botocore.exceptions.BotoCoreError, ValueError) as exc:
            raise StorageError(f"{self.name}: {describe_error(exc)}") from exc
        # Parts as big as the threshold (S3's minimum part is 5 MiB, which the config enforces):
        # a file just above the threshold goes up in two parts that retry independently.
        self.transfer_config = TransferConfig(
            multipart_threshold=options.multipart_threshold_mb * MB,
            multipart_chunksize=options.multipart_threshold_mb * MB,
            max_concurrency=options.max_concurrency,
        )

    def key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def setup(self, readable: Callable[[str], bool | None] | None = None) -> list[str]:
        """Make the bucket ready to serve the site (`grandirenhlm setup`, see `s3_setup`); the
        lines say what was done. `readable(key)` tells whether an anonymous client can read a key
        through the public base URL (None: it does not answer)."""
        from grandirenhlm.storage.s3_setup import BucketSetup

        return BucketSetup(self, readable, aws=effective_endpoint(self.target) is None).run()

    def state(self) -> str:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self.key(MANIFEST_KEY))
        except botocore.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return "no manifest"
            raise StorageError(f"{self.name}: {describe_error(exc)}") from exc
        except (botocore.exceptions.BotoCoreError, S3UploadFailedError) as exc:
            raise StorageError(f"{self.name}: {describe_error(exc)}") from exc
        return f"{head.get('ETag')} {head.get('LastModified')} {head.get('ContentLength')}"

    def read_manifest(self) -> Manifest:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.key(MANIFEST_KEY))["Body"].read()
        except botocore.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchKey":
                return Manifest()
            raise StorageError(f"{self.name}: {describe_error(exc)}") from exc
        except (botocore.exceptions.BotoCoreError, S3UploadFailedError) as exc:
            raise StorageError(f"{self.name}: {describe_error(exc)}") from exc
        return Manifest.parse(body, self.name)

    def existing(self, artifacts: Sequence[Artifact]) -> dict[str, dict]:
        """Objects already up with the artifact's bytes though the manifest does not say so (a run
        killed before writing it): one listing of the prefix, then a HEAD of each candidate of the
        right size, whose `sha256` metadata (sent with every upload) must match. Their settings
        are not recorded, so the plan re-applies them in place: no byte is uploaded again."""
        wanted = {self.key(a.key): a for a in artifacts}
        sizes: dict[str, int] = {}
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=f"{self.prefix}/" if self.prefix else ""
            )
            for page in pages:
                for item in page.get("Contents", []):
                    if item["Key"] in wanted:
                        sizes[item["Key"]] = item["Size"]
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise StorageError(
                f"{self.name}: cannot list the objects already up: {describe_error(exc)}"
            ) from exc
        candidates = [wanted[k] for k, size in sizes.items() if size == wanted[k].size]

        def same_bytes(a: Artifact) -> bool:
            try:
                head = self.client.head_object(Bucket=self.bucket, Key=self.key(a.key))
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
                return False
            return head.get("Metadata", {}).get("sha256") == a.sha256

        with ThreadPoolExecutor(max_workers=self.options.max_concurrency) as pool:
            found = [a for a, ok in zip(candidates, pool.map(same_bytes, candidates), strict=True) if ok]
        return {a.key: {"sha256": a.sha256, "size": a.size, "stage": int(a.stage)} for a in found}

    def abort_incomplete_uploads(self) -> int:
        """Multipart uploads under the prefix that a killed run left: storage billed for nothing."""
        aborted = 0
        try:
            pages = self.client.get_paginator("list_multipart_uploads").paginate(
                Bucket=self.bucket, Prefix=f"{self.prefix}/" if self.prefix else ""
            )
            for page in pages:
                for upload in page.get("Uploads", []):
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
                    aborted += 1
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
            return aborted  # a provider without the listing: uploads expire by its lifecycle rules
        return aborted

    def _extra_args(self, artifact: Artifact) -> dict[str, str]:
        extra = {
            "ContentType": artifact.content_type,
            "CacheControl": artifact.cache_control,
            "Metadata": {"sha256": artifact.sha256},  # how a rerun recognises it without the manifest
        }
        if self.options.acl != "none":
            extra["ACL"] = self.options.acl
        if self.options.storage_class:
            extra["StorageClass"] = self.options.storage_class
        if artifact.redirect:  # answered as a 301 by the bucket's website endpoint
            extra["WebsiteRedirectLocation"] = artifact.redirect
        return extra

    def settings(self, artifact: Artifact) -> dict[str, str | None]:
        """What this target sends with the object; recorded in the manifest so that a change
        (`--acl public-read` after a private run, a new cache policy) is applied to objects
        already up."""
        return {
            "acl": self.options.acl,
            "cache_control": artifact.cache_control,
            "content_type": artifact.content_type,
            "storage_class": self.options.storage_class,
            **({"redirect": artifact.redirect} if artifact.redirect else {}),
        }

    def update_many(self, artifacts: Sequence[Artifact], progress: Progress) -> dict[str, str]:
        """Re-apply the settings by copying each object onto itself with its metadata replaced
        (S3 keeps no ACL or type across such a copy but the ones sent); the transfer manager
        copies in parts above the multipart threshold."""
        report = _Reporter(progress)
        futures = []
        with create_transfer_manager(self.client, self.transfer_config) as manager:
            for artifact in artifacts:
                key = self.key(artifact.key)
                extra = {"MetadataDirective": "REPLACE", **self._extra_args(artifact)}
                source = {"Bucket": self.bucket, "Key": key}
                future = manager.copy(source, self.bucket, key, extra, [report.on(artifact)])
                futures.append((artifact, future))
            failed = self._failures(futures)
        return failed

    def put_many(
        self, artifacts: Sequence[Artifact], progress: Progress, on_bytes: BytesProgress | None = None
    ) -> dict[str, str]:
        """Upload through the transfer manager; `progress` is called as each upload completes (in
        whatever order they do), so an interruption records every object that went up."""
        report = _Reporter(progress)
        failed: dict[str, str] = {}
        with create_transfer_manager(self.client, self.transfer_config) as manager:
            # In slices: a page kept in the page cache is read into memory when it is handed to the
            # manager, so memory holds one slice of pages, not the site.
            for start in range(0, len(artifacts), _SLICE):
                futures = []
                for artifact in artifacts[start : start + _SLICE]:
                    extra = self._extra_args(artifact)
                    body = str(artifact.source) if artifact.source is not None else artifact.open()
                    subscribers = [*([_BytesSubscriber(on_bytes)] if on_bytes else []), report.on(artifact)]
                    future = manager.upload(body, self.bucket, self.key(artifact.key), extra, subscribers)
                    futures.append((artifact, future))
                failed |= self._failures(futures)
        return failed

    def _failures(self, futures) -> dict[str, str]:
        """{key: reason} of the transfers that failed; one that every object would meet stops the
        run with one line."""
        failed: dict[str, str] = {}
        for artifact, future in futures:
            try:
                future.result()
            except (
                botocore.exceptions.BotoCoreError,
                botocore.exceptions.ClientError,
                S3UploadFailedError,
                OSError,
            ) as exc:
                failed[artifact.key] = describe_error(exc)
        fatal = {r for r in failed.values() if r.startswith(_FATAL)}
        if fatal:
            raise StorageError(f"{self.name}: {sorted(fatal)[0]}")
        return failed

    def delete(self, keys: Sequence[str]) -> None:
        for start in range(0, len(keys), 1000):
            batch = [{"Key": self.key(k)} for k in keys[start : start + 1000]]
            try:
                answer = self.client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
                )
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
                raise StorageError(f"{self.name}: cannot delete: {describe_error(exc)}") from exc
            # DeleteObjects answers 200 even when some keys could not be deleted
            if errors := answer.get("Errors"):
                first = errors[0]
                raise StorageError(
                    f"{self.name}: cannot delete {len(errors)} object(s), first "
                    f"{first.get('Key')}: {first.get('Code')} {first.get('Message', '')}".rstrip()
                )

    def create_lock(self, data: bytes) -> bool:
        try:
            # Conditional write (AWS since 2024, MinIO, Ceph, R2): fails if the lock exists.
            self._put_lock(data, IfNoneMatch="*")
        except botocore.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in ("PreconditionFailed", "ConditionalRequestConflict", "412", "409"):
                return False
            if code != "NotImplemented":
                raise StorageError(f"{self.name}: cannot create {LOCK_KEY}: {describe_error(exc)}") from exc
            # A gateway without conditional writes: look, then write; the caller reads the lock
            # back, so of two runs racing here only the last writer goes on.
            if self.read_lock() is not None:
                return False
            try:
                self._put_lock(data)
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as again:
                raise StorageError(
                    f"{self.name}: cannot create {LOCK_KEY}: {describe_error(again)}"
                ) from again
        except botocore.exceptions.BotoCoreError as exc:
            raise StorageError(f"{self.name}: cannot create {LOCK_KEY}: {describe_error(exc)}") from exc
        return True

    def _put_lock(self, data: bytes, **condition: str) -> None:
        self.client.put_object(
            Bucket=self.bucket,
            Key=self.key(LOCK_KEY),
            Body=data,
            ContentType="application/json",
            CacheControl="no-store",
            **condition,
        )

    def read_lock(self) -> bytes | None:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self.key(LOCK_KEY))["Body"].read()
        except botocore.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise StorageError(f"{self.name}: cannot read {LOCK_KEY}: {describe_error(exc)}") from exc
        except botocore.exceptions.BotoCoreError as exc:
            raise StorageError(f"{self.name}: cannot read {LOCK_KEY}: {describe_error(exc)}") from exc

    def remove_lock(self) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.key(LOCK_KEY))
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise StorageError(f"{self.name}: cannot remove {LOCK_KEY}: {describe_error(exc)}") from exc

    def write_manifest(self, data: bytes) -> None:
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=self.key(MANIFEST_KEY),
                Body=data,
                ContentType="application/json",
                CacheControl="no-cache",
            )
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise StorageError(f"{self.name}: cannot write {MANIFEST_KEY}: {describe_error(exc)}") from exc


class _Reporter:
    """Calls `progress(key, size)` once per transfer that succeeded, as it completes (from the
    transfer manager's threads, one call at a time)."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.lock = threading.Lock()

    def on(self, artifact: Artifact) -> BaseSubscriber:
        reporter = self

        class Done(BaseSubscriber):
            def on_done(self, future, **kwargs) -> None:
                try:
                    future.result()
                except Exception:  # reported by `_failures`, in the calling thread
                    return
                with reporter.lock:
                    reporter.progress(artifact.key, artifact.size)

        return Done()


class _BytesSubscriber(BaseSubscriber):
    """Reports bytes as the transfer manager sends them (negative when a part is retried)."""

    def __init__(self, on_bytes: BytesProgress):
        self.on_bytes = on_bytes

    def on_progress(self, future, bytes_transferred: int, **kwargs) -> None:
        self.on_bytes(bytes_transferred)
