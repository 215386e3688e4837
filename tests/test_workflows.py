"""ci.yml and deploy.yml pass actionlint (with shellcheck), zizmor and GitHub's workflow schema."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from helpers import ROOT, render

WORKFLOWS = ("ci.yml", "deploy.yml")  # lock.yml: tests/test_lock_workflow.py


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
    for job_name, job in document["jobs"].items():
        pull_request = {"pull-requests"} if (name, job_name) == ("deploy.yml", "test") else set()  # its headline
        assert set(job["permissions"]) <= {"contents", "id-token", *pull_request}
        assert job["permissions"].get("contents", "read") == "read"


@pytest.mark.parametrize("name", [*WORKFLOWS, "lock.yml"])
def test_every_script_fails_loudly(workflows: Path, name: str) -> None:
    """Every `run:` is bash with -euo pipefail, and no step hides a failure inside `$(...)`."""
    document = yaml.safe_load((workflows / name).read_text())
    assert document["defaults"]["run"]["shell"] == "bash --noprofile --norc -euo pipefail {0}"
    scripts = [step["run"] for job in document["jobs"].values() for step in job.get("steps", []) if "run" in step]
    assert scripts
    for script in scripts:
        for line in script.splitlines():
            # A substitution only as a plain assignment, whose failure `set -e` catches.
            if "$(" in line:
                assert re.fullmatch(r"\s*\w+=\"\$\([^)]*\)\"", line), line


def test_every_push_locks_first_then_deploys_the_locked_commit(workflows: Path) -> None:
    lock = yaml.safe_load((workflows / "lock.yml").read_text())
    assert set(lock[True]) == {"push", "workflow_dispatch"}  # YAML 1.1 reads the key `on` as True
    assert "paths" not in lock[True]["push"]
    deploy_call = lock["jobs"]["deploy"]
    assert deploy_call["uses"] == "$/.github/workflows/deploy.yml"
    assert deploy_call["needs"] == ["check", "relock"]
    assert deploy_call["with"]["sha"] == "${{ needs.relock.outputs.sha || github.sha }}"
    assert "failure" not in deploy_call["if"]
    assert lock["concurrency"]["cancel-in-progress"] is False
    deploy = yaml.safe_load((workflows / "deploy.yml").read_text())
    assert set(deploy[True]) == {"workflow_call", "schedule", "workflow_dispatch"}
    assert deploy[True]["workflow_call"]["inputs"]["sha"]["required"] is True
    image = deploy["jobs"]["image"]
    assert image["needs"] == "setup"
    lock_guard = image["steps"][1]
    assert "conda-lock.yml" in lock_guard["name"]
    assert "::error file=conda-lock.yml::" in lock_guard["run"]
    assert image["steps"][0]["with"]["ref"] == "${{ env.SHA }}"


def test_without_aws_the_deploy_is_green_and_says_how_to_switch_production_on(workflows: Path, tmp_path: Path) -> None:
    """The setup job's script, run as the runner would, with and without AWS_ACCOUNT_ID."""
    deploy = yaml.safe_load((workflows / "deploy.yml").read_text())
    (step,) = deploy["jobs"]["setup"]["steps"]
    for job in ("image", "test", "prod", "scheduled"):
        needs = deploy["jobs"][job]["needs"]
        assert job == "image" or needs == "image"
    assert deploy["jobs"]["image"]["if"] == "needs.setup.outputs.aws == 'true'"
    for account, expected in (("", "aws=false"), ("123456789012", "aws=true")):
        output, summary = tmp_path / "output", tmp_path / "summary"
        output.write_text("")
        summary.write_text("")
        env = {
            "PATH": "/usr/bin:/bin",
            "ACCOUNT": account,
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(summary),
        }
        result = subprocess.run(["bash", "--noprofile", "--norc", "-euo", "pipefail", "-c", step["run"]],
                                env=env, capture_output=True, text=True, check=False)  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert output.read_text().strip() == expected
        if not account:
            assert result.stdout.startswith("::notice title=deploy skipped::Production is off")
            assert "AWS_ACCOUNT_ID" in summary.read_text()
        else:
            assert result.stdout == summary.read_text() == ""


