"""``spiral workstation`` against a moto server: what ``up`` creates, the home volume's life across
``down`` and ``up``, ``stop``/``start``, access, and one clear error for each wrong start."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from spiralkit import aws
from spiralkit.cli import main
from spiralkit.workstation import settings, userdata

PROJECT = """\
[tool.spiral]
project = "churn-model"
region = "{region}"
bucket = "acme-churn"
ecr_repository = "churn-model"

[tool.spiral.workstation]
cost_centre = "cc-4711"
{extra}
"""
BUILT = "0123456789abcdef0123456789abcdef01234567"  # a commit deploy.yml built: it pushed workstation-<commit>
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPx0bG9uZ2tleWZvcnRlc3RzMDEyMzQ1Njc4OQ ana@laptop"


def write_project(root: Path, region: str = "us-east-1", extra: str = "idle_minutes = 45") -> None:
    (root / "pyproject.toml").write_text(PROJECT.format(region=region, extra=extra))


@pytest.fixture
def project(aws_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project, a laptop with an SSH key, and an account where ECR holds both images."""
    for name in ("GITHUB_ACTIONS", "SPIRAL_LEASE_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SPIRAL_USER", "bo")  # ignored: with AWS configured, who you are is your AWS identity
    as_iam_user("ana", monkeypatch)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home" / ".ssh").mkdir(parents=True)
    (tmp_path / "home" / ".ssh" / "id_ed25519.pub").write_text(KEY + "\n")
    (tmp_path / "home" / ".ssh" / "id_ed25519").write_text("private\n")
    write_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    boto3.client("ecr").create_repository(repositoryName="churn-model")
    for tag in (f"workstation-{BUILT}", f"workstation-gpu-{BUILT}"):
        push_image(tag)
    return tmp_path


def push_image(tag: str) -> str:
    """Push a (content-free) image as deploy.yml does; return its digest."""
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"digest": f"sha256:{tag}"},
        "layers": [],
    }
    image = boto3.client("ecr").put_image(
        repositoryName="churn-model", imageManifest=json.dumps(manifest), imageTag=tag
    )
    return str(image["image"]["imageId"]["imageDigest"])


