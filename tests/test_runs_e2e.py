"""Runs on moto as the cloud would run them: every Batch job's exact command, in its own copy of the commit.

moto's Batch does not run containers, so the test plays the hosts. For each job, in dependency order, a
fresh export of the commit *without* ``.git`` (what the image holds) runs the command ``DescribeJobs``
returns, with only the job's own environment (its definition's and the submission's variables) and
the role's credentials; the project's own environment stands in for the image's packages.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
from collections.abc import Iterable, Iterator
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml
from batch_fixtures import LOCK, push_image
from helpers import render, run
from test_infra import deploy_stack

from spiralkit import aws

BUCKET = "e2e-churn-data"
STAGES = ["ingest", "features", "train", "evaluate", "publish"]
CI_ON_MAIN = {"GITHUB_ACTIONS": "true", "GITHUB_REF_NAME": "main"}
EARLY = "2025-09-07"  # the example's cases arrive one a day from 2025-01-01: 250 cases by then

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project with a bucket, its lock committed: what a team pushes on day one."""
    project = render(tmp_path_factory.mktemp("e2e") / "churn-model", {"s3_bucket": BUCKET})
    (project / "conda-lock.yml").write_text(LOCK)
    git(project, "add", "conda-lock.yml")
    git(project, "commit", "-qm", "lock")
    return project


@pytest.fixture
def project(source: Path, tmp_path: Path, aws_env: str) -> Iterator[Path]:
    """A clone to submit from, with the stack on moto and the commit's image in ECR."""
    clone = tmp_path / "submitter"
    git(tmp_path, "clone", "-q", str(source), str(clone))
    deploy_stack(clone)
    push_image(clone, "churn-model")
    yield clone
    assert git(clone, "status", "--porcelain") == "", "a spiral command changed a tracked file"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def submit(project: Path, venv: Path, *args: str, env: dict[str, str] | None = None) -> tuple[str, dict[str, str]]:
    """``spiral run --on batch`` from ``project``; returns its output and the run's job ids by stage."""
    result = run(["spiral", "run", "--on", "batch", *args], project, venv, env)
    namespace, run_id = (project / ".spiral" / "last-run").read_text().split()
    jobs = aws.client("s3").get_object(Bucket=BUCKET, Key=f"spiral/runs/{namespace}/{run_id}/jobs.json")
    return result.stdout, json.loads(jobs["Body"].read())


def export(project: Path, into: Path) -> Path:
    """The commit's files without .git, as the image holds them."""
    into.mkdir(parents=True)
    archive = into.with_suffix(".tar")
    git(project, "archive", "-o", str(archive), "HEAD")
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into


def job_env(job: dict[str, Any], venv: Path, home: Path) -> dict[str, str]:
    """The job's own variables and the role's credentials; nothing else from this test's process."""
    batch = aws.client("batch")
    definition = batch.describe_job_definitions(jobDefinitions=[job["jobDefinition"]])["jobDefinitions"][0]
    variables = definition["containerProperties"].get("environment", []) + job["container"].get("environment", [])
    env = {item["name"]: item["value"] for item in variables}
    home.mkdir(parents=True, exist_ok=True)
    for name in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        (home / name).touch()
        env[name] = str(home / name)
    keep = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL")
    return {
        **{name: os.environ[name] for name in keep},
        **env,
        "HOME": str(home),
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "AWS_BATCH_JOB_ID": job["jobId"],
    }


def play(project: Path, runs: Iterable[dict[str, str]], venv: Path, hosts: Path) -> dict[str, Path]:
    """Run the jobs of ``runs`` as Batch hosts would, in dependency order, runs interleaved.

    Returns each job's host folder by job id; a job whose command fails fails the test.
    """
    ids = [job_id for jobs in runs for job_id in jobs.values()]
    described = {job["jobId"]: job for job in aws.client("batch").describe_jobs(jobs=ids)["jobs"]} if ids else {}
    graph = {job_id: [dep["jobId"] for dep in job["dependsOn"]] for job_id, job in described.items()}
    done: dict[str, Path] = {}
    for job_id in TopologicalSorter(graph).static_order():
        job = described[job_id]
        host = export(project, hosts / f"host-{len(done)}")
        env = job_env(job, venv, hosts / f"home-{len(done)}")
        result = subprocess.run(job["container"]["command"], cwd=host, env=env, capture_output=True, text=True)
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"job {job['jobName']} failed:\n{output}"
        stage = job["container"]["command"][2]
        ran, reused = f"Running stage '{stage}'" in output, f"spiral: {stage}: reusing the result" in output
        assert output.count("Running stage") == int(ran), output  # its own stage only, never an upstream one
        assert ran != reused, output
        done[job_id] = host
    return done


