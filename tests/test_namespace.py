"""Who may write which namespace: user.<name> by default, test.<branch> in CI, prod only on the production branch."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from spiralkit import aws, namespace
from spiralkit.config import ProjectConfig
from spiralkit.errors import NamespaceError

PROJECT = ProjectConfig(root=Path("/p"), project="churn-model", region="us-east-1")  # no AWS: local only
LAPTOP = {"SPIRAL_USER": "Ana.Lima"}
CI_BRANCH = {"GITHUB_ACTIONS": "true", "GITHUB_REF_NAME": "feature/new-features"}
CI_MAIN = {"GITHUB_ACTIONS": "true", "GITHUB_REF_NAME": "main", "GITHUB_REF": "refs/heads/main"}
CI_PULL_REQUEST = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_EVENT_NAME": "pull_request",
    "GITHUB_REF_NAME": "12/merge",
    "GITHUB_HEAD_REF": "fix-x",
}
# A fork's pull request from its own branch called main, with the variables a laptop could set too.
CI_FORK_MAIN = {
    **CI_PULL_REQUEST,
    "GITHUB_HEAD_REF": "main",
    "GITHUB_REF": "refs/heads/main",
    "GITHUB_REF_NAME": "main",
}
CI_TAG_MAIN = {"GITHUB_ACTIONS": "true", "GITHUB_REF_NAME": "main", "GITHUB_REF": "refs/tags/main"}
NEW_FEATURES = "test.feature-new-features-" + hashlib.sha256(b"feature/new-features").hexdigest()[:6]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (LAPTOP, "user.ana-lima"),
        (CI_BRANCH, NEW_FEATURES),
        (CI_MAIN, "prod"),
        (CI_PULL_REQUEST, "test.fix-x"),
        (CI_FORK_MAIN, "test.main"),
        (CI_TAG_MAIN, "test.main"),
    ],
    ids=["laptop", "ci-branch", "ci-main", "ci-pull-request", "fork-pr-named-main", "tag-named-main"],
)
def test_default_namespace(env: dict[str, str], expected: str) -> None:
    assert namespace.resolve(PROJECT, None, env) == expected


@pytest.mark.parametrize("env", [CI_FORK_MAIN, CI_TAG_MAIN], ids=["fork-pr-named-main", "tag-named-main"])
def test_prod_is_refused_to_a_pull_request_or_tag_named_like_the_production_branch(env: dict[str, str]) -> None:
    with pytest.raises(NamespaceError, match="only CI on the production branch"):
        namespace.resolve(PROJECT, "prod", env)


def test_branches_that_clean_alike_get_distinct_namespaces() -> None:
    names = {namespace.branch_name(b) for b in ("Feature/X", "feature/x", "feature-x", "feature_x", "FEATURE-X")}
    assert len(names) == 5
    assert namespace.branch_name("feature-x") == "feature-x"
    assert all(namespace.check(f"test.{name}") for name in names)


def test_with_aws_the_person_is_the_callers_identity_not_spiral_user(
    aws_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto's caller is the IAM user ``moto``; SPIRAL_USER and the login name are ignored."""
    with_aws = ProjectConfig(root=Path("/p"), project="churn-model", region="us-east-1", bucket="acme")
    arn = aws.client("sts").get_caller_identity()["Arn"]
    assert namespace.resolve(with_aws, None, {"SPIRAL_USER": "bo"}) == f"user.{arn.rsplit('/', 1)[-1].lower()}"
    monkeypatch.setattr(
        namespace.aws,
        "client",
        lambda *_: type("Sts", (), {"get_caller_identity": lambda self: {"Arn": FEDERATED}})(),
    )
    assert namespace.resolve(with_aws, None, {"SPIRAL_USER": "bo"}) == "user.ana-lima-acme-com"


FEDERATED = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_DataScience_0a1b/Ana.Lima@acme.com"


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
    with_bucket = ProjectConfig(root=Path("/p"), project="churn-model", region="us-east-1", bucket="acme")
    assert namespace.publish_uri(with_bucket, "prod", "predictions.parquet") == (
        "s3://acme/published/prod/predictions.parquet"
    )
    with pytest.raises(NamespaceError, match="not valid"):
        namespace.publish_uri(with_bucket, "user.ana/../prod", "predictions.parquet")
