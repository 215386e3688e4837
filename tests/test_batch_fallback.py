"""When Spot has no capacity the work moves to on-demand: which stages, once, on the record.

The planning and the claim run on a local record store with a stub of Batch (fast); one test on moto
follows a submitted run whose job Batch cancelled for capacity (batch_fixtures.spot_without_capacity).
"""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from batch_fixtures import spot_without_capacity
from botocore.exceptions import ClientError
from test_batch_submit import NAMESPACE, stack_file, toy  # noqa: F401  (fixtures)
from test_runs_e2e import git, last_run, play, project, recorded_lock, run, source, submit  # noqa: F401  (fixtures)

from spiralkit import aws, cli, config
from spiralkit.batch import fallback, progress
from spiralkit.batch import run as runs
from spiralkit.batch.fallback import REASON, FallbackError
from spiralkit.batch.progress import StageState
from spiralkit.cost import run_cost
from spiralkit.cost.prices import Prices
from spiralkit.runs import record as records
from spiralkit.runs.record import RunRecord, StagePlan
from spiralkit.runs.store import Store

CAPACITY = "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY"
DEPENDENT = "Dependent Job failed"
DEFINITION = "arn:aws:batch:us-east-1:123456789012:job-definition/p-dev:3"
# ingest -> features -> train -> evaluate -> publish, and ingest -> audit -> publish
STAGES = (
    StagePlan("ingest", resources={"vcpus": 1, "memory": 2048}),
    StagePlan("features", ("ingest",), resources={"vcpus": 2, "memory": 4096}),
    StagePlan("audit", ("ingest",)),
    StagePlan("train", ("features",), resources={"vcpus": 4, "memory": 8192, "timeout": 7200}),
    StagePlan("evaluate", ("train",)),
    StagePlan("publish", ("audit", "evaluate")),
)
RECORD = RunRecord(
    run_id="r1", namespace="test.feature", project="p", commit="abc123", on="batch", user="ana", origin="ci",
    host="h", started="", environment="", pipeline="", params={}, overrides={}, forced=(), stages=STAGES,
    region="us-east-1", queue="q", image="img@sha256:0",
    jobs={stage.name: f"old-{stage.name}" for stage in STAGES},
)  # fmt: skip


def states(**given: tuple[str, str] | str) -> list[StageState]:
    """Every stage succeeded on queue q, but those ``given`` as a state or a (state, reason)."""
    found = []
    for stage in STAGES:
        state, reason = given.get(stage.name, "succeeded"), ""
        if isinstance(state, tuple):
            state, reason = state
        found.append(StageState(stage.name, f"old-{stage.name}", state, reason, queue="q"))
    return found


TRAIN_CANCELLED = states(train=("failed", CAPACITY), evaluate=("failed", DEPENDENT), publish=("failed", DEPENDENT))


def test_the_cancelled_stage_moves_with_every_stage_batch_failed_because_of_it() -> None:
    assert fallback.plan(RECORD, TRAIN_CANCELLED, set(), {"q"}) == ["train", "evaluate", "publish"]
    # Batch has not failed the dependents yet: they still wait on the cancelled job, and will.
    early = states(train=("failed", CAPACITY), evaluate="pending", publish="pending")
    assert fallback.plan(RECORD, early, set(), {"q"}) == ["train", "evaluate", "publish"]
    # Two cancelled at once, in separate branches.
    both = states(
        features=("failed", CAPACITY), audit=("failed", CAPACITY), train=("failed", DEPENDENT),
        evaluate=("failed", DEPENDENT), publish=("failed", DEPENDENT),
    )  # fmt: skip
    assert fallback.plan(RECORD, both, set(), {"q"}) == ["features", "audit", "train", "evaluate", "publish"]


