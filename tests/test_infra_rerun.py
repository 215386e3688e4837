"""`spiral infra deploy` run again: earlier parameter values stay, and the change is shown before it is made."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber
from helpers import render
from test_infra import ANSWERS, deploy_stack

from spiralkit import aws, config
from spiralkit.cli import main
from spiralkit.infra import NotApproved, deploy


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(tmp_path_factory.mktemp("rerun") / "churn-model", ANSWERS, skip_tasks=True)


def stack_parameters() -> dict[str, str]:
    [stack] = aws.client("cloudformation").describe_stacks(StackName="churn-model-infra")["Stacks"]
    return {entry["ParameterKey"]: entry["ParameterValue"] for entry in stack["Parameters"]}


def change_sets() -> list[dict[str, Any]]:
    return list(aws.client("cloudformation").list_change_sets(StackName="churn-model-infra")["Summaries"])


def rerun(project: Path, approve: bool, **parameters: str) -> tuple[list[str], dict[str, str]]:
    lines: list[str] = []
    outputs = deploy.deploy(config.load(project), parameters, lines.append, poll=0.1, approve=lambda: approve)
    return lines, outputs


def test_a_rerun_without_parameters_keeps_the_earlier_values(project: Path, aws_env: str) -> None:
    deploy_stack(project, MaxVcpus="128", SpotWaitSeconds="900")
    assert stack_parameters()["MaxVcpus"] == "128"
    lines, outputs = rerun(project, approve=True)
    assert stack_parameters()["MaxVcpus"] == "128"
    assert stack_parameters()["SpotWaitSeconds"] == "900"
    # the repository and OIDC provider were given once, on the first deploy, and are kept too
    assert stack_parameters()["GitHubRepository"] == "acme/churn-model"
    assert stack_parameters()["GitHubOidcProviderArn"].startswith("arn:aws:iam::")
    assert outputs["BucketName"] == "acme-churn-data"
    assert not any("MaxVcpus" in line for line in lines), lines


def test_a_changed_parameter_is_shown_and_applied_only_when_approved(project: Path, aws_env: str) -> None:
    deploy_stack(project, MaxVcpus="128")
    with pytest.raises(NotApproved, match="nothing was changed"):
        rerun(project, approve=False, MaxVcpus="96")
    assert stack_parameters()["MaxVcpus"] == "128"
    assert change_sets() == []  # the declined change set does not linger
    lines, _ = rerun(project, approve=True, MaxVcpus="96")
    shown = [line.split() for line in lines]
    assert ["MaxVcpus", "128", "->", "96"] in shown, lines
    assert not any(words[:1] == ["SpotWaitSeconds"] for words in shown), lines  # unchanged: not shown
    assert any("UPDATE_COMPLETE" in line for line in lines), lines
    assert stack_parameters()["MaxVcpus"] == "96"


def test_reset_parameter_goes_back_to_the_template_default(project: Path, aws_env: str) -> None:
    deploy_stack(project, MaxVcpus="128")
    lines: list[str] = []
    deploy.deploy(config.load(project), {}, lines.append, poll=0.1, approve=lambda: True, reset=["MaxVcpus"])
    assert ["MaxVcpus", "128", "->", "(template", "default)"] in [line.split() for line in lines], lines
    assert stack_parameters()["MaxVcpus"] == "64"


def test_a_new_stack_shows_the_resources_it_adds_and_is_made_only_when_approved(project: Path, aws_env: str) -> None:
    lines: list[str] = []
    with pytest.raises(NotApproved):
        deploy.deploy(config.load(project), {}, lines.append, poll=0.1, approve=lambda: False)
    assert "a new stack" in lines[0]
    shown = [line.split() for line in lines]
    assert ["Add", "Bucket", "AWS::S3::Bucket"] in shown, lines
    assert ["Add", "GpuJobQueue", "AWS::Batch::JobQueue", "if", "WithGpu"] in shown, lines
    assert ["Add", "JobQueue", "AWS::Batch::JobQueue"] in shown, lines
    assert aws.client("cloudformation").list_stacks()["StackSummaries"] == []


def test_without_a_terminal_or_yes_it_stops_after_printing(
    project: Path, aws_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    deploy_stack(project)
    monkeypatch.chdir(project)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert main(["infra", "deploy", "--parameter", "MaxVcpus=32"]) == 6
    captured = capsys.readouterr()
    assert ["MaxVcpus", "64", "->", "32"] in [line.split() for line in captured.out.splitlines()]
    assert "rerun with --yes" in captured.err
    assert stack_parameters()["MaxVcpus"] == "64"
    assert main(["infra", "deploy", "--parameter", "MaxVcpus=32", "--yes"]) == 0
    assert stack_parameters()["MaxVcpus"] == "32"


def test_a_person_at_a_terminal_is_asked(
    project: Path, aws_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    deploy_stack(project)
    monkeypatch.chdir(project)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    answers = iter(["n", "y"])
    monkeypatch.setattr("builtins.input", lambda prompt: next(answers))
    assert main(["infra", "deploy", "--parameter", "MaxVcpus=16"]) == 6
    assert stack_parameters()["MaxVcpus"] == "64"
    assert main(["infra", "deploy", "--parameter", "MaxVcpus=16"]) == 0
    assert stack_parameters()["MaxVcpus"] == "16"


@pytest.mark.parametrize(
    ("status", "advice"),
    [
        ("ROLLBACK_COMPLETE", "delete-stack"),
        ("UPDATE_ROLLBACK_FAILED", "continue-update-rollback"),
        ("UPDATE_IN_PROGRESS", "wait until it settles"),
    ],
)
def test_a_stack_that_cannot_be_updated_gets_a_clear_message(
    project: Path, aws_env: str, monkeypatch: pytest.MonkeyPatch, status: str, advice: str
) -> None:
    """moto never leaves a stack in these states, so CloudFormation's answer is stubbed."""
    client = aws.client("cloudformation", "us-east-1")
    stubber = Stubber(client)
    stack = {"StackName": "churn-model-infra", "StackStatus": status, "CreationTime": "2026-12-01T00:00:00Z"}
    stubber.add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": "churn-model-infra"})
    monkeypatch.setattr(aws, "client", lambda *args, **kwargs: client)
    with stubber, pytest.raises(deploy.InfraError, match=advice) as refused:
        deploy.deploy(config.load(project), {}, poll=0.1, approve=lambda: True)
    assert f"is {status}" in str(refused.value)
    stubber.assert_no_pending_responses()
