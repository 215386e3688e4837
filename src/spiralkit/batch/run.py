"""``spiral run --on batch``: check everything, then submit the plan and record the run.

Every check that can fail runs before the first job is submitted: the namespace, the pipeline and
its ``meta.batch`` settings, a clean commit, AWS credentials, the job queue and the commit's image.
"""

from __future__ import annotations

import getpass
import os
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from secrets import token_hex
from typing import Any

from botocore.exceptions import ClientError

from spiralkit import aws, namespace
from spiralkit.batch import jobs, record, runcache, submit
from spiralkit.batch import plan as plans
from spiralkit.batch.jobs import MAX_DEPENDS_ON, Run
from spiralkit.batch.settings import BatchSettings, parse
from spiralkit.config import ProjectConfig
from spiralkit.errors import ConfigError, SpiralError

# The submitter's CI context travels to the jobs, so stages that check the namespace (publish)
# accept `prod` there too. It is a guard against accidents: IAM is what enforces it, since only
# the production CI role may pass the prod job role.
CI_CONTEXT = ("GITHUB_ACTIONS", "GITHUB_REF_NAME", "GITHUB_HEAD_REF")


class PreflightError(SpiralError):
    """The run cannot start: nothing was submitted."""

    exit_code = 2


@dataclass(frozen=True)
class Prepared:
    """A checked run: the jobs to submit, and the stages the remote run-cache already has."""

    plan: plans.Plan
    run: Run
    cached: tuple[str, ...] = ()


def defaults(project: ProjectConfig) -> BatchSettings:
    return parse(project.section("batch"), BatchSettings(), "[tool.spiral.batch] in pyproject.toml")


def plan_for(project: ProjectConfig, targets: Sequence[str], force: Sequence[str] = ()) -> plans.Plan:
    """The checked plan of ``targets``: DVC's stages with their settings, within Batch's limits."""
    plan = plans.from_dvc(project.root, targets, defaults(project))
    if unknown := sorted(set(force) - set(plan.names())):
        raise PreflightError(
            f"--force {', '.join(unknown)}: not a stage of this run; its stages: " + ", ".join(plan.names())
        )
    for stage in plan.stages:
        if len(stage.upstream) > MAX_DEPENDS_ON:
            raise PreflightError(
                f"stage {stage.name!r} depends on {len(stage.upstream)} stages; AWS Batch allows "
                f"{MAX_DEPENDS_ON}: gather them through an intermediate stage"
            )
    return plan


def prepare(
    project: ProjectConfig,
    targets: Sequence[str],
    requested: str | None,
    env: Mapping[str, str] | None = None,
    force: Sequence[str] = (),
) -> Prepared:
    """Everything a submission needs, checked; raises before any job exists."""
    env = os.environ if env is None else env
    name = namespace.resolve(project, requested, env)
    plan = plan_for(project, targets, force)
    if not project.bucket or not project.job_queue or not project.ecr_repository:
        raise ConfigError(
            "running on Batch needs `bucket`, `job_queue` and `ecr_repository` in [tool.spiral]: "
            "set them to the outputs of `spiral infra deploy`"
        )
    commit = _clean_commit(project)
    account = aws.client("sts", project.region).get_caller_identity()["Account"]
    image = _check_image(project, account, commit)
    role = "batch-job-prod" if name == namespace.PROD else "batch-job"
    arn = f"arn:aws:iam::{account}:role/{project.project}"
    run = Run(
        run_id=f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{commit[:8]}-{token_hex(2)}",
        project=project.project,
        namespace=name,
        commit=commit,
        user=env.get("GITHUB_ACTOR") or env.get("SPIRAL_USER") or getpass.getuser(),
        queue=project.job_queue,
        image=image,
        job_role_arn=f"{arn}-{role}",
        execution_role_arn=f"{arn}-batch-execution",
        region=project.region,
        environment={key: env[key] for key in CI_CONTEXT if env.get(key)},
        forced=frozenset(force),
    )
    _check_queues(project, {jobs.queue(run, stage.settings) for stage in plan.stages})
    done = runcache.cached(project.root, plan, name, rerun=force)
    return Prepared(plan.without(done), run, tuple(done))


def launch(prepared: Prepared, project: ProjectConfig, echo: Callable[[str], None] = print) -> record.RunRecord:
    """Submit a prepared run and save its record."""
    run = prepared.run
    if prepared.cached:
        echo(f"in the run-cache already, not submitted: {', '.join(prepared.cached)}")
    ids: dict[str, str] = {}
    if prepared.plan.stages:
        batch = aws.client("batch", project.region)
        definition = submit.register_definition(run, batch)
        ids = submit.submit_plan(prepared.plan, run, definition, batch)
    result = record.RunRecord(run.run_id, run.namespace, run.commit, run.region, run.queue, ids)
    record.save(project.root, result)
    echo(f"run {run.run_id}: {len(ids)} job(s) in {run.namespace} on {run.queue} (image {run.image})")
    return result


def _clean_commit(project: ProjectConfig) -> str:
    """HEAD's commit, refusing uncommitted changes: the jobs run the image built from the commit."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=project.root, capture_output=True, text=True)
        if done.returncode:
            raise PreflightError(f"`git {' '.join(args)}` failed in {project.root}: {done.stderr.strip()}")
        return done.stdout.strip()

    if changed := git("status", "--porcelain", "--untracked-files=no"):
        raise PreflightError(
            "uncommitted changes (the jobs would run the committed code, not these): commit them "
            f"first, or try them with `spiral run --on local`:\n{changed}"
        )
    return git("rev-parse", "HEAD")


def _check_queues(project: ProjectConfig, names: set[str]) -> None:
    batch = aws.client("batch", project.region)
    found = {queue["jobQueueName"] for queue in batch.describe_job_queues(jobQueues=sorted(names))["jobQueues"]}
    if missing := sorted(names - found):
        raise PreflightError(
            f"no job queue {', '.join(missing)} in {project.region}: `spiral infra deploy` creates it "
            "(`--parameter EnableGpu=true` for the -gpu queue of stages asking for gpus)"
        )


def _check_image(project: ProjectConfig, account: str, commit: str) -> str:
    ecr: Any = aws.client("ecr", project.region)
    try:
        ecr.describe_images(repositoryName=project.ecr_repository, imageIds=[{"imageTag": commit}])
    except ClientError as error:
        raise PreflightError(
            f"no image {project.ecr_repository}:{commit[:12]} in ECR ({error.response['Error']['Code']}): "
            "push the commit: deploy.yml builds and pushes its image"
        ) from error
    return f"{account}.dkr.ecr.{project.region}.amazonaws.com/{project.ecr_repository}:{commit}"
