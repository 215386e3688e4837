"""`spiral run --on batch` against moto: the right jobs, and nothing submitted when input is bad."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from batch_fixtures import make_pipeline, push_image
from botocore.exceptions import ClientError
from conftest import running_moto
from helpers import render
from test_infra import deploy_stack

from spiralkit import aws, cli, config
from spiralkit.batch import plan as plans
from spiralkit.batch import progress
from spiralkit.batch import run as runs
from spiralkit.batch.submit import SubmitError
from spiralkit.errors import AwsConfigError, NamespaceError

NAMESPACE = "user.tester"


@pytest.fixture(scope="module")
def stack_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = render(tmp_path_factory.mktemp("stack") / "toy", {"s3_bucket": "toy-data"}, skip_tasks=True)
    return project / "infra" / "stack.yaml"


@pytest.fixture
def toy(tmp_path: Path, stack_file: Path, aws_env: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The toy pipeline, committed, with its stack on moto and its commit's image in ECR."""
    root = tmp_path / "toy"
    (root / "infra").mkdir(parents=True)
    shutil.copy(stack_file, root / "infra" / "stack.yaml")
    make_pipeline(root)
    deploy_stack(root, EnableGpu="true")  # the fit stages ask for a GPU
    push_image(root)
    monkeypatch.chdir(root)
    monkeypatch.setenv("SPIRAL_USER", "tester")
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    return root


@pytest.fixture
def requests_sent(toy: Path) -> Iterator[list[dict[str, Any]]]:
    """Every SubmitJob request as boto3 sends it (moto does not keep retryStrategy)."""
    sent: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        sent.append(params)

    events = aws.session("us-east-1").events
    events.register("provide-client-params.batch.SubmitJob", record)
    yield sent
    events.unregister("provide-client-params.batch.SubmitJob", record)


def jobs_in_queue() -> list[dict[str, Any]]:
    """Every job in the toy's queues, whatever its state."""
    batch = aws.client("batch")
    statuses = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")
    return [
        job
        for queue in ("toy-queue", "toy-queue-gpu")
        for status in statuses
        for job in batch.list_jobs(jobQueue=queue, jobStatus=status)["jobSummaryList"]
    ]


def submit(targets: list[str] | None = None, namespace: str = NAMESPACE) -> Any:
    project = config.load()
    return runs.launch(runs.prepare(project, targets or [], namespace), project, echo=lambda _: None)


def test_one_job_per_stage_with_dvcs_edges(toy: Path, requests_sent: list[dict[str, Any]]) -> None:
    record = submit()
    plan = plans.from_dvc(toy, [], runs.defaults(config.load()))
    assert list(record.jobs) == plan.names()
    stage_of = {job_id: stage for stage, job_id in record.jobs.items()}
    described = aws.client("batch").describe_jobs(jobs=list(record.jobs.values()))["jobs"]
    edges = {(stage_of[job["jobId"]], stage_of[dep["jobId"]]) for job in described for dep in job["dependsOn"]}
    assert edges == {(stage.name, up) for stage in plan.stages for up in stage.upstream}
    assert len(requests_sent) == len(plan.stages)


