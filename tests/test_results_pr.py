"""deploy.yml's branch job puts the run's headline in the pull request: one comment, edited on every push.

The two steps' scripts run as the runner runs them (bash -euo pipefail), with the real ``spiral report``
behind a stand-in ``uvx`` and a stand-in ``gh`` that keeps pull requests and comments in a JSON file and
answers ``--jq`` through the real jq, as gh does.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import render
from results_fixtures import make_run

PROD, BRANCH = "20261127T080000Z-11111111-aaaa", "20261201T090000Z-22222222-bbbb"
MARKER = "<!-- spiral report: headline -->"

# gh api [-X METHOD] PATH [-f k=v] [-F k=v|k=@file] [--jq EXPR] [--paginate], on a JSON file of state
FAKE_GH = """#!PYTHON
import json, os, subprocess, sys
from pathlib import Path

state_file = Path(os.environ["FAKE_GH_STATE"])
state = json.loads(state_file.read_text())
args = sys.argv[1:]
state["calls"].append(args)
assert args[0] == "api" and os.environ["GH_TOKEN"] and os.environ["GH_REPO"] == "acme/churn-model", args
method, path, fields, jq = None, "", {}, None
rest = iter(args[1:])
for arg in rest:
    if arg == "-X":
        method = next(rest)
    elif arg in ("-f", "-F"):
        key, _, value = next(rest).partition("=")
        fields[key] = Path(value[1:]).read_text() if arg == "-F" and value.startswith("@") else value
    elif arg == "--jq":
        jq = next(rest)
    elif arg == "--paginate":
        pass
    else:
        path = arg
parts = path.split("/")
method = method or ("POST" if fields else "GET")  # as gh does: fields without -X make a POST
if parts[-1] == "pulls":
    out = [p for p in state["pulls"] if p["head"] == fields["head"] and fields["state"] == "open"]
elif parts[-1] == "comments" and method == "GET":
    out = [c for c in state["comments"] if c["pr"] == int(parts[-2])]
elif parts[-1] == "comments" and method == "POST":
    state["next_id"] += 1
    bot = {"login": "github-actions[bot]"}
    out = {"id": state["next_id"], "pr": int(parts[-2]), "body": fields["body"], "user": bot}
    state["comments"].append(out)
elif parts[-2] == "comments" and method == "PATCH":
    (out,) = [c for c in state["comments"] if c["id"] == int(parts[-1])]
    out["body"] = fields["body"]
else:
    sys.exit(f"fake gh: no such call {args}")
state_file.write_text(json.dumps(state))
text = json.dumps(out)
if jq is not None:
    text = subprocess.run(["jq", "-r", jq], input=text, capture_output=True, text=True, check=True).stdout
sys.stdout.write(text)
"""

# uvx --from SPEC spiral ARGS: the real CLI of this checkout, on the branch's runs in a records folder
# (in CI the checkout says which run: the one `spiral run` just started)
FAKE_UVX = """#!/bin/bash
set -euo pipefail
[ "$1" = --from ] && [ "$3" = spiral ] || { echo "fake uvx: $*" >&2; exit 2; }
shift 3
exec PYTHON -m spiralkit "$@" --folder "$FAKE_RUNS" --namespace test.feature
"""


@pytest.fixture(scope="module")
def test_job(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    project = render(tmp_path_factory.mktemp("pr") / "churn-model", {"s3_bucket": "acme-churn-data"}, skip_tasks=True)
    deploy = yaml.safe_load((project / ".github" / "workflows" / "deploy.yml").read_text())
    return dict(deploy["jobs"]["test"])


def step(job: dict[str, Any], name: str) -> dict[str, Any]:
    return dict(next(s for s in job["steps"] if s.get("name", "").startswith(name)))


@pytest.fixture
def runner(tmp_path: Path) -> dict[str, str]:
    """A runner's environment: bin/ with the stand-ins first on PATH, a temp folder, a job summary."""
    make_run(tmp_path, "prod", PROD, metrics={"roc_auc": 0.9, "log_loss": 0.4})
    make_run(tmp_path, "test.feature", BRANCH, metrics={"roc_auc": 0.95, "log_loss": 0.45}, C=0.5)
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    for name, text in (("gh", FAKE_GH), ("uvx", FAKE_UVX)):
        (bin_ / name).write_text(text.replace("PYTHON", sys.executable))
        (bin_ / name).chmod(stat.S_IRWXU)
    (tmp_path / "temp").mkdir()
    (tmp_path / "summary.md").write_text("")
    return {
        "PATH": f"{bin_}:{Path(shutil.which('jq') or '/usr/bin/jq').parent}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "RUNNER_TEMP": str(tmp_path / "temp"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "FAKE_RUNS": str(tmp_path / ".spiral"),
        "FAKE_GH_STATE": str(tmp_path / "gh.json"),
        "SPIRALKIT": "spiralkit[lock,report]==1.0",
        "GH_TOKEN": "token",
        "GH_REPO": "acme/churn-model",
        "HEAD": "acme:feature",
        "PYTHONPATH": os.pathsep.join(sys.path),
    }


