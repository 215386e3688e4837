"""Follow a run: each stage's state, a line whenever one changes, and the failed stage's log stream.

Batch's states fold into four a person cares about: pending (SUBMITTED, PENDING, RUNNABLE,
STARTING), running, succeeded and failed. A stage whose upstream failed is failed too; the one to
read is the stage that failed by itself, so its CloudWatch log stream is what gets printed. A stage
Batch cancelled for want of Spot capacity moves to on-demand while the run is followed
(:mod:`spiralkit.batch.fallback`); from then on its newest job is the one shown.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from botocore.exceptions import ClientError

from spiralkit import aws
from spiralkit.batch import fallback
from spiralkit.errors import SpiralError, StageFailed, StillRunning
from spiralkit.runs.record import RunNotFound, RunRecord
from spiralkit.runs.store import Store

LOG_GROUP = "/aws/batch/job"
STATES = ("pending", "running", "succeeded", "failed")
_FOLD = {"RUNNING": "running", "SUCCEEDED": "succeeded", "FAILED": "failed"}
TAIL = 20  # log lines printed under a failed stage


def add_wait_timeout(parser: Any) -> None:
    """``--wait-timeout SECONDS`` for the commands that follow a run (``spiral run``, ``spiral status``)."""
    parser.add_argument(
        "--wait-timeout",
        type=float,
        metavar="SECONDS",
        help="stop following after this long (default: every stage's timeout x attempts, added up)",
    )


@dataclass(frozen=True)
class StageState:
    """One stage's job as Batch last described it."""

    stage: str
    job_id: str
    state: str
    reason: str = ""
    log_stream: str = ""
    budget: float = 0.0  # seconds Batch may spend on it: its timeout x its attempts (0: no timeout)
    queue: str = ""
    fallback: str = ""  # "on-demand after Spot had no capacity (attempt 2)" when its job is a resubmission

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
    notes = {stage: f"{moved['reason']} (attempt {moved['attempt']})" for stage, moved in record.fallbacks.items()}
    return [_state(stage, job_id, jobs.get(job_id, {}), notes.get(stage, "")) for stage, job_id in record.jobs.items()]


def _state(stage: str, job_id: str, job: dict[str, Any], note: str = "") -> StageState:
    container = job.get("container") or {}
    reason = job.get("statusReason") or container.get("reason") or ""
    timeout = (job.get("timeout") or {}).get("attemptDurationSeconds", 0)
    attempts = (job.get("retryStrategy") or {}).get("attempts", 1)
    return StageState(
        stage,
        job_id,
        _FOLD.get(job.get("status", ""), "pending"),
        reason,
        container.get("logStreamName") or "",
        float(timeout * attempts),
        str(job.get("jobQueue", "")).rsplit("/", 1)[-1],  # DescribeJobs gives the queue's ARN
        note,
    )


def default_deadline(states: Iterable[StageState]) -> float | None:
    """Seconds to follow a run by default: every stage's timeout x attempts, added up (stages may run one
    after another), or None when a stage has no timeout. Time spent waiting for capacity is not counted."""
    budgets = [state.budget for state in states]
    return None if not budgets or 0 in budgets else sum(budgets)


def summary(states: Iterable[StageState]) -> str:
    counts = dict.fromkeys(STATES, 0)
    for state in states:
        counts[state.state] += 1
    return ", ".join(f"{counts[name]} {name}" for name in STATES)


def failures(states: Iterable[StageState]) -> list[StageState]:
    """The stages that failed by themselves (not because a stage before them did)."""
    return [state for state in states if state.state == "failed" and not state.upstream_failed]


def check(states: list[StageState], region: str | None = None) -> None:
    """Raise :class:`StageFailed` naming each stage that failed by itself, with its last log lines."""
    if failed := failures(states):
        raise StageFailed("\n".join(explain(state, region) for state in failed))


def explain(state: StageState, region: str | None = None) -> str:
    """A failed stage, why, its last log lines, and the command that prints the rest."""
    headline = f"stage {state.stage!r} failed: {state.reason or 'no reason given'}"
    if fallback.no_capacity(state):
        twin = fallback.twin(state.queue)
        if not state.fallback:  # seen, not followed: the follower is what moves it
            return f"{headline}; none of its code ran: `spiral status --wait` moves it to {twin} and follows it"
        where = (
            f"it waited on on-demand queue {state.queue}: AWS had no capacity for its instance types at all"
            if twin is None
            else f"queue {state.queue} has no on-demand twin {twin} to move it to"
        )
        return (
            f"{headline}; Batch cancelled it after it waited for capacity, so none of its code ran, and {where}. "
            "Run it again later, or ask for other instance types (meta.batch); stages this run finished are "
            'reused (docs/production.md, "When Spot has no capacity")'
        )
    if not state.log_stream:
        return f"{headline}; no log stream: the job never started"
    try:
        tail = _events(aws.client("logs", region), state.log_stream, TAIL)
    except SpiralError as error:
        tail = [f"(no log lines: {error})"]
    lines = [f"{headline}; last {len(tail)} log lines ({LOG_GROUP} {state.log_stream}):"]
    lines += [f"  | {line}" for line in tail]
    lines.append(f"  the whole log: spiral logs {state.stage}")
    return "\n".join(lines)


