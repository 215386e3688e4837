"""The one place boto3 clients are made, so region, endpoint, retries and credentials are set once.

boto3 reads ``AWS_ENDPOINT_URL`` itself, which is how tests point every client at a moto server.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import NoCredentialsError, ProfileNotFound

from spiralkit.errors import AwsConfigError

_RETRIES = Config(retries={"mode": "standard", "max_attempts": 8}, user_agent_extra="spiralkit")


@cache
def session(region: str | None = None) -> boto3.session.Session:
    """A boto3 session, refusing early and clearly when credentials or the region are missing."""
    try:
        result = boto3.session.Session(region_name=region)
    except ProfileNotFound as error:
        raise AwsConfigError(f"{error}: set AWS_PROFILE to a profile in ~/.aws/config") from error
    if result.region_name is None:
        raise AwsConfigError("no AWS region: set `region` in [tool.spiral] or AWS_REGION")
    if result.get_credentials() is None:
        raise AwsConfigError(
            "no AWS credentials found: run `aws sso login` (or set AWS_PROFILE), "
            "or in GitHub Actions use aws-actions/configure-aws-credentials with role-to-assume"
        )
    return result


def client(service: str, region: str | None = None) -> Any:
    """A boto3 client for ``service`` with spiralkit's retry policy."""
    try:
        return session(region).client(service, config=_RETRIES)
    except NoCredentialsError as error:  # pragma: no cover - boto3 raises lazily on some paths
        raise AwsConfigError(str(error)) from error
