"""Create or update the project's CloudFormation stack and report its events as they happen.

The stack's parameters default to the project's ``[tool.spiral]`` settings, so the bucket, queue
and image repository that ``spiral run`` uses are the ones the stack makes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from spiralkit import aws
from spiralkit.config import ProjectConfig
from spiralkit.errors import SpiralError

TEMPLATE = Path("infra/stack.yaml")
CAPABILITIES = ["CAPABILITY_NAMED_IAM"]  # the stack names its roles, so runs can find them
# GitHub's owner/name; the template's default owner is a placeholder no real account may hold.
REPOSITORY_RE = re.compile(r"^[A-Za-z0-9-]+/[A-Za-z0-9_.-]+$")
PLACEHOLDER_OWNER = "your-org"


class InfraError(SpiralError):
    """The stack could not be created or updated; the message carries CloudFormation's reasons."""

    exit_code = 6


def stack_name(project: ProjectConfig) -> str:
    return f"{project.project}-infra"


def parameters(project: ProjectConfig, overrides: Mapping[str, str]) -> list[dict[str, str]]:
    """Stack parameters from ``[tool.spiral]``, then ``overrides`` (``--parameter KEY=VALUE``)."""
    values = {
        "Project": project.project,
        "BucketName": project.bucket,
        "JobQueueName": project.job_queue,
        "EcrRepositoryName": project.ecr_repository,
        **overrides,
    }
    return [{"ParameterKey": key, "ParameterValue": value} for key, value in values.items() if value]


def deploy(
    project: ProjectConfig,
    overrides: Mapping[str, str] | None = None,
    echo: Callable[[str], None] = print,
    poll: float = 2.0,
) -> dict[str, str]:
    """Create the stack, or update it; print each new event; return its outputs."""
    template = project.root / TEMPLATE
    if not template.is_file():
        raise InfraError(f"no {TEMPLATE} in {project.root}: `copier update` brings it from the template")
    check_repository(template.read_text(encoding="utf-8"), overrides or {})
    cloudformation = aws.client("cloudformation", project.region)
    name = stack_name(project)
    request: dict[str, Any] = {
        "StackName": name,
        "TemplateBody": template.read_text(encoding="utf-8"),
        "Parameters": parameters(project, overrides or {}),
        "Capabilities": CAPABILITIES,
        "Tags": [{"Key": "spiral:project", "Value": project.project}],
    }
    started = time.time() - 1
    try:
        if _exists(cloudformation, name):
            cloudformation.update_stack(**request)
        else:
            cloudformation.create_stack(**request)
    except ClientError as error:
        if "No updates are to be performed" in str(error):
            echo(f"{name}: already up to date")
            return _outputs(cloudformation, name)
        raise InfraError(f"CloudFormation refused {TEMPLATE}: {error}") from error
    status = _follow(cloudformation, name, started, echo, poll)
    if not status.endswith("_COMPLETE") or "ROLLBACK" in status:
        raise InfraError(f"stack {name} ended {status}: the failed events above say why")
    return _outputs(cloudformation, name)


def check_repository(template: str, overrides: Mapping[str, str]) -> str:
    """The GitHub repository the CI roles will trust: refuse the placeholder and anything not ``owner/name``.

    A wrong value here lets another repository's workflows assume the roles, or none at all.
    """
    found = re.search(r"^  GitHubRepository:\n(?:    .*\n)*?    Default: \"?([^\"\n]*)", template, re.MULTILINE)
    value = overrides.get("GitHubRepository", found.group(1).strip() if found else "")
    if not REPOSITORY_RE.match(value) or value.split("/")[1] in {".", ".."}:
        raise InfraError(
            f"GitHubRepository {value!r} is not a GitHub repository as owner/name: set it with "
            "--parameter GitHubRepository=acme/churn-model (or github_repository in `copier update`)"
        )
    if value.split("/")[0] == PLACEHOLDER_OWNER:
        raise InfraError(
            f"GitHubRepository {value!r} is the template's placeholder: give your repository with "
            "--parameter GitHubRepository=<owner>/<name> (or github_repository in `copier update`)"
        )
    return value


def _exists(cloudformation: Any, name: str) -> bool:
    try:
        stacks = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except ClientError as error:
        if "does not exist" in str(error):
            return False
        raise
    return bool(stacks) and stacks[0]["StackStatus"] != "DELETE_COMPLETE"


def _follow(cloudformation: Any, name: str, since: float, echo: Callable[[str], None], poll: float) -> str:
    """Print the stack's events newer than ``since`` until it settles; return its final status."""
    seen: set[str] = set()
    while True:
        events = cloudformation.describe_stack_events(StackName=name)["StackEvents"]
        for event in reversed(events):
            if event["EventId"] in seen or event["Timestamp"].timestamp() < since:
                continue
            seen.add(event["EventId"])
            reason = f"  {event['ResourceStatusReason']}" if event.get("ResourceStatusReason") else ""
            echo(f"{event['ResourceStatus']:<28} {event['LogicalResourceId']}{reason}")
        status = str(cloudformation.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"])
        if not status.endswith("_IN_PROGRESS"):
            return status
        time.sleep(poll)


def _outputs(cloudformation: Any, name: str) -> dict[str, str]:
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}