def as_iam_user(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials of IAM user ``name``: moto's GetCallerIdentity then answers with that user's ARN."""
    iam = boto3.client("iam")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    aws.session.cache_clear()


@pytest.fixture
def granted(project: Path) -> Path:
    assert main(["workstation", "grant", "ana"]) == 0
    return project


def instances(**state: str) -> list[dict[str, Any]]:
    filters = [{"Name": "instance-state-name", "Values": [state.get("state", "running")]}]
    reservations = boto3.client("ec2").describe_instances(Filters=filters)["Reservations"]
    return [i for r in reservations for i in r["Instances"]]


def home_volumes() -> list[dict[str, Any]]:
    filters = [{"Name": "tag:spiral:role", "Values": ["home"]}]
    return list(boto3.client("ec2").describe_volumes(Filters=filters)["Volumes"])


def tags(resource: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


def user_data(instance_id: str) -> dict[str, Any]:
    attribute = boto3.client("ec2").describe_instance_attribute(InstanceId=instance_id, Attribute="userData")
    return userdata.parse(base64.b64decode(attribute["UserData"]["Value"]))


def written(instance_id: str, suffix: str) -> str:
    """What the user-data writes to the instance's file ending in ``suffix``."""
    files = user_data(instance_id)["write_files"]
    return str(next(f["content"] for f in files if f["path"].endswith(suffix)))


def test_up_launches_a_locked_down_instance(granted: Path) -> None:
    assert main(["workstation", "up"]) == 0
    [instance] = instances()
    ec2 = boto3.client("ec2")
    assert instance["InstanceType"] == "m6i.xlarge"
    assert instance["MetadataOptions"]["HttpTokens"] == "required"
    assert instance["MetadataOptions"]["HttpPutResponseHopLimit"] == 2
    assert instance["IamInstanceProfile"]["Arn"].endswith("/spiral-ws-churn-model-ana")
    ami = boto3.client("ssm").get_parameter(Name=settings.CPU_AMI)["Parameter"]["Value"]
    assert instance["ImageId"] == ami
    [group] = ec2.describe_security_groups(GroupIds=[instance["SecurityGroups"][0]["GroupId"]])["SecurityGroups"]
    assert group["IpPermissions"] == []
    shutdown = ec2.describe_instance_attribute(
        InstanceId=instance["InstanceId"], Attribute="instanceInitiatedShutdownBehavior"
    )
    assert shutdown["InstanceInitiatedShutdownBehavior"]["Value"] == "stop"
    volumes = ec2.describe_volumes(Filters=[{"Name": "attachment.instance-id", "Values": [instance["InstanceId"]]}])[
        "Volumes"
    ]
    assert {tags(v)["spiral:role"] for v in volumes} == {"root", "home"}
    assert all(v["Encrypted"] for v in volumes)
    for resource in [instance, *volumes]:
        assert tags(resource)["spiral:project"] == "churn-model"
        assert tags(resource)["spiral:owner"] == "ana"
        assert tags(resource)["spiral:cost-centre"] == "cc-4711"
        assert tags(resource)["spiral:user"] == "ana"  # the key Batch jobs carry: costs add up per person
        assert tags(resource)["spiral:namespace"] == "user.ana"
    env = written(instance["InstanceId"], "workstation.env")
    [home] = home_volumes()
    assert f"SPIRAL_HOME_VOLUME={home['VolumeId']}" in env
    assert "/churn-model@sha256:" in env
    assert json.loads(written(instance["InstanceId"], "agent.json"))["idle_minutes"] == 45
    assert user_data(instance["InstanceId"])["ssh_authorized_keys"] == [KEY]


def test_down_keeps_the_home_volume_and_the_next_up_reattaches_it(
    granted: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["workstation", "up"]) == 0
    [first] = home_volumes()
    assert main(["workstation", "down"]) == 0
    assert "kept home volume" in capsys.readouterr().out
    assert instances() == []
    [kept] = home_volumes()
    assert (kept["VolumeId"], kept["State"]) == (first["VolumeId"], "available")
    assert main(["workstation", "up"]) == 0
    [instance] = instances()
    [again] = home_volumes()
    assert again["VolumeId"] == first["VolumeId"]
    assert again["Attachments"][0]["InstanceId"] == instance["InstanceId"]
    assert main(["workstation", "down", "--delete-home"]) == 0
    assert home_volumes() == []


def test_stop_and_start(granted: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["workstation", "up"]) == 0
    assert main(["workstation", "stop"]) == 0
    assert len(instances(state="stopped")) == 1
    assert main(["workstation", "up"]) == 5
    assert "`spiral workstation start`" in capsys.readouterr().err
    assert main(["workstation", "start"]) == 0
    assert len(instances()) == 1
    assert main(["workstation", "start"]) == 5
    assert "is running" in capsys.readouterr().err


def test_a_second_up_while_one_runs_is_refused(granted: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["workstation", "up"]) == 0
    [running] = instances()
    assert main(["workstation", "up"]) == 5
    expected = f"already has workstation {running['InstanceId']}, running: `spiral workstation connect`"
    assert expected in capsys.readouterr().err
    assert len(instances()) == 1


def _refused(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    """``args`` fails with ``message``, having created nothing."""
    assert main(args) != 0
    assert message in capsys.readouterr().err
    assert instances(state="pending") + instances() == []
    assert home_volumes() == []


def test_a_missing_profile_is_a_clear_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    message = "instance profile 'spiral-ws-churn-model-ana' does not exist"
    _refused(["workstation", "up"], message, capsys)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--instance-type", "z9.mega"], "unknown instance type 'z9.mega'"),
        (["--instance-type", "m6i.xlarge", "--gpu"], "m6i.xlarge has no GPU"),
        (["--instance-type", "g5.xlarge"], "g5.xlarge is a GPU type: add --gpu"),
    ],
)
def test_a_wrong_instance_type_is_a_clear_error(
    granted: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _refused(["workstation", "up", *args], message, capsys)


def test_an_unknown_region_is_a_clear_error(granted: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_project(granted, region="eu-nowhere-9")
    _refused(["workstation", "up"], "unknown AWS region 'eu-nowhere-9'", capsys)


def test_a_missing_image_is_a_clear_error(granted: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_project(granted, extra='image_tag = "nightly"')
    _refused(["workstation", "up"], "no image tagged nightly-<commit>", capsys)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("idle_minutes = 2", "idle_minutes = 2 is outside 10..1440"),
        ('idle_minutes = "60"', "idle_minutes must be a int"),
        ("idle_minute = 60", "unknown key(s) idle_minute"),
    ],
)
def test_bad_settings_are_clear_errors(
    granted: Path, extra: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    write_project(granted, extra=extra)
    _refused(["workstation", "up"], message, capsys)


def test_gpu_up_uses_the_gpu_image_and_ami(granted: Path) -> None:
    assert main(["workstation", "up", "--gpu"]) == 0
    [instance] = instances()
    ami = boto3.client("ssm").get_parameter(Name=settings.GPU_AMI)["Parameter"]["Value"]
    assert (instance["InstanceType"], instance["ImageId"]) == ("g5.xlarge", ami)
    env = written(instance["InstanceId"], "workstation.env")
    assert "SPIRAL_GPU=true" in env
    digest = boto3.client("ecr").describe_images(
        repositoryName="churn-model", imageIds=[{"imageTag": f"workstation-gpu-{BUILT}"}]
    )["imageDetails"][0]["imageDigest"]
    assert f"@{digest}" in env


def test_an_opened_security_group_is_refused(granted: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ec2 = boto3.client("ec2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
    group = ec2.create_security_group(GroupName="spiral-workstation-churn-model", Description="x", VpcId=vpc["VpcId"])
    ec2.authorize_security_group_ingress(
        GroupId=group["GroupId"], IpProtocol="tcp", FromPort=22, ToPort=22, CidrIp="0.0.0.0/0"
    )
    assert main(["workstation", "up"]) == 5
    assert "has inbound rules" in capsys.readouterr().err
    assert instances() == []


def test_no_ssh_key_is_a_clear_error(granted: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for key in (granted / "home" / ".ssh").iterdir():
        key.unlink()
    _refused(["workstation", "up"], "run `ssh-keygen -t ed25519`", capsys)


def test_grant_scopes_s3_to_the_persons_namespace_and_prod_read_only(granted: Path) -> None:
    assert main(["workstation", "grant", "ana"]) == 0  # a second grant brings it up to date
    iam = boto3.client("iam")
    profile = iam.get_instance_profile(InstanceProfileName="spiral-ws-churn-model-ana")
    [role] = profile["InstanceProfile"]["Roles"]
    trust = role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
    assert trust == {"Service": "ec2.amazonaws.com"}
    document = iam.get_role_policy(RoleName=role["RoleName"], PolicyName="spiral-workstation")
    statements = {s["Sid"]: s for s in document["PolicyDocument"]["Statement"]}
    bucket = "arn:aws:s3:::acme-churn"
    own = [f"{bucket}/{folder}/user.ana/*" for folder in ("published", "spiral/runs", "spiral/index")]
    assert statements["OwnNamespaceReadWrite"]["Resource"] == own
    assert "s3:PutObject" in statements["OwnNamespaceReadWrite"]["Action"]
    assert statements["ProdReadOnly"]["Action"] == "s3:GetObject"
    assert f"{bucket}/published/prod/*" in statements["ProdReadOnly"]["Resource"]
    written = [s["Resource"] for s in statements.values() if "s3:PutObject" in s["Action"]]
    assert sorted(map(str, written)) == sorted([f"{bucket}/dvc/*", str(own)])
    assert "ssmmessages:OpenDataChannel" in statements["SessionManager"]["Action"]
    assert statements["PullProjectImages"]["Resource"].endswith(":repository/churn-model")


def test_grant_refuses_a_name_that_is_not_a_namespace(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["workstation", "grant", "Ana Smith"]) == 3
    assert "is not valid" in capsys.readouterr().err


def test_connect_writes_an_ssh_entry_and_prints_the_jupyter_url(
    granted: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["workstation", "up"]) == 0
    [instance] = instances()
    capsys.readouterr()
    assert main(["workstation", "connect", "--no-forward"]) == 0
    out = capsys.readouterr().out
    entry = (granted / "home" / ".ssh" / "spiral" / "churn-model.conf").read_text()
    assert "Host spiral-churn-model\n" in entry
    assert f"HostName {instance['InstanceId']}\n" in entry
    assert "--document-name AWS-StartSSHSession --parameters portNumber=%p" in entry
    assert "Include spiral/*.conf" in out  # ~/.ssh/config does not include it yet
    token = written(instance["InstanceId"], "jupyter-token").strip()
    assert f"http://127.0.0.1:8888/lab?token={token}" in out
    monkeypatch.setenv("PATH", str(granted / "empty"))
    assert main(["workstation", "connect"]) == 5
    assert "session-manager-plugin not found" in capsys.readouterr().err


def test_status_says_what_runs_and_where_files_are(granted: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["workstation", "status"]) == 0
    assert "no workstation" in capsys.readouterr().out
    assert main(["workstation", "up"]) == 0
    [instance] = instances()
    capsys.readouterr()
    assert main(["workstation", "status"]) == 0
    out = capsys.readouterr().out
    assert f"workstation {instance['InstanceId']}: running, m6i.xlarge" in out
    assert "/churn-model@sha256:" in out
    assert "home volume vol-" in out


def test_connect_without_a_workstation_says_what_to_type(granted: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["workstation", "connect", "--no-forward"]) == 5
    assert "`spiral workstation up` makes one" in capsys.readouterr().err


def test_another_person_sees_neither_the_workstation_nor_the_home_volume(
    granted: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Setting SPIRAL_USER=ana does not make bo ana: bo's AWS identity decides, so `down` finds nothing."""
    assert main(["workstation", "up"]) == 0
    as_iam_user("bo", monkeypatch)
    monkeypatch.setenv("SPIRAL_USER", "ana")
    capsys.readouterr()
    assert main(["workstation", "down", "--delete-home"]) == 5
    assert "spiral-churn-model-bo has no workstation" in capsys.readouterr().err
    assert len(instances()) == 1
    assert len(home_volumes()) == 1


def test_an_unencrypted_volume_with_someones_tags_is_never_attached(
    granted: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ec2 = boto3.client("ec2")
    planted = {"churn-model": "spiral:project", "ana": "spiral:owner", "home": "spiral:role"}
    ec2.create_volume(
        AvailabilityZone="us-east-1a",
        Size=1,
        Encrypted=False,
        TagSpecifications=[{"ResourceType": "volume", "Tags": [{"Key": k, "Value": v} for v, k in planted.items()]}],
    )
    assert main(["workstation", "up"]) == 5
    assert "is not encrypted: it is not attached" in capsys.readouterr().err
    assert instances() == []


def test_a_failed_up_terminates_the_new_instance_and_its_new_home(
    granted: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from spiralkit.workstation import home

    def refuse(*_: object) -> None:
        raise RuntimeError("attach refused")

    monkeypatch.setattr(home, "attach", refuse)
    assert main(["workstation", "up"]) == 5
    error = capsys.readouterr().err
    assert "attach refused" in error
    assert "terminated, and the new home volume deleted" in error
    assert instances() == []
    assert [v for v in home_volumes() if v["State"] not in {"deleting", "deleted"}] == []
