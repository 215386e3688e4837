"""Create or update the project's CloudFormation stack, safely rerun: show what changes, then change it.

The stack's parameters come from the project's ``[tool.spiral]`` settings (so the bucket, queue and
image repository that ``spiral run`` uses are the ones the stack makes) and ``--parameter``; every
other parameter keeps the value the stack has. The change set is printed, and executed only once
``approve`` says yes; then each stack event is printed as it happens.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from spiralkit import aws
from spiralkit.config import ProjectConfig
from spiralkit.errors import InfraError
from spiralkit.infra import NotApproved, changes

__all__ = ["InfraError", "NotApproved", "check_repository", "deploy", "parameters", "stack_name"]

TEMPLATE = Path("infra/stack.yaml")
CAPABILITIES = ["CAPABILITY_NAMED_IAM"]  # the stack names its roles, so runs can find them
# GitHub's owner/name; the template's default owner is a placeholder no real account may hold.
REPOSITORY_RE = re.compile(r"^[A-Za-z0-9-]+/[A-Za-z0-9_.-]+$")
PLACEHOLDER_OWNER = "your-org"
# States a stack cannot be updated from, and what to do about each.
STUCK = {
    "ROLLBACK_COMPLETE": "its creation failed and was rolled back, and CloudFormation cannot update it",
    "ROLLBACK_FAILED": "its creation failed and so did the rollback",
    "CREATE_FAILED": "its creation failed",
    "DELETE_FAILED": "deleting it failed",
    "REVIEW_IN_PROGRESS": "it holds only a change set made outside spiral, never executed",
}


def stack_name(project: ProjectConfig) -> str:
    return f"{project.project}-infra"


def parameters(project: ProjectConfig, overrides: Mapping[str, str]) -> dict[str, str]:
    """Stack parameters from ``[tool.spiral]`` (those it sets), then ``overrides`` (``--parameter KEY=VALUE``,
    where an empty value is a value: ``GitHubOidcProviderArn=`` makes the stack create the provider)."""
    settings = {
        "Project": project.project,
        "BucketName": project.bucket,
        "JobQueueName": project.job_queue,
        "EcrRepositoryName": project.ecr_repository,
    }
    return {**{key: value for key, value in settings.items() if value}, **overrides}


def deploy(
    project: ProjectConfig,
    overrides: Mapping[str, str] | None = None,
    echo: Callable[[str], None] = print,
    poll: float = 2.0,
    *,
    approve: Callable[[], bool],
    reset: Collection[str] = (),
) -> dict[str, str]:
    """Plan the change, print it, execute it if ``approve()``; return the stack's outputs.

    ``reset`` names parameters that go back to the template's default instead of keeping their value.
    """
    template = project.root / TEMPLATE
    if not template.is_file():
        raise InfraError(f"no {TEMPLATE} in {project.root}: `copier update` brings it from the template")
    cloudformation = aws.client("cloudformation", project.region)
    name = stack_name(project)
    current = _current(cloudformation, name)
    previous = _parameters(current) if current else {}
    given = parameters(project, overrides or {})
    body = template.read_text(encoding="utf-8")
    kept = {key: value for key, value in previous.items() if key not in reset}
    check_repository(body, {**kept, **given})
    request: dict[str, Any] = {
        "StackName": name,
        "TemplateBody": body,
        "Parameters": changes.request_parameters(given, previous, reset),
        "Capabilities": CAPABILITIES,
        "Tags": [{"Key": "spiral:project", "Value": project.project}],
    }
    plan = changes.create(cloudformation, request, poll) if current else None
    if current and plan is None:
        echo(f"{name}: already up to date")
        return _outputs(cloudformation, name)
    echo(f"{name}: " + (f"change set {plan.name}" if plan else "a new stack"))
    echo("  parameters:")
    for line in changes.parameter_lines(given, previous, reset) or ["    no change"]:
        echo(line)
    echo("  resources:")
    for line in (plan.lines if plan else changes.template_lines(body)) or ["    no change"]:
        echo(line)
    approved = False
    try:
        approved = approve()
    finally:
        if plan and not approved:  # a declined change set would otherwise stay in the console, ready to run
            cloudformation.delete_change_set(StackName=name, ChangeSetName=plan.name)
    if not approved:
        raise NotApproved(f"nothing was changed: {name} is as it was")
    started = time.time() - 1
    if plan:
        cloudformation.execute_change_set(StackName=name, ChangeSetName=plan.name)
    else:
        cloudformation.create_stack(**request)
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


def _current(cloudformation: Any, name: str) -> dict[str, Any] | None:
    """The stack as it is now, None if there is none; a stack nothing can update is refused here."""
    try:
        stacks = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except ClientError as error:
        if "does not exist" in str(error):
            return None
        raise
    if not stacks or stacks[0]["StackStatus"] == "DELETE_COMPLETE":
        return None
    stack: dict[str, Any] = stacks[0]
    status = str(stack["StackStatus"])
    if status in STUCK:
        raise InfraError(
            f"stack {name} is {status}: {STUCK[status]}. Its events say why "
            f"(`aws cloudformation describe-stack-events --stack-name {name}`). Fix the cause, delete the stack "
            f"(`aws cloudformation delete-stack --stack-name {name}`) and run `spiral infra deploy` again; a bucket "
            "the failed attempt made is kept (DeletionPolicy Retain) and blocks the new one: `aws s3 rb` it while empty"
        )
    if status == "UPDATE_ROLLBACK_FAILED":
        raise InfraError(
            f"stack {name} is {status}: an update failed and so did its rollback. Finish the rollback "
            f"(`aws cloudformation continue-update-rollback --stack-name {name}`), then deploy again"
        )
    if status.endswith("_IN_PROGRESS"):
        raise InfraError(f"stack {name} is {status}: wait until it settles, then deploy again")
    return stack


def _parameters(stack: Mapping[str, Any]) -> dict[str, str]:
    return {entry["ParameterKey"]: str(entry.get("ParameterValue", "")) for entry in stack.get("Parameters", [])}


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
