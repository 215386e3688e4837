"""End to end on moto: every Batch job's exact command, each on its own "host", then a fresh clone.

moto's Batch does not run containers, so the test plays the hosts: for each submitted job, in
dependency order, a fresh `git clone` of the committed project runs the job's container command
(as ``DescribeJobs`` returns it) with the S3 DVC remote on moto. A last clone's ``dvc repro --pull``
must then run no stage and write the same dvc.lock as a plain local ``dvc repro``.
"""

from __future__ import annotations

import json
import subprocess
from graphlib import TopologicalSorter
from pathlib import Path

import pytest
from batch_fixtures import push_image
from helpers import render, run
from test_infra import deploy_stack

from spiralkit import aws
from spiralkit.batch.job import set_namespace

BUCKET = "e2e-churn-data"
NAMESPACE = "test.e2e"
STAGES = ["ingest", "features", "train", "evaluate", "publish"]


def clone(source: Path, into: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(source), str(into)], check=True)
    return into


@pytest.mark.slow
def test_jobs_on_separate_hosts_then_a_fresh_clone_reproduces_nothing(
    tmp_path: Path, default_project: Path, aws_env: str
) -> None:
    venv = default_project / ".venv"  # same package name; each "host" shares the installed env
    project = render(tmp_path / "churn-model", {"s3_bucket": BUCKET})
    deploy_stack(project)
    push_image(project, "churn-model")

    submitter = clone(project, tmp_path / "submitter")
    run(["spiral", "run", "--on", "batch", "--namespace", NAMESPACE], submitter, venv)
    record = json.loads(next((submitter / ".spiral" / "runs").glob("*.json")).read_text())
    jobs = aws.client("batch").describe_jobs(jobs=list(record["jobs"].values()))["jobs"]
    by_id = {job["jobId"]: job for job in jobs}
    assert sorted(record["jobs"]) == sorted(STAGES)

    order = TopologicalSorter(
        {job_id: [dep["jobId"] for dep in job["dependsOn"]] for job_id, job in by_id.items()}
    ).static_order()
    ran: list[str] = []
    for number, job_id in enumerate(order):
        command = by_id[job_id]["container"]["command"]
        assert command[:2] == ["spiral", "job"]
        assert command[3:] == ["--namespace", NAMESPACE]
        host = clone(project, tmp_path / f"host-{number}")
        output = run(command, host, venv).stdout
        # Each host runs its own stage only; upstream stages come back from the run-cache.
        assert output.count("Running stage") == 1, output
        assert f"Running stage '{command[2]}'" in output
        ran.append(command[2])
    assert sorted(ran) == sorted(STAGES)

    published = aws.client("s3").list_objects_v2(Bucket=BUCKET, Prefix=f"published/{NAMESPACE}/")
    keys = [obj["Key"] for obj in published.get("Contents", [])]
    assert f"published/{NAMESPACE}/predictions.parquet" in keys
    assert not any(key.startswith("published/prod") for key in keys)

    fresh = clone(project, tmp_path / "fresh")
    assert set_namespace(fresh, NAMESPACE)
    pulled = run(["dvc", "repro", "--pull"], fresh, venv)
    assert "Running stage" not in pulled.stdout + pulled.stderr
    local = clone(project, tmp_path / "local")
    assert set_namespace(local, NAMESPACE)
    (local / ".dvc" / "config.local").write_text("[core]\n    remote = none\n")
    run(["dvc", "repro"], local, venv=venv)
    assert (fresh / "dvc.lock").read_text() == (local / "dvc.lock").read_text()

    # Promotion: the same commit again in test.e2e submits nothing; in prod (CI on main), only the
    # stage that reads the namespace.
    retest = run(["spiral", "run", "--on", "batch", "--namespace", NAMESPACE],
                 clone(project, tmp_path / "retest"), venv)  # fmt: skip
    assert f"0 job(s) in {NAMESPACE}" in retest.stdout
    ci_on_main = {"GITHUB_ACTIONS": "true", "GITHUB_REF_NAME": "main"}
    prod = run(["spiral", "run", "--on", "batch"], clone(project, tmp_path / "prod"), venv, ci_on_main)
    assert "1 job(s) in prod" in prod.stdout
    assert "not submitted: ingest, features, train, evaluate" in prod.stdout
