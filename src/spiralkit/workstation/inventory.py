"""Every workstation in the account, for whoever administers it: owner, state, idle time, this month's cost.

Found by tags, like everything else about workstations. Idle time comes from CloudWatch's CPUUtilization
(the instance's average over all its vCPUs, every 5 minutes), which an administrator can read without
logging in; the agent on the instance decides with finer signals (sessions, kernels, the busiest core), so
this is the time since the machine last did real work, not the agent's own idle clock. Cost is what Cost
Explorer has for the owner's workstation resources (instance and volumes) this month.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from spiralkit.cost.explorer import METRIC
from spiralkit.workstation.machine import LIVE

LOOKBACK = dt.timedelta(hours=24)
_STOPPED_AT = re.compile(r"\((\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) GMT\)")


@dataclass(frozen=True)
class Box:
    instance_id: str
    project: str
    owner: str
    instance_type: str
    state: str
    launched: dt.datetime
    idle: str  # "35 min", "> 24 h", "stopped 3 h", "unknown"
    cost: float | None  # dollars this month; None when Cost Explorer could not say


def instances(ec2: Any, project: str | None) -> list[dict[str, Any]]:
    filters = [
        {"Name": "tag:spiral:role", "Values": ["instance"]},
        {"Name": "instance-state-name", "Values": LIVE},
    ]
    if project is not None:
        filters.append({"Name": "tag:spiral:project", "Values": [project]})
    found = []
    for page in ec2.get_paginator("describe_instances").paginate(Filters=filters):
        found += [instance for reservation in page["Reservations"] for instance in reservation["Instances"]]
    return found


def idle_for(cloudwatch: Any, instance: Mapping[str, Any], now: dt.datetime, threshold: float) -> str:
    """How long the machine has done nothing: since its stop, or since CPU last reached ``threshold`` %."""
    state = str(instance["State"]["Name"])
    if state != "running":
        stopped = _STOPPED_AT.search(instance.get("StateTransitionReason", ""))
        if stopped is None:
            return state
        since = dt.datetime.strptime(stopped.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.UTC)
        return f"{state} {_ago(now - since)}"
    points = cloudwatch.get_metric_statistics(
        Namespace="AWS/EC2",
        MetricName="CPUUtilization",
        Dimensions=[{"Name": "InstanceId", "Value": instance["InstanceId"]}],
        StartTime=now - LOOKBACK,
        EndTime=now,
        Period=300,
        Statistics=["Maximum"],
    )["Datapoints"]
    if not points:
        return "unknown"
    busy = [p["Timestamp"] for p in points if p["Maximum"] >= threshold]
    if not busy:
        return f"> {_ago(min(now - instance['LaunchTime'], LOOKBACK))}"
    return _ago(max(dt.timedelta(0), now - (max(busy) + dt.timedelta(minutes=5))))


def month_cost(ce: Any, today: dt.date) -> dict[tuple[str, str], float] | None:
    """This month's cost of workstation resources per (project, owner); None if Cost Explorer refuses."""
    request = {
        "TimePeriod": {"Start": today.replace(day=1).isoformat(), "End": (today + dt.timedelta(days=1)).isoformat()},
        "Granularity": "MONTHLY",
        "Metrics": [METRIC],
        "GroupBy": [{"Type": "TAG", "Key": "spiral:project"}, {"Type": "TAG", "Key": "spiral:user"}],
        "Filter": {"Tags": {"Key": "spiral:role", "Values": ["instance", "root", "home"]}},
    }
    totals: dict[tuple[str, str], float] = {}
    try:
        result = ce.get_cost_and_usage(**request)
    except ClientError:
        return None
    for period in result.get("ResultsByTime", []):
        for group in period.get("Groups", []):
            project, user = (key.partition("$")[2] for key in group["Keys"])
            totals[(project, user)] = totals.get((project, user), 0.0) + float(group["Metrics"][METRIC]["Amount"])
    return totals


def boxes(ec2: Any, cloudwatch: Any, ce: Any, project: str | None, threshold: float, now: dt.datetime) -> list[Box]:
    costs = month_cost(ce, now.date())
    result = []
    for instance in instances(ec2, project):
        tags = {tag["Key"]: tag["Value"] for tag in instance.get("Tags", [])}
        key = (tags.get("spiral:project", ""), tags.get("spiral:owner", ""))
        result.append(
            Box(
                instance_id=instance["InstanceId"],
                project=key[0],
                owner=key[1],
                instance_type=instance["InstanceType"],
                state=instance["State"]["Name"],
                launched=instance["LaunchTime"],
                idle=idle_for(cloudwatch, instance, now, threshold),
                cost=None if costs is None else costs.get(key, 0.0),
            )
        )
    return sorted(result, key=lambda box: (box.project, box.owner, box.instance_id))


def table(found: list[Box]) -> str:
    if not found:
        return "no workstations"
    head = ("INSTANCE", "PROJECT", "OWNER", "TYPE", "STATE", "LAUNCHED", "IDLE", "THIS MONTH")
    rows = [head] + [
        (
            box.instance_id, box.project, box.owner, box.instance_type, box.state,
            f"{box.launched:%Y-%m-%d %H:%M}", box.idle, "?" if box.cost is None else f"${box.cost:,.2f}",
        )
        for box in found
    ]  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    if any(box.cost is None for box in found):
        lines.append("?: Cost Explorer did not answer (it needs ce:GetCostAndUsage and the tags activated)")
    return "\n".join(lines)


def _ago(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h" if minutes < 48 * 60 else f"{minutes // 1440} d"
