"""What each Batch job is: its name, command, resources, retry strategy, timeout and tags.

Pure functions from a plan to the arguments of Batch's ``RegisterJobDefinition`` and ``SubmitJob``:
no AWS call here, so the requests can be read and tested on their own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from spiralkit.batch.plan import StagePlan
from spiralkit.batch.settings import BatchSettings
from spiralkit.namespace import PROD, slug

# Retry only what says nothing about the stage's code: the host went away (Spot reclamation reads
# "Host EC2 (instance i-...) terminated."), or the container could not be pulled or started. Anything
# else, above all the stage's own non-zero exit, ends the job at once.
HOST_FAILURES = (
    {"onStatusReason": "Host EC2*", "action": "RETRY"},
    {"onReason": "CannotPullContainerError*", "action": "RETRY"},
    {"onReason": "CannotStartContainerError*", "action": "RETRY"},
    {"onReason": "ResourceInitializationError*", "action": "RETRY"},
    {"onReason": "*", "action": "EXIT"},
)
# The submitter's CI context travels to the jobs, so stages that check the namespace (publish)
# accept `prod` there too. It is a guard against accidents: IAM is what enforces it, since only
# the production CI role may pass the prod job role.
CI_CONTEXT = ("GITHUB_ACTIONS", "GITHUB_REF", "GITHUB_REF_NAME", "GITHUB_HEAD_REF", "GITHUB_EVENT_NAME")
MAX_DEPENDS_ON = 20  # Batch's limit on dependsOn entries of one job
_NOT_NAME = re.compile(r"[^A-Za-z0-9_-]+")
_NOT_TAG = re.compile(r"[^\w.:/=+\-@ ]+")


@dataclass(frozen=True)
class Run:
    """Everything a run's jobs share."""

    run_id: str
    project: str
    namespace: str
    commit: str
    user: str
    queue: str
    image: str
    job_role_arn: str
    execution_role_arn: str
    region: str
    environment: Mapping[str, str] = field(default_factory=dict)


def command(stage: str, namespace: str, run_id: str) -> list[str]:
    """The container command of a stage's job; ``spiral job --help`` says what it runs."""
    return ["spiral", "job", stage, "--namespace", namespace, "--run", run_id]


def definition_name(run: Run) -> str:
    """Prod has a job definition of its own (``<project>-prod``), which only prod's CI role may use;
    every other namespace shares ``<project>-dev``."""
    return f"{run.project}-{'prod' if run.namespace == PROD else 'dev'}"


def job_name(namespace: str, stage: str) -> str:
    """``user-ana-train-lr`` for stage ``train@lr`` in ``user.ana``: Batch's name rules, 128 at most."""
    return _NOT_NAME.sub("-", f"{slug(namespace)}-{stage}")[:128]


def tags(run: Run, stage: str | None = None) -> dict[str, str]:
    """The tags every job and job definition carries, so costs and jobs can be traced to a run."""
    values = {
        "spiral:project": run.project,
        "spiral:namespace": run.namespace,
        "spiral:commit": run.commit,
        "spiral:user": run.user,
        "spiral:run": run.run_id,
    }
    if stage is not None:
        values["spiral:stage"] = stage
    return {key: _NOT_TAG.sub("-", value)[:256] for key, value in values.items()}


def retry_strategy(settings: BatchSettings) -> dict[str, object]:
    """``retries`` more attempts, for host failures only."""
    return {"attempts": settings.retries + 1, "evaluateOnExit": list(HOST_FAILURES)}


def job_definition(run: Run) -> dict[str, object]:
    """The run's one job definition: the image at the run's commit; resources come per job."""
    return {
        "jobDefinitionName": definition_name(run),
        "type": "container",
        "platformCapabilities": ["EC2"],
        "containerProperties": {
            "image": run.image,
            "command": ["spiral", "job", "--help"],
            "resourceRequirements": BatchSettings().resource_requirements(),
            "jobRoleArn": run.job_role_arn,
            "executionRoleArn": run.execution_role_arn,
            "environment": [
                {"name": "AWS_DEFAULT_REGION", "value": run.region},
                {"name": "SPIRAL_COMMIT", "value": run.commit},
            ],
        },
        "propagateTags": True,
        "tags": tags(run),
    }


def queue(run: Run, settings: BatchSettings) -> str:
    """The stage's own queue, else the GPU queue (``<queue>-gpu``, see infra/) for GPU stages."""
    return settings.queue or (f"{run.queue}-gpu" if settings.gpus else run.queue)


def submit_request(run: Run, stage: StagePlan, definition: str, depends_on: Sequence[str]) -> dict[str, object]:
    """``SubmitJob`` arguments for ``stage``, after the jobs ``depends_on`` (their ids)."""
    settings = stage.settings
    return {
        "jobName": job_name(run.namespace, stage.name),
        "jobQueue": queue(run, settings),
        "jobDefinition": definition,
        "dependsOn": [{"jobId": job_id} for job_id in depends_on],
        "containerOverrides": {
            "command": command(stage.name, run.namespace, run.run_id),
            "resourceRequirements": settings.resource_requirements(),
            "environment": [{"name": k, "value": v} for k, v in sorted(run.environment.items())],
        },
        "retryStrategy": retry_strategy(settings),
        "timeout": {"attemptDurationSeconds": settings.timeout},
        "tags": tags(run, stage.name),
        "propagateTags": True,
    }