def test_resources_retries_timeout_and_tags_come_from_meta_batch_and_defaults(
    toy: Path, requests_sent: list[dict[str, Any]]
) -> None:
    record = submit()
    sent = {request["tags"]["spiral:stage"]: request for request in requests_sent}
    fit, prepare = sent["fit@large"], sent["prepare"]
    assert fit["containerOverrides"]["resourceRequirements"] == [
        {"type": "VCPU", "value": "4"},
        {"type": "MEMORY", "value": "8192"},
        {"type": "GPU", "value": "1"},
    ]
    assert fit["timeout"] == {"attemptDurationSeconds": 7200}
    assert fit["retryStrategy"]["attempts"] == 4
    assert prepare["retryStrategy"]["attempts"] == 3  # [tool.spiral.batch] retries = 2
    assert prepare["timeout"] == {"attemptDurationSeconds": 1800}
    assert prepare["containerOverrides"]["resourceRequirements"][:2] == [
        {"type": "VCPU", "value": "1"},
        {"type": "MEMORY", "value": "2048"},
    ]
    rules = fit["retryStrategy"]["evaluateOnExit"]
    assert rules[0] == {"onStatusReason": "Host EC2*", "action": "RETRY"}
    assert rules[-1] == {"onReason": "*", "action": "EXIT"}  # the stage's own failure: no retry
    assert fit["containerOverrides"]["command"] == [
        "spiral",
        "job",
        "fit@large",
        "--namespace",
        NAMESPACE,
        "--run",
        record.run_id,
    ]
    assert fit["jobName"] == "user-tester-fit-large"
    assert fit["jobQueue"] == "toy-queue-gpu"
    assert prepare["jobQueue"] == "toy-queue"
    described = aws.client("batch").describe_jobs(jobs=[record.jobs["fit@large"]])["jobs"][0]
    assert described["timeout"] == {"attemptDurationSeconds": 7200}
    assert described["tags"] == {
        "spiral:project": "toy",
        "spiral:namespace": NAMESPACE,
        "spiral:stage": "fit@large",
        "spiral:commit": record.commit,
        "spiral:user": "moto",  # the caller's AWS identity, not SPIRAL_USER
        "spiral:run": record.run_id,
    }


def test_jobs_use_the_commits_image_and_the_namespaces_role(toy: Path) -> None:
    record = submit(["prepare"])
    batch = aws.client("batch")
    job = batch.describe_jobs(jobs=[record.jobs["prepare"]])["jobs"][0]
    definition = batch.describe_job_definitions(jobDefinitions=[job["jobDefinition"]])
    container = definition["jobDefinitions"][0]["containerProperties"]
    digest = aws.client("ecr").describe_images(repositoryName="toy", imageIds=[{"imageTag": record.commit}])
    # By digest, never by a tag that could be moved between submission and the job's start.
    assert container["image"] == (
        f"123456789012.dkr.ecr.us-east-1.amazonaws.com/toy@{digest['imageDetails'][0]['imageDigest']}"
    )
    assert container["jobRoleArn"] == "arn:aws:iam::123456789012:role/toy-batch-job"
    assert definition["jobDefinitions"][0]["jobDefinitionName"] == "toy-dev"  # prod has toy-prod, its own
    assert {"name": "SPIRAL_COMMIT", "value": record.commit} in container["environment"]


def test_wait_follows_the_run_to_the_end(toy: Path) -> None:
    record = submit()
    lines: list[str] = []
    states = progress.wait(record, lines.append, poll=0.5)
    assert {state.state for state in states} == {"succeeded"}
    assert lines[-1].endswith("0 pending, 0 running, 6 succeeded, 0 failed")


@pytest.fixture(scope="module")
def failing_moto() -> Iterator[str]:
    """A second moto server whose Batch fails every job (moto's switch for it is process-wide)."""
    with running_moto({"MOTO_SIMPLE_BATCH_FAIL_AFTER": "0"}) as url:
        requests.post(f"{url}/moto-api/config", json={"batch": {"use_docker": False}}, timeout=10)
        yield url