def run(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``script`` as the runner runs a step, in the runner's temp folder (the report's default output is there)."""
    command = ["bash", "--noprofile", "--norc", "-euo", "pipefail", "-c", script]
    return subprocess.run(command, env=env, cwd=env["RUNNER_TEMP"], capture_output=True, text=True, check=False)


def gh_state(env: dict[str, str], pulls: list[dict[str, Any]], comments: list[dict[str, Any]]) -> None:
    state = {"pulls": pulls, "comments": comments, "calls": [], "next_id": 100}
    Path(env["FAKE_GH_STATE"]).write_text(json.dumps(state))


def test_the_branch_job_may_comment_and_nothing_else_may(test_job: dict[str, Any]) -> None:
    assert test_job["permissions"] == {"contents": "read", "id-token": "write", "pull-requests": "write"}
    comment = step(test_job, "Headline in the branch's pull request")
    assert comment["env"]["GH_TOKEN"] == "${{ github.token }}"
    assert comment["env"]["HEAD"] == "${{ github.repository_owner }}:${{ github.ref_name }}"
    assert comment["if"] == step(test_job, "Report")["if"] == "steps.run.outputs.running == ''"
    assert MARKER in comment["run"]


def test_one_comment_created_then_edited_and_the_summary_kept(test_job: dict[str, Any], runner: dict[str, str]) -> None:
    report, comment = step(test_job, "Report")["run"], step(test_job, "Headline in the branch's pull request")["run"]
    someone = {"id": 7, "pr": 12, "body": f"{MARKER} quoted by a person", "user": {"login": "ana"}}
    gh_state(runner, [{"number": 12, "head": "acme:feature"}], [someone])

    done = run(report, runner)
    assert done.returncode == 0, done.stderr
    headline = (Path(runner["RUNNER_TEMP"]) / "headline.md").read_text()
    assert f"test.feature run `{BRANCH}`" in headline
    assert "| roc_auc | 0.95 | 0.9 | +0.05 (+5.6%) |" in headline
    assert Path(runner["GITHUB_STEP_SUMMARY"]).read_text() == headline

    first = run(comment, runner)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "put the headline in pull request #12"
    state = json.loads(Path(runner["FAKE_GH_STATE"]).read_text())
    ours = [c for c in state["comments"] if c["id"] != 7]
    assert [c["body"] for c in ours] == [f"{MARKER}\n{headline}"]

    (Path(runner["RUNNER_TEMP"]) / "headline.md").write_text("### the next push's headline\n")
    second = run(comment, runner)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "updated the headline in pull request #12"
    state = json.loads(Path(runner["FAKE_GH_STATE"]).read_text())
    assert [(c["id"], c["body"]) for c in state["comments"]] == [
        (7, someone["body"]),  # a person's comment that quotes the marker is never edited
        (ours[0]["id"], f"{MARKER}\n### the next push's headline\n"),
    ]
    assert state["calls"][-1][:3] == ["api", "-X", "PATCH"]


def test_no_open_pull_request_nothing_is_posted_and_the_step_passes(
    test_job: dict[str, Any], runner: dict[str, str]
) -> None:
    comment = step(test_job, "Headline in the branch's pull request")["run"]
    gh_state(runner, [{"number": 3, "head": "acme:another-branch"}], [])
    done = run(comment, runner)
    assert done.returncode == 0, done.stderr
    assert "no open pull request for acme:feature" in done.stdout
    state = json.loads(Path(runner["FAKE_GH_STATE"]).read_text())
    assert state["comments"] == []
    assert [call[:3] for call in state["calls"]] == [["api", "-X", "GET"]]  # one look, no write


def test_a_failing_gh_fails_the_step(test_job: dict[str, Any], runner: dict[str, str]) -> None:
    """A token without the permission, or GitHub down: the job says so rather than passing silently."""
    comment = step(test_job, "Headline in the branch's pull request")["run"]
    Path(runner["FAKE_GH_STATE"]).write_text("not json")
    assert run(comment, runner).returncode != 0
