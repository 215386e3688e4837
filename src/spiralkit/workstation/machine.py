"""The instance's life: ``up`` launches it, ``stop``/``start`` pause and resume it, ``down``
terminates it and keeps the home volume for the next ``up``.

Everything is found by its tags (project, owner, role), so no local state can go stale: any of the
person's laptops sees the same workstation.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from spiralkit import aws
from spiralkit.workstation import WorkstationError, home, lookup, network, userdata
from spiralkit.workstation.settings import Settings

LIVE = ["pending", "running", "stopping", "stopped", "shutting-down"]
_WAIT = {"Delay": 2, "MaxAttempts": 300}  # up to 10 minutes


@dataclass(frozen=True)
class Clients:
    ec2: Any
    ssm: Any
    ecr: Any
    iam: Any

    @classmethod
    def of(cls, settings: Settings) -> Clients:
        return cls(*(aws.client(name, settings.region) for name in ("ec2", "ssm", "ecr", "iam")))


def find(ec2: Any, settings: Settings) -> dict[str, Any] | None:
    """The person's workstation for this project, unless it is terminated (or never was)."""
    reservations = ec2.describe_instances(
        Filters=[
            {"Name": "tag:spiral:project", "Values": [settings.project]},
            {"Name": "tag:spiral:owner", "Values": [settings.owner]},
            {"Name": "tag:spiral:role", "Values": ["instance"]},
            {"Name": "instance-state-name", "Values": LIVE},
        ]
    )["Reservations"]
    instances = [instance for r in reservations for instance in r["Instances"]]
    if len(instances) > 1:
        ids = ", ".join(i["InstanceId"] for i in instances)
        raise WorkstationError(f"{settings.name} has several instances ({ids}): terminate the extra ones")
    return dict(instances[0]) if instances else None


def require(ec2: Any, settings: Settings, *states: str) -> dict[str, Any]:
    """The workstation, which must be in one of ``states``; else what to type instead."""
    current = find(ec2, settings)
    if current is None:
        raise WorkstationError(f"{settings.name} has no workstation: `spiral workstation up` makes one")
    if current["State"]["Name"] not in states:
        raise WorkstationError(f"workstation {current['InstanceId']} is {_what_now(current)}")
    return current


def _what_now(instance: dict[str, Any]) -> str:
    """The instance's state, and what to type given it."""
    state = instance["State"]["Name"]
    hints = {
        "pending": "`spiral workstation connect` in a minute",
        "running": "`spiral workstation connect`",
        "stopped": "`spiral workstation start`",
    }
    return f"{state}: {hints.get(state, 'wait a minute and retry')}"


def up(clients: Clients, settings: Settings, ssh_public_key: str, commit: str | None = None) -> dict[str, Any]:
    """Check everything, then launch the instance (running ``commit``'s image if CI built it) and attach
    the home volume."""
    ec2 = clients.ec2
    if (current := find(ec2, settings)) is not None:
        raise WorkstationError(
            f"{settings.name} already has workstation {current['InstanceId']}, "
            f"{_what_now(current)} (or `spiral workstation down` first)"
        )
    lookup.instance_type(ec2, settings.instance_type, settings.gpu)
    profile = lookup.instance_profile(clients.iam, settings.instance_profile)
    image = lookup.image(clients.ecr, settings, commit)
    machine_image = lookup.ami(clients.ssm, ec2, settings.ami_parameter)
    zones = lookup.zones_offering(ec2, settings.instance_type)
    volume = home.find(ec2, settings)
    subnet = lookup.subnet(ec2, settings, volume["AvailabilityZone"] if volume else None, zones)
    zone = subnet["AvailabilityZone"]
    created = volume is None
    volume = volume or home.create(ec2, settings, zone)
    group = network.security_group(ec2, settings, subnet["VpcId"])
    launch = userdata.Launch(image, volume["VolumeId"], ssh_public_key, secrets.token_urlsafe(24))
    instance = ec2.run_instances(**_launch_request(settings, machine_image, subnet, group, profile, image, launch))[
        "Instances"
    ][0]
    try:
        ec2.get_waiter("instance_running").wait(InstanceIds=[instance["InstanceId"]], WaiterConfig=_WAIT)
        home.attach(ec2, volume["VolumeId"], instance["InstanceId"])
    except Exception as error:
        _undo(ec2, instance["InstanceId"], volume["VolumeId"] if created else None)
        raise WorkstationError(
            f"workstation {instance['InstanceId']} did not start with its home volume ({error}); it was "
            f"terminated{', and the new home volume deleted' if created else ''}: fix the cause and run `up` again"
        ) from error
    return dict(instance)