def test_a_failed_stage_is_named_with_its_log_and_fails_the_command(
    toy: Path,
    failing_moto: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", failing_moto)
    aws.session.cache_clear()
    deploy_stack(toy)
    push_image(toy)
    assert cli.main(["run", "--on", "batch", "prepare", "--wait"]) == 7
    out, err = capsys.readouterr()
    assert "prepare" in out
    assert "1 failed" in out
    assert "stage 'prepare' failed" in err
    assert "/aws/batch/job toy-dev/default/" in err
    assert "the whole log: spiral logs prepare" in err


def test_stages_failed_by_an_upstream_are_not_blamed() -> None:
    described = [
        {"status": "FAILED", "statusReason": "Essential container in task exited",
         "container": {"exitCode": 1, "logStreamName": "toy-runtime/default/abc"}},
        {"status": "FAILED", "statusReason": "Dependent Job failed"},
        {"status": "RUNNING"},
        {"status": "RUNNABLE"},
    ]  # fmt: skip
    states = [progress._state(f"s{i}", f"id{i}", job) for i, job in enumerate(described)]
    assert [state.state for state in states] == ["failed", "failed", "running", "pending"]
    assert [state.stage for state in progress.failures(states)] == ["s0"]
    assert progress.summary(states) == "1 pending, 1 running, 0 succeeded, 2 failed"


@pytest.mark.parametrize(
    ("argv", "message", "code"),
    [
        (["nope"], "nope", 2),
        (
            ["--namespace", "prod"],
            "only CI on the production branch ('main') may write the 'prod'",
            3,
        ),
        (["--namespace", "staging"], "namespace 'staging' is not valid", 3),
    ],
    ids=["unknown-stage", "prod-from-a-laptop", "bad-namespace"],
)
def test_bad_input_is_refused_before_anything_is_submitted(
    toy: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str, code: int
) -> None:
    assert cli.main(["run", "--on", "batch", *argv]) == code
    assert message in capsys.readouterr().err
    assert jobs_in_queue() == []


def test_malformed_meta_batch_is_refused_before_anything_is_submitted(
    toy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dvc_yaml = toy / "dvc.yaml"
    dvc_yaml.write_text(dvc_yaml.read_text().replace("memory: 8192", "memory: -8192"))
    subprocess.run(["git", "commit", "-qam", "negative memory"], check=True)
    assert cli.main(["run", "--on", "batch"]) == 2
    assert "stage 'fit@small' meta.batch: memory must be at least 4 and at most" in capsys.readouterr().err
    assert jobs_in_queue() == []


def test_no_aws_configuration_is_refused(
    toy: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    aws.session.cache_clear()
    with pytest.raises(AwsConfigError, match="no AWS credentials found"):
        runs.prepare(config.load(), [], NAMESPACE)


def test_prod_is_allowed_only_in_ci_on_the_production_branch(toy: Path) -> None:
    project = config.load()
    with pytest.raises(NamespaceError):
        runs.prepare(project, [], "prod", {"GITHUB_ACTIONS": "true", "GITHUB_REF_NAME": "feature"})
    prepared = runs.prepare(project, [], "prod", {"GITHUB_ACTIONS": "true", "GITHUB_REF_NAME": "main"})
    assert prepared.run.job_role_arn.endswith(":role/toy-batch-job-prod")
    assert prepared.run.environment == {"GITHUB_ACTIONS": "true", "GITHUB_REF_NAME": "main"}


def test_a_gpu_stage_without_a_gpu_queue_is_refused(toy: Path) -> None:
    aws.client("batch").update_job_queue(jobQueue="toy-queue-gpu", state="DISABLED")
    aws.client("batch").delete_job_queue(jobQueue="toy-queue-gpu")
    with pytest.raises(runs.PreflightError, match=r"no job queue toy-queue-gpu .*EnableGpu=true"):
        runs.prepare(config.load(), [], NAMESPACE)
    runs.prepare(config.load(), ["prepare"], NAMESPACE)  # a CPU-only part of the pipeline still runs


def test_a_gpu_stage_on_a_cpu_queue_or_more_vcpus_than_the_queue_has_are_refused(toy: Path) -> None:
    """Batch would accept either job and leave it RUNNABLE for ever."""
    dvc_yaml = (toy / "dvc.yaml").read_text()
    (toy / "dvc.yaml").write_text(dvc_yaml.replace("gpus: 1, retries: 3", "gpus: 1, queue: toy-queue, retries: 3"))
    subprocess.run(["git", "commit", "-qam", "fit on the CPU queue"], check=True)
    push_image(toy)
    with pytest.raises(runs.PreflightError, match=r"'fit@small' asks for 1 GPU\(s\) but queue toy-queue runs only"):
        runs.prepare(config.load(), [], NAMESPACE)
    (toy / "dvc.yaml").write_text(dvc_yaml.replace("vcpus: 4, memory: 8192", "vcpus: 128, memory: 8192"))
    subprocess.run(["git", "commit", "-qam", "too many vcpus"], check=True)
    push_image(toy)
    with pytest.raises(runs.PreflightError, match=r"asks for 128 vCPUs; queue toy-queue-gpu never starts more than 64"):
        runs.prepare(config.load(), [], NAMESPACE)
    assert jobs_in_queue() == []


def test_access_denied_on_the_job_definition_is_one_message_and_submits_nothing(toy: Path) -> None:
    def deny(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}, "Register")

    events = aws.session("us-east-1").events
    events.register("before-call.batch.RegisterJobDefinition", deny)
    try:
        with pytest.raises(SubmitError, match=r"AccessDeniedException: not allowed\); nothing was submitted"):
            submit()
    finally:
        events.unregister("before-call.batch.RegisterJobDefinition", deny)
    assert jobs_in_queue() == []


def test_uncommitted_changes_and_a_missing_image_are_refused(toy: Path) -> None:
    (toy / "params.yaml").write_text("prepare:\n  size: 11\n")
    with pytest.raises(runs.PreflightError, match="uncommitted changes"):
        runs.prepare(config.load(), [], NAMESPACE)
    subprocess.run(["git", "commit", "-qam", "bigger"], check=True)
    with pytest.raises(runs.PreflightError, match=r"no image toy:[0-9a-f]{12} in ECR"):
        runs.prepare(config.load(), [], NAMESPACE)
    assert jobs_in_queue() == []


def test_a_failure_half_way_cancels_the_jobs_already_submitted(toy: Path) -> None:
    terminated: list[str] = []

    def refuse_report(params: dict[str, Any], **_: Any) -> None:
        if params["jobName"].endswith("-report"):
            raise RuntimeError("throttled")

    def record_termination(params: dict[str, Any], **_: Any) -> None:
        terminated.append(params["jobId"])

    events = aws.session("us-east-1").events
    events.register("provide-client-params.batch.SubmitJob", refuse_report)
    events.register("provide-client-params.batch.TerminateJob", record_termination)
    try:
        with pytest.raises(SubmitError) as caught:
            submit()
    finally:
        events.unregister("provide-client-params.batch.SubmitJob", refuse_report)
        events.unregister("provide-client-params.batch.TerminateJob", record_termination)
    message = str(caught.value)
    assert message.startswith("submitting stage 'report' failed: throttled; cancelled the 5 job(s)")
    # moto's Batch finishes jobs as they are submitted, so what is checked is that each was stopped.
    assert sorted(terminated) == sorted(job["jobId"] for job in jobs_in_queue())
    assert len(terminated) == 5


def test_status_and_logs_find_a_run_from_a_checkout_that_did_not_submit_it(
    toy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    older = submit(["prepare"])
    record = submit()
    shutil.rmtree(toy / ".spiral")  # a fresh clone, or the next CI job
    assert cli.main(["status", "--namespace", NAMESPACE]) == 0
    out = capsys.readouterr().out
    header = f"{record.run_id} ({NAMESPACE}, batch, {record.commit[:8]}, moto from laptop)"  # moto's caller
    assert f"{header}: 0 pending, 0 running, 6 succeeded" in out
    assert cli.main(["status", older.run_id, "--namespace", NAMESPACE]) == 0
    assert "1 succeeded" in capsys.readouterr().out

    job = aws.client("batch").describe_jobs(jobs=[record.jobs["report"]])["jobs"][0]
    stream = job["container"]["logStreamName"]
    logs = aws.client("logs")  # what the awslogs driver writes for a real container
    logs.create_log_group(logGroupName=progress.LOG_GROUP)
    logs.create_log_stream(logGroupName=progress.LOG_GROUP, logStreamName=stream)
    event = {"timestamp": int(time.time() * 1000), "message": "Running stage 'report'"}
    logs.put_log_events(logGroupName=progress.LOG_GROUP, logStreamName=stream, logEvents=[event])
    assert cli.main(["logs", "report", "--namespace", NAMESPACE]) == 0
    assert capsys.readouterr().out == "Running stage 'report'\n"
    assert cli.main(["status", "20000101T000000Z-none", "--namespace", NAMESPACE]) == 10
    assert "no run '20000101T000000Z-none' in user.tester" in capsys.readouterr().err