def test_deploy_promotes_branch_runs_to_prod_behind_the_environment(workflows: Path) -> None:
    document = yaml.safe_load((workflows / "deploy.yml").read_text())
    jobs = document["jobs"]
    assert jobs["test"]["if"] == "github.ref_name != 'main' && github.event_name != 'schedule'"
    assert jobs["prod"]["if"] == "github.ref_name == 'main' && github.event_name != 'schedule'"
    assert jobs["scheduled"]["if"] == "github.event_name == 'schedule'"
    assert jobs["prod"]["environment"] == "production"
    assert jobs["scheduled"]["environment"] == "production-scheduled"
    for job in ("setup", "image", "test", "follow"):
        assert "environment" not in jobs[job]
    assert jobs["follow-prod"]["environment"] == "production-scheduled"  # main only, no second approval

    def sign_in(job: str) -> dict[str, str]:
        step = next(s for s in jobs[job]["steps"] if "configure-aws-credentials" in s.get("uses", ""))
        return dict(step["with"])

    assert sign_in("image")["role-to-assume"].endswith("-branch")
    assert sign_in("test")["role-to-assume"].endswith("-branch")
    assert sign_in("follow")["role-to-assume"].endswith("-branch")
    assert sign_in("follow-prod")["role-to-assume"].endswith("-prod")  # only it may move and report a prod run
    assert sign_in("prod")["role-to-assume"].endswith("-prod")
    assert sign_in("scheduled")["role-to-assume"].endswith("-prod")
    for job in ("test", "prod", "scheduled", "follow", "follow-prod"):
        # One session per job, as long as a GitHub job may run; the roles allow up to 12 h.
        assert sign_in(job)["role-duration-seconds"] == "${{ env.SESSION_SECONDS }}"
        assert jobs[job]["timeout-minutes"] * 60 < int(document["env"]["SESSION_SECONDS"]) <= 43200
    assert int(document["env"]["WAIT_SECONDS"]) < jobs["prod"]["timeout-minutes"] * 60
    assert document["env"]["ROLE_PREFIX"] == "role/churn-model-ci"
    assert document["env"]["AWS_REGION"] == "eu-west-1"
    runs = "\n".join(step.get("run", "") for job in jobs.values() for step in job["steps"])
    assert "--force" not in runs
    scheduled = next(step["run"] for step in jobs["scheduled"]["steps"] if step.get("id") == "run")
    assert 'snapshot="$(date -u +%F)"' in scheduled
    assert re.search(r'--namespace prod \\\s+--set "ingest.snapshot=\$snapshot"', scheduled)
    # A run still going after its job's deadline is followed by run id, with the role that submitted it.
    for job, needs in (("follow", "test"), ("follow-prod", ["prod", "scheduled"])):
        assert jobs[job]["needs"] == needs
        follow = next(step for step in jobs[job]["steps"] if step.get("id") == "follow")
        assert 'spiral status "$RUN"' in follow["run"]
        assert "outputs.running" in follow["env"]["RUN"]
        assert 'spiral report "$RUN"' in jobs[job]["steps"][-1]["run"]
    for job in ("test", "prod", "scheduled"):
        run = next(step["run"] for step in jobs[job]["steps"] if step.get("id") == "run")
        assert "read -r _ run < .spiral/last-run" in run
        assert 'echo "running=$run"' in run
    assert "--check" in jobs["follow-prod"]["steps"][-1]["run"]  # the weekly run's floors, even when followed
    builds = {s["id"]: s["with"] for s in jobs["image"]["steps"] if "build-push-action" in s.get("uses", "")}
    assert {name: build["target"] for name, build in builds.items()} == {
        "runtime": "runtime", "workstation": "workstation", "workstation-gpu": "workstation"}  # fmt: skip
    assert builds["runtime"]["tags"].endswith(":${{ env.SHA }}")
    assert "BASE_IMAGE=mambaorg/micromamba:" in builds["workstation-gpu"]["build-args"]
    gpu = next(s for s in jobs["image"]["steps"] if s.get("id") == "workstation-gpu")
    assert "vars.ENABLE_GPU_WORKSTATION == 'true'" in gpu["if"]


def test_this_repositorys_own_ci_passes_the_same_checks() -> None:
    own = str(ROOT / ".github" / "workflows" / "ci.yml")
    check([tool("actionlint"), "-shellcheck", tool("shellcheck"), "-no-color", own])
    assert "No findings" in check([tool("zizmor"), "--offline", "--persona", "auditor", "--no-progress", own])
    check([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", own])
