"""Submit a plan to AWS Batch: one job per stage, ``dependsOn`` mirroring the pipeline's edges.

A job can only depend on jobs that already have ids, so a stage is submitted once its upstream
stages are. Submissions go through a thread pool in plan order: each waits only for stages queued
before it, which keeps the pool free of deadlock while independent stages go out together. If one
submission fails, every job already submitted is cancelled, so no half run is left executing.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

from spiralkit import aws
from spiralkit.batch.jobs import Run, job_definition, submit_request
from spiralkit.batch.plan import Plan, StagePlan
from spiralkit.errors import AwsError

WORKERS = 8  # below botocore's 10 pooled connections per client


class SubmitError(AwsError):
    """Batch refused a submission; the jobs already submitted were cancelled."""


def register_definition(run: Run, batch: Any | None = None) -> str:
    """Register the run's job definition (a new revision) and return its ARN."""
    batch = batch or aws.client("batch", run.region)
    try:
        return str(batch.register_job_definition(**job_definition(run))["jobDefinitionArn"])
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        raise SubmitError(
            f"registering job definition {job_definition(run)['jobDefinitionName']} failed ({code}: "
            f"{error.response.get('Error', {}).get('Message', '')}); nothing was submitted. "
            "Check that your role may call batch:RegisterJobDefinition and pass the job role "
            f"{run.job_role_arn} (iam:PassRole); `spiral infra deploy` grants both to the CI roles"
        ) from error


def submit_plan(
    plan: Plan, run: Run, definition: str, batch: Any | None = None, workers: int = WORKERS
) -> dict[str, str]:
    """Submit every stage of ``plan`` concurrently; return the job id of each stage."""
    batch = batch or aws.client("batch", run.region)
    futures: dict[str, Future[str]] = {}

    def submit(stage: StagePlan) -> str:
        upstream = [futures[name].result() for name in stage.upstream]
        return str(batch.submit_job(**submit_request(run, stage, definition, upstream))["jobId"])

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="submit") as pool:
        for stage in plan.stages:
            futures[stage.name] = pool.submit(submit, stage)
    return _collect(futures, batch)


def submit_sequential(plan: Plan, run: Run, definition: str, batch: Any | None = None) -> dict[str, str]:
    """The plain loop: one ``SubmitJob`` after another (the benchmark's baseline)."""
    batch = batch or aws.client("batch", run.region)
    ids: dict[str, str] = {}
    for stage in plan.stages:
        request = submit_request(run, stage, definition, [ids[name] for name in stage.upstream])
        ids[stage.name] = str(batch.submit_job(**request)["jobId"])
    return ids


def _collect(futures: dict[str, Future[str]], batch: Any) -> dict[str, str]:
    """Every stage's job id; on any failure, cancel the jobs that were submitted and say so.

    The first failure in plan order is a stage's own: its upstream stages come earlier and succeeded
    (a stage after a failed one fails with its upstream's error, without calling Batch).
    """
    ids = {name: future.result() for name, future in futures.items() if future.exception() is None}
    failed = next((name for name, future in futures.items() if future.exception()), None)
    if failed is None:
        return ids
    cancel(ids.values(), batch, f"spiral: submitting stage {failed} failed")
    cancelled = ", ".join(ids) or "none"
    raise SubmitError(
        f"submitting stage {failed!r} failed: {futures[failed].exception()}; "
        f"cancelled the {len(ids)} job(s) already submitted ({cancelled})"
    ) from futures[failed].exception()


def cancel(job_ids: Iterable[str], batch: Any, reason: str) -> None:
    """Stop ``job_ids``: ``TerminateJob`` cancels jobs not yet started and stops running ones."""
    for job_id in job_ids:
        batch.terminate_job(jobId=job_id, reason=reason[:1024])
