"""A workstation on day one: `up` runs the image deploy.yml pushed (by digest), the box works in its
owner's namespace, and the owner's instance profile lets it publish there and nowhere else."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import boto3
from iam_policy import decide
from test_workstation import BUILT, granted, instances, project, push_image, written  # noqa: F401 (fixtures)

from spiralkit import config, namespace
from spiralkit.cli import main
from spiralkit.runs import environment
from spiralkit.runs import record as records

NEWER = "fedcba9876543210fedcba9876543210fedcba98"


def image_in_env(instance_id: str) -> str:
    env = written(instance_id, "workstation.env")
    return next(line.split("=", 1)[1] for line in env.splitlines() if line.startswith("SPIRAL_IMAGE="))


def test_up_runs_the_image_of_the_clones_commit_by_digest(granted: Path) -> None:  # noqa: F811
    subprocess.run(["git", "init", "-q"], cwd=granted, check=True)
    subprocess.run(["git", "add", "pyproject.toml"], cwd=granted, check=True)
    subprocess.run(["git", "commit", "-qm", "start"], cwd=granted, check=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=granted, capture_output=True, text=True).stdout.strip()
    own = push_image(f"workstation-{head}")
    time.sleep(1.1)  # ECR records push times in seconds
    push_image(f"workstation-{NEWER}")  # newer, but another commit's
    assert main(["workstation", "up"]) == 0
    [instance] = instances()
    assert image_in_env(instance["InstanceId"]).endswith(f"/churn-model@{own}")


def test_up_falls_back_to_the_newest_built_image(granted: Path) -> None:  # noqa: F811
    """Not a clone, or a commit CI has not built: the newest workstation-<commit>, never a GPU one."""
    time.sleep(1.1)
    newest = push_image(f"workstation-{NEWER}")
    time.sleep(1.1)
    push_image(f"workstation-gpu-{NEWER}")
    assert main(["workstation", "up"]) == 0
    [instance] = instances()
    assert image_in_env(instance["InstanceId"]).endswith(f"@{newest}")


def test_the_box_works_in_its_owners_namespace_and_may_publish_there_only(granted: Path) -> None:  # noqa: F811
    assert main(["workstation", "up"]) == 0
    [instance] = instances()
    env = dict(line.split("=", 1) for line in written(instance["InstanceId"], "workstation.env").splitlines())
    assert env["SPIRAL_NAMESPACE"] == "user.ana"
    assert env["AWS_DEFAULT_REGION"] == "us-east-1"
    start = written(instance["InstanceId"], "start.sh")
    assert '--env "SPIRAL_NAMESPACE=$SPIRAL_NAMESPACE"' in start
    assert "--env SPIRAL_WORKSTATION=1" in start
    # In the container: the namespace comes from the environment, not from the caller's identity
    # (there, the instance's role session), and the run records say "workstation".
    project_config = config.load(granted)
    box = {"SPIRAL_NAMESPACE": env["SPIRAL_NAMESPACE"], "SPIRAL_WORKSTATION": "1"}
    name = namespace.resolve(project_config, None, box)
    assert name == "user.ana"
    assert environment.origin(box) == "workstation"

    iam = boto3.client("iam")
    profile = instance["IamInstanceProfile"]["Arn"].rsplit("/", 1)[1]
    [role] = iam.get_instance_profile(InstanceProfileName=profile)["InstanceProfile"]["Roles"]
    policy = iam.get_role_policy(RoleName=role["RoleName"], PolicyName="spiral-workstation")["PolicyDocument"]
    store = records.store_for(project_config)

    def may_put(uri: str) -> bool:
        return decide([policy], "s3:PutObject", "arn:aws:s3:::" + uri.removeprefix("s3://"), {}) == "allow"

    writes = [
        namespace.publish_uri(project_config, name, "model.skops"),
        store.uri(f"runs/{name}/20261201T000000Z-abc/run.json"),
        store.uri(f"index/{name}/0123.json"),
    ]
    assert all(may_put(uri) for uri in writes), writes
    assert decide([policy], "s3:DeleteObject", "arn:aws:s3:::" + writes[0].removeprefix("s3://"), {}) == "allow"
    for other in ("user.bo", "prod", "test.main"):
        assert not may_put(namespace.publish_uri(project_config, other, "model.skops")), other
        assert not may_put(store.uri(f"runs/{other}/r/run.json")), other