def rows(path: Path) -> int:
    return int(pq.read_metadata(path).num_rows)


def recorded_lock(namespace: str, run_id: str) -> str:
    body = aws.client("s3").get_object(Bucket=BUCKET, Key=f"spiral/runs/{namespace}/{run_id}/dvc.lock")["Body"]
    return str(body.read().decode())


def last_run(project: Path) -> tuple[str, str]:
    namespace, run_id = (project / ".spiral" / "last-run").read_text().split()
    return namespace, run_id


def test_a_branch_run_records_the_lock_a_local_repro_writes_and_prod_reuses_none_of_it(
    project: Path, default_project: Path, tmp_path: Path
) -> None:
    venv = default_project / ".venv"
    _, jobs = submit(project, venv, "--namespace", "test.e2e")
    assert sorted(jobs) == sorted(STAGES)
    hosts = play(project, [jobs], venv, tmp_path / "branch")
    published = aws.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="published/")
    assert [item["Key"] for item in published["Contents"]] == ["published/test.e2e/predictions.parquet"]
    assert (
        rows(hosts[jobs["features"]] / "data/features/train.parquet")
        + rows(hosts[jobs["features"]] / "data/features/test.parquet")
        == 569
    )

    # The same commit, data version and packages on a laptop: the same dvc.lock, byte for byte.
    local = tmp_path / "local"
    git(tmp_path, "clone", "-q", str(project), str(local))
    run(["dvc", "repro"], local, venv, {"SPIRAL_NAMESPACE": "test.e2e"})
    lock = recorded_lock(*last_run(project))
    assert lock == (local / "dvc.lock").read_text()

    # A fresh clone checks out exactly the recorded outputs; with the run's dvc.lock, DVC agrees.
    fresh = tmp_path / "fresh"
    git(tmp_path, "clone", "-q", str(project), str(fresh))
    namespace, run_id = last_run(project)
    run(["spiral", "pull", run_id, "--namespace", namespace, "--lock"], fresh, venv)
    assert (fresh / "dvc.lock").read_text() == lock
    assert "up to date" in run(["dvc", "status"], fresh, venv).stdout

    # The branch again: nothing to submit. Prod, same commit: it trusts no branch's results.
    again, jobs = submit(project, venv, "--namespace", "test.e2e")
    assert jobs == {}
    assert "0 job(s) in test.e2e" in again
    _, prod_jobs = submit(project, venv, env=CI_ON_MAIN)
    assert sorted(prod_jobs) == sorted(STAGES)


def test_new_data_reaches_every_stage_and_two_branches_at_once_do_not_mix(
    project: Path, default_project: Path, tmp_path: Path
) -> None:
    """A scheduled retraining is a run with a new snapshot: no --force, every stage reads the new rows."""
    venv = default_project / ".venv"
    _, a = submit(project, venv, "--namespace", "test.a", "--set", f"ingest.snapshot={EARLY}")
    a_run = last_run(project)
    _, b = submit(project, venv, "--namespace", "test.b", "--set", "ingest.snapshot=2025-12-31")
    hosts = play(project, [a, b], venv, tmp_path / "both")  # the two runs' jobs interleaved
    for jobs, cases in ((a, 250), (b, 365)):
        features = hosts[jobs["features"]] / "data/features"
        assert rows(features / "train.parquet") + rows(features / "test.parquet") == cases
        assert rows(hosts[jobs["publish"]] / "data/predictions.parquet") == cases
    published = aws.client("s3").get_object(Bucket=BUCKET, Key="published/test.a/predictions.parquet")
    assert pq.read_metadata(io.BytesIO(published["Body"].read())).num_rows == 250
    key = f"spiral/runs/{a_run[0]}/{a_run[1]}/run.json"
    record = json.loads(aws.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read())
    assert record["params"]["ingest"]["snapshot"] == EARLY
    assert record["overrides"] == {"ingest.snapshot": EARLY}
    lock = yaml.safe_load(recorded_lock(*a_run))
    assert lock["stages"]["ingest"]["params"]["params.yaml"]["ingest"]["snapshot"] == EARLY


