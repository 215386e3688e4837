"""Results of real runs of the example: a prod run and an experiment, compared, reported, read back from S3.

Both runs are ``spiral run --on local`` (the same stage code a Batch job runs); their records and
objects are then copied to a bucket on moto, as a project with a bucket keeps them, and read from a
fresh Python session outside any checkout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import run

from spiralkit import aws

pytestmark = pytest.mark.slow
CI_ON_MAIN = {"GITHUB_ACTIONS": "true", "GITHUB_REF_NAME": "main"}
READ_BACK = """
import json, sys
from spiralkit import Runs
prod = Runs("prod", bucket=sys.argv[1]).latest()
print(json.dumps({"metrics": prod.metrics, "rows": prod.read_table("data/raw/cases.parquet").num_rows}))
"""


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def prod_run_in_a_clone(default_project: Path, tmp_path: Path) -> tuple[Path, Path, dict[str, float]]:
    """A clone of the default project with one prod run made as CI on main makes it: venv, clone, metrics."""
    venv = default_project / ".venv"
    project = tmp_path / "churn-model"
    git(tmp_path, "clone", "-q", str(default_project), str(project))
    run(["spiral", "run", "--on", "local"], project, venv, CI_ON_MAIN)
    return venv, project, json.loads((project / "metrics.json").read_text())


def test_an_experiment_against_prod_from_runs_to_report_to_the_bucket(
    default_project: Path, tmp_path: Path, aws_env: str
) -> None:
    venv, project, prod_metrics = prod_run_in_a_clone(default_project, tmp_path)
    params = project / "params.yaml"
    params.write_text(params.read_text().replace("C: 1.0", "C: 0.01"))
    run(["spiral", "run", "--on", "local"], project, venv, {"SPIRAL_USER": "ana"})
    experiment_metrics = json.loads((project / "metrics.json").read_text())

    listed = run(["spiral", "runs", "--namespace", "prod"], project, venv).stdout
    assert "1 run(s) in prod" in listed
    diff = run(["spiral", "runs", "diff", "prod"], project, venv).stdout.splitlines()
    assert diff[0].startswith("user.ana/")
    assert next(line for line in diff if line.startswith("  train.C")).split() == ["train.C", "1.0", "0.01"]
    roc = next(line for line in diff if line.startswith("  roc_auc")).split()
    assert roc[1:3] == [f"{prod_metrics['roc_auc']:.4g}", f"{experiment_metrics['roc_auc']:.4g}"]
    changed = {line.split()[0] for line in diff[diff.index(next(x for x in diff if x.startswith("data:"))) + 2 :]}
    assert "models/model.skops" in changed  # a new model from the same data
    assert "data/raw/cases.parquet" not in changed

    # The report needs the `report` extra (vl-convert-python), which the project's environment does not
    # lock: made here by this test's interpreter, which has it, from the project's checkout.
    start = time.perf_counter()
    made = run([sys.executable, "-m", "spiralkit", "report", "-o", str(tmp_path / "report.html")], project).stdout
    seconds = time.perf_counter() - start
    page = (tmp_path / "report.html").read_text()
    assert "user.ana/" in made
    assert len(page.encode()) < 5_000_000
    assert seconds < 15, seconds  # a whole CLI process on a shared machine; the bench times the report itself
    assert "The decision." in page  # docs/spiral/01-problem.md of the checkout
    assert page.count("<svg") == 3
    assert git(project, "diff", "--name-only") == "params.yaml"  # the experiment's edit; no tracked file written

    s3 = aws.client("s3")
    s3.create_bucket(Bucket="acme-churn")
    for folder, prefix in ((project / ".spiral", "spiral"), (project / "dvc-storage", "dvc")):
        for path in folder.rglob("*"):
            if path.is_file() and "reports" not in path.parts:
                s3.put_object(Bucket="acme-churn", Key=f"{prefix}/{path.relative_to(folder)}", Body=path.read_bytes())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-c", READ_BACK, "acme-churn"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")},
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found == {"metrics": prod_metrics, "rows": 569}


def test_a_weekly_retraining_on_worse_data_fails_its_check_with_its_report_written(
    default_project: Path, tmp_path: Path
) -> None:
    """Two scheduled runs in prod a week apart: the second on a snapshot that holds only the first 60 cases."""
    venv, project, last_week = prod_run_in_a_clone(default_project, tmp_path)
    params = project / "params.yaml"
    text = params.read_text().replace('snapshot: "2026-07-31"', 'snapshot: "2025-03-01"')
    # The floor: last week's model. `thresholds` is no stage's param, so it reruns nothing by itself.
    params.write_text(text.replace("roc_auc: 0.9", f"roc_auc: {last_week['roc_auc']}"))
    run(["spiral", "run", "--on", "local"], project, venv, CI_ON_MAIN)
    this_week = json.loads((project / "metrics.json").read_text())
    assert this_week["roc_auc"] < last_week["roc_auc"], (last_week, this_week)

    page, summary = tmp_path / "weekly.html", tmp_path / "summary.md"
    report_args = ["report", "prod", "--check", "-o", str(page), "--summary", str(summary)]
    done = run([sys.executable, "-m", "spiralkit", *report_args], project, check=False)
    assert done.returncode == 14, done.stderr  # BelowThreshold
    assert f"roc_auc {this_week['roc_auc']:.4g} < {last_week['roc_auc']:g}" in done.stderr
    report = page.read_text()
    assert "<h2>Data since prod " in report
    assert "<td><code>data/raw/cases.parquet</code></td><td>569</td><td>60</td>" in report
    assert "the largest drift first" in report
    assert "<code>case_id</code>" not in report.split("the largest drift first")[1]  # an id, left out
    assert "Rows: `data/raw/cases.parquet` 569 → 60" in summary.read_text()
    assert "Cost: local (no AWS cost)." in summary.read_text()
