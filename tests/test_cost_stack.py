"""The stack's cost parts, checked statically (test_infra.py's cfn-lint lints every resource, conditions or
not; moto cannot send Budgets notifications or deliver SNS to Lambda), and the stop function run on moto's EC2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from test_infra import project, stack_template  # noqa: F401  (fixture)

from spiralkit.workstation.settings import CPU_AMI


def resources(root: Path) -> dict[str, Any]:
    return dict(stack_template(root)["Resources"])  # type: ignore[call-overload]


def test_the_budget_filters_on_the_project_tag_and_alerts_at_50_80_and_100_percent(project: Path) -> None:  # noqa: F811
    found = resources(project)
    budget = found["Budget"]["Properties"]
    assert found["Budget"]["Condition"] == "WithBudget"
    assert budget["Budget"]["CostFilters"] == {"TagKeyValue": [{"Fn::Sub": "user:spiral:project$${Project}"}]}
    alerts = budget["NotificationsWithSubscribers"]
    notes = [(n["Notification"]["NotificationType"], n["Notification"]["Threshold"]) for n in alerts]
    assert notes == [("ACTUAL", 50), ("ACTUAL", 80), ("FORECASTED", 100), ("ACTUAL", 100)]
    # only the 100% actual notification reaches the topic that stops workstations
    exceeded = [n for n in alerts if n["Subscribers"][0]["Address"] == {"Ref": "BudgetExceededTopic"}]
    assert [n["Notification"]["Threshold"] for n in exceeded] == [100]
    assert found["StopWorkstationsSubscription"]["Properties"]["TopicArn"] == {"Ref": "BudgetExceededTopic"}
    stop = found["StopWorkstationsRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][1]
    assert stop["Action"] == "ec2:StopInstances"
    assert stop["Condition"]["StringEquals"] == {
        "aws:ResourceTag/spiral:project": {"Ref": "Project"},
        "aws:ResourceTag/spiral:role": "instance",
    }


def test_batch_instances_carry_the_project_tag(project: Path) -> None:  # noqa: F811
    found = resources(project)
    for name in ("SpotEnvironment", "OnDemandEnvironment", "GpuEnvironment"):
        assert found[name]["Properties"]["ComputeResources"]["Tags"] == {"spiral:project": {"Ref": "Project"}}


def launch(ec2: Any, name: str, role: str = "instance") -> str:
    image = boto3.client("ssm").get_parameter(Name=CPU_AMI)["Parameter"]["Value"]
    tags = [{"Key": "spiral:project", "Value": name}, {"Key": "spiral:role", "Value": role}]
    return str(
        ec2.run_instances(
            ImageId=image, MinCount=1, MaxCount=1, TagSpecifications=[{"ResourceType": "instance", "Tags": tags}]
        )["Instances"][0]["InstanceId"]
    )


def test_the_stop_function_stops_only_the_projects_running_workstations(
    project: Path,  # noqa: F811
    aws_env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code = resources(project)["StopWorkstationsFunction"]["Properties"]["Code"]["ZipFile"]
    ec2 = boto3.client("ec2")
    ours, theirs, not_a_box = launch(ec2, "churn-model"), launch(ec2, "fraud"), launch(ec2, "churn-model", "batch")
    monkeypatch.setenv("PROJECT", "churn-model")
    namespace: dict[str, Any] = {}
    exec(compile(code, "index.py", "exec"), namespace)  # the stack's own inline function
    assert namespace["handler"]({"Records": []}, None) == {"stopped": [ours]}
    states = {
        i["InstanceId"]: i["State"]["Name"]
        for r in ec2.describe_instances(InstanceIds=[ours, theirs, not_a_box])["Reservations"]
        for i in r["Instances"]
    }
    assert states[ours] in {"stopping", "stopped"}
    assert states[theirs] == "running"
    assert states[not_a_box] == "running"