def test_a_new_environment_reruns_a_stage_and_a_forced_stage_runs_once(
    project: Path, default_project: Path, tmp_path: Path
) -> None:
    venv = default_project / ".venv"
    _, first = submit(project, venv, "--namespace", "test.env", "ingest")
    play(project, [first], venv, tmp_path / "first")
    _, same = submit(project, venv, "--namespace", "test.env", "ingest")
    assert same == {}
    (project / "conda-lock.yml").write_text(LOCK.replace("package: []", "package: [{name: scikit-learn}]"))
    git(project, "commit", "-qam", "a newer scikit-learn")
    push_image(project, "churn-model")
    _, relocked = submit(project, venv, "--namespace", "test.env", "ingest")
    assert list(relocked) == ["ingest"]  # same code, data and params; new packages
    play(project, [relocked], venv, tmp_path / "relocked")
    out, forced = submit(project, venv, "--namespace", "test.env", "ingest", "--force", "ingest")
    assert list(forced) == ["ingest"], out
    hosts = play(project, [forced], venv, tmp_path / "forced")  # play checks: "Running stage" once
    retried = subprocess.run(
        ["spiral", "job", "ingest", "--namespace", "test.env", "--run", last_run(project)[1]],
        cwd=hosts[forced["ingest"]], capture_output=True, text=True,
        env={**os.environ, "PATH": f"{venv / 'bin'}:{os.environ['PATH']}"},
    )  # fmt: skip
    assert "recorded already (ran): nothing to do" in retried.stdout  # a retried job does not run twice


def test_a_job_without_its_upstream_record_or_in_another_commit_is_refused(
    project: Path, default_project: Path, tmp_path: Path
) -> None:
    venv = default_project / ".venv"
    _, jobs = submit(project, venv, "--namespace", "test.faults")
    namespace, run_id = last_run(project)
    batch = aws.client("batch")
    features = batch.describe_jobs(jobs=[jobs["features"]])["jobs"][0]
    host = export(project, tmp_path / "early")
    early = subprocess.run(
        features["container"]["command"], cwd=host, env=job_env(features, venv, tmp_path / "h1"),
        capture_output=True, text=True,
    )  # fmt: skip
    assert early.returncode == 10
    assert f"stage features: upstream stage 'ingest' of run {run_id} has no record" in early.stderr
    assert "Running stage" not in early.stdout

    other = export(project, tmp_path / "other")
    (other / "params.yaml").write_text((other / "params.yaml").read_text().replace("C: 1.0", "C: 2.0"))
    ingest = batch.describe_jobs(jobs=[jobs["ingest"]])["jobs"][0]
    refused = subprocess.run(
        ingest["container"]["command"], cwd=other, env=job_env(ingest, venv, tmp_path / "h2"),
        capture_output=True, text=True,
    )  # fmt: skip
    assert refused.returncode == 10
    assert "recorded for another copy of the project: its dvc.yaml or params.yaml differ" in refused.stderr

    s3 = aws.client("s3")
    key = f"spiral/runs/{namespace}/20990101T000000Z-broken/run.json"
    whole = s3.get_object(Bucket=BUCKET, Key=f"spiral/runs/{namespace}/{run_id}/run.json")["Body"].read()
    s3.put_object(Bucket=BUCKET, Key=key, Body=whole[: len(whole) // 2])
    truncated = run(["spiral", "status", "--namespace", namespace], project, venv, check=False)
    assert truncated.returncode == 10
    assert f"s3://{BUCKET}/{key} is not a complete record" in truncated.stderr
