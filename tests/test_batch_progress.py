"""Following a run: the deadline, a failed stage's last log lines, `spiral logs -f`, and no traceback
when CloudWatch has no log yet. CloudWatch Logs on moto; the Batch side is a stub of DescribeJobs."""

from __future__ import annotations

import time
from typing import Any

import pytest

from spiralkit import aws
from spiralkit.batch import progress
from spiralkit.errors import StageFailed
from spiralkit.runs.record import RunNotFound, RunRecord, StagePlan

RECORD = RunRecord(
    run_id="r1", namespace="user.ana", project="p", commit="abc123", on="batch", user="ana", origin="laptop",
    host="h", started="", environment="", pipeline="", params={}, overrides={}, forced=(),
    stages=(StagePlan("ingest"), StagePlan("train", ("ingest",))), region="us-east-1", queue="q",
    jobs={"ingest": "j1", "train": "j2"},
)  # fmt: skip


QUEUE_ARN = "arn:aws:batch:us-east-1:123456789012:job-queue"


class Batch:
    """DescribeJobs answers from a list of snapshots, one per call (the last one repeats)."""

    def __init__(self, *snapshots: dict[str, dict[str, Any]]) -> None:
        self.snapshots = list(snapshots)

    def describe_jobs(self, jobs: list[str]) -> dict[str, Any]:
        snapshot = self.snapshots.pop(0) if len(self.snapshots) > 1 else self.snapshots[0]
        return {"jobs": [{"jobId": job_id, **snapshot[job_id]} for job_id in jobs]}


def job(status: str, stream: str = "", timeout: int = 60, attempts: int = 2, reason: str = "") -> dict[str, Any]:
    return {"status": status, "statusReason": reason, "container": {"logStreamName": stream},
            "timeout": {"attemptDurationSeconds": timeout}, "retryStrategy": {"attempts": attempts}}  # fmt: skip


def test_the_default_deadline_adds_up_every_stages_timeout_times_attempts() -> None:
    states = progress.describe(RECORD, Batch({"j1": job("RUNNING", timeout=60), "j2": job("PENDING", timeout=600)}))
    assert progress.default_deadline(states) == 2 * 60 + 2 * 600
    no_timeout = progress.describe(RECORD, Batch({"j1": job("RUNNING", timeout=0), "j2": job("PENDING")}))
    assert progress.default_deadline(no_timeout) is None


def test_wait_stops_at_its_deadline_with_its_own_exit_code() -> None:
    running = {"j1": job("RUNNING"), "j2": job("PENDING")}
    lines: list[str] = []
    with pytest.raises(progress.StillRunning) as raised:
        progress.wait(RECORD, lines.append, poll=0.01, batch=Batch(running), deadline=0.05)
    assert raised.value.exit_code == 8
    assert "spiral status --wait r1" in str(raised.value)
    assert lines[-1] == "r1: 1 pending, 1 running, 0 succeeded, 0 failed"
    done = {"j1": job("SUCCEEDED"), "j2": job("SUCCEEDED")}
    states = progress.wait(RECORD, lines.append, poll=0.01, batch=Batch(running, done), deadline=5)
    assert [state.state for state in states] == ["succeeded", "succeeded"]


def _stub_describe(monkeypatch: pytest.MonkeyPatch, batch: Batch) -> None:
    original = progress.describe
    monkeypatch.setattr(progress, "describe", lambda record, client=None: original(record, batch))


def _log(stream: str, lines: list[str], create_group: bool = True) -> None:
    logs = aws.client("logs", "us-east-1")
    if create_group:
        logs.create_log_group(logGroupName=progress.LOG_GROUP)
    logs.create_log_stream(logGroupName=progress.LOG_GROUP, logStreamName=stream)
    now = int(time.time() * 1000)  # CloudWatch refuses events older than 14 days
    events = [{"timestamp": now + i, "message": line} for i, line in enumerate(lines)]
    logs.put_log_events(logGroupName=progress.LOG_GROUP, logStreamName=stream, logEvents=events)


def test_a_failure_shows_the_last_log_lines_and_the_command_for_the_rest(aws_env: str) -> None:
    _log("train/default/1", [f"line {i}" for i in range(50)] + ["ValueError: no rows"])
    (failed,) = progress.failures(
        progress.describe(
            RECORD, Batch({"j1": job("SUCCEEDED"), "j2": job("FAILED", "train/default/1", reason="exit 1")})
        )
    )
    text = progress.explain(failed, "us-east-1")
    lines = text.splitlines()
    assert lines[0].startswith("stage 'train' failed: exit 1; last 20 log lines")
    assert lines[-2] == "  | ValueError: no rows"
    assert lines[1] == "  | line 31"
    assert len(lines) == 1 + progress.TAIL + 1
    assert lines[-1] == "  the whole log: spiral logs train"


def test_no_log_group_yet_is_one_sentence(aws_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    batch = Batch({"j1": job("RUNNING", "ingest/default/9"), "j2": job("PENDING")})
    _stub_describe(monkeypatch, batch)
    with pytest.raises(RunNotFound, match="no log /aws/batch/job ingest/default/9 yet"):
        progress.log_lines(RECORD, "ingest")
    with pytest.raises(RunNotFound, match=r"has no log yet \(pending\).*spiral logs -f train"):
        progress.log_lines(RECORD, "train")


def test_follow_prints_lines_until_the_stage_ends(aws_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _log("ingest/default/2", ["reading", "450 rows"])
    batch = Batch({"j1": job("RUNNING", "ingest/default/2"), "j2": job("PENDING")},
                  {"j1": job("RUNNING", "ingest/default/2"), "j2": job("PENDING")},
                  {"j1": job("SUCCEEDED", "ingest/default/2"), "j2": job("PENDING")})  # fmt: skip
    _stub_describe(monkeypatch, batch)
    assert list(progress.follow(RECORD, "ingest", poll=0.01)) == ["reading", "450 rows"]


def test_a_stage_spot_had_no_capacity_for_says_how_a_follower_moves_it_on_demand() -> None:
    """The job queue cancels a job that waited SpotWaitSeconds in RUNNABLE with the reason the stack sets;
    AWS then reports it FAILED with that reason, and its downstream jobs as failed dependents. (moto
    without Docker reports a terminated job SUCCEEDED, so DescribeJobs is stubbed with AWS's answer.)"""
    cancelled = {
        "j1": {**job("FAILED", reason="CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY"), "jobQueue": f"{QUEUE_ARN}/q"},
        "j2": job("FAILED", reason="Dependent Job failed"),
    }
    states = progress.wait(RECORD, lambda _: None, poll=0.01, batch=Batch(cancelled), deadline=5)
    assert [state.stage for state in progress.failures(states)] == ["ingest"]
    with pytest.raises(StageFailed) as failed:
        progress.check(states, "us-east-1")
    message = str(failed.value)
    assert message.startswith("stage 'ingest' failed: CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY")
    assert "none of its code ran" in message
    assert "`spiral status --wait` moves it to q-on-demand" in message  # no store here: nothing moved it
    assert "train" not in message  # the dependent is not the one to act on
    exit_failed = progress.explain(progress.StageState("train", "j2", "failed", "Essential container exited"))
    assert "on-demand" not in exit_failed
