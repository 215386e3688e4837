"""What a deploy will change, before it changes it: a CloudFormation change set, described.

A rerun must not quietly undo an earlier one, so every parameter this run does not give keeps the
value the stack has now (``UsePreviousValue``), and the person sees each parameter that changes and
each resource CloudFormation will add, modify, remove or replace before anything is executed.

A new stack is made with ``CreateStack`` after listing the template's resources: there is nothing
to break yet, and its outputs are then what ``spiral infra deploy`` prints (moto's change sets of
type CREATE leave a stack without outputs, so the first deploy could not be tried on moto).
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from botocore.exceptions import ClientError

from spiralkit.errors import InfraError

# What CloudFormation says (change set, or moto's direct refusal) when a deploy would change nothing.
NO_CHANGES = ("didn't contain changes", "No updates are to be performed")


@dataclass(frozen=True)
class Plan:
    """A created change set: its name, and the lines that say what executing it does."""

    name: str
    lines: tuple[str, ...]


def request_parameters(
    given: Mapping[str, str], previous: Mapping[str, str], reset: Collection[str] = ()
) -> list[dict[str, Any]]:
    """``given`` as values; every other parameter the stack has keeps its value, unless it is in ``reset``
    (which then takes the template's default)."""
    kept = [
        {"ParameterKey": key, "UsePreviousValue": True} for key in previous if key not in given and key not in reset
    ]
    return [*({"ParameterKey": k, "ParameterValue": v} for k, v in given.items()), *kept]


def parameter_lines(given: Mapping[str, str], previous: Mapping[str, str], reset: Collection[str] = ()) -> list[str]:
    """One line per parameter whose value changes (all given values, for a new stack)."""
    lines = [
        f"    {key:<24} {previous.get(key, '(new)')} -> {value}"
        for key, value in given.items()
        if previous.get(key) != value
    ]
    lines += [f"    {key:<24} {previous[key]} -> (template default)" for key in reset if key in previous]
    return lines


class _TemplateLoader(yaml.SafeLoader):
    """Reads a CloudFormation template's YAML: ``!Ref``, ``!Sub`` and friends become plain values."""


_TemplateLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def template_lines(body: str) -> list[str]:
    """What a new stack will hold: each resource, with the condition that decides whether it is made."""
    resources = (yaml.load(body, Loader=_TemplateLoader) or {}).get("Resources", {})
    return [
        f"    {'Add':<8} {logical:<28} {resource.get('Type', '')}"
        + (f"  if {resource['Condition']}" if resource.get("Condition") else "")
        for logical, resource in resources.items()
    ]


def create(cloudformation: Any, request: Mapping[str, Any], poll: float) -> Plan | None:
    """Create the change set of an update and wait until CloudFormation has worked it out; None if nothing
    would change."""
    name = time.strftime("spiral-%Y%m%d-%H%M%S", time.gmtime())
    try:
        cloudformation.create_change_set(**request, ChangeSetName=name, ChangeSetType="UPDATE")
    except ClientError as error:
        if any(text in str(error) for text in NO_CHANGES):
            return None
        raise InfraError(f"CloudFormation refused the change set: {error}") from error
    stack = request["StackName"]
    while True:
        described = cloudformation.describe_change_set(StackName=stack, ChangeSetName=name)
        if described["Status"] in {"CREATE_COMPLETE", "FAILED"}:
            break
        time.sleep(poll)
    if described["Status"] == "FAILED":
        reason = str(described.get("StatusReason", ""))
        cloudformation.delete_change_set(StackName=stack, ChangeSetName=name)
        if any(text in reason for text in NO_CHANGES):
            return None
        raise InfraError(f"CloudFormation could not plan the change: {reason}")
    return Plan(name, tuple(resource_lines(cloudformation, stack, name)))


def resource_lines(cloudformation: Any, stack: str, name: str) -> list[str]:
    """One line per resource change: action, logical id, type, and whether it is replaced."""
    lines: list[str] = []
    token: str | None = None
    while True:
        page = cloudformation.describe_change_set(
            StackName=stack, ChangeSetName=name, **({"NextToken": token} if token else {})
        )
        for change in page.get("Changes", []):
            resource = change.get("ResourceChange", {})
            replacement = resource.get("Replacement")
            replaced = f"  replacement: {replacement}" if replacement else ""
            lines.append(
                f"    {resource.get('Action', '?'):<8} {resource.get('LogicalResourceId', '?'):<28} "
                f"{resource.get('ResourceType', '')}{replaced}"
            )
        token = page.get("NextToken")
        if not token:
            return lines