def test_a_recorded_stage_or_one_after_a_stage_that_failed_by_itself_is_never_moved() -> None:
    assert fallback.plan(RECORD, TRAIN_CANCELLED, {"evaluate"}, {"q"}) == ["train"]
    # publish also waits on audit, whose own code failed: running publish again would fail again
    audit_failed = states(
        audit=("failed", "Essential container in task exited"), train=("failed", CAPACITY),
        evaluate=("failed", DEPENDENT), publish=("failed", DEPENDENT),
    )  # fmt: skip
    assert fallback.plan(RECORD, audit_failed, set(), {"q"}) == ["train", "evaluate"]
    # a stage reused at planning has no job: its downstream waits on nothing of it
    reused = [state for state in TRAIN_CANCELLED if state.stage != "ingest"]
    assert fallback.plan(RECORD, reused, {"ingest"}, {"q"}) == ["train", "evaluate", "publish"]


def test_a_queue_without_a_twin_or_an_on_demand_queue_is_not_moved(tmp_path: Path) -> None:
    assert fallback.plan(RECORD, TRAIN_CANCELLED, set(), set()) == []
    assert fallback.twin("q-on-demand") is None
    store = saved(tmp_path)
    gpu = [StageState(s.stage, s.job_id, s.state, s.reason, queue="q-gpu") for s in TRAIN_CANCELLED]
    batch = StubBatch()
    assert fallback.resubmit(RECORD, gpu, store, batch) is RECORD
    assert batch.submitted == []
    [train] = [progress.explain(s) for s in progress.wait(RECORD, lambda _: None, 0.01, Described(gpu), store=store)
               if s.stage == "train"]  # fmt: skip
    assert "queue q-gpu has no on-demand twin q-gpu-on-demand to move it to" in train
    on_demand = StageState("train", "j", "failed", CAPACITY, queue="q-on-demand", fallback="not moved")
    assert "it waited on on-demand queue q-on-demand: AWS had no capacity" in progress.explain(on_demand)


class StubBatch:
    """The Batch calls a fallback makes; SubmitJob slowly, so two followers at once really overlap."""

    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse
        self.submitted: list[dict[str, Any]] = []
        self.terminated: list[str] = []
        self.lock = threading.Lock()

    def describe_job_queues(self, jobQueues: list[str]) -> dict[str, Any]:
        return {"jobQueues": [{"jobQueueName": name} for name in jobQueues if name == "q-on-demand"]}

    def describe_jobs(self, jobs: list[str]) -> dict[str, Any]:
        env = [{"name": "AWS_DEFAULT_REGION", "value": "us-east-1"}, {"name": "GITHUB_REF_NAME", "value": "feature"}]
        return {
            "jobs": [{"jobId": job, "jobDefinition": DEFINITION, "container": {"environment": env}} for job in jobs]
        }

    def submit_job(self, **request: Any) -> dict[str, str]:
        time.sleep(0.05)
        if self.refuse and self.submitted:
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}, "SubmitJob")
        with self.lock:
            self.submitted.append(request)
            return {"jobId": f"new-{request['jobName']}-{len(self.submitted)}"}

    def terminate_job(self, jobId: str, reason: str) -> None:
        self.terminated.append(jobId)


class Described:
    """DescribeJobs answering with ``states`` (the jobs of RECORD), for progress.wait."""

    def __init__(self, states: list[StageState]) -> None:
        self.states = {state.job_id: state for state in states}

    def describe_jobs(self, jobs: list[str]) -> dict[str, Any]:
        status = {"failed": "FAILED", "succeeded": "SUCCEEDED", "pending": "RUNNABLE"}
        queues = "arn:aws:batch:us-east-1:123456789012:job-queue"
        return {
            "jobs": [
                {"jobId": job, "status": status[state.state], "statusReason": state.reason,
                 "jobQueue": f"{queues}/{state.queue}"}
                for job, state in ((job, self.states[job]) for job in jobs)
            ]
        }  # fmt: skip

    def describe_job_queues(self, jobQueues: list[str]) -> dict[str, Any]:
        return {"jobQueues": []}


