"""What a run will cost, before it is submitted, and what it cost, after, from Batch's own clock.

Both are resources x time x price: a job pays for the vCPUs, memory and GPUs it asks for while it runs.
What this leaves out, on purpose: the part of an instance no job uses (Batch packs jobs onto instances
it picks), the minutes an instance boots and idles before Batch scales it in, storage and transfer.
Cost Explorer (``spiral cost``) has the billed figures, a day or so later.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from spiralkit.batch.plan import Plan, StagePlan
from spiralkit.cost.prices import Prices

# With no earlier run to go by, a stage is taken to run for this share of its timeout: timeouts are set
# with room to spare, and the high end of the range still assumes every stage runs into its timeout.
TYPICAL_FRACTION = 0.1


@dataclass(frozen=True)
class Estimate:
    """A run's cost and wall-clock time, as a range: the low end on Spot at the expected duration, the
    high end on-demand with every stage running until its timeout."""

    low_usd: float
    high_usd: float
    low_hours: float
    high_hours: float
    stages: Mapping[str, Mapping[str, float]]  # stage -> low/high dollars and seconds

    def as_record(self) -> dict[str, Any]:
        return {
            "low_usd": round(self.low_usd, 4),
            "high_usd": round(self.high_usd, 4),
            "low_hours": round(self.low_hours, 3),
            "high_hours": round(self.high_hours, 3),
        }

    def summary(self) -> str:
        return (
            f"${self.low_usd:,.2f}-${self.high_usd:,.2f}, {_duration(self.low_hours)}-{_duration(self.high_hours)} "
            f"for {len(self.stages)} job(s)"
        )


def estimate(plan: Plan, prices: Prices, previous: Mapping[str, float] | None = None) -> Estimate:
    """The range for ``plan``; ``previous`` maps a stage to the seconds it took last time (the low end)."""
    previous = previous or {}
    stages: dict[str, dict[str, float]] = {}
    for stage in plan.stages:
        settings = stage.settings
        low_seconds = min(previous.get(stage.name, TYPICAL_FRACTION * settings.timeout), settings.timeout)
        asked = (settings.vcpus, settings.memory, settings.gpus)
        stages[stage.name] = {
            "low_seconds": low_seconds,
            "high_seconds": float(settings.timeout),
            "low_usd": prices.hourly(*asked, spot=_spot(stage), low=True) * low_seconds / 3600,
            "high_usd": prices.hourly(*asked) * settings.timeout / 3600,
        }
    return Estimate(
        low_usd=sum(stage["low_usd"] for stage in stages.values()),
        high_usd=sum(stage["high_usd"] for stage in stages.values()),
        low_hours=_critical_path(plan.stages, {name: s["low_seconds"] for name, s in stages.items()}) / 3600,
        high_hours=_critical_path(plan.stages, {name: s["high_seconds"] for name, s in stages.items()}) / 3600,
        stages=stages,
    )


def _spot(stage: StagePlan) -> bool:
    """Could the job land on Spot? The default queue is Spot first; ``-on-demand`` queues never are."""
    return not stage.settings.queue.endswith("-on-demand")


def _critical_path(stages: Sequence[StagePlan], seconds: Mapping[str, float]) -> float:
    """Wall-clock seconds: independent stages run side by side, each after its slowest upstream stage."""
    finish: dict[str, float] = {}
    for stage in stages:  # plan order: every upstream stage comes first
        finish[stage.name] = seconds[stage.name] + max((finish.get(up, 0.0) for up in stage.upstream), default=0.0)
    return max(finish.values(), default=0.0)


def _duration(hours: float) -> str:
    minutes = round(hours * 60)
    return f"{minutes} min" if minutes < 120 else f"{hours:.1f} h"


# --- after the run: Batch's own start and stop times --------------------------------------------
DescribeJobs = Callable[[list[str]], Iterable[Mapping[str, Any]]]


def describe_jobs_with(batch: Any) -> DescribeJobs:
    """``describe_jobs`` of a boto3 Batch client, 100 ids a call (Batch's limit)."""

    def describe(ids: list[str]) -> Iterable[Mapping[str, Any]]:
        for start in range(0, len(ids), 100):
            yield from batch.describe_jobs(jobs=ids[start : start + 100])["jobs"]

    return describe


def run_cost(record: Any, describe_jobs: DescribeJobs, prices: Prices | None = None) -> dict[str, Any]:
    """Each job's cost from every attempt's ``startedAt``..``stoppedAt`` (a Spot attempt lost to reclamation
    was paid for too) times the price of what the stage asked for, on the queue's instance kind.

    ``record`` is a :class:`spiralkit.runs.record.RunRecord`; a job still running counts up to its latest
    stop time, and one that never started costs nothing. A stage that fell back from Spot counts its newest
    job, at the on-demand price: the Spot job Batch cancelled for want of capacity never started.
    """
    prices = prices or Prices()
    ids = dict(record.jobs)
    found = {job["jobId"]: job for job in describe_jobs(sorted(ids.values()))} if ids else {}
    stages: dict[str, dict[str, float]] = {}
    for stage, job_id in ids.items():
        job = found.get(job_id)
        if job is None:
            continue
        resources = dict(record.plan(stage).resources)
        seconds = _ran_seconds(job)
        on_spot = _on_spot(record, stage)
        rate = prices.hourly(
            float(resources.get("vcpus", 1)), float(resources.get("memory", 2048)), int(resources.get("gpus", 0)),
            spot=on_spot,
        )  # fmt: skip
        stages[stage] = {"seconds": round(seconds, 3), "usd": round(rate * seconds / 3600, 6)}
    return {
        "usd": round(sum(stage["usd"] for stage in stages.values()), 4),
        "seconds": round(sum(stage["seconds"] for stage in stages.values()), 3),
        "stages": stages,
        "prices": _prices(record),
    }


def _on_spot(record: Any, stage: str) -> bool:
    """The stage's newest job's queue: its fallback's twin, else its own queue, else the run's."""
    moved = record.fallbacks.get(stage)
    queue = moved["queue"] if moved else (record.plan(stage).resources.get("queue") or record.queue)
    return not str(queue).endswith("-on-demand")


def _prices(record: Any) -> str:
    """What the figures assume: ``Spot``, ``on-demand``, or Spot with the stages that fell back named."""
    if record.queue.endswith("-on-demand"):
        return "on-demand"
    if moved := sorted(stage for stage, fell in record.fallbacks.items() if str(fell["queue"]).endswith("-on-demand")):
        return f"Spot; on-demand for {', '.join(moved)} (on-demand after Spot had no capacity)"
    return "Spot"


def _ran_seconds(job: Mapping[str, Any]) -> float:
    """Seconds the job's attempts held their resources; Batch reports times in epoch milliseconds."""
    spans = [(a.get("startedAt"), a.get("stoppedAt")) for a in job.get("attempts", [])]
    if not spans:  # a job still in its first attempt has no attempt yet, only the job's own times
        spans = [(job.get("startedAt"), job.get("stoppedAt"))]
    return float(sum(max(0, stop - start) for start, stop in spans if start is not None and stop is not None)) / 1000
