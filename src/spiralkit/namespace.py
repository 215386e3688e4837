"""Namespaces: every run belongs to ``user.<name>``, ``test.<branch>`` or ``prod``.

Anyone may write their own ``user.`` namespace; CI on a branch writes ``test.<branch>``; only CI on
the production branch writes ``prod``. The namespace scopes published outputs and job names, so a
branch can be tried without touching what production reads.

These checks are early, friendly refusals; AWS enforces the same rules (docs/security.md): the
bucket policy lets only the prod roles write ``prod``, and a person's policy only their own
``user.<name>``, where ``<name>`` is their ``spiral-user`` principal tag.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import re
from collections.abc import Mapping

from spiralkit import aws
from spiralkit.config import ProjectConfig
from spiralkit.errors import NamespaceError

PROD = "prod"
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def _clean(name: str) -> str:
    """Make a user or branch name safe for S3 prefixes and Batch job names (``Ana.Lima`` -> ``ana-lima``)."""
    return _UNSAFE.sub("-", name).strip("-").lower() or "unknown"


def branch_name(branch: str) -> str:
    """``branch`` as a namespace part, distinct for distinct branches.

    ``feature-x`` stays itself; ``Feature/X`` and ``feature/x`` become ``feature-x-<6 hex of the branch>``,
    so branches that clean to the same text never share a namespace.
    """
    cleaned = _clean(branch)
    if cleaned == branch:
        return cleaned
    return f"{cleaned}-{hashlib.sha256(branch.encode()).hexdigest()[:6]}"


def _is_pull_request(env: Mapping[str, str]) -> bool:
    """A pull request's run, from this repository or a fork: its code is not the reviewed production branch."""
    return bool(env.get("GITHUB_HEAD_REF")) or env.get("GITHUB_EVENT_NAME", "").startswith("pull_request")


def ci_branch(env: Mapping[str, str]) -> str | None:
    """The branch GitHub Actions is building, or None outside CI."""
    if env.get("GITHUB_ACTIONS") != "true":
        return None
    return env.get("GITHUB_HEAD_REF") or env.get("GITHUB_REF_NAME") or None


def is_production_ci(config: ProjectConfig, env: Mapping[str, str]) -> bool:
    """CI building the production branch itself: a push to it, never a pull request, never a tag of that name."""
    if env.get("GITHUB_ACTIONS") != "true" or _is_pull_request(env):
        return False
    ref = env.get("GITHUB_REF") or f"refs/heads/{env.get('GITHUB_REF_NAME', '')}"
    return ref == f"refs/heads/{config.production_branch}"


def person(config: ProjectConfig, env: Mapping[str, str]) -> str:
    """Who runs this, as a namespace part.

    With AWS configured (a bucket), it is the caller's AWS identity, never an environment variable:
    the last part of the caller's ARN (an IAM user's name, an Identity Center user's session name),
    cleaned. Without AWS nothing is shared, and ``SPIRAL_USER`` or the login name will do.
    """
    if config.bucket:
        arn = str(aws.client("sts", config.region).get_caller_identity()["Arn"])
        return _clean(arn.rsplit("/", 1)[-1])
    return _clean(env.get("SPIRAL_USER") or getpass.getuser())


def default(config: ProjectConfig, env: Mapping[str, str] | None = None) -> str:
    """The namespace a run gets when none is asked for."""
    env = os.environ if env is None else env
    if env.get("SPIRAL_NAMESPACE"):  # set by `spiral run` for the stages it runs
        return env["SPIRAL_NAMESPACE"]
    branch = ci_branch(env)
    if branch is None:
        return f"user.{person(config, env)}"
    return PROD if is_production_ci(config, env) else f"test.{branch_name(branch)}"


def resolve(config: ProjectConfig, requested: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """Check that this run may write ``requested`` (or the default) and return it.

    ``prod`` is refused unless this is CI on the production branch: a laptop, or a branch build,
    must never overwrite what production reads.
    """
    env = os.environ if env is None else env
    name = requested or default(config, env)
    if name == PROD:
        if not is_production_ci(config, env):
            raise NamespaceError(
                f"only CI on the production branch ({config.production_branch!r}) may write the 'prod' "
                "namespace, on a push and never from a pull request; "
                f"run in your own namespace ({default(config, env)}) instead"
            )
        return name
    return check(name)


def check(name: str) -> str:
    """Refuse a string that is not a namespace (``user.ana``, ``test.fix-x``, ``prod``)."""
    kind, _, rest = name.partition(".")
    if name != PROD and (kind not in {"user", "test"} or not rest or _clean(rest) != rest):
        raise NamespaceError(
            f"namespace {name!r} is not valid: use 'user.<name>', 'test.<branch>' or 'prod' "
            "(names in lowercase letters, digits, '-' and '_')"
        )
    return name


def slug(namespace: str) -> str:
    """The namespace in a form AWS resource names accept (``user.ana`` -> ``user-ana``)."""
    return namespace.replace(".", "-")


def publish_uri(config: ProjectConfig, namespace: str, name: str) -> str:
    """Where a published output called ``name`` lives for ``namespace`` (local folder or S3)."""
    return f"{config.publish_root}/{check(namespace)}/{name}"
