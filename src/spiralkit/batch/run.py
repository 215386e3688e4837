"""``spiral run --on batch``: check everything, then submit the plan and record the run.

Every check that can fail runs before the first job is submitted: the namespace, the pipeline and
its ``meta.batch`` settings, a clean commit, AWS credentials, the job queue and the commit's image.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from botocore.exceptions import ClientError

from spiralkit import aws, cost, namespace
from spiralkit.batch import jobs, submit
from spiralkit.batch import plan as plans
from spiralkit.batch.jobs import CI_CONTEXT, MAX_DEPENDS_ON, Run
from spiralkit.batch.settings import BatchSettings, parse
from spiralkit.config import ProjectConfig
from spiralkit.errors import ConfigError, UsageError
from spiralkit.runs import begin, environment, last_run
from spiralkit.runs import record as records
from spiralkit.runs.record import RunRecord

_GPU_TYPE = re.compile(r"^(g\d|p\d)")  # EC2's GPU instance families (g4dn, g5, p3, p4d, ...)


class PreflightError(UsageError):
    """The run cannot start: nothing was submitted."""


@dataclass(frozen=True)
class Prepared:
    """A checked run: its record (with the stages an earlier run made), and the jobs to submit."""

    plan: plans.Plan
    run: Run
    record: RunRecord

    @property
    def reused(self) -> tuple[str, ...]:
        return tuple(self.record.reused)


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
    overrides: Mapping[str, Any] | None = None,
    over_budget: bool = False,
    echo: Callable[[str], None] = print,
) -> Prepared:
    """Everything a submission needs, checked; raises before any job exists or any record is written."""
    env = os.environ if env is None else env
    name = namespace.resolve(project, requested, env)
    plan = plan_for(project, targets, force)
    if not project.bucket or not project.job_queue or not project.ecr_repository:
        raise ConfigError(
            "running on Batch needs `bucket`, `job_queue` and `ecr_repository` in [tool.spiral]: "
            "set them to the outputs of `spiral infra deploy`"
        )
    commit = _clean_commit(project)
    locked = environment.locked(project.root)
    if locked is None:
        raise PreflightError(
            "no conda-lock.yml: the jobs' image installs the lock, and the lock names the environment of "
            "every result. Run `spiral lock` and commit conda-lock.yml, or push and let the lock workflow do it"
        )
    account = aws.client("sts", project.region).get_caller_identity()["Account"]
    image = _check_image(project, account, commit)
    role = "batch-job-prod" if name == namespace.PROD else "batch-job"
    arn = f"arn:aws:iam::{account}:role/{project.project}"
    record = begin.create(
        project,
        plan,
        namespace=name,
        on="batch",
        commit=commit,
        environment_id=locked,
        overrides=overrides or {},
        forced=force,
        image=image,
        queue=project.job_queue,
        env=env,
    )
    run = Run(
        run_id=record.run_id,
        project=project.project,
        namespace=name,
        commit=commit,
        user=record.user,
        queue=project.job_queue,
        image=image,
        job_role_arn=f"{arn}-{role}",
        execution_role_arn=f"{arn}-batch-execution",
        region=project.region,
        environment={key: env[key] for key in CI_CONTEXT if env.get(key)},
    )
    _check_queues(project, run, plan)
    record = begin.with_reused(project.root, records.store_for(project), record)
    todo = plan.without(record.reused)
    record = replace(record, cost=cost.check_budget(project, todo, echo, namespace=name, over_budget=over_budget))
    return Prepared(todo, run, record)


def launch(prepared: Prepared, project: ProjectConfig, echo: Callable[[str], None] = print) -> RunRecord:
    """Write the run's record, submit its jobs, and record their ids."""
    run, store = prepared.run, records.store_for(project)
    if prepared.reused:
        echo(f"made by an earlier run, not submitted: {', '.join(prepared.reused)}")
    records.save(store, prepared.record)
    ids: dict[str, str] = {}
    if prepared.plan.stages:
        batch = aws.client("batch", project.region)
        definition = submit.register_definition(run, batch)
        ids = submit.submit_plan(prepared.plan, run, definition, batch)
    records.save_jobs(store, prepared.record, ids)
    records.finish(store, prepared.record)
    last_run.remember(project.root, prepared.record)
    echo(f"run {run.run_id}: {len(ids)} job(s) in {run.namespace} on {run.queue} (image {run.image})")
    return replace(prepared.record, jobs=ids)


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


def _check_queues(project: ProjectConfig, run: Run, plan: plans.Plan) -> None:
    """Every queue exists, and can give each of its stages what it asks for: a job that asks for more
    (a GPU from a CPU-only queue, more vCPUs than the queue may ever start) waits RUNNABLE for ever."""
    batch = aws.client("batch", project.region)
    wanted: dict[str, list[plans.StagePlan]] = {}
    for stage in plan.stages:
        wanted.setdefault(jobs.queue(run, stage.settings), []).append(stage)
    queues = {
        queue["jobQueueName"]: queue for queue in batch.describe_job_queues(jobQueues=sorted(wanted))["jobQueues"]
    }
    if missing := sorted(set(wanted) - set(queues)):
        raise PreflightError(
            f"no job queue {', '.join(missing)} in {project.region}: `spiral infra deploy` creates it "
            "(`--parameter EnableGpu=true` for the -gpu queue of stages asking for gpus)"
        )
    for name, queue in queues.items():
        arns = [entry["computeEnvironment"] for entry in queue.get("computeEnvironmentOrder", [])]
        resources = [
            environment.get("computeResources") or {}
            for environment in batch.describe_compute_environments(computeEnvironments=arns)["computeEnvironments"]
        ] if arns else []  # fmt: skip
        if not resources or not all(resources):
            continue  # unmanaged compute: nothing to check against
        most_vcpus = max(int(resource.get("maxvCpus", 0)) for resource in resources)
        types = [kind for resource in resources for kind in resource.get("instanceTypes", [])]
        for stage in wanted[name]:
            if stage.settings.vcpus > most_vcpus:
                raise PreflightError(
                    f"stage {stage.name!r} asks for {stage.settings.vcpus:g} vCPUs; queue {name} never starts more "
                    f"than {most_vcpus}: lower meta.batch.vcpus, or raise MaxVcpus (`spiral infra deploy`)"
                )
            if stage.settings.gpus and types and not any(_GPU_TYPE.match(kind) for kind in types):
                raise PreflightError(
                    f"stage {stage.name!r} asks for {stage.settings.gpus} GPU(s) but queue {name} runs only "
                    f"{', '.join(sorted(set(types)))}: drop its `queue:` to use the -gpu queue, or name one with GPUs"
                )


def _check_image(project: ProjectConfig, account: str, commit: str) -> str:
    ecr: Any = aws.client("ecr", project.region)
    try:
        found = ecr.describe_images(repositoryName=project.ecr_repository, imageIds=[{"imageTag": commit}])
    except ClientError as error:
        raise PreflightError(
            f"no image {project.ecr_repository}:{commit[:12]} in ECR ({error.response['Error']['Code']}): "
            "push the commit: deploy.yml builds and pushes its image"
        ) from error
    # By digest: a tag can be moved, a digest names exactly the bytes that were built from the commit.
    digest = found["imageDetails"][0]["imageDigest"]
    return f"{account}.dkr.ecr.{project.region}.amazonaws.com/{project.ecr_repository}@{digest}"
