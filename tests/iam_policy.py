"""The stack's policies as AWS would see them, and AWS's documented evaluation of them.

moto enforces IAM only in part: it matches S3 object ARNs, but checks every other service's call
against the resource ``*``, skips condition keys it is not sent (so an Allow with a condition allows
always, a Deny with one denies always), does not fill in policy variables and ignores bucket
policies. The matrix test therefore asks moto where moto decides like AWS (S3 objects, ECR's
immutable tags) and asks :func:`allowed` for the rest; on the S3 rows both must agree, which checks
this evaluator against moto.

Implemented: Allow/Deny with explicit deny first, ``Action``/``Resource`` wildcards, policy
variables, and the condition operators the stack uses (String*, Arn*, Bool, Null). Not
implemented (the stack does not use them): NotAction, NotResource, ``...IfExists``, ``ForAnyValue``.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"

Context = Mapping[str, str]


# ---- the template's intrinsic functions, resolved with fixed account, region and parameters -------


def resolve(template: Mapping[str, Any], value: Any) -> Any:
    """``value`` with every ``Ref``/``Fn::Sub``/``Fn::GetAtt``/``Fn::If`` replaced by what CloudFormation would put."""
    if isinstance(value, list):
        return [resolve(template, item) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref":
            return _ref(template, arg)
        if key == "Fn::GetAtt":
            name, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
            return _get_att(template, name, attribute)
        if key == "Fn::Sub":
            return _sub(template, arg)
        if key == "Fn::If":
            return resolve(template, arg[1] if _condition(template, arg[0]) else arg[2])
    return {key: resolve(template, item) for key, item in value.items()}


def _parameter(template: Mapping[str, Any], name: str) -> str:
    return str(template["Parameters"][name].get("Default", ""))


def _ref(template: Mapping[str, Any], name: str) -> Any:
    pseudo = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::NoValue": None}
    if name in pseudo:
        return pseudo[name]
    if name in template["Parameters"]:
        return _parameter(template, name)
    resource = template["Resources"][name]
    properties = resource.get("Properties", {})
    if resource["Type"] == "AWS::IAM::ManagedPolicy":
        return f"arn:aws:iam::{ACCOUNT}:policy/{resolve(template, properties.get('ManagedPolicyName', name))}"
    if resource["Type"] == "AWS::S3::Bucket":
        return resolve(template, properties.get("BucketName")) or name.lower()
    return resolve(template, properties.get("RoleName") or properties.get("RepositoryName") or name)


def _get_att(template: Mapping[str, Any], name: str, attribute: str) -> str:
    kind = template["Resources"][name]["Type"]
    assert attribute == "Arn", f"{name}.{attribute} is not resolved by this test"
    ref = _ref(template, name)
    if kind == "AWS::S3::Bucket":
        return f"arn:aws:s3:::{ref}"
    if kind == "AWS::IAM::Role":
        return f"arn:aws:iam::{ACCOUNT}:role/{ref}"
    if kind == "AWS::ECR::Repository":
        return f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{ref}"
    raise AssertionError(f"{name} ({kind}).Arn is not resolved by this test")


def _sub(template: Mapping[str, Any], arg: Any) -> str:
    text, names = (arg, {}) if isinstance(arg, str) else (arg[0], resolve(template, arg[1]))

    def one(match: re.Match[str]) -> str:
        inner = match.group(1)
        if inner.startswith("!"):
            return "${" + inner[1:] + "}"
        if inner in names:
            return str(names[inner])
        if "." in inner:
            return _get_att(template, *inner.split(".", 1))
        return str(_ref(template, inner))

    return re.sub(r"\$\{([^}]+)\}", one, text)


def _condition(template: Mapping[str, Any], name: str) -> bool:
    (operator, args) = next(iter(template["Conditions"][name].items()))
    if operator == "Fn::Equals":
        return bool(resolve(template, args[0]) == resolve(template, args[1]))
    if operator == "Fn::Not":
        return not _condition_value(template, args[0])
    raise AssertionError(f"condition {name}: {operator} is not resolved by this test")


def _condition_value(template: Mapping[str, Any], value: Any) -> bool:
    if isinstance(value, dict) and "Condition" in value:
        return _condition(template, value["Condition"])
    operator, args = next(iter(value.items()))
    assert operator == "Fn::Equals"
    return bool(resolve(template, args[0]) == resolve(template, args[1]))


def documents(template: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    """The policy documents of resource ``name``: a managed policy's, or a role's inline and managed ones."""
    resource = template["Resources"][name]
    properties = resource["Properties"]
    if resource["Type"] in {"AWS::IAM::ManagedPolicy", "AWS::S3::BucketPolicy"}:
        return [resolve(template, properties["PolicyDocument"])]
    found = [resolve(template, policy["PolicyDocument"]) for policy in properties.get("Policies", [])]
    for arn in properties.get("ManagedPolicyArns", []):
        if isinstance(arn, dict) and "Ref" in arn:
            found += documents(template, arn["Ref"])
    return found


# ---- evaluation ---------------------------------------------------------------------------------


def substitute(text: str, context: Context) -> str:
    """Fill in ``${key}`` policy variables; an unknown one matches nothing, as in AWS."""
    return re.sub(r"\$\{([^}]+)\}", lambda m: context.get(m.group(1), "\x00unresolved\x00"), text)


def _like(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def _many(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _condition_holds(operator: str, key: str, expected: Any, context: Context) -> bool:
    wanted = [substitute(v, context) for v in _many(expected)]
    actual = context.get(key)
    if operator == "Null":
        return (actual is None) == (wanted[0] == "true")
    negated = "Not" in operator
    if actual is None:
        return negated
    base = operator.replace("Not", "")
    if base in {"StringEquals", "ArnEquals"}:
        match = actual in wanted
    elif base in {"StringLike", "ArnLike"}:
        match = any(_like(w, actual) for w in wanted)
    elif base == "Bool":
        match = actual.lower() in [w.lower() for w in wanted]
    else:
        raise AssertionError(f"condition operator {operator} is not implemented here")
    return not match if negated else match


def _statement_applies(statement: Mapping[str, Any], action: str, resource: str, context: Context) -> bool:
    actions = _many(statement["Action"])
    if not any(_like(a.lower(), action.lower()) for a in actions):
        return False
    if not any(_like(substitute(r, context), resource) for r in _many(statement.get("Resource", "*"))):
        return False
    for operator, pairs in statement.get("Condition", {}).items():
        for key, expected in pairs.items():
            if not _condition_holds(operator, key, expected, context):
                return False
    return True


def decide(policies: Iterable[Mapping[str, Any]], action: str, resource: str, context: Context) -> str:
    """``"deny"`` (explicit), ``"allow"`` or ``"none"`` for one action on one resource."""
    result = "none"
    for policy in policies:
        for statement in _many_statements(policy):
            if _statement_applies(statement, action, resource, context):
                if statement["Effect"] == "Deny":
                    return "deny"
                result = "allow"
    return result


def _many_statements(policy: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = policy["Statement"]
    return statements if isinstance(statements, list) else [statements]


def allowed(
    identity: Iterable[Mapping[str, Any]],
    action: str,
    resources: Mapping[str, Context],
    context: Context,
    resource_policies: Iterable[Mapping[str, Any]] = (),
) -> bool:
    """Whether a same-account principal may do ``action`` on every resource of ``resources``.

    Each resource has its own context (its tags); an explicit deny in the identity's or the
    resource's policy wins, else the identity's policies must allow.
    """
    identity, resource_policies = list(identity), list(resource_policies)
    for resource, extra in resources.items():
        full = {**context, **extra}
        verdicts = {decide(identity, action, resource, full), decide(resource_policies, action, resource, full)}
        if "deny" in verdicts or "allow" not in verdicts:
            return False
    return True
