"""Find a run from its jobs' tags, for a checkout that did not submit it (a later CI job, a colleague).

Every job is named ``<namespace slug>-<stage>`` and tagged with its project, namespace, stage, commit
and run id, so the queue itself is the record. Batch keeps finished jobs for about a week.
"""

from __future__ import annotations

from typing import Any

from spiralkit import aws, namespace
from spiralkit.batch import record
from spiralkit.batch.record import RunNotFound, RunRecord
from spiralkit.config import ProjectConfig


def load_or_find(project: ProjectConfig, run_id: str | None, requested: str | None) -> RunRecord:
    """The run's record in this checkout, else its jobs in the queue under ``requested``'s namespace."""
    try:
        return record.load(project.root, run_id)
    except RunNotFound:
        return find(project, namespace.resolve(project, requested), run_id)


def find(project: ProjectConfig, name: str, run_id: str | None = None) -> RunRecord:
    """The run ``run_id`` (default: the latest) of namespace ``name``, rebuilt from the job queue."""
    batch = aws.client("batch", project.region)
    runs: dict[str, list[dict[str, Any]]] = {}
    for job in _jobs(batch, _queues(project), f"{namespace.slug(name)}-*"):
        tags = job.get("tags", {})
        if tags.get("spiral:project") == project.project and tags.get("spiral:namespace") == name:
            runs.setdefault(tags.get("spiral:run", ""), []).append(job)
    if not runs or (run_id is not None and run_id not in runs):
        wanted = f"run {run_id!r}" if run_id else "a run"
        raise RunNotFound(
            f"no record of {wanted} here, nor jobs of it in {project.job_queue} for {name} "
            "(Batch keeps finished jobs for about a week): pass --namespace if it ran in another"
        )
    chosen = run_id or max(runs, key=lambda run: max(job.get("createdAt", 0) for job in runs[run]))
    jobs = sorted(runs[chosen], key=lambda job: job.get("createdAt", 0))
    return RunRecord(
        run_id=chosen,
        namespace=name,
        commit=jobs[0]["tags"].get("spiral:commit", ""),
        region=project.region,
        queue=project.job_queue,
        jobs={job["tags"]["spiral:stage"]: job["jobId"] for job in jobs},
    )


def _queues(project: ProjectConfig) -> list[str]:
    """The queues a run of this pipeline may use: the project's, its GPU one, and any in meta.batch."""
    from spiralkit.batch.run import plan_for

    own = {stage.settings.queue for stage in plan_for(project, []).stages if stage.settings.queue}
    return sorted({project.job_queue, f"{project.job_queue}-gpu", *own})


def _jobs(batch: Any, queues: list[str], name: str) -> list[dict[str, Any]]:
    """Every job of ``queues`` (those that exist) whose name matches ``name``, described (tags included)."""
    ids: list[str] = []
    for queue in queues:
        pages = batch.get_paginator("list_jobs").paginate(
            jobQueue=queue, filters=[{"name": "JOB_NAME", "values": [name]}]
        )
        try:
            ids.extend(summary["jobId"] for page in pages for summary in page["jobSummaryList"])
        except batch.exceptions.ClientException:
            continue  # no such queue: this project has no GPU queue, say
    described: list[dict[str, Any]] = []
    for start in range(0, len(ids), 100):
        described.extend(batch.describe_jobs(jobs=ids[start : start + 100])["jobs"])
    return described
