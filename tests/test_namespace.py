"""Who may write which namespace: user.<name> by default, test.<branch> in CI, prod only on the production branch."""

from __future__ import annotations

from pathlib import Path

import pytest

from spiralkit import namespace
from spiralkit.config import ProjectConfig
from spiralkit.errors import NamespaceError

PROJECT = ProjectConfig(root=Path("/p"), project="churn-model", region="us-east-1", bucket="acme")
LAPTOP = {"SPIRAL_USER": "Ana.Lima"}
CI_BRANCH = {"GITHUB_ACTIONS": "true", "GITHUB_REF_NAME": "feature/new-features"}
CI_MAIN = {"GITHUB_ACTIONS": "true", "GITHUB_REF_NAME": "main"}
CI_PULL_REQUEST = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_REF_NAME": "12/merge",
    "GITHUB_HEAD_REF": "fix-x",
}


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (LAPTOP, "user.ana-lima"),
        (CI_BRANCH, "test.feature-new-features"),
        (CI_MAIN, "prod"),
        (CI_PULL_REQUEST, "test.fix-x"),
    ],
    ids=["laptop", "ci-branch", "ci-main", "ci-pull-request"],
)
def test_default_namespace(env: dict[str, str], expected: str) -> None:
    assert namespace.resolve(PROJECT, None, env) == expected


def test_prod_from_a_laptop_is_refused_with_the_alternative() -> None:
    with pytest.raises(NamespaceError, match=r"only CI on the production branch.*user\.ana-lima"):
        namespace.resolve(PROJECT, "prod", LAPTOP)


def test_prod_from_a_branch_build_is_refused() -> None:
    with pytest.raises(NamespaceError, match="only CI on the production branch"):
        namespace.resolve(PROJECT, "prod", CI_BRANCH)


@pytest.mark.parametrize("name", ["production", "user.", "team.x", "user.Ana", "test.a/b"])
def test_malformed_namespaces_are_refused(name: str) -> None:
    with pytest.raises(NamespaceError, match="not valid"):
        namespace.resolve(PROJECT, name, LAPTOP)


def test_someone_may_try_a_branch_namespace_from_a_laptop() -> None:
    assert namespace.resolve(PROJECT, "test.fix-x", LAPTOP) == "test.fix-x"


def test_slug_and_publish_uri() -> None:
    assert namespace.slug("user.ana-lima") == "user-ana-lima"
    assert namespace.publish_uri(PROJECT, "prod", "predictions.parquet") == (
        "s3://acme/published/prod/predictions.parquet"
    )
