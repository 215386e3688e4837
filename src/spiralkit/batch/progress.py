"""Follow a run: each stage's state, a line whenever one changes, and the failed stage's log stream.

Batch's states fold into four a person cares about: pending (SUBMITTED, PENDING, RUNNABLE,
STARTING), running, succeeded and failed. A stage whose upstream failed is failed too; the one to
read is the stage that failed by itself, so its CloudWatch log stream is what gets printed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from spiralkit import aws
from spiralkit.runs.record import RunRecord

LOG_GROUP = "/aws/batch/job"
STATES = ("pending", "running", "succeeded", "failed")
_FOLD = {"RUNNING": "running", "SUCCEEDED": "succeeded", "FAILED": "failed"}


@dataclass(frozen=True)
class StageState:
    """One stage's job as Batch last described it."""

    stage: str
    job_id: str
    state: str
    reason: str = ""
    log_stream: str = ""

    @property
    def upstream_failed(self) -> bool:
        return self.state == "failed" and "depend" in self.reason.lower()


def describe(record: RunRecord, batch: Any | None = None) -> list[StageState]:
    """Each stage's current state, in plan order (``DescribeJobs`` takes 100 ids a call)."""
    batch = batch or aws.client("batch", record.region)
    ids = list(record.jobs.values())
    jobs: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 100):
        for job in batch.describe_jobs(jobs=ids[start : start + 100])["jobs"]:
            jobs[job["jobId"]] = job
    return [_state(stage, job_id, jobs.get(job_id, {})) for stage, job_id in record.jobs.items()]


def _state(stage: str, job_id: str, job: dict[str, Any]) -> StageState:
    container = job.get("container") or {}
    reason = job.get("statusReason") or container.get("reason") or ""
    return StageState(
        stage,
        job_id,
        _FOLD.get(job.get("status", ""), "pending"),
        reason,
        container.get("logStreamName") or "",
    )


def summary(states: Iterable[StageState]) -> str:
    counts = dict.fromkeys(STATES, 0)
    for state in states:
        counts[state.state] += 1
    return ", ".join(f"{counts[name]} {name}" for name in STATES)


def failures(states: Iterable[StageState]) -> list[StageState]:
    """The stages that failed by themselves (not because a stage before them did)."""
    return [state for state in states if state.state == "failed" and not state.upstream_failed]


def explain(state: StageState) -> str:
    """One line naming a failed stage, why, and where its log is."""
    where = (
        f"log: {LOG_GROUP} {state.log_stream} (`spiral logs {state.stage}`)"
        if state.log_stream
        else "no log stream: the job never started"
    )
    return f"stage {state.stage!r} failed: {state.reason or 'no reason given'}; {where}"


def wait(
    record: RunRecord,
    echo: Callable[[str], None] = print,
    poll: float = 10.0,
    batch: Any | None = None,
) -> list[StageState]:
    """Print each change until every stage has succeeded or failed; return the final states."""
    batch = batch or aws.client("batch", record.region)
    last: dict[str, str] = {}
    while True:
        states = describe(record, batch)
        changed = [state for state in states if last.get(state.stage) != state.state]
        for state in changed:
            echo(f"  {state.stage:<32} {state.state}")
            last[state.stage] = state.state
        if changed:
            echo(f"{record.run_id}: {summary(states)}")
        if all(state.state in {"succeeded", "failed"} for state in states):
            return states
        time.sleep(poll)


def log_lines(record: RunRecord, stage: str, limit: int = 1000) -> list[str]:
    """The CloudWatch log of ``stage``'s job in ``record`` (the last ``limit`` events)."""
    from spiralkit.runs.record import RunNotFound

    if stage not in record.jobs:
        raise RunNotFound(f"run {record.run_id} has no stage {stage!r}; its stages: {', '.join(record.jobs)}")
    state = next(s for s in describe(record) if s.stage == stage)
    if not state.log_stream:
        raise RunNotFound(f"stage {stage!r} of run {record.run_id} has no log yet ({state.state})")
    logs = aws.client("logs", record.region)
    events = logs.get_log_events(
        logGroupName=LOG_GROUP, logStreamName=state.log_stream, limit=limit, startFromHead=False
    )["events"]
    return [str(event["message"]) for event in events]
