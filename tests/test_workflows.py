"""ci.yml and deploy.yml pass actionlint (with shellcheck), zizmor and GitHub's workflow schema."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from helpers import ROOT, render

WORKFLOWS = ("ci.yml", "deploy.yml")


@pytest.fixture(scope="module")
def workflows(tmp_path_factory: pytest.TempPathFactory) -> Path:
    answers = {"s3_bucket": "acme-churn-data", "aws_region": "eu-west-1"}
    project = render(tmp_path_factory.mktemp("workflows") / "churn-model", answers, skip_tasks=True)
    return project / ".github" / "workflows"


def tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} comes with the test dependency group"
    return path


def check(command: list[str]) -> str:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def test_actionlint_and_shellcheck_find_nothing(workflows: Path, tmp_path: Path) -> None:
    files = [str(workflows / name) for name in WORKFLOWS]
    check([tool("actionlint"), "-shellcheck", tool("shellcheck"), "-no-color", *files])
    broken = tmp_path / "broken.yml"  # the same run does catch a mistake
    broken.write_text((workflows / "deploy.yml").read_text().replace("needs: image", "needs: imag"))
    assert subprocess.run([tool("actionlint"), str(broken)], capture_output=True).returncode != 0


def test_zizmor_finds_nothing(workflows: Path) -> None:
    # Offline: the audits that ask GitHub (impostor commits, known-vulnerable actions) cannot run here.
    files = [str(workflows / name) for name in WORKFLOWS]
    output = check([tool("zizmor"), "--offline", "--persona", "auditor", "--no-progress", *files])
    assert "No findings" in output


def test_github_workflow_schema(workflows: Path) -> None:
    files = [str(workflows / name) for name in WORKFLOWS]
    check([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *files])


@pytest.mark.parametrize("name", WORKFLOWS)
def test_actions_pinned_by_commit_and_no_static_keys(workflows: Path, name: str) -> None:
    text = (workflows / name).read_text()
    uses = re.findall(r"uses: (\S+)@(\S+) # (v\d+\.\d+\.\d+)$", text, re.MULTILINE)
    assert uses
    assert len(uses) == text.count("uses: ")
    assert all(re.fullmatch(r"[0-9a-f]{40}", sha) for _, sha, _ in uses)
    assert "aws-access-key-id" not in text
    assert "secrets." not in text
    document = yaml.safe_load(text)
    assert document["permissions"] == {}
    for job in document["jobs"].values():
        assert set(job["permissions"]) <= {"contents", "id-token"}
        assert job["permissions"]["contents"] == "read"


def test_deploy_promotes_branch_runs_to_prod_behind_the_environment(workflows: Path) -> None:
    document = yaml.safe_load((workflows / "deploy.yml").read_text())
    triggers = document[True]  # YAML 1.1 reads the key `on` as True
    assert set(triggers) == {"push", "schedule", "workflow_dispatch"}
    jobs = document["jobs"]
    assert jobs["test"]["if"] == "github.ref_name != 'main'"
    assert jobs["prod"]["if"] == "github.ref_name == 'main'"
    assert jobs["prod"]["environment"] == "production"
    assert "environment" not in jobs["test"]
    assert "environment" not in jobs["image"]

    def role(job: str) -> str:
        step = next(s for s in jobs[job]["steps"] if "configure-aws-credentials" in s.get("uses", ""))
        return str(step["with"]["role-to-assume"])

    assert role("image").endswith("-branch")
    assert role("test").endswith("-branch")
    assert role("prod").endswith("-prod")
    assert document["env"]["ROLE_PREFIX"] == "role/churn-model-ci"
    assert document["env"]["AWS_REGION"] == "eu-west-1"
    runs = [step.get("run", "") for step in jobs["prod"]["steps"]]
    assert "uvx nox -s batch -- --namespace prod --force publish" in runs
    build = next(s for s in jobs["image"]["steps"] if "build-push-action" in s.get("uses", ""))
    assert build["with"]["target"] == "runtime"
    assert build["with"]["tags"].endswith(":${{ github.sha }}")


def test_this_repositorys_own_ci_passes_the_same_checks() -> None:
    own = str(ROOT / ".github" / "workflows" / "ci.yml")
    check([tool("actionlint"), "-shellcheck", tool("shellcheck"), "-no-color", own])
    assert "No findings" in check([tool("zizmor"), "--offline", "--persona", "auditor", "--no-progress", own])
    check([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", own])
