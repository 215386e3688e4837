"""infra/stack.yaml: cfn-lint passes on it, and `spiral infra deploy` creates it on moto."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import render

from spiralkit import aws, config
from spiralkit.infra import deploy

ANSWERS = {"s3_bucket": "acme-churn-data", "github_repository": "acme/churn-model"}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(tmp_path_factory.mktemp("infra") / "churn-model", ANSWERS, skip_tasks=True)


def oidc_provider() -> str:
    """The account's GitHub OIDC provider (moto's CloudFormation cannot create one itself)."""
    return str(
        aws.client("iam").create_open_id_connect_provider(
            Url="https://token.actions.githubusercontent.com", ClientIDList=["sts.amazonaws.com"]
        )["OpenIDConnectProviderArn"]
    )


def oidc_provider_arn() -> str:
    """The account's GitHub OIDC provider, created on first use."""
    providers = aws.client("iam").list_open_id_connect_providers()["OpenIDConnectProviderList"]
    return str(providers[0]["Arn"]) if providers else oidc_provider()


def document(value: object) -> dict[str, object]:
    """A policy document as boto3 returns it: a dict, or (moto, from CloudFormation) its text."""
    if isinstance(value, dict):
        return value
    text = str(value)
    try:
        return dict(json.loads(text))
    except json.JSONDecodeError:
        return dict(ast.literal_eval(text))


def stack_template(root: Path) -> dict[str, object]:
    from cfnlint.decode import decode

    template, errors = decode(str(root / "infra" / "stack.yaml"))
    assert not errors
    assert template is not None
    return dict(template)


def deploy_stack(root: Path, **parameters: str) -> dict[str, str]:
    """Deploy ``root``'s stack to moto, as `spiral infra deploy` does; return its outputs."""
    lines: list[str] = []
    overrides = {"GitHubOidcProviderArn": oidc_provider_arn(), "GitHubRepository": "acme/churn-model", **parameters}
    outputs = deploy.deploy(config.load(root), overrides, lines.append, poll=0.1, approve=lambda: True)
    assert any("CREATE_COMPLETE" in line for line in lines), lines
    return outputs


def yes() -> bool:
    return True


