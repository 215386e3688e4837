"""Arrow filesystems for local paths and ``s3://`` URIs, set up the way spiralkit's boto3 clients are.

Arrow's own S3 client (C++, multi-threaded ranged reads) moves the bytes, but the region, the endpoint
and the credentials come from the same places as every other AWS call spiralkit makes, so a table
read and a Batch submission can never disagree about which account or endpoint they talk to:
the credentials from boto3's chain (``aws sso login``, AWS_PROFILE, a Batch job's role), the region
from ``[tool.spiral]`` when run inside a project, and the endpoint from ``AWS_ENDPOINT_URL_S3`` or
``AWS_ENDPOINT_URL`` (how tests and moto, MinIO or LocalStack users point everything elsewhere).
``pyarrow.fs.S3FileSystem()`` on its own reads neither endpoint variable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs

from spiralkit import config
from spiralkit.errors import ConfigError, TableError

# A loaded moto or MinIO, or S3 under throttling, may pause longer than the C++ SDK's 3 s default
# before the first byte; boto3's own default read timeout is 60 s.
_REQUEST_TIMEOUT_S = 60.0
_RETRIES = pafs.AwsStandardS3RetryStrategy(max_attempts=8)  # as spiralkit.aws configures boto3


@dataclass(frozen=True)
class Location:
    """Where a table lives: the filesystem, the path inside it, and the URI the user gave."""

    filesystem: pafs.FileSystem
    path: str
    uri: str

    @property
    def is_s3(self) -> bool:
        return isinstance(self.filesystem, pafs.S3FileSystem)

    @property
    def bucket(self) -> str:
        return self.path.split("/", 1)[0]


def locate(uri: str | os.PathLike[str]) -> Location:
    """Resolve ``uri`` (a local path, ``file://`` or ``s3://``) to an Arrow filesystem and a path."""
    text = os.fspath(uri)
    scheme, sep, rest = text.partition("://")
    if not sep:
        return Location(pafs.LocalFileSystem(), str(Path(text).resolve()), text)
    if scheme == "file":
        return Location(pafs.LocalFileSystem(), str(Path(rest).resolve()), text)
    if scheme != "s3":
        raise TableError(f"{text}: only local paths and s3:// URIs are supported, not {scheme}://")
    path = rest.strip("/")
    if not path:
        raise TableError(f"{text}: name a bucket and a key, like s3://my-bucket/data/cases.parquet")
    return Location(s3_filesystem(), path, text)


def s3_filesystem() -> pafs.S3FileSystem:
    """An S3 filesystem with boto3's credentials, the project's region and the configured endpoint."""
    from spiralkit import aws  # boto3 takes 0.3 s to import; a stage reading local files should not pay it

    session = aws.session(_project_region())
    credentials = session.get_credentials().get_frozen_credentials()
    return pafs.S3FileSystem(
        access_key=credentials.access_key,
        secret_key=credentials.secret_key,
        session_token=credentials.token,
        region=session.region_name,
        endpoint_override=_endpoint(),
        request_timeout=_REQUEST_TIMEOUT_S,
        retry_strategy=_RETRIES,
    )


def s3_client() -> Any:
    """A boto3 S3 client for the same account, region and endpoint as :func:`s3_filesystem`."""
    from spiralkit import aws

    return aws.client("s3", _project_region())


def _project_region() -> str | None:
    """``region`` from ``[tool.spiral]`` inside a project; None elsewhere, so boto3's own chain decides."""
    try:
        root = config.find_root()
    except ConfigError:
        return None
    return config.load(root).region


def _endpoint() -> str | None:
    """The endpoint boto3 would use from the environment: the S3-specific variable wins, as in botocore."""
    if os.environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() == "true":
        return None
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None
