"""Render the template over several answer sets and run each generated project's own gates, as its user would."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import make_venv, render, run

from spiralkit import aws

ANSWER_SETS = {
    "defaults": {},
    "every-answer-changed": {
        "project_name": "fraud-radar",
        "package_name": "radar",
        # Characters that broke generated files before: quotes, a backslash, braces, `$`, Markdown marks.
        "description": 'Flag card payments that look like fraud {early}, so the "risk" team (C:\\ops, $TEAM) *reviews*',
        "author_name": 'Ana "Q" O\'Lima',
        "production_reviewers": "ana-lima acme/risk-team",
        "author_email": "ana.lima@acme.io",
        "python_version": "3.13",
        "license": "MIT",
        "aws_region": "eu-west-1",
        "s3_bucket": "acme-fraud-radar",
        "batch_job_queue": "radar-spot",
        "ecr_repository": "ml/fraud-radar",
    },
    "python-3.11-apache": {"python_version": "3.11", "license": "Apache-2.0"},
    # A project that starts on this machine alone: no AWS settings, images, infra or deploy workflow.
    "local-only": {"production": False},
}


@pytest.fixture(scope="module", params=list(ANSWER_SETS), ids=list(ANSWER_SETS))
def project(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, package_index: str) -> Path:
    """A rendered project (git repository and first commit made by the copier task) with its .venv."""
    data: dict[str, Any] = ANSWER_SETS[request.param]
    dst = render(tmp_path_factory.mktemp(request.param) / "churn-model", data)
    answers = yaml.safe_load((dst / ".copier-answers.yml").read_text())
    make_venv(dst, answers["python_version"])
    return dst


def answers(project: Path) -> dict[str, Any]:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())


pytestmark = pytest.mark.slow


def test_copy_made_a_git_repository_with_a_clean_first_commit(project: Path) -> None:
    log = run(["git", "log", "--oneline"], project).stdout.splitlines()
    assert len(log) == 1
    assert run(["git", "status", "--porcelain"], project).stdout == ""
    assert (project / ".dvc" / "config").is_file()


def test_layout_follows_the_spiral(project: Path) -> None:
    package = answers(project)["package_name"]
    for path in [
        "docs/spiral/01-problem.md",
        "docs/spiral/02-data.md",
        "docs/spiral/03-integration.md",
        "docs/spiral/04-model.md",
        "notebooks/01-explore.ipynb",
        "dvc.yaml",
        "params.yaml",
        "noxfile.py",
        ".pre-commit-config.yaml",
        "LICENSE",
        "README.md",
        *(f"src/{package}/{stage}.py" for stage in ("ingest", "features", "train", "evaluate", "publish", "io")),
    ]:
        assert (project / path).is_file(), path


def test_its_own_tests_pass(project: Path) -> None:
    result = run(["pytest", "-q", "-p", "no:cacheprovider"], project, venv=project / ".venv")
    assert " passed" in result.stdout
    assert "failed" not in result.stdout


def test_its_pre_commit_hooks_pass_and_change_nothing(project: Path) -> None:
    run(
        ["pre-commit", "run", "--all-files", "--show-diff-on-failure"],
        project,
        venv=project / ".venv",
    )
    assert run(["git", "status", "--porcelain"], project).stdout == ""


def test_a_formatter_pass_changes_nothing(project: Path) -> None:
    run(["ruff", "format", "."], project, venv=project / ".venv")
    run(["ruff", "check", "."], project, venv=project / ".venv")
    assert run(["git", "status", "--porcelain"], project).stdout == ""


def test_the_notebook_has_no_outputs(project: Path) -> None:
    notebook = json.loads((project / "notebooks" / "01-explore.ipynb").read_text())
    assert all(not cell.get("outputs") for cell in notebook["cells"])


def test_dvc_repro_runs_the_pipeline_and_publishes(project: Path, aws_env: str) -> None:
    settings = answers(project)
    if settings.get("s3_bucket"):  # not asked, so not recorded, when `production` is no
        s3 = aws.client("s3", region=settings["aws_region"])
        s3.create_bucket(
            Bucket=settings["s3_bucket"],
            CreateBucketConfiguration={"LocationConstraint": settings["aws_region"]},
        )
    venv = project / ".venv"
    result = run(["dvc", "repro"], project, venv=venv, env={"SPIRAL_USER": "ana"})
    for stage in ("ingest", "features", "train", "evaluate", "publish"):
        assert f"Running stage '{stage}'" in result.stdout
    metrics = json.loads((project / "metrics.json").read_text())
    assert metrics["roc_auc"] > 0.95
    assert "roc_auc" in run(["dvc", "metrics", "show"], project, venv=venv).stdout
    run(["dvc", "plots", "show"], project, venv=venv)
    assert (project / "dvc_plots" / "index.html").is_file()
    if settings.get("s3_bucket"):  # with AWS, the namespace is the caller's identity, not SPIRAL_USER
        who = aws.client("sts").get_caller_identity()["Arn"].rsplit("/", 1)[-1].lower()
        listed = s3.list_objects_v2(Bucket=settings["s3_bucket"], Prefix=f"published/user.{who}/")
        assert [item["Key"] for item in listed["Contents"]] == [f"published/user.{who}/predictions.parquet"]
    else:
        assert (project / "published" / "user.ana" / "predictions.parquet").is_file()
    again = run(["dvc", "repro"], project, venv=venv, env={"SPIRAL_USER": "ana"})
    assert "Running stage" not in again.stdout


def test_an_experiment_changes_a_parameter_without_a_commit(project: Path) -> None:
    if not project.parent.name.startswith("defaults"):
        pytest.skip("checked once, on the defaults")
    venv = project / ".venv"
    head = run(["git", "rev-parse", "HEAD"], project).stdout
    run(["git", "add", "-A"], project)
    run(["git", "commit", "--allow-empty", "-qm", "Before the experiment"], project)
    run(["dvc", "exp", "run", "-S", "train.model=majority"], project, venv=venv)
    shown = run(["dvc", "exp", "show", "--json"], project, venv=venv).stdout
    assert "majority" in shown
    assert run(["git", "rev-parse", "HEAD~1"], project).stdout == head
