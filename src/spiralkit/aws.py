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
    if result.region_name not in _known_regions(result):
        raise AwsConfigError(
            f"unknown AWS region {result.region_name!r} (from [tool.spiral] or AWS_REGION): "
            f"use one of {', '.join(sorted(_known_regions(result)))}"
        )
    if result.get_credentials() is None:
        raise AwsConfigError(
            "no AWS credentials found: run `aws sso login` (or set AWS_PROFILE), "
            "or in GitHub Actions use aws-actions/configure-aws-credentials with role-to-assume"
        )
    return result


def _known_regions(session: boto3.session.Session) -> set[str]:
    """Every region botocore knows in AWS's three public partitions: a typo never reaches a host that is not there.

    ``[tool.spiral]`` only checks a region's form (config.REGION_RE) because a stage that reads local files
    should not pay for importing boto3; this is the one place the region is checked against AWS's list.
    """
    return {
        region
        for partition in ("aws", "aws-us-gov", "aws-cn")
        for region in session.get_available_regions("ec2", partition)
    }


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