def saved(tmp_path: Path) -> Store:
    store = Store(str(tmp_path / "records"))
    records.save(store, RECORD)
    records.save_jobs(store, RECORD, RECORD.jobs)
    return store


def test_two_followers_at_once_submit_once_and_both_follow_the_new_jobs(tmp_path: Path) -> None:
    store, batch = saved(tmp_path), StubBatch()
    results: list[RunRecord] = []
    said: list[str] = []
    start = threading.Barrier(2)

    def follow() -> None:
        start.wait()  # both planned from the same states: neither has seen the other's attempt
        results.append(fallback.resubmit(RECORD, TRAIN_CANCELLED, store, batch, said.append, poll=0.01))

    followers = [threading.Thread(target=follow) for _ in range(2)]
    for thread in followers:
        thread.start()
    for thread in followers:
        thread.join()

    assert [request["jobName"] for request in batch.submitted] == ["test-feature-train", "test-feature-evaluate",
                                                                   "test-feature-publish"]  # fmt: skip
    assert "r1: attempt 2 was made by another follower; following its jobs" in said  # the loser read the winner's
    new = {name: f"new-test-feature-{name}-{n}" for n, name in enumerate(["train", "evaluate", "publish"], 1)}
    assert [dict(found.jobs) for found in results] == [{**RECORD.jobs, **new}] * 2
    train, evaluate, publish = batch.submitted
    assert {request["jobQueue"] for request in batch.submitted} == {"q-on-demand"}
    assert train["dependsOn"] == [{"jobId": "old-features"}]  # the live (succeeded) job it waited on
    assert evaluate["dependsOn"] == [{"jobId": new["train"]}]
    assert publish["dependsOn"] == [{"jobId": "old-audit"}, {"jobId": new["evaluate"]}]
    assert train["jobDefinition"] == DEFINITION
    assert train["containerOverrides"]["command"] == ["spiral", "job", "train", "--namespace", "test.feature",
                                                      "--run", "r1"]  # fmt: skip
    assert {"type": "VCPU", "value": "4"} in train["containerOverrides"]["resourceRequirements"]
    assert train["timeout"] == {"attemptDurationSeconds": 7200}
    assert train["containerOverrides"]["environment"] == [{"name": "GITHUB_REF_NAME", "value": "feature"}]
    assert train["tags"]["spiral:namespace"] == "test.feature"

    again = records.load(store, "test.feature", "r1")
    assert again.attempt == 2
    assert again.fallbacks["train"] == {"attempt": 2, "queue": "q-on-demand", "replaced": "old-train", "reason": REASON}
    assert store.read("runs/test.feature/r1/claim-2.json") is not None
    notes = {s.stage: s.fallback for s in progress.describe(again, Described(
        [StageState(n, j, "pending", queue="q-on-demand") for n, j in again.jobs.items()]))}  # fmt: skip
    assert notes["train"] == f"{REASON} (attempt 2)"
    assert notes["ingest"] == ""


def test_a_refused_submission_is_recorded_cancelled_and_a_later_follower_may_try_again(tmp_path: Path) -> None:
    store, batch = saved(tmp_path), StubBatch(refuse=True)
    with pytest.raises(FallbackError, match="moving train, evaluate, publish of run r1 to on-demand failed") as raised:
        fallback.resubmit(RECORD, TRAIN_CANCELLED, store, batch, lambda _: None)
    assert raised.value.exit_code == 5
    assert batch.terminated == ["new-test-feature-train-1"]  # no half move left running
    failed = records.load(store, "test.feature", "r1")
    assert failed.attempt == 2
    assert dict(failed.jobs) == dict(RECORD.jobs)
    moved = fallback.resubmit(failed, TRAIN_CANCELLED, store, StubBatch(), lambda _: None)
    assert moved.attempt == 3
    assert moved.fallbacks["train"]["attempt"] == 3


