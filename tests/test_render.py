"""Render the template over several answer sets and run each generated project's own gates, as its user would."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

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


class Rendered(NamedTuple):
    """A project the gates below run in, its environment, and where copier wrote it."""

    path: Path
    venv: Path
    copied: Path


@pytest.fixture(scope="module", params=list(ANSWER_SETS), ids=list(ANSWER_SETS))
def project(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, index_env: dict[str, str]
) -> Rendered:
    """A rendered project (git repository and first commit made by the copier task) with its .venv.

    The defaults are the session's ``default_project``, which other modules read: its gates run in a clone
    with its environment, so the same answers are rendered and installed once per run, not twice.
    """
    data: dict[str, Any] = ANSWER_SETS[request.param]
    if not data:
        shared: Path = request.getfixturevalue("default_project")
        clone = tmp_path_factory.mktemp(request.param) / "churn-model"
        run(["git", "clone", "--quiet", str(shared), str(clone)], shared.parent)
        return Rendered(clone, shared / ".venv", shared)
    dst = render(tmp_path_factory.mktemp(request.param) / "churn-model", data)
    venv = make_venv(dst, answers(dst)["python_version"], env=index_env)
    return Rendered(dst, venv, dst)


def answers(project: Path) -> dict[str, Any]:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())


pytestmark = pytest.mark.slow


def test_copy_made_a_git_repository_with_a_clean_first_commit(project: Rendered) -> None:
    log = run(["git", "log", "--oneline"], project.copied).stdout.splitlines()
    assert len(log) == 1
    assert run(["git", "status", "--porcelain"], project.copied).stdout == ""
    assert (project.copied / ".dvc" / "config").is_file()


def test_layout_follows_the_spiral(project: Rendered) -> None:
    package = answers(project.path)["package_name"]
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
        assert (project.path / path).is_file(), path


def test_its_own_tests_pass(project: Rendered) -> None:
    result = run(["pytest", "-q", "-p", "no:cacheprovider"], project.path, venv=project.venv)
    assert " passed" in result.stdout
    assert "failed" not in result.stdout


def test_its_pre_commit_hooks_pass_and_change_nothing(project: Rendered, index_env: dict[str, str]) -> None:
    run(["pre-commit", "run", "--all-files", "--show-diff-on-failure"], project.path, venv=project.venv, env=index_env)
    assert run(["git", "status", "--porcelain"], project.path).stdout == ""


def test_a_formatter_pass_changes_nothing(project: Rendered) -> None:
    run(["ruff", "format", "."], project.path, venv=project.venv)
    run(["ruff", "check", "."], project.path, venv=project.venv)
    assert run(["git", "status", "--porcelain"], project.path).stdout == ""


def test_the_notebook_has_no_outputs(project: Rendered) -> None:
    notebook = json.loads((project.path / "notebooks" / "01-explore.ipynb").read_text())
    assert all(not cell.get("outputs") for cell in notebook["cells"])


def test_dvc_repro_runs_the_pipeline_and_publishes(project: Rendered, aws_env: str) -> None:
    settings = answers(project.path)
    if settings.get("s3_bucket"):  # not asked, so not recorded, when `production` is no
        s3 = aws.client("s3", region=settings["aws_region"])
        s3.create_bucket(
            Bucket=settings["s3_bucket"],
            CreateBucketConfiguration={"LocationConstraint": settings["aws_region"]},
        )
    venv = project.venv
    result = run(["dvc", "repro"], project.path, venv=venv, env={"SPIRAL_USER": "ana"})
    for stage in ("ingest", "features", "train", "evaluate", "publish"):
        assert f"Running stage '{stage}'" in result.stdout
    metrics = json.loads((project.path / "metrics.json").read_text())
    assert metrics["roc_auc"] > 0.95
    assert "roc_auc" in run(["dvc", "metrics", "show"], project.path, venv=venv).stdout
    run(["dvc", "plots", "show"], project.path, venv=venv)
    assert (project.path / "dvc_plots" / "index.html").is_file()
    if settings.get("s3_bucket"):  # with AWS, the namespace is the caller's identity, not SPIRAL_USER
        who = aws.client("sts").get_caller_identity()["Arn"].rsplit("/", 1)[-1].lower()
        listed = s3.list_objects_v2(Bucket=settings["s3_bucket"], Prefix=f"published/user.{who}/")
        assert [item["Key"] for item in listed["Contents"]] == [f"published/user.{who}/predictions.parquet"]
    else:
        assert (project.path / "published" / "user.ana" / "predictions.parquet").is_file()
    again = run(["dvc", "repro"], project.path, venv=venv, env={"SPIRAL_USER": "ana"})
    assert "Running stage" not in again.stdout


def test_an_experiment_changes_a_parameter_without_a_commit(project: Rendered) -> None:
    if not project.path.parent.name.startswith("defaults"):
        pytest.skip("checked once, on the defaults")
    venv = project.venv
    head = run(["git", "rev-parse", "HEAD"], project.path).stdout
    run(["git", "add", "-A"], project.path)
    run(["git", "commit", "--allow-empty", "-qm", "Before the experiment"], project.path)
    run(["dvc", "exp", "run", "-S", "train.model=majority"], project.path, venv=venv)
    shown = run(["dvc", "exp", "show", "--json"], project.path, venv=venv).stdout
    assert "majority" in shown
    assert run(["git", "rev-parse", "HEAD~1"], project.path).stdout == head
