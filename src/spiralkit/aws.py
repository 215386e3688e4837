"""The one place boto3 clients are made, so region, endpoint, retries and credentials are set once.

boto3 reads ``AWS_ENDPOINT_URL`` itself, which is how tests point every client at a moto server.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from botocore.exceptions import NoCredentialsError, ProfileNotFound

from spiralkit.errors import AwsConfigError

if TYPE_CHECKING:
    import boto3


@cache
def session(region: str | None = None) -> boto3.session.Session:
    """A boto3 session, refusing early and clearly when credentials or the region are missing.

    boto3 is imported here, not with this module: its 0.2 to 0.4 s would otherwise be paid by every
    ``spiral`` command, ``spiral run --on local`` of a pipeline with nothing to do included.
    """
    import boto3

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
        return session(region).client(service, config=_retries())
    except NoCredentialsError as error:  # pragma: no cover - boto3 raises lazily on some paths
        raise AwsConfigError(str(error)) from error


@cache
def _retries() -> Any:
    from botocore.config import Config

    return Config(retries={"mode": "standard", "max_attempts": 8}, user_agent_extra="spiralkit")