class ReadOnly(Store):
    """A store this follower may read but not write: a person following a branch's run."""

    def create(self, key: str, body: bytes) -> None:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "PutObject")


def test_a_follower_that_may_not_write_the_runs_records_submits_nothing_and_says_who_may(tmp_path: Path) -> None:
    saved(tmp_path)
    batch = StubBatch()
    with pytest.raises(FallbackError, match=r"refused \(AccessDenied\): only who may write test.feature's runs"):
        fallback.resubmit(RECORD, TRAIN_CANCELLED, ReadOnly(str(tmp_path / "records")), batch, lambda _: None)
    assert batch.submitted == []


def test_the_cost_of_a_stage_that_fell_back_is_its_new_job_on_demand(tmp_path: Path) -> None:
    store = saved(tmp_path)
    moved = fallback.resubmit(RECORD, TRAIN_CANCELLED, store, StubBatch(), lambda _: None)
    hour = {"attempts": [{"startedAt": 0, "stoppedAt": 3_600_000}]}
    found = run_cost(moved, lambda ids: [{"jobId": job_id, **hour} for job_id in ids], Prices())
    prices = Prices()
    assert found["stages"]["train"]["usd"] == pytest.approx(prices.hourly(4, 8192, 0, spot=False), abs=1e-5)
    assert found["stages"]["features"]["usd"] == pytest.approx(prices.hourly(2, 4096, 0, spot=True), abs=1e-5)
    assert found["prices"] == f"Spot; on-demand for evaluate, publish, train ({REASON})"


def test_a_followed_run_moves_to_on_demand_on_moto_and_a_gpu_stage_without_twin_fails_clearly(
    toy: Path,  # noqa: F811 (the fixture)
    capsys: pytest.CaptureFixture[str],
) -> None:
    """prepare (Spot queue) is cancelled for capacity: it and its CPU dependents move to toy-queue-on-demand,
    the GPU stages after it go back to toy-queue-gpu; a second follower submits nothing."""
    settings = config.load()
    record = runs.launch(runs.prepare(settings, [], NAMESPACE), settings, echo=lambda _: None)
    store, batch = records.store_for(settings), aws.client("batch")
    submitted: list[dict[str, Any]] = []

    def count(params: dict[str, Any], **_: Any) -> None:
        submitted.append(params)

    events = aws.session("us-east-1").events
    events.register("provide-client-params.batch.SubmitJob", count)
    lines: list[str] = []
    with spot_without_capacity() as cancel, contextlib.ExitStack() as cleanup:
        cleanup.callback(events.unregister, "provide-client-params.batch.SubmitJob", count)
        cancel(record.jobs["prepare"])
        states = progress.wait(record, lines.append, poll=0.1, store=store, deadline=60)
        assert {state.state for state in states} == {"succeeded"}, lines
        moved = records.load(store, NAMESPACE, record.run_id)
        assert moved.attempt == 2
        assert sorted(moved.fallbacks) == sorted(record.jobs)  # everything is downstream of prepare
        assert store.read(f"runs/{NAMESPACE}/{record.run_id}/claim-2.json") is not None
        described = {job["jobId"]: job for job in batch.describe_jobs(jobs=list(moved.jobs.values()))["jobs"]}
        queue = {stage: described[job_id]["jobQueue"].rsplit("/", 1)[-1] for stage, job_id in moved.jobs.items()}
        assert queue == {"prepare": "toy-queue-on-demand", "fit@small": "toy-queue-gpu", "fit@large": "toy-queue-gpu",
                         "score@small-test": "toy-queue-on-demand", "score@large-test": "toy-queue-on-demand",
                         "report": "toy-queue-on-demand"}  # fmt: skip
        stage_of = {job_id: stage for stage, job_id in moved.jobs.items()}
        edges = {(stage_of[job_id], stage_of[dep["jobId"]]) for job_id, job in described.items()
                 for dep in job["dependsOn"]}  # fmt: skip
        assert edges == {(stage.name, up) for stage in moved.stages for up in stage.upstream}  # new ids only
        assert len(submitted) == len(record.jobs)
        assert any(f"prepare{' ' * 25} {REASON}: attempt 2 on toy-queue-on-demand" in line for line in lines), lines

        # A second follower (the same run followed from CI) finds the attempt recorded: nothing to submit.
        progress.wait(records.load(store, NAMESPACE, record.run_id), lambda _: None, poll=0.1, store=store)
        assert len(submitted) == len(record.jobs)
        assert cli.main(["status", record.run_id, "--namespace", NAMESPACE]) == 0
        shown = capsys.readouterr().out
        assert f"{moved.jobs['prepare']} {REASON} (attempt 2)" in shown

        # On the GPU queue, which has no on-demand twin, a capacity cancel is a clear failure.
        cancel(moved.jobs["fit@small"])
        assert cli.main(["status", record.run_id, "--namespace", NAMESPACE, "--wait"]) == 7
        err = capsys.readouterr().err
        assert "stage 'fit@small' failed: CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY" in err
        assert "queue toy-queue-gpu has no on-demand twin toy-queue-gpu-on-demand" in err
        assert len(submitted) == len(record.jobs)


