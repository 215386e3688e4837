"""Cost you can see and cap: estimates, spend by tag from Cost Explorer (moto), the budget, run costs."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests
from batch_fixtures import push_image
from test_batch_submit import NAMESPACE, stack_file, toy  # noqa: F401  (fixtures)

from spiralkit import aws, cli, config
from spiralkit.batch import progress
from spiralkit.batch import run as runs
from spiralkit.batch.plan import Plan, StagePlan
from spiralkit.batch.settings import BatchSettings
from spiralkit.cost import OverBudget, chart, estimate, explorer, prices, run_cost
from spiralkit.cost.estimate import TYPICAL_FRACTION, describe_jobs_with
from spiralkit.errors import ConfigError
from spiralkit.runs import record as records

TABLE = prices.Prices()


def diamond() -> Plan:
    """a -> (b, c) -> d: b is a big CPU stage, c a GPU stage, d on the on-demand queue."""
    return Plan(
        (
            StagePlan("a", (), BatchSettings(vcpus=1, memory=2048, timeout=600)),
            StagePlan("b", ("a",), BatchSettings(vcpus=8, memory=32768, timeout=7200)),
            StagePlan("c", ("a",), BatchSettings(vcpus=4, memory=16384, gpus=1, timeout=3600)),
            StagePlan("d", ("b", "c"), BatchSettings(vcpus=2, memory=4096, timeout=1200, queue="q-on-demand")),
        )
    )


def test_the_high_end_is_on_demand_until_every_timeout_along_the_critical_path() -> None:
    found = estimate(diamond(), TABLE)
    on_demand = {
        "a": (1 * 0.036 + 2 * 0.003) * 600 / 3600,
        "b": (8 * 0.036 + 32 * 0.003) * 7200 / 3600,
        "c": (4 * 0.036 + 16 * 0.003 + 0.814) * 3600 / 3600,
        "d": (2 * 0.036 + 4 * 0.003) * 1200 / 3600,
    }
    assert found.high_usd == pytest.approx(sum(on_demand.values()))
    assert found.high_hours == pytest.approx((600 + 7200 + 1200) / 3600)  # b, not c, is on the longest path
    assert found.as_record()["high_usd"] == round(found.high_usd, 4)


def test_the_low_end_is_spot_at_a_typical_share_of_the_timeout_or_the_last_runs_time() -> None:
    fresh = estimate(diamond(), TABLE)
    a_low = (0.036 + 2 * 0.003) * TABLE.spot_fraction * TYPICAL_FRACTION * 600 / 3600
    assert fresh.stages["a"]["low_usd"] == pytest.approx(a_low)
    # the GPU queue has no Spot, and an -on-demand queue never is Spot: no discount for c and d
    assert fresh.stages["c"]["low_usd"] == pytest.approx((4 * 0.036 + 16 * 0.003 + 0.334) * 360 / 3600)
    assert fresh.stages["d"]["low_usd"] == pytest.approx((2 * 0.036 + 4 * 0.003) * 120 / 3600)
    known = estimate(diamond(), TABLE, {"a": 30.0, "b": 99999.0})
    assert known.stages["a"]["low_seconds"] == 30.0
    assert known.stages["b"]["low_seconds"] == 7200.0  # never past the timeout: Batch kills the job there
    assert known.low_hours == pytest.approx((30 + 7200 + 120) / 3600)
    assert fresh.low_usd < fresh.high_usd


def test_project_prices_override_the_table_and_bad_ones_are_refused() -> None:
    assert prices.for_project({"vcpu_hour": 0.05, "budget_usd": 10}).vcpu_hour == 0.05
    for bad in ({"gib_hour": "cheap"}, {"gpu_hour": -1}, {"spot_fraction": 1.5}, {"vcpu_hour": math.inf}):
        with pytest.raises(ConfigError):
            prices.for_project(bad)


def test_run_cost_counts_every_attempt_at_the_queues_price() -> None:
    plan = diamond()
    record = records.RunRecord(
        run_id="r", namespace=NAMESPACE, project="toy", commit="c", on="batch", user="tester", origin="laptop",
        host="h", started="", environment="", pipeline="", params={}, overrides={}, forced=(),
        stages=tuple(
            records.StagePlan(s.name, s.upstream, resources={"vcpus": s.settings.vcpus, "memory": s.settings.memory,
                              "gpus": s.settings.gpus, "queue": s.settings.queue})
            for s in plan.stages
        ),
        queue="q", jobs={"a": "job-a", "c": "job-c", "d": "job-d"},
    )  # fmt: skip
    jobs = {
        # a Spot attempt reclaimed after 10 minutes, then a 20-minute one: both were paid for
        "job-a": {"jobId": "job-a", "attempts": [{"startedAt": 0, "stoppedAt": 600_000},
                                                 {"startedAt": 700_000, "stoppedAt": 1_900_000}]},
        "job-c": {"jobId": "job-c", "startedAt": 1_000, "stoppedAt": 3_601_000, "attempts": []},
        "job-d": {"jobId": "job-d", "attempts": []},  # never started
    }  # fmt: skip
    asked: list[list[str]] = []

    def describe(ids: list[str]) -> list[dict[str, Any]]:
        asked.append(ids)
        return [jobs[i] for i in ids]

    found = run_cost(record, describe, TABLE)
    assert asked == [["job-a", "job-c", "job-d"]]
    assert found["stages"]["a"] == {"seconds": 1800.0, "usd": pytest.approx(0.042 * 0.35 / 2, abs=1e-6)}
    assert found["stages"]["c"]["usd"] == pytest.approx(4 * 0.036 + 16 * 0.003 + 0.814, abs=1e-6)  # no Spot
    assert found["stages"]["d"] == {"seconds": 0.0, "usd": 0.0}
    assert found["usd"] == pytest.approx(found["stages"]["a"]["usd"] + found["stages"]["c"]["usd"], abs=1e-4)


# --- Cost Explorer on moto ------------------------------------------------------------------------
def set_results(moto: str, *results: dict[str, Any]) -> None:
    """Queue GetCostAndUsage answers: moto hands them out one per distinct request."""
    requests.post(f"{moto}/moto-api/static/ce/cost-and-usage-results", json={"results": list(results)}, timeout=10)


def grouped(key: str, *months: dict[str, float]) -> dict[str, Any]:
    return {
        "ResultsByTime": [
            {
                "TimePeriod": {"Start": f"2026-{10 + i}-01", "End": f"2026-{11 + i}-01"},
                "Total": {},
                "Groups": [
                    {"Keys": [f"{key}${value}"], "Metrics": {"UnblendedCost": {"Amount": str(amount), "Unit": "USD"}}}
                    for value, amount in month.items()
                ],
                "Estimated": False,
            }
            for i, month in enumerate(months)
        ],
        "DimensionValueAttributes": [],
    }


def test_spend_is_grouped_by_the_tag_summed_over_months_with_untagged_shown(
    aws_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_results(aws_env, grouped("spiral:user", {"ana": 10.5, "bo": 2.25, "": 4.0}, {"ana": 1.5, "cy": 30.0}))
    sent: list[dict[str, Any]] = []
    ce = explorer.client()
    ce.meta.events.register("provide-client-params.ce.GetCostAndUsage", lambda params, **_: sent.append(params))
    found = explorer.spend(ce, "user", dt.date(2026, 10, 1), dt.date(2026, 12, 1), {"project": "toy"})
    assert found.rows == (("cy", 30.0), ("ana", 12.0), (explorer.UNTAGGED, 4.0), ("bo", 2.25))
    assert found.total == pytest.approx(48.25)
    assert found.untagged == 4.0
    assert sent[0]["GroupBy"] == [{"Type": "TAG", "Key": "spiral:user"}]
    assert sent[0]["Filter"] == {"Tags": {"Key": "spiral:project", "Values": ["toy"], "MatchOptions": ["EQUALS"]}}
    assert sent[0]["TimePeriod"] == {"Start": "2026-10-01", "End": "2026-12-01"}
    text = chart.table(found)
    assert "8% of it carries no user tag" in text  # 4 of 48.25
    cy_line = next(line for line in text.splitlines() if line.startswith("cy "))
    assert chart.bar(30 / 48.25) in cy_line
    assert "62%" in cy_line


def test_spiral_cost_prints_table_json_and_csv(
    aws_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # outside any project: the whole account
    by_stage = grouped("spiral:stage", {"train": 7.0, "ingest": 1.0, "": 2.0})
    set_results(aws_env, by_stage, by_stage, by_stage)  # one per request: the three formats ask the same
    outputs = {}
    for form in ("table", "json", "csv"):
        argv = ["cost", "--by", "stage", "--since", "2026-10-01", "--until", "2026-10-31", "--format", form]
        assert cli.main(argv) == 0
        outputs[form] = capsys.readouterr().out
    data = json.loads(outputs["json"])
    assert (data["total"], data["untagged"], data["end"]) == (10.0, 2.0, "2026-11-01")
    assert [row["value"] for row in data["rows"]] == ["train", explorer.UNTAGGED, "ingest"]
    rows = list(csv.DictReader(io.StringIO(outputs["csv"])))
    assert [(row["stage"], row["amount"]) for row in rows] == [("train", "7.00"), (explorer.UNTAGGED, "2.00"),
                                                               ("ingest", "1.00")]  # fmt: skip
    assert "20% of it carries no stage tag" in outputs["table"]
    assert cli.main(["cost", "--since", "2026-10-05", "--until", "2026-10-01"]) == explorer.CostError.exit_code
    assert "not after" in capsys.readouterr().err


# --- the budget, on a real (moto) Batch run -------------------------------------------------------
def add_budget(root: Path, budget: float) -> None:
    with (root / "pyproject.toml").open("a") as file:
        file.write(f"\n[tool.spiral.cost]\nbudget_usd = {budget}\n")
    subprocess.run(["git", "-C", str(root), "commit", "-qam", "budget"], check=True)
    push_image(root)  # the jobs run the new commit's image


def month_to_date(amount: float) -> dict[str, Any]:
    return grouped("spiral:project", {"toy": amount, "": 99.0})  # the untagged 99 is not the project's


def test_a_run_that_would_exceed_the_budget_is_refused_unless_overridden(toy: Path) -> None:  # noqa: F811
    project = config.load()
    high = estimate(runs.plan_for(project, ["prepare"]), TABLE).high_usd  # 1 vCPU, 2 GiB, 1800 s
    add_budget(toy, 10.0)
    set_results(aws.client("ce").meta.endpoint_url, month_to_date(10.0 - high / 2))
    project = config.load()
    lines: list[str] = []
    with pytest.raises(OverBudget, match=r"may cost up to \$0.02.*\$0.01 left of its \$10.00 budget"):
        runs.prepare(project, ["prepare"], NAMESPACE, echo=lines.append)
    assert lines[0].startswith("estimate: $0.00-$0.02")
    assert records.store_for(project).folders(f"runs/{NAMESPACE}") == []  # refused before any record

    prepared = runs.prepare(project, ["prepare"], NAMESPACE, over_budget=True, echo=lines.append)
    record = runs.launch(prepared, project, echo=lines.append)
    saved = records.load(records.store_for(project), NAMESPACE, record.run_id)
    assert saved.cost["over_budget"] is True
    assert saved.cost["budget_usd"] == 10.0
    assert saved.cost["month_to_date_usd"] == round(10.0 - high / 2, 2)
    assert saved.cost["estimate"]["high_usd"] == round(high, 4)

    # the run's cost after the fact, from Batch's own times for the job
    progress.wait(saved, lambda _: None, poll=0.5)
    batch = aws.client("batch")
    job = batch.describe_jobs(jobs=[saved.jobs["prepare"]])["jobs"][0]
    ran = (job["stoppedAt"] - job["startedAt"]) / 1000
    found = run_cost(saved, describe_jobs_with(batch))
    assert found["stages"]["prepare"]["seconds"] == pytest.approx(ran)
    assert found["usd"] == pytest.approx(TABLE.hourly(1, 2048, 0, spot=True) * ran / 3600, abs=1e-4)


def test_a_run_within_the_budget_goes_and_records_what_was_left(toy: Path) -> None:  # noqa: F811
    add_budget(toy, 50.0)
    set_results(aws.client("ce").meta.endpoint_url, month_to_date(12.5))
    project = config.load()
    prepared = runs.prepare(project, ["prepare"], NAMESPACE, echo=lambda _: None)
    assert prepared.record.cost["month_to_date_usd"] == 12.5
    assert "over_budget" not in prepared.record.cost
    assert cli.main(["run", "--on", "batch", "prepare", "--over-budget"]) == 0  # the flag parses and runs
