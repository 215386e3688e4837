"""When Spot has no capacity: move the work to the queue's on-demand twin, once, on the record.

The Spot queue's ``jobStateTimeLimitActions`` (infra/stack.yaml, ``SpotWaitSeconds``) cancel a job that
waited RUNNABLE that long for capacity AWS did not have (reason ``CAPACITY:...``), and Batch then fails
every job that depends on it. Whoever follows the run (:func:`spiralkit.batch.progress.wait`) moves that
work to ``<queue>-on-demand`` as attempt n of the run (the submission is attempt 1):

1. :func:`plan`: the cancelled stages, and every stage downstream of them that Batch failed (or will
   fail) for want of its upstream job; never a recorded stage, never one after a stage that failed by
   itself;
2. claim attempt n with a write-once record (``claim-<n>.json``) *before* submitting: of two followers
   at once (a laptop and CI) one wins, and the other follows the jobs the winner records;
3. submit each stage as the run first did, after the new jobs of its resubmitted upstream stages and the
   live jobs of the others, and record the ids (``jobs-<n>.json``). A stage whose queue had no Spot
   capacity goes to that queue's twin (its downstream stages on the same queue too: that Spot pool is
   short now); a downstream stage on another queue (the GPU queue) goes back to its own.

A stage cancelled on an on-demand queue, or on a queue with no twin (the GPU queue), is not moved:
:func:`spiralkit.batch.progress.explain` says why.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from spiralkit.batch import plan as plans
from spiralkit.batch import submit
from spiralkit.batch.jobs import CI_CONTEXT, Run, submit_request
from spiralkit.batch.settings import BatchSettings
from spiralkit.errors import AwsError, RecordError
from spiralkit.runs import environment
from spiralkit.runs import record as records
from spiralkit.runs.record import RunRecord
from spiralkit.runs.store import RecordExists, Store

if TYPE_CHECKING:
    from spiralkit.batch.progress import StageState

# The reason the job queue's jobStateTimeLimitActions gives a job it cancels after SpotWaitSeconds.
CAPACITY = "CAPACITY:"
TWIN = "-on-demand"
REASON = "on-demand after Spot had no capacity"
DOWNSTREAM = "resubmitted after Spot had no capacity upstream"
CLAIM_WAIT = 300.0  # seconds the loser of a claim waits for the winner to record its jobs (a few submissions)


class FallbackError(AwsError):
    """Work Spot had no capacity for could not be moved to on-demand."""


def no_capacity(state: StageState) -> bool:
    """Batch cancelled the stage's job after it waited for capacity: none of its code ran."""
    return state.state == "failed" and state.reason.startswith(CAPACITY)


def twin(queue: str) -> str | None:
    """The on-demand twin of a Spot queue; None for a queue that is on-demand already."""
    return None if queue.endswith(TWIN) else queue + TWIN


def plan(
    record: RunRecord, states: Sequence[StageState], recorded: Collection[str], movable: Collection[str]
) -> list[str]:
    """The stages to resubmit, in plan order.

    ``recorded``: stages with a record (never resubmitted); ``movable``: the queues whose twin exists.
    """
    by_stage = {state.stage: state for state in states}
    chosen: list[str] = []
    for stage in record.stages:
        state = by_stage.get(stage.name)
        if state is None or stage.name in recorded:  # reused at planning, or made already
            continue
        if no_capacity(state):
            if state.queue in movable:
                chosen.append(stage.name)
            continue
        waits_on_moved = any(up in chosen for up in stage.upstream)
        doomed = state.state == "pending" or state.upstream_failed  # its old job waits on a cancelled one
        upstream_fine = all(
            up in chosen or up in recorded or up not in by_stage or by_stage[up].state != "failed"
            for up in stage.upstream
        )
        if waits_on_moved and doomed and upstream_fine:
            chosen.append(stage.name)
    return chosen