@pytest.mark.slow
def test_a_run_spot_had_no_capacity_for_completes_on_demand_with_the_lock_of_a_plain_run(
    project: Path,  # noqa: F811 (the fixture)
    default_project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The generated project on moto: train is cancelled for capacity; `spiral status --wait` moves train,
    evaluate and publish; the newest jobs' commands, run as Batch hosts would, complete the run with the
    dvc.lock a laptop's `dvc repro` writes (what a run without the fallback records, test_runs_e2e)."""
    venv = default_project / ".venv"
    _, first = submit(project, venv, "--namespace", "test.spot")
    namespace, run_id = last_run(project)
    monkeypatch.chdir(project)
    settings = config.load()
    store = records.store_for(settings)
    submitted: list[str] = []

    def count(params: dict[str, Any], **_: Any) -> None:
        submitted.append(params["jobQueue"])

    events = aws.session(settings.region).events
    events.register("provide-client-params.batch.SubmitJob", count)
    with spot_without_capacity(settings.region) as cancel, contextlib.ExitStack() as cleanup:
        cleanup.callback(events.unregister, "provide-client-params.batch.SubmitJob", count)
        cancel(first["train"])
        follow = ["status", run_id, "--namespace", namespace, "--wait", "--wait-timeout", "120"]
        assert cli.main(follow) == 0
        assert submitted == [f"{settings.job_queue}-on-demand"] * 3
        assert cli.main(follow) == 0  # a second follower: the attempt is recorded, nothing to submit
        assert len(submitted) == 3

    moved = records.load(store, namespace, run_id)
    assert sorted(moved.fallbacks) == ["evaluate", "publish", "train"]
    assert {stage: fell["replaced"] for stage, fell in moved.fallbacks.items()} == {
        stage: first[stage] for stage in ("train", "evaluate", "publish")
    }
    assert store.read(f"runs/{namespace}/{run_id}/claim-2.json") is not None
    described = aws.client("batch").describe_jobs(jobs=list(moved.jobs.values()))["jobs"]
    stage_of = {job_id: stage for stage, job_id in moved.jobs.items()}
    edges = {(stage_of[job["jobId"]], stage_of[dep["jobId"]]) for job in described for dep in job["dependsOn"]}
    assert edges == {(stage.name, up) for stage in moved.stages for up in stage.upstream}  # newest jobs only

    play(project, [dict(moved.jobs)], venv, tmp_path / "hosts")  # each job's command, in dependency order
    local = tmp_path / "local"
    git(tmp_path, "clone", "-q", str(project), str(local))
    run(["dvc", "repro"], local, venv, {"SPIRAL_NAMESPACE": namespace})
    assert recorded_lock(namespace, run_id) == (local / "dvc.lock").read_text()
