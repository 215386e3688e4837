"""``spiral runs`` on records made by the run-record functions, read through --folder (no project)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from results_fixtures import PIPELINE, make_run

from spiralkit.cli import main
from spiralkit.cost.prices import Prices
from spiralkit.results.client import Runs
from spiralkit.results.cost import costs

PROD, BRANCH = "20261127T080000Z-11111111-aaaa", "20261201T090000Z-22222222-bbbb"
STAGES = list(PIPELINE)


def spot_hour(stage: str) -> float:
    """A stage's dollars per hour: the records' queue is not an on-demand one, so Spot prices."""
    return Prices().hourly(2 if stage == "train" else 1, 2048, 0, spot=True)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    make_run(tmp_path, "prod", PROD, metrics={"roc_auc": 0.9, "recall": 0.8}, C=1.0, rows=569)
    make_run(
        tmp_path,
        "test.feature",
        BRANCH,
        metrics={"roc_auc": 0.95, "recall": 0.7},
        C=0.5,
        rows=500,
        environment="conda-lock:bbbb",
        commit="2222222222222222222222222222222222222222",
    )
    return tmp_path / ".spiral"


def spiral(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_runs_lists_a_namespace_with_its_headline_metrics(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = spiral(capsys, "runs", "--folder", str(folder), "--namespace", "prod")
    assert code == 0
    header, row, summary = out.splitlines()
    assert header.split() == [
        "RUN",
        "STARTED",
        "(UTC)",
        "COMMIT",
        "USER",
        "STAGES",
        "COST",
        "ESTIMATE",
        "roc_auc",
        "recall",
    ]
    # a Batch run whose jobs Batch cannot describe costs what its stage records' times say; it recorded no estimate
    spent = sum(spot_hour(name) * (1.5 + i) / 3600 for i, name in enumerate(STAGES))
    cost = f"${spent:,.4f}"
    assert row.split() == [PROD, "2026-11-27", "08:00", "11111111", "ana", "5/5", "(5", "ran)", cost, "-", "0.9", "0.8"]
    assert summary == "1 run(s) in prod, newest first"


def test_runs_outside_a_project_names_the_namespaces_it_has(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = spiral(capsys, "runs", "--folder", str(folder))
    assert code == 10  # RecordError
    assert "namespaces: prod, test.feature" in err


def test_runs_show_prints_stages_and_outputs(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = spiral(capsys, "runs", "show", f"test.feature/{BRANCH}", "--folder", str(folder))
    assert code == 0
    assert f"run          test.feature/{BRANCH}" in out
    assert "  train.C                      0.5" in out
    train = next(line for line in out.splitlines() if line.startswith("  train "))
    assert train.split()[:3] == ["train", "ran", "3.5"]
    assert "vcpus 2" in train
    cases = next(line for line in out.splitlines() if "data/raw/cases.parquet" in line)
    assert cases.split()[-1] == "ingest"


def test_runs_diff_says_what_changed_and_by_how_much(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = spiral(capsys, "runs", "diff", "prod", BRANCH, "--folder", str(folder))
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"test.feature/{BRANCH} against prod/{PROD}"
    assert "commit       1111111111111111111111111111111111111111 -> 2222222222222222222222222222222222222222" in out
    assert "environment  conda-lock:aaaa -> conda-lock:bbbb" in out
    roc = next(line for line in lines if line.startswith("  roc_auc"))
    assert roc.split() == ["roc_auc", "0.9", "0.95", "+0.05", "(+5.6%)"]
    recall = next(line for line in lines if line.startswith("  recall"))
    assert recall.split()[-2:] == ["-0.1", "(-12.5%)"]
    assert "params: 1 differ" in out
    assert next(line for line in lines if line.startswith("  train.C")).split() == ["train.C", "1.0", "0.5"]
    # 500 rows against 569: every table, the model and the metrics differ; the plots' data is the same
    assert "data: 6 output(s) differ, 2 the same" in out
    cases = next(line for line in lines if line.startswith("  data/raw/cases.parquet"))
    *_, shrink, unit, percent = cases.split()
    assert shrink.startswith("-")  # fewer rows, a smaller file
    assert unit == "B"
    assert percent.startswith("(-")


def test_runs_diff_of_a_run_with_itself_changes_nothing(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = spiral(capsys, "runs", "diff", "prod", f"prod/{PROD}", "--folder", str(folder))
    assert code == 0
    assert "commit       same" in out
    assert "params: 0 differ" in out
    assert "data: 0 output(s) differ, 8 the same" in out


def test_an_unknown_run_is_one_clear_error(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = spiral(capsys, "runs", "show", "20261201T000000Z-00000000-0000", "--folder", str(folder))
    assert code == 10  # RecordError
    assert out == ""
    assert err.startswith("spiral: error: no run '20261201T000000Z-00000000-0000' in any namespace")


class Batch:
    """A Batch client that still knows some jobs: ``describe_jobs`` as boto3 answers it."""

    def __init__(self, jobs: dict[str, dict[str, Any]]) -> None:
        self.jobs, self.asked = jobs, []

    def describe_jobs(self, jobs: list[str]) -> dict[str, Any]:
        self.asked.append(jobs)
        return {"jobs": [self.jobs[job] for job in jobs if job in self.jobs]}


def test_a_runs_cost_from_batchs_times_next_to_its_estimate_and_local_runs_say_local(tmp_path: Path) -> None:
    estimate = {"low_usd": 0.012, "high_usd": 1.5, "low_hours": 0.1, "high_hours": 2.0}
    jobs = {name: f"job-{name}" for name in STAGES}
    make_run(tmp_path, "prod", PROD, metrics={"roc_auc": 0.9}, jobs=jobs, estimate=estimate)
    make_run(tmp_path, "user.ana", BRANCH, metrics={"roc_auc": 0.9}, on="local")
    # Batch knows every job but publish: train's two attempts (a Spot reclaim, then 20 minutes) both count
    batch = Batch({f"job-{name}": {"jobId": f"job-{name}", "startedAt": 0, "stoppedAt": 60_000} for name in STAGES})
    batch.jobs["job-train"]["attempts"] = [
        {"startedAt": 0, "stoppedAt": 600_000},
        {"startedAt": 0, "stoppedAt": 1_200_000},
    ]
    del batch.jobs["job-publish"]
    runs = Runs("prod", folder=tmp_path / ".spiral").list() + Runs("user.ana", folder=tmp_path / ".spiral").list()
    found = costs(runs, batch=batch)
    assert batch.asked == [sorted(jobs.values())]  # one request for every job of every run listed
    minutes = {"ingest": 1, "features": 1, "train": 30, "evaluate": 1}
    spent = sum(spot_hour(name) * m / 60 for name, m in minutes.items())
    spent += spot_hour("publish") * 5.5 / 3600  # publish: its record's 5.5 s
    assert found[PROD].usd == pytest.approx(spent, abs=1e-4)
    assert found[PROD].line() == (
        f"${found[PROD].usd:,.4f} (from Batch's job times and the stage records' times; "
        "estimated $0.01-$1.50 before submitting)"
    )
    assert found[BRANCH].line() == "local (no AWS cost)"
    assert found[BRANCH].spent == "local"


def test_runs_show_says_a_local_run_cost_nothing_on_aws(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_run(tmp_path, "user.ana", BRANCH, metrics={"roc_auc": 0.9}, on="local")
    code, out, _ = spiral(capsys, "runs", "show", BRANCH, "--folder", str(tmp_path / ".spiral"))
    assert code == 0
    assert "cost         local (no AWS cost)" in out