def wait(
    record: RunRecord,
    echo: Callable[[str], None] = print,
    poll: float = 10.0,
    batch: Any | None = None,
    *,
    deadline: float | None = None,
    store: Store | None = None,
) -> list[StageState]:
    """Print each change until every stage has succeeded or failed; return the final states.

    ``deadline`` (seconds from now; default :func:`default_deadline`) bounds the wait: past it,
    :class:`StillRunning` says so and how to follow the run from elsewhere. With the run's ``store``,
    stages Batch cancelled for want of Spot capacity move to on-demand (:mod:`spiralkit.batch.fallback`).
    """
    batch = batch or aws.client("batch", record.region)
    last: dict[str, str] = {}
    started = time.monotonic()
    chosen = deadline
    judged: set[str] = set()  # cancelled jobs the fallback could not move: not asked about again each poll
    while True:
        states = describe(record, batch)
        if store is not None:
            if {s.job_id for s in states if fallback.no_capacity(s)} - judged:
                moved = fallback.resubmit(record, states, store, batch, echo)
                if moved is not record:
                    record, states = moved, describe(moved, batch)
                    if chosen is None:  # the default grows by what the moved stages may take
                        deadline = None if (more := default_deadline(states)) is None else elapsed(started) + more
                judged |= {s.job_id for s in states if fallback.no_capacity(s)}
            # What is still cancelled for capacity now could not be moved: explain() says why.
            states = [replace(s, fallback="not moved") if fallback.no_capacity(s) else s for s in states]
        if deadline is None and chosen is None:
            deadline = default_deadline(states)
        changed = [state for state in states if last.get(state.stage) != state.state]
        for state in changed:
            echo(f"  {state.stage:<32} {state.state}")
            last[state.stage] = state.state
        if changed:
            echo(f"{record.run_id}: {summary(states)}")
        if all(state.state in {"succeeded", "failed"} for state in states):
            return states
        if deadline is not None and elapsed(started) >= deadline:
            raise StillRunning(
                f"{record.run_id} is still going after {deadline:.0f} s ({summary(states)}); it goes on in "
                f"Batch: `spiral status --wait {record.run_id}` follows it, `spiral status` shows it"
            )
        time.sleep(poll)


def elapsed(started: float) -> float:
    return time.monotonic() - started


def log_lines(record: RunRecord, stage: str, limit: int = 1000) -> list[str]:
    """The CloudWatch log of ``stage``'s job in ``record`` (the last ``limit`` events)."""
    return _events(aws.client("logs", record.region), _stream(record, stage), limit)


def follow(record: RunRecord, stage: str, poll: float = 5.0) -> Iterator[str]:
    """Each new log line of ``stage`` as it is written, until its job succeeds or fails."""
    logs = aws.client("logs", record.region)
    stream = _stream(record, stage)
    token: str | None = None
    while True:
        request: dict[str, Any] = {"logGroupName": LOG_GROUP, "logStreamName": stream, "startFromHead": True}
        if token:
            request["nextToken"] = token
        page = _call(logs.get_log_events, stream, **request)
        yield from (str(event["message"]) for event in page["events"])
        finished = next(s for s in describe(record) if s.stage == stage).state in {"succeeded", "failed"}
        if page["nextForwardToken"] == token and finished:
            return
        token = page["nextForwardToken"]
        if not page["events"]:
            time.sleep(poll)


def _stream(record: RunRecord, stage: str) -> str:
    if stage not in record.jobs:
        raise RunNotFound(f"run {record.run_id} has no stage {stage!r}; its stages: {', '.join(record.jobs)}")
    state = next(s for s in describe(record) if s.stage == stage)
    if not state.log_stream:
        raise RunNotFound(
            f"stage {stage!r} of run {record.run_id} has no log yet ({state.state}): it is written once the "
            f"job starts; `spiral logs -f {stage}` waits for it"
            if state.state == "pending"
            else f"stage {stage!r} of run {record.run_id} has no log ({state.state}): {state.reason or 'no reason'}"
        )
    return state.log_stream


def _events(logs: Any, stream: str, limit: int) -> list[str]:
    page = _call(logs.get_log_events, stream, logGroupName=LOG_GROUP, logStreamName=stream, limit=limit,
                 startFromHead=False)  # fmt: skip
    return [str(event["message"]) for event in page["events"]]


def _call(method: Callable[..., Any], stream: str, **request: Any) -> Any:
    """A CloudWatch Logs call whose "not there yet" becomes one sentence, not a traceback."""
    try:
        return method(**request)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            raise RunNotFound(
                f"no log {LOG_GROUP} {stream} yet: Batch creates the log group when the account's first job "
                "starts and the stream when this job starts; try again once it is running"
            ) from error
        raise
