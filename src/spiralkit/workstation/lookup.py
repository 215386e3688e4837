"""Read-only AWS look-ups that ``up`` makes before it creates anything, each failing with one clear
message: the AMI, the instance type, the image digest, the instance profile, the subnet."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from spiralkit.workstation import WorkstationError
from spiralkit.workstation.settings import Settings


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def ami(ssm: Any, ec2: Any, parameter: str) -> dict[str, Any]:
    """The image behind a public SSM parameter, e.g. Amazon Linux 2023's latest."""
    try:
        image_id = ssm.get_parameter(Name=parameter)["Parameter"]["Value"]
    except ClientError as error:
        if _code(error) != "ParameterNotFound":
            raise
        raise WorkstationError(
            f"SSM parameter {parameter} does not exist in this region: fix ami_parameter "
            "(or gpu_ami_parameter) in [tool.spiral.workstation]"
        ) from error
    images = ec2.describe_images(ImageIds=[image_id])["Images"]
    if not images:
        raise WorkstationError(f"{parameter} names {image_id}, which this account cannot see")
    return dict(images[0])


def instance_type(ec2: Any, name: str, gpu: bool) -> dict[str, Any]:
    """Refuse a type EC2 does not know, and a GPU request on a type without one (or vice versa)."""
    try:
        found = ec2.describe_instance_types(InstanceTypes=[name])["InstanceTypes"]
    except ClientError as error:
        if _code(error) != "InvalidInstanceType":
            raise
        found = []
    if not found:
        raise WorkstationError(
            f"unknown instance type {name!r}: pick one from `aws ec2 describe-instance-types`, "
            "e.g. m6i.xlarge, or g5.xlarge with --gpu"
        )
    has_gpu = bool(found[0].get("GpuInfo", {}).get("Gpus"))
    if gpu and not has_gpu:
        raise WorkstationError(f"{name} has no GPU: use a GPU type such as g5.xlarge with --gpu")
    if has_gpu and not gpu:
        raise WorkstationError(f"{name} is a GPU type: add --gpu so the GPU image and AMI are used")
    return dict(found[0])


def zones_offering(ec2: Any, name: str) -> list[str]:
    offers = ec2.describe_instance_type_offerings(
        LocationType="availability-zone", Filters=[{"Name": "instance-type", "Values": [name]}]
    )["InstanceTypeOfferings"]
    return sorted(offer["Location"] for offer in offers)


def clone_commit(root: Path) -> str | None:
    """The clone's commit, whose workstation image `up` prefers; None outside a git clone."""
    done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None


def image(ecr: Any, settings: Settings, commit: str | None = None) -> str:
    """``<registry>/<repository>@sha256:...``: pulled by digest, so the instance runs exactly it.

    deploy.yml pushes ``<image_tag>-<commit>`` for every commit it builds: the image of ``commit`` (your
    clone's HEAD) when CI built it, else the newest one pushed (a local commit, or one not built yet).
    """
    repository, prefix = settings.ecr_repository, settings.image_tag
    built = re.compile(rf"^{re.escape(prefix)}-[0-9a-f]{{40}}$")
    try:
        uri = ecr.describe_repositories(repositoryNames=[repository])["repositories"][0]["repositoryUri"]
        pages = ecr.get_paginator("describe_images").paginate(repositoryName=repository, filter={"tagStatus": "TAGGED"})
        images = [detail for page in pages for detail in page["imageDetails"]]
    except ClientError as error:
        if _code(error) != "RepositoryNotFoundException":
            raise
        images = []
    own = [i for i in images if commit and f"{prefix}-{commit}" in i.get("imageTags", [])]
    candidates = own or [i for i in images if any(built.match(tag) for tag in i.get("imageTags", []))]
    if not candidates:
        raise WorkstationError(
            f"no image tagged {prefix}-<commit> in ECR repository {repository!r}: push a commit so that "
            "deploy.yml builds and pushes the Dockerfile's workstation target (docs/production.md), then `up`"
        )
    newest = max(candidates, key=lambda detail: detail["imagePushedAt"])
    return f"{uri}@{newest['imageDigest']}"


def instance_profile(iam: Any, name: str) -> str:
    try:
        return str(iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Arn"])
    except ClientError as error:
        if _code(error) != "NoSuchEntity":
            raise
        raise WorkstationError(
            f"instance profile {name!r} does not exist: a platform engineer creates it once per "
            f"person with `spiral workstation grant <name>` (docs/workstation-platform.md)"
        ) from error


def subnet(ec2: Any, settings: Settings, zone: str | None, zones: list[str]) -> dict[str, Any]:
    """Where to launch: the configured subnet, else a default subnet in a zone that offers the
    instance type; always in ``zone`` when the home volume already lives there."""
    kind = settings.instance_type
    if zone is not None and zone not in zones:
        raise WorkstationError(
            f"{kind} is not offered in {zone}, where your home volume lives: choose another "
            "instance type (docs/workstation-platform.md says how to move a home volume)"
        )
    if settings.subnet_id:
        found = ec2.describe_subnets(SubnetIds=[settings.subnet_id])["Subnets"]
    else:
        found = ec2.describe_subnets(
            Filters=[
                {"Name": "default-for-az", "Values": ["true"]},
                {"Name": "availability-zone", "Values": [zone] if zone else zones},
            ]
        )["Subnets"]
    found = sorted(found, key=lambda s: s["AvailabilityZone"])
    if not found:
        raise WorkstationError(
            f"no default subnet in a zone offering {kind} ({', '.join(zones) or 'none'}): "
            "set subnet_id in [tool.spiral.workstation]"
        )
    chosen = dict(found[0])
    if chosen["AvailabilityZone"] not in ([zone] if zone else zones):
        raise WorkstationError(
            f"subnet {chosen['SubnetId']} is in {chosen['AvailabilityZone']}, but "
            + (f"your home volume is in {zone}" if zone else f"{kind} is offered only in {', '.join(zones)}")
            + ": set subnet_id to a subnet there"
        )
    return chosen
