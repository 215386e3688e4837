"""What runs cost, next to what they were estimated to cost before they were submitted.

The figure is :func:`spiralkit.cost.run_cost`'s: each job's resources times the time Batch says its
attempts held them. Batch forgets finished jobs after about a week, and a run recorded elsewhere may
carry no job ids; for a stage Batch cannot describe, its own record's start and seconds stand in (the
stage's command only, so a little under what Batch billed) and the figure says so. A local run costs
nothing on AWS: it says ``local``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from spiralkit.cost.estimate import DescribeJobs, run_cost
from spiralkit.cost.prices import Prices
from spiralkit.errors import SpiralError
from spiralkit.results.client import Run, Stage

BATCH, RECORDED = "Batch's job times", "the stage records' times"


@dataclass(frozen=True)
class Cost:
    """A run's cost: ``usd`` None for a local run; ``source`` says where the times came from."""

    usd: float | None
    source: str
    estimate: Mapping[str, Any] | None = None  # low_usd/high_usd as recorded before submitting

    @property
    def spent(self) -> str:
        """``$0.0213`` (four decimals: a small run costs cents), or ``local``."""
        return "local" if self.usd is None else f"${self.usd:,.4f}"

    @property
    def estimated(self) -> str:
        return f"${self.estimate['low_usd']:,.2f}-${self.estimate['high_usd']:,.2f}" if self.estimate else "-"

    def line(self) -> str:
        """``$0.0213 (from Batch's job times; estimated $0.01-$0.05 before submitting)``."""
        if self.usd is None:
            return "local (no AWS cost)"
        return f"{self.spent} (from {self.source}; estimated {self.estimated} before submitting)"


def costs(runs: Sequence[Run], prices: Prices | None = None, batch: Any = None) -> dict[str, Cost]:
    """Each run's :class:`Cost` by run id; the Batch jobs of all the runs are described together.

    ``batch``: a Batch client (made from the runs' region when some run recorded job ids and none is given).
    """
    on_batch = [run for run in runs if run.record.on == "batch"]
    described = _describe([job for run in on_batch for job in run.record.jobs.values()], on_batch, batch)
    found = {run.id: Cost(None, "local") for run in runs if run.record.on != "batch"}
    for run in on_batch:
        record = run.record
        ran = {name: stage for name, stage in run.stages.items() if stage.status == "ran"}
        jobs = {name: record.jobs.get(name) or f"recorded:{name}" for name in ran}
        stand_ins = {job: _from_record(job, ran[name]) for name, job in jobs.items() if job not in described}
        spent = run_cost(replace(record, jobs=jobs), _answers({**stand_ins, **described}), prices)
        source = BATCH if not stand_ins else RECORDED if len(stand_ins) == len(jobs) else f"{BATCH} and {RECORDED}"
        found[run.id] = Cost(float(spent["usd"]), source, (record.cost or {}).get("estimate"))
    return found


def _describe(ids: list[str], runs: Iterable[Run], batch: Any) -> dict[str, Mapping[str, Any]]:
    """Batch's description of the jobs it still knows, by id; none when it cannot be asked."""
    if not ids:
        return {}
    from botocore.exceptions import BotoCoreError, ClientError

    from spiralkit import aws
    from spiralkit.cost.estimate import describe_jobs_with

    try:
        client = batch or aws.client("batch", next((run.record.region for run in runs if run.record.region), None))
        return {job["jobId"]: job for job in describe_jobs_with(client)(sorted(set(ids)))}
    except (SpiralError, BotoCoreError, ClientError):  # no credentials or no route: the records still know
        return {}


def _answers(known: Mapping[str, Mapping[str, Any]]) -> DescribeJobs:
    """A ``describe_jobs`` that answers from what is already known."""

    def describe(ids: list[str]) -> list[Mapping[str, Any]]:
        return [known[job_id] for job_id in ids]

    return describe


def _from_record(job_id: str, stage: Stage) -> dict[str, Any]:
    """A job description made from a stage record: its start and its seconds, in Batch's milliseconds."""
    start = int(dt.datetime.fromisoformat(stage.started or "1970-01-01T00:00:00Z").timestamp() * 1000)
    return {"jobId": job_id, "startedAt": start, "stoppedAt": start + round((stage.seconds or 0.0) * 1000)}
