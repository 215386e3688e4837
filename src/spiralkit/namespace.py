"""Namespaces: every run belongs to ``user.<name>``, ``test.<branch>`` or ``prod``.

Anyone may write their own ``user.`` namespace; CI on a branch writes ``test.<branch>``; only CI on
the production branch writes ``prod``. The namespace scopes published outputs and job names, so a
branch can be tried without touching what production reads.
"""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Mapping

from spiralkit.config import ProjectConfig
from spiralkit.errors import NamespaceError

PROD = "prod"
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def _clean(name: str) -> str:
    """Make a user or branch name safe for S3 prefixes and Batch job names (``feature/x`` -> ``feature-x``)."""
    return _UNSAFE.sub("-", name).strip("-").lower() or "unknown"


def ci_branch(env: Mapping[str, str]) -> str | None:
    """The branch GitHub Actions is building, or None outside CI."""
    if env.get("GITHUB_ACTIONS") != "true":
        return None
    return env.get("GITHUB_HEAD_REF") or env.get("GITHUB_REF_NAME") or None


def default(config: ProjectConfig, env: Mapping[str, str] | None = None) -> str:
    """The namespace a run gets when none is asked for."""
    env = os.environ if env is None else env
    if env.get("SPIRAL_NAMESPACE"):  # set by `spiral run` for the stages it runs
        return env["SPIRAL_NAMESPACE"]
    branch = ci_branch(env)
    if branch is None:
        return f"user.{_clean(env.get('SPIRAL_USER') or getpass.getuser())}"
    return PROD if branch == config.production_branch else f"test.{_clean(branch)}"


def resolve(config: ProjectConfig, requested: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """Check that this run may write ``requested`` (or the default) and return it.

    ``prod`` is refused unless this is CI on the production branch: a laptop, or a branch build,
    must never overwrite what production reads.
    """
    env = os.environ if env is None else env
    name = requested or default(config, env)
    if name == PROD:
        if ci_branch(env) != config.production_branch:
            raise NamespaceError(
                "only CI on the production branch "
                f"({config.production_branch!r}) may write the 'prod' namespace; "
                f"run in your own namespace ({default(config, env)}) instead"
            )
        return name
    return check(name)


def check(name: str) -> str:
    """``name`` if it is a well-formed namespace (reading any namespace is allowed); else a clear error."""
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
    return f"{config.publish_root}/{namespace}/{name}"
