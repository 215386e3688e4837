"""Run records on S3 (a moto server here): what recording adds to each stage, and `spiral status` of a big run.

A stage's recording is what :func:`spiralkit.runs.stage.execute` writes once the stage's own work is
done: its stage record, its index entry, and (for a stage nothing depends on) the check that the run
is complete. The baseline is the same stage without records: nothing, so the figure is the overhead.
"""

from __future__ import annotations

import time
from dataclasses import replace

from bench import moto_server, synthetic
from bench.batch_submit import job_run, queue
from bench.figures import Context, Figure, Target
from spiralkit import aws
from spiralkit.batch import progress, submit
from spiralkit.batch.plan import Plan
from spiralkit.runs import record as records
from spiralkit.runs.store import Store

TITLE = "Run records on S3 (a moto server on this machine): per-stage overhead, and status of a 200-stage run"
STAGES = 200
BUCKET = "bench-records"


def run(context: Context) -> list[Figure]:
    plan = synthetic.plan(STAGES)
    with moto_server.running(context.work / "moto-records") as server, moto_server.pointed_at(server.env):
        server.configure({"batch": {"use_docker": False}})
        aws.client("s3").create_bucket(Bucket=BUCKET)
        store = Store(f"s3://{BUCKET}/spiral", "us-east-1")
        batch = aws.client("batch")
        bench_run = job_run(queue(batch))
        per_stage: list[float] = []
        status: list[float] = []
        puts = lists = 0
        for attempt in range(context.runs):
            record = _record(plan, f"20261201T000000Z-bench-{attempt:04d}")
            records.save(store, record)
            definition = submit.register_definition(bench_run, batch)
            jobs = submit.submit_plan(plan, replace(bench_run, run_id=record.run_id), definition, batch)
            records.save_jobs(store, record, jobs)
            before_put, before_list = _count(server, '"PUT /'), _count(server, "list-type=2")
            for stage in record.stages:
                start = time.perf_counter()
                result = {"stage": stage.name, "run_id": record.run_id, "status": "ran", "entry": {"cmd": "x"}}
                records.save_stage(store, record, result)
                records.index_add(store, record.namespace, f"{attempt}-{stage.name}", result)
                records.finish(store, record, stage.name)
                per_stage.append(time.perf_counter() - start)
            puts += _count(server, '"PUT /') - before_put
            lists += _count(server, "list-type=2") - before_list
            start = time.perf_counter()
            loaded = records.load(store, record.namespace)  # the latest run, as `spiral status --namespace`
            records.recorded(store, loaded)
            progress.describe(replace(loaded, jobs=jobs), batch)
            status.append(time.perf_counter() - start)
    writes = puts / (context.runs * STAGES)
    return [
        Figure(
            "recording one stage: its record, its index entry, the completeness check (per stage)",
            per_stage,
            target=Target.median_at_most(0.05),
            notes=[
                f"{writes:.2f} writes and {lists / (context.runs * STAGES):.2f} listings per stage on average: "
                "a record and an index entry; only stages nothing depends on list the run's records",
            ],
        ),
        Figure(
            f"`spiral status` of a {STAGES}-stage Batch run: its record, which stages are recorded, every job's state",
            status,
            target=Target.median_at_most(1.0),
        ),
    ]


def _count(server: moto_server.MotoServer, text: str) -> int:
    """Requests in the server's log whose request line contains ``text``."""
    return server.log.read_text().count(text)


def _record(plan: Plan, run_id: str) -> records.RunRecord:
    return records.RunRecord(
        run_id=run_id, namespace="test.bench", project="bench", commit="0" * 40, on="batch", user="bench",
        origin="laptop", host="bench", started=records.now(), environment="conda-lock:bench", pipeline="",
        params={}, overrides={}, forced=(),
        stages=tuple(records.StagePlan(stage.name, stage.upstream) for stage in plan.stages),
        region="us-east-1", queue="bench-queue",
    )  # fmt: skip
