"""Submitting a 200-stage pipeline to AWS Batch (a moto server here): spiralkit against a plain loop."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench import moto_server, synthetic
from bench.figures import Context, Figure, Target
from bench.measure import in_turns
from spiralkit import aws
from spiralkit.batch import plan, submit
from spiralkit.batch.jobs import Run
from spiralkit.batch.settings import BatchSettings

TITLE = "Submitting a 200-stage pipeline to AWS Batch (a moto server on this machine)"
STAGES = 200


def run(context: Context) -> list[Figure]:
    project = _pipeline(context.work / "batch-pipeline")
    with moto_server.running(context.work / "moto-batch") as server, moto_server.pointed_at(server.env):
        server.configure({"batch": {"use_docker": False}})
        batch = aws.client("batch")
        bench_run = job_run(queue(batch))
        definition = submit.register_definition(bench_run, batch)

        def timed(action: Callable[[], object]) -> Callable[[], float]:
            def measure() -> float:
                start = time.perf_counter()
                action()
                return time.perf_counter() - start

            return measure

        planned = plan.from_dvc(project, [], BatchSettings())
        runs = in_turns(
            {
                "plan": timed(lambda: plan.from_dvc(project, [], BatchSettings())),
                "loop": timed(lambda: submit.submit_sequential(planned, bench_run, definition, batch)),
                "spiralkit": timed(lambda: submit.submit_plan(planned, bench_run, definition, batch)),
            },
            context.runs,
        )
    loop = Figure(f"a plain loop: {STAGES} SubmitJob calls, one after another", runs["loop"])
    planned_loop = Figure(
        f"plan, then the plain loop: the {STAGES}-stage pipeline",
        [p + s for p, s in zip(runs["plan"], runs["loop"], strict=True)],
    )
    return [
        loop,
        Figure(f"spiralkit: submit_plan of the {STAGES} jobs (dependsOn from DVC)", runs["spiralkit"], baseline=loop),
        Figure(f"reading the {STAGES}-stage dvc.yaml through DVC's API", runs["plan"]),
        planned_loop,
        Figure(
            f"spiralkit: plan and submit the generated {STAGES}-stage pipeline",
            [p + s for p, s in zip(runs["plan"], runs["spiralkit"], strict=True)],
            baseline=planned_loop,
            target=Target.median_at_most(10),
            notes=["moto answers in about a millisecond; on AWS each call's latency makes the concurrent gain larger."],
        ),
    ]


def _pipeline(root: Path) -> Path:
    """A DVC project whose dvc.yaml has STAGES stages (bench.synthetic), made once."""
    if not (root / "dvc.yaml").exists():
        root.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "init", "-q"], cwd=root, check=True)
        subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=root, check=True)
        (root / "params.yaml").write_text("seed: 1\n")
        (root / "dvc.yaml").write_text(synthetic.dvc_yaml(STAGES))
    return root


def queue(batch: object) -> str:
    iam = aws.client("iam")
    role = iam.create_role(RoleName="bench-batch", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    environment = batch.create_compute_environment(  # type: ignore[attr-defined]
        computeEnvironmentName="bench", type="UNMANAGED", state="ENABLED", serviceRole=role
    )["computeEnvironmentArn"]
    batch.create_job_queue(  # type: ignore[attr-defined]
        jobQueueName="bench-queue", state="ENABLED", priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment}],
    )  # fmt: skip
    return "bench-queue"


def job_run(queue: str) -> Run:
    role = "arn:aws:iam::123456789012:role/bench-batch"
    return Run(
        run_id="bench", project="bench", namespace="user.bench", commit="0" * 40, user="bench", queue=queue,
        image="123456789012.dkr.ecr.us-east-1.amazonaws.com/bench:latest", job_role_arn=role,
        execution_role_arn=role, region="us-east-1",
    )  # fmt: skip