def test_cfn_lint_passes(project: Path) -> None:
    cfn_lint = shutil.which("cfn-lint")
    assert cfn_lint, "cfn-lint is in the test dependency group"
    result = subprocess.run([cfn_lint, str(project / "infra" / "stack.yaml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_stack_deploys_with_the_projects_names(project: Path, aws_env: str) -> None:
    outputs = deploy_stack(project)
    assert outputs["BucketName"] == "acme-churn-data"
    assert outputs["JobQueue"].endswith(":job-queue/churn-model-queue")
    assert outputs["RepositoryUri"].endswith("/churn-model")
    s3 = aws.client("s3")
    rules = s3.get_bucket_encryption(Bucket="acme-churn-data")["ServerSideEncryptionConfiguration"]
    assert rules["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    queues = aws.client("batch").describe_job_queues(jobQueues=["churn-model-queue"])["jobQueues"]
    environments = [entry["computeEnvironment"] for entry in queues[0]["computeEnvironmentOrder"]]
    described = aws.client("batch").describe_compute_environments(computeEnvironments=environments)
    kinds = [env["computeResources"]["type"] for env in described["computeEnvironments"]]
    assert sorted(kinds) == ["EC2", "SPOT"]


def test_bucket_is_versioned_and_private(project: Path) -> None:
    """Read from the template: moto's CloudFormation does not apply these two properties."""
    bucket = stack_template(project)["Resources"]["Bucket"]["Properties"]  # type: ignore[index]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    block = bucket["PublicAccessBlockConfiguration"]
    assert len(block) == 4
    assert all(value is True for value in block.values())


# Subjects GitHub sends: both formats (names, and names with immutable ids), for each kind of job.
BRANCH_JOB = (
    "repo:acme/churn-model:ref:refs/heads/feature-x",
    "repo:acme@123/churn-model@456:ref:refs/heads/feature-x",
)
PROD_JOB = ("repo:acme/churn-model:environment:production", "repo:acme@123/churn-model@456:environment:production")
SCHEDULED_JOB = (
    "repo:acme/churn-model:environment:production-scheduled",
    "repo:acme@123/churn-model@456:environment:production-scheduled",
)
OTHERS = (
    "repo:acme/other-repo:ref:refs/heads/main",
    "repo:evil/churn-model:environment:production",
    "repo:acme@123/other-repo@9:environment:production",
    "repo:acme/churn-model:pull_request",
    "repo:acme/churn-model:environment:staging",
)


def _trusts(condition: dict[str, dict[str, object]], subject: str) -> bool:
    """IAM's evaluation of the trust conditions for one token (StringLike: * and ? wildcards)."""
    from fnmatch import fnmatchcase

    assert set(condition) <= {"StringEquals", "StringLike"}
    keys = {key for block in condition.values() for key in block}
    # Only the keys AWS gets from GitHub's provider: a `ref` or `job_workflow_ref` key would never match.
    assert keys <= {"token.actions.githubusercontent.com:aud", "token.actions.githubusercontent.com:sub"}
    token = {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": subject,
    }
    for operator, block in condition.items():
        for key, wanted in block.items():
            values = wanted if isinstance(wanted, list) else [wanted]
            match = fnmatchcase if operator == "StringLike" else str.__eq__
            if not any(match(token[key], str(value)) for value in values):
                return False
    return True


def test_ci_roles_trust_both_subject_formats_and_prod_only_its_environments(project: Path, aws_env: str) -> None:
    deploy_stack(project)
    iam = aws.client("iam")

    def role(name: str) -> tuple[dict[str, dict[str, object]], int]:
        found = iam.get_role(RoleName=name)["Role"]
        policy = document(found["AssumeRolePolicyDocument"])
        return dict(policy["Statement"][0]["Condition"]), int(found["MaxSessionDuration"])  # type: ignore[index]

    branch, branch_hours = role("churn-model-ci-branch")
    prod, prod_hours = role("churn-model-ci-prod")
    assert all(_trusts(branch, subject) for subject in BRANCH_JOB)
    assert all(_trusts(prod, subject) for subject in PROD_JOB + SCHEDULED_JOB)
    assert not any(_trusts(prod, subject) for subject in BRANCH_JOB + OTHERS)
    assert not any(_trusts(branch, subject) for subject in PROD_JOB + OTHERS)
    # A 6-hour GitHub job holds one session: deploy.yml asks for 21600 s, which the roles must allow.
    assert branch_hours == prod_hours == 43200


def test_the_spot_queue_gives_up_on_missing_capacity_and_on_demand_has_its_own_queue(project: Path) -> None:
    resources = stack_template(project)["Resources"]
    assert isinstance(resources, dict)
    (action,) = resources["JobQueue"]["Properties"]["JobStateTimeLimitActions"]
    assert action["Action"] == "CANCEL"
    assert action["State"] == "RUNNABLE"
    assert action["Reason"] == "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY"
    on_demand = resources["OnDemandJobQueue"]["Properties"]["ComputeEnvironmentOrder"]
    assert on_demand == [{"Order": 1, "ComputeEnvironment": {"Ref": "OnDemandEnvironment"}}]


def test_only_the_prod_job_role_may_write_prod(project: Path, aws_env: str) -> None:
    deploy_stack(project)
    iam = aws.client("iam")

    def writable(role: str) -> list[str]:
        policy = document(iam.get_role_policy(RoleName=role, PolicyName="data")["PolicyDocument"])
        return [
            resource
            for statement in policy["Statement"]
            if "s3:PutObject" in statement["Action"]
            for resource in statement["Resource"]
        ]

    assert not any("/published/prod" in arn for arn in writable("churn-model-batch-job"))
    assert any(arn.endswith("/published/prod/*") for arn in writable("churn-model-batch-job-prod"))
    assert not any("user." in arn or "test." in arn for arn in writable("churn-model-batch-job-prod"))


def test_a_second_deploy_updates_or_reports_up_to_date(project: Path, aws_env: str) -> None:
    deploy_stack(project)
    lines: list[str] = []
    outputs = deploy.deploy(
        config.load(project), {"GitHubOidcProviderArn": oidc_provider_arn()}, lines.append, poll=0.1, approve=yes
    )
    assert outputs["BucketName"] == "acme-churn-data"
    assert lines
    assert "up to date" in lines[-1] or "UPDATE_COMPLETE" in " ".join(lines), lines


def test_a_malformed_parameter_is_refused(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from spiralkit import cli

    monkeypatch.chdir(project)
    assert cli.main(["infra", "deploy", "--parameter", "EnableGpu"]) == 2
    assert "--parameter 'EnableGpu': expected KEY=VALUE" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("repository", "reason"),
    [
        ("your-org/churn-model", "placeholder"),
        ("acme", "owner/name"),
        ("acme/churn/x", "owner/name"),
        ("acme/*", "owner/name"),
        ("acme/..", "owner/name"),
        ("", "owner/name"),
    ],
)
def test_deploy_refuses_the_placeholder_and_anything_not_owner_name(
    project: Path, aws_env: str, repository: str, reason: str
) -> None:
    with pytest.raises(deploy.InfraError, match=reason):
        deploy.deploy(config.load(project), {"GitHubRepository": repository}, poll=0.1, approve=yes)


def test_deploy_reads_the_repository_from_the_rendered_stack(tmp_path: Path, project: Path, aws_env: str) -> None:
    text = (project / "infra" / "stack.yaml").read_text(encoding="utf-8")
    assert deploy.check_repository(text, {}) == "acme/churn-model"
    placeholder = render(tmp_path / "churn-model", {"s3_bucket": "acme-churn-data"}, skip_tasks=True)
    with pytest.raises(deploy.InfraError, match="placeholder"):
        deploy.deploy(config.load(placeholder), poll=0.1, approve=yes)
