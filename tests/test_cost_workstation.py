"""Workstations cannot run away: a lifetime after each start that only a lease extends, and
`spiral workstation ls --all` listing every box with its owner, state, idle time and this month's cost."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import boto3
import pytest
import requests
from test_workstation import as_iam_user, granted, instances, project, written  # noqa: F401  (fixtures)

from spiralkit.cli import main
from spiralkit.workstation.idle import decide as rules

HOUR = 3600.0
T0 = 1_780_000_000.0
POLICY = rules.Policy(idle_seconds=HOUR, max_up_seconds=12 * HOUR)
BUSY = {"cpu_percent": 95.0, "sessions": (rules.Session("SSH", T0 - 60),)}


def test_a_busy_machine_stops_at_the_end_of_its_lifetime() -> None:
    young = rules.decide(T0, rules.Observation(now=T0, up_since=T0 - 11 * HOUR, **BUSY), POLICY)
    assert not young.stop
    old = rules.decide(T0, rules.Observation(now=T0, up_since=T0 - 12 * HOUR - 60, **BUSY), POLICY)
    assert old.stop
    assert "past the 12 h lifetime" in old.reason
    assert "spiral keepalive" in old.reason


def test_a_lease_renews_the_lifetime_until_it_ends() -> None:
    leased = rules.Observation(now=T0, up_since=T0 - 20 * HOUR, lease_until=T0 + HOUR, **BUSY)
    assert not rules.decide(T0, leased, POLICY).stop
    lapsed = rules.Observation(now=T0, up_since=T0 - 20 * HOUR, lease_until=T0 - 60, **BUSY)
    assert rules.decide(T0, lapsed, POLICY).stop


def test_without_a_lifetime_only_idleness_stops_the_machine() -> None:
    uncapped = rules.Policy(idle_seconds=HOUR)
    assert not rules.decide(T0, rules.Observation(now=T0, up_since=T0 - 1000 * HOUR, **BUSY), uncapped).stop


def test_ls_all_lists_every_box_with_owner_state_idle_and_cost(
    granted: Path,  # noqa: F811
    aws_env: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with (granted / "pyproject.toml").open("a") as file:
        file.write("max_hours = 30\n")
    assert main(["workstation", "up"]) == 0
    [ana] = instances()
    assert json.loads(written(ana["InstanceId"], "agent.json"))["max_hours"] == 30  # the agent's lifetime
    # bo's box in another project, stopped
    as_iam_user("bo", monkeypatch)
    pyproject = (granted / "pyproject.toml").read_text()
    (granted / "pyproject.toml").write_text(pyproject.replace('project = "churn-model"', 'project = "fraud"'))
    assert main(["workstation", "grant", "bo"]) == 0
    assert main(["workstation", "up"]) == 0
    assert main(["workstation", "stop"]) == 0
    capsys.readouterr()
    # ana's box last worked 40 minutes ago; quiet since
    now = dt.datetime.now(dt.UTC)
    boto3.client("cloudwatch").put_metric_data(
        Namespace="AWS/EC2",
        MetricData=[
            {"MetricName": "CPUUtilization", "Dimensions": [{"Name": "InstanceId", "Value": ana["InstanceId"]}],
             "Timestamp": now - dt.timedelta(minutes=minutes), "Value": value, "Unit": "Percent"}
            for minutes, value in ((50, 80.0), (45, 85.0), (30, 2.0), (10, 1.0))
        ],
    )  # fmt: skip
    groups = [
        (["spiral:project$churn-model", "spiral:user$ana"], "41.5"),
        (["spiral:project$fraud", "spiral:user$bo"], "7.25"),
    ]
    result = {"ResultsByTime": [{"TimePeriod": {"Start": "2026-12-01", "End": "2026-12-02"}, "Total": {},
              "Groups": [{"Keys": keys, "Metrics": {"UnblendedCost": {"Amount": amount, "Unit": "USD"}}}
                         for keys, amount in groups], "Estimated": True}], "DimensionValueAttributes": []}  # fmt: skip
    requests.post(
        f"{aws_env}/moto-api/static/ce/cost-and-usage-results", json={"results": [result, result]}, timeout=10
    )

    assert main(["workstation", "ls", "--all"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["INSTANCE", "PROJECT", "OWNER", "TYPE", "STATE", "LAUNCHED", "IDLE", "THIS", "MONTH"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert len(rows) == 2
    ana_row = rows[ana["InstanceId"]].split()
    assert ana_row[1:5] == ["churn-model", "ana", "m6i.xlarge", "running"]
    idle_minutes = int(ana_row[-3])  # "40 min": the end of the last 5-minute period above the threshold
    assert 38 <= idle_minutes <= 41
    assert ana_row[-1] == "$41.50"
    bo_row = next(row for key, row in rows.items() if key != ana["InstanceId"]).split()
    assert bo_row[1:5] == ["fraud", "bo", "m6i.xlarge", "stopped"]
    assert bo_row[-1] == "$7.25"

    assert main(["workstation", "ls"]) == 0  # without --all: this project (now fraud) only
    assert [line.split()[1] for line in capsys.readouterr().out.splitlines()[1:]] == ["fraud"]
