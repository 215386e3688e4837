"""A small DVC project on disk for the batch tests: foreach and matrix stages, meta.batch, git."""

from __future__ import annotations

import contextlib
import json
import subprocess
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from spiralkit import aws

PYPROJECT = """\
[project]
name = "toy"
version = "0"

[tool.spiral]
project = "toy"
region = "us-east-1"
bucket = "toy-data"
job_queue = "toy-queue"
ecr_repository = "toy"

[tool.spiral.batch]
vcpus = 1
memory = 2048
retries = 2
timeout = 1800
"""

DVC_YAML = """\
stages:
  prepare:
    cmd: echo raw > raw.txt
    params: [prepare]
    outs: [raw.txt]
  fit:
    foreach: [small, large]
    do:
      cmd: cat raw.txt > model-${item}.txt && echo ${item} >> model-${item}.txt
      deps: [raw.txt]
      outs: ["model-${item}.txt"]
      meta:
        batch: {vcpus: 4, memory: 8192, gpus: 1, retries: 3, timeout: 7200}
  score:
    matrix:
      model: [small, large]
      split: [test]
    cmd: wc -c model-${item.model}.txt > score-${item.model}.txt
    deps: ["model-${item.model}.txt"]
    outs: ["score-${item.model}.txt"]
  report:
    cmd: cat score-small.txt score-large.txt > report.txt
    deps: [score-small.txt, score-large.txt]
    params: [publish]
    outs: [report.txt]
    meta: {owner: someone}
"""


LOCK = "version: 1\nmetadata: {platforms: [linux-64]}\npackage: []\n"


def make_pipeline(root: Path, dvc_yaml: str = DVC_YAML, pyproject: str = PYPROJECT) -> Path:
    """Write the toy project into ``root``, make it a git repository, and commit it."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(pyproject)
    (root / "dvc.yaml").write_text(textwrap.dedent(dvc_yaml))
    (root / "params.yaml").write_text("prepare:\n  size: 10\npublish:\n  channel: reports\n")
    # The run's environment is the lock's hash; its contents matter only to the images.
    (root / "conda-lock.yml").write_text(LOCK)
    (root / ".dvc").mkdir(exist_ok=True)
    (root / ".dvc" / "config").write_text(
        "[core]\n    remote = storage\n['remote \"storage\"']\n    url = s3://toy-data/dvc\n"
    )
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(root), "commit", "-qm", "toy"], check=True)
    return root


def push_image(root: Path, repository: str = "toy") -> str:
    """Put an image tagged with ``root``'s commit into ECR, as deploy.yml's build would."""
    commit = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"digest": "sha256:" + "0" * 64},
        "layers": [],
    }
    aws.client("ecr").put_image(repositoryName=repository, imageManifest=json.dumps(manifest), imageTag=commit)
    return commit


CAPACITY = "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY"  # the stack's jobStateTimeLimitActions reason
DEPENDENT = "Dependent Job failed"


@contextlib.contextmanager
def spot_without_capacity(region: str = "us-east-1") -> Iterator[Callable[[str], None]]:
    """A function that cancels a job as the Spot queue's jobStateTimeLimitActions do when AWS has no capacity.

    The job is cancelled through Batch's own TerminateJob with the stack's reason. moto's Batch without
    Docker marks every job SUCCEEDED as it is submitted and keeps that status (it records only the reason),
    so while this is active DescribeJobs answers as AWS does: the cancelled job FAILED with its reason, and
    every job that depends on a failed one FAILED as a dependent.
    """
    failed: set[str] = set()

    def as_aws(parsed: dict[str, Any], **_: Any) -> None:
        jobs = parsed.get("jobs", [])
        changed = True
        while changed:  # a dependent of a dependent, in any order
            changed = False
            for job in jobs:
                if job["jobId"] in failed and job["status"] == "FAILED":
                    continue
                if str(job.get("statusReason", "")).startswith("CAPACITY:"):
                    job["status"] = "FAILED"
                elif any(dep["jobId"] in failed for dep in job.get("dependsOn", [])):
                    job.update(status="FAILED", statusReason=DEPENDENT)
                else:
                    continue
                failed.add(job["jobId"])
                changed = True

    def cancel(job_id: str) -> None:
        aws.client("batch", region).terminate_job(jobId=job_id, reason=CAPACITY)

    events = aws.session(region).events
    events.register("after-call.batch.DescribeJobs", as_aws)
    try:
        yield cancel
    finally:
        events.unregister("after-call.batch.DescribeJobs", as_aws)
