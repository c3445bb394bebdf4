"""`grandirenhlm setup` for S3 targets: make a bucket ready to serve a podcast site.

In order, each step reported on one line, each refusal explained with what to do instead:
1. create the bucket when it is missing;
2. on AWS, lift the bucket's Block Public Access for policies (new buckets block them since 2023);
3. a bucket policy letting anyone read the target's prefix, except its `.grandirenhlm/` folder (the
   manifest and the publish lock stay private). Anonymous requests are told apart by a condition:
   `aws:PrincipalType` on AWS, `aws:username` = "anonymous" on Ceph; each provider ignores the
   other's key. Statements of other prefixes in the bucket's policy are kept;
4. the CORS rule browser players need (GET and HEAD from any origin, Range, Content-Range);
5. where the provider has one, the website configuration: `index.html` for folders and the site's
   `404.html` for missing keys (what makes an unpublished episode's page answer the 404 page);
6. a check from outside: a probe object in the site must be readable anonymously, one in
   `.grandirenhlm/` must not, and the owner must still read the private one (a provider that
   ignores policy conditions would lock the owner out: the private statements are then dropped).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import uuid
from collections.abc import Callable

import botocore.exceptions

from grandirenhlm.errors import StorageError

CORS_RULES = [
    {
        "AllowedOrigins": ["*"],
        "AllowedMethods": ["GET", "HEAD"],
        "AllowedHeaders": ["Range", "If-None-Match", "If-Modified-Since"],
        "ExposeHeaders": ["Content-Range", "Content-Length", "Accept-Ranges", "ETag"],
        "MaxAgeSeconds": 3600,
    }
]
PRIVATE_FOLDER = ".grandirenhlm"
SID_PREFIX = "Grandirenhlm"
_UNSUPPORTED = {"NotImplemented", "MethodNotAllowed", "XNotImplemented", "UnsupportedOperation"}
_ERRORS = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)


def _code(exc: BaseException) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return error.get("Code") or str(status or "")
    return type(exc).__name__


def policy_statements(bucket: str, prefix: str, private: bool = True) -> list[dict]:
    """Our statements for `bucket`/`prefix`: public read, then (if `private`) the denials that keep
    `.grandirenhlm/` from anonymous clients."""
    tag = hashlib.sha256(prefix.encode()).hexdigest()[:8]
    base = f"arn:aws:s3:::{bucket}/{prefix}/" if prefix else f"arn:aws:s3:::{bucket}/"
    statements = [
        {
            "Sid": f"{SID_PREFIX}Read{tag}",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": base + "*",
        }
    ]
    if private:
        for name, condition in (
            ("Aws", {"StringEquals": {"aws:PrincipalType": "Anonymous"}}),
            ("Ceph", {"StringEquals": {"aws:username": "anonymous"}}),
        ):
            statements.append(
                {
                    "Sid": f"{SID_PREFIX}Private{name}{tag}",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": f"{base}{PRIVATE_FOLDER}/*",
                    "Condition": condition,
                }
            )
    return statements


class BucketSetup:
    """The steps above on one S3 target (an `S3Storage`); `run()` returns the lines to print."""

    def __init__(self, storage, readable: Callable[[str], bool | None] | None, aws: bool):
        self.s3 = storage
        self.client = storage.client
        self.bucket = storage.bucket
        self.prefix = storage.prefix
        self.readable = readable
        self.aws = aws
        self.lines: list[str] = []

    def _fail(self, what: str, exc: BaseException) -> StorageError:
        from grandirenhlm.storage.s3 import describe_error

        return StorageError(f"{self.s3.name}: {what}: {describe_error(exc)}")

    def run(self) -> list[str]:
        self.ensure_bucket()
        if self.aws:
            self.allow_public_policy()
        policy = self.apply_policy(private=True)
        self.apply_cors()
        self.apply_website()
        if self.readable is not None:
            self.check_from_outside(policy)
        return self.lines

    def ensure_bucket(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
            return
        except _ERRORS as exc:
            if _code(exc) not in ("404", "NoSuchBucket", "NotFound"):
                raise self._fail("cannot reach the bucket", exc) from exc
        region = self.s3.options.region or self.client.meta.region_name
        args: dict = {"Bucket": self.bucket}
        if region and region != "us-east-1":
            args["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            self.client.create_bucket(**args)
        except _ERRORS as exc:
            raise self._fail(f"cannot create the bucket {self.bucket}", exc) from exc
        self.lines.append(f"created the bucket {self.bucket}")

    def allow_public_policy(self) -> None:
        """AWS: Block Public Access refuses public policies on new buckets; lift that part only
        (ACLs stay blocked unless the target uses acl = "public-read")."""
        acls = self.s3.options.acl == "public-read"
        config = {
            "BlockPublicAcls": not acls,
            "IgnorePublicAcls": not acls,
            "BlockPublicPolicy": False,
            "RestrictPublicBuckets": False,
        }
        try:
            self.client.put_public_access_block(Bucket=self.bucket, PublicAccessBlockConfiguration=config)
        except _ERRORS as exc:
            raise StorageError(
                f"{self.s3.name}: cannot lift Block Public Access on the bucket ({_code(exc)}): the "
                "account may block public access for every bucket; allow it in the S3 console "
                "(Block Public Access settings for this account), or serve the bucket through a CDN "
                "and set public_base_url"
            ) from exc
        self.lines.append("Block Public Access: public bucket policies allowed on this bucket")

    def apply_policy(self, private: bool) -> bool:
        """Merge our statements into the bucket's policy; False if the provider refused it."""
        try:
            current = json.loads(self.client.get_bucket_policy(Bucket=self.bucket)["Policy"])
        except _ERRORS as exc:
            if _code(exc) not in ("NoSuchBucketPolicy", "404"):
                return self._policy_refused(exc)
            current = {"Version": "2012-10-17", "Statement": []}
        ours = policy_statements(self.bucket, self.prefix, private)
        tags = {s["Sid"][-8:] for s in ours}
        kept = [
            s
            for s in current.get("Statement", [])
            if not (str(s.get("Sid", "")).startswith(SID_PREFIX) and str(s.get("Sid", ""))[-8:] in tags)
        ]
        policy = {"Version": current.get("Version", "2012-10-17"), "Statement": [*kept, *ours]}
        try:
            self.client.put_bucket_policy(Bucket=self.bucket, Policy=json.dumps(policy))
        except _ERRORS as exc:
            return self._policy_refused(exc)
        where = f"{self.prefix}/" if self.prefix else "the whole bucket"
        private_part = f", except {PRIVATE_FOLDER}/ (manifest and lock)" if private else ""
        self.lines.append(f"bucket policy: anyone may read {where}{private_part}")
        return True

    def _policy_refused(self, exc: BaseException) -> bool:
        self.lines.append(
            f"warning: {self.s3.name}: the provider refused the bucket policy ({_code(exc)}); "
            'set acl = "public-read" on the target (each object then carries its own public ACL), '
            "or make the bucket public in the provider's console"
        )
        return False

    def apply_cors(self) -> None:
        try:
            self.client.put_bucket_cors(Bucket=self.bucket, CORSConfiguration={"CORSRules": CORS_RULES})
        except _ERRORS as exc:
            raise self._fail("cannot set the CORS rule", exc) from exc
        self.lines.append("CORS: GET and HEAD from any origin, with Range (browser players)")

    def apply_website(self) -> None:
        error_key = self.s3.key("404.html")
        wanted = {"IndexDocument": {"Suffix": "index.html"}, "ErrorDocument": {"Key": error_key}}
        try:
            current = self.client.get_bucket_website(Bucket=self.bucket)
        except _ERRORS as exc:
            code = _code(exc)
            if code in _UNSUPPORTED or code in ("405", "501"):
                return self._no_website(code)
            if code not in ("NoSuchWebsiteConfiguration", "404"):
                raise self._fail("cannot read the website configuration", exc) from exc
            current = None
        if current is not None:
            now = {k: current.get(k) for k in ("IndexDocument", "ErrorDocument")}
            if now != wanted:
                self.lines.append(
                    "website: the bucket already has a website configuration, kept as it is "
                    f"(index {now.get('IndexDocument')}, error {now.get('ErrorDocument')})"
                )
                return None
        try:
            self.client.put_bucket_website(Bucket=self.bucket, WebsiteConfiguration=wanted)
        except _ERRORS as exc:
            return self._no_website(_code(exc))
        self.lines.append(f"website: index.html for folders, {error_key} for missing pages")
        return None

    def _no_website(self, code: str) -> None:
        self.lines.append(
            f"website: not offered by this provider ({code}); pages keep index.html in their URLs "
            "and a missing page answers the provider's own error, unless a CDN in front serves "
            "404.html (see README, Putting the site online)"
        )

    def check_from_outside(self, policy_applied: bool) -> None:
        """Probe objects, read anonymously through the public base URL, then removed."""
        assert self.readable is not None
        token = uuid.uuid4().hex[:12]
        public_key = f"setup-probe-{token}.txt"
        private_key = f"{PRIVATE_FOLDER}/setup-probe-{token}.txt"
        extra = {"ACL": self.s3.options.acl} if self.s3.options.acl == "public-read" else {}
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=self.s3.key(public_key), Body=b"ok", ContentType="text/plain", **extra
            )
            self.client.put_object(
                Bucket=self.bucket, Key=self.s3.key(private_key), Body=b"ok", ContentType="text/plain"
            )
            public = self.readable(public_key)
            if public is None:
                self.lines.append(
                    "warning: could not check from outside: the public base URL does not answer "
                    "(set public_base_url to where listeners reach the bucket)"
                )
                return
            if not public:
                raise StorageError(
                    f"{self.s3.name}: anonymous clients still cannot read the site after setup; "
                    + ("the provider accepted the policy but does not apply it: " if policy_applied else "")
                    + 'set acl = "public-read" on the target, or make the bucket public in the '
                    "provider's console"
                )
            if not self._owner_reads(private_key):
                # a provider that ignores policy conditions applied our denials to everyone
                self.apply_policy(private=False)
                self.lines.append(
                    f"warning: {self.s3.name}: this provider ignores policy conditions, so "
                    f"{PRIVATE_FOLDER}/ (the manifest) cannot be kept private by the policy and "
                    "anyone may read it"
                )
                return
            if self.readable(private_key):
                self.lines.append(
                    f"warning: {self.s3.name}: {PRIVATE_FOLDER}/ (the manifest) is readable by "
                    "anyone: another policy or an ACL of the bucket allows it"
                )
                return
            self.lines.append(f"checked from outside: the site is public, {PRIVATE_FOLDER}/ is not")
        except _ERRORS as exc:
            raise self._fail("cannot check the setup with probe objects", exc) from exc
        finally:
            for key in (public_key, private_key):
                with contextlib.suppress(*_ERRORS):  # a probe left behind is two bytes, harmless
                    self.client.delete_object(Bucket=self.bucket, Key=self.s3.key(key))

    def _owner_reads(self, key: str) -> bool:
        try:
            self.client.get_object(Bucket=self.bucket, Key=self.s3.key(key))["Body"].read()
            return True
        except _ERRORS:
            return False