def _launch_request(
    settings: Settings,
    machine_image: dict[str, Any],
    subnet: dict[str, Any],
    group: str,
    profile: str,
    image: str,
    launch: userdata.Launch,
) -> dict[str, Any]:
    """RunInstances arguments; every tag is set here, in the creating request (IAM allows no later tagging)."""
    return {
        "ImageId": machine_image["ImageId"],
        "InstanceType": settings.instance_type,
        "MinCount": 1,
        "MaxCount": 1,
        "SubnetId": subnet["SubnetId"],
        "SecurityGroupIds": [group],
        "IamInstanceProfile": {"Arn": profile},
        # IMDSv2 only; hop limit 2 so the container (one hop further) can still get credentials.
        "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 2, "HttpEndpoint": "enabled"},
        "BlockDeviceMappings": [
            {
                "DeviceName": machine_image["RootDeviceName"],
                "Ebs": {
                    "VolumeSize": settings.root_gib,
                    "VolumeType": "gp3",
                    "Encrypted": True,
                    "DeleteOnTermination": True,
                },
            }
        ],
        "InstanceInitiatedShutdownBehavior": "stop",  # the idle agent powers off: that must *stop*
        "UserData": userdata.render(userdata.cloud_config(settings, launch)),
        "TagSpecifications": [
            {"ResourceType": "instance", "Tags": [*settings.tags("instance"), {"Key": "spiral:image", "Value": image}]},
            {"ResourceType": "volume", "Tags": settings.tags("root")},
        ],
    }


def _undo(ec2: Any, instance_id: str, new_volume: str | None) -> None:
    """Terminate the instance ``up`` just launched, and delete the home volume if ``up`` made it."""
    ec2.terminate_instances(InstanceIds=[instance_id])
    if new_volume is not None:
        ec2.get_waiter("instance_terminated").wait(InstanceIds=[instance_id], WaiterConfig=_WAIT)
        home.delete(ec2, new_volume)


def stop(ec2: Any, settings: Settings) -> str:
    instance_id = str(require(ec2, settings, "running")["InstanceId"])
    ec2.stop_instances(InstanceIds=[instance_id])
    return instance_id


def start(ec2: Any, settings: Settings) -> str:
    instance_id = str(require(ec2, settings, "stopped")["InstanceId"])
    ec2.start_instances(InstanceIds=[instance_id])
    ec2.get_waiter("instance_running").wait(InstanceIds=[instance_id], WaiterConfig=_WAIT)
    return instance_id


def down(ec2: Any, settings: Settings, delete_home: bool = False) -> list[str]:
    """Terminate the instance (its root volume goes with it); keep the home volume unless asked."""
    done = []
    current = find(ec2, settings)
    if current is not None:
        ec2.terminate_instances(InstanceIds=[current["InstanceId"]])
        ec2.get_waiter("instance_terminated").wait(InstanceIds=[current["InstanceId"]], WaiterConfig=_WAIT)
        done.append(f"terminated {current['InstanceId']}")
    volume = home.find(ec2, settings)
    if volume is not None and delete_home:
        home.delete(ec2, volume["VolumeId"])
        done.append(f"deleted home volume {volume['VolumeId']}")
    elif volume is not None:
        done.append(f"kept home volume {volume['VolumeId']} ({volume['Size']} GiB): the next `up` attaches it")
    if not done:
        raise WorkstationError(f"{settings.name} has no workstation and no home volume")
    return done