def resubmit(
    record: RunRecord,
    states: Sequence[StageState],
    store: Store,
    batch: Any,
    echo: Callable[[str], None] = print,
    *,
    claim_wait: float = CLAIM_WAIT,
    poll: float = 5.0,
) -> RunRecord:
    """Move what Spot had no capacity for to on-demand; the record with each stage's newest job.

    Returns ``record`` itself when there is nothing to move.
    """
    spot = {state.queue for state in states if no_capacity(state) and twin(state.queue)}
    if not spot:
        return record
    short = _movable(batch, spot)
    todo = plan(record, states, records.recorded(store, record), short)
    if not todo:
        return record
    attempt = record.attempt + 1
    by_stage = {state.stage: state for state in states}
    replaced = {name: by_stage[name].job_id for name in todo}
    claim = {"attempt": attempt, "stages": todo, "replaced": replaced, "at": records.now(),
             "by": f"{environment.origin()} {environment.host()}"}  # fmt: skip
    try:
        records.claim_attempt(store, record, attempt, claim)
    except RecordExists:
        return _winners(store, record, attempt, claim_wait, poll, echo)
    except ClientError as error:  # this follower may read the run but not write its records
        raise FallbackError(
            f"{', '.join(todo)} of run {record.run_id} wait to move to on-demand, but recording the move was "
            f"refused ({error.response.get('Error', {}).get('Code', '')}): only who may write {record.namespace}'s "
            f"runs may move them. Follow it with such a role (`spiral status --wait {record.run_id} --namespace "
            f"{record.namespace}`), or run it again: stages it finished are reused"
        ) from error
    queues = {name: str(twin(q)) if (q := by_stage[name].queue) in short else q for name in todo}
    reasons = {name: REASON if queues[name].endswith(TWIN) else DOWNSTREAM for name in todo}
    try:
        ids = _submit(record, todo, by_stage, queues, batch)
    except (ClientError, submit.SubmitError) as error:
        records.save_attempt(store, record, attempt, {"jobs": {}, "error": str(error)})
        raise FallbackError(
            f"moving {', '.join(todo)} of run {record.run_id} to on-demand failed: {error}. Follow the run with "
            f"a role that may submit {record.namespace}'s jobs (`spiral status --wait {record.run_id} "
            f"--namespace {record.namespace}`), or run it again: stages it finished are reused"
        ) from error
    outcome = {"jobs": ids, "queues": queues, "replaced": replaced, "reasons": reasons, "error": ""}
    records.save_attempt(store, record, attempt, outcome)
    for name in todo:
        echo(f"  {name:<32} {reasons[name]}: attempt {attempt} on {queues[name]} (job {ids[name]})")
    return records.load(store, record.namespace, record.run_id)


def _movable(batch: Any, queues: Collection[str]) -> set[str]:
    """The queues among ``queues`` whose on-demand twin exists (the GPU queue has none)."""
    twins = {str(twin(queue)): queue for queue in queues}
    found = batch.describe_job_queues(jobQueues=sorted(twins))["jobQueues"]
    return {twins[queue["jobQueueName"]] for queue in found if queue["jobQueueName"] in twins}


def _submit(
    record: RunRecord, todo: Sequence[str], by_stage: Mapping[str, StageState], queues: Mapping[str, str], batch: Any
) -> dict[str, str]:
    """Submit ``todo`` in plan order, each as the run first did but on ``queues``; cancel all on a refusal."""
    # The run's jobs share one job definition and the submitter's CI context: read them off a replaced job.
    described = batch.describe_jobs(jobs=[by_stage[todo[0]].job_id])["jobs"]
    if not described:
        raise submit.SubmitError(f"Batch no longer describes job {by_stage[todo[0]].job_id}, so its request is lost")
    first = described[0]
    carried = {
        item["name"]: item["value"]
        for item in (first.get("container") or {}).get("environment", [])
        if item["name"] in CI_CONTEXT  # the submitter's, not this follower's
    }
    run = Run(
        run_id=record.run_id, project=record.project, namespace=record.namespace, commit=record.commit,
        user=record.user, queue=record.queue, image=record.image, job_role_arn="", execution_role_arn="",
        region=record.region, environment=carried,
    )  # fmt: skip
    ids: dict[str, str] = {}
    try:
        for name in todo:
            planned = record.plan(name)
            stage = plans.StagePlan(
                name, planned.upstream, BatchSettings(**planned.resources), planned.per_namespace, planned.environment
            )
            after = [ids.get(up) or by_stage[up].job_id for up in planned.upstream if up in ids or up in by_stage]
            request = submit_request(run, stage, first["jobDefinition"], after)
            ids[name] = str(batch.submit_job(**{**request, "jobQueue": queues[name]})["jobId"])
    except ClientError:
        submit.cancel(ids.values(), batch, f"spiral: moving run {record.run_id} to on-demand failed")
        raise
    return ids


def _winners(
    store: Store, record: RunRecord, attempt: int, claim_wait: float, poll: float, echo: Callable[[str], None]
) -> RunRecord:
    """Another follower claimed ``attempt``: the record once it has recorded its jobs."""
    started = time.monotonic()
    while True:
        found = records.load(store, record.namespace, record.run_id)
        if found.attempt >= attempt:
            echo(f"{record.run_id}: attempt {attempt} was made by another follower; following its jobs")
            return found
        if time.monotonic() - started >= claim_wait:
            claim = records.load_claim(store, record, attempt) or {}
            raise RecordError(
                f"attempt {attempt} of run {record.run_id} was claimed by {claim.get('by', '?')} at "
                f"{claim.get('at', '?')} and has no jobs record after {claim_wait:.0f} s: that follower stopped "
                "while submitting. Run the pipeline again: stages this run finished are reused"
            )
        time.sleep(poll)
