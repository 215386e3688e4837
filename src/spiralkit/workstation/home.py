"""The persistent home volume: encrypted, tagged, kept by ``down``, re-attached by the next ``up``.

It lives in one availability zone, so it decides where the next instance is launched.
"""

from __future__ import annotations

from typing import Any

from spiralkit.workstation import WorkstationError
from spiralkit.workstation.settings import Settings

DEVICE = "/dev/sdf"  # Nitro instances show it as an NVMe disk; start.sh finds it by volume id


def _filters(settings: Settings) -> list[dict[str, Any]]:
    return [
        {"Name": "tag:spiral:project", "Values": [settings.project]},
        {"Name": "tag:spiral:owner", "Values": [settings.owner]},
        {"Name": "tag:spiral:role", "Values": ["home"]},
    ]


def find(ec2: Any, settings: Settings) -> dict[str, Any] | None:
    """The person's home volume: tagged at creation for this project and owner, and encrypted.

    IAM lets a person tag a volume only in the request that creates it, and only with their own
    name, so the tags say who made it; a volume that carries them but is not encrypted is refused,
    never attached (and IAM denies attaching it too).
    """
    volumes = ec2.describe_volumes(Filters=_filters(settings))["Volumes"]
    live = [v for v in volumes if v["State"] not in {"deleting", "deleted", "error"}]
    if not live:
        return None
    if len(live) > 1:
        ids = ", ".join(v["VolumeId"] for v in live)
        raise WorkstationError(f"{settings.name} has several home volumes ({ids}): keep one, delete the others")
    volume = dict(live[0])
    if not volume.get("Encrypted"):
        raise WorkstationError(
            f"volume {volume['VolumeId']} is tagged as {settings.owner}'s home but is not encrypted: "
            "it is not attached; ask a platform engineer to look at who created it"
        )
    return volume


def create(ec2: Any, settings: Settings, zone: str) -> dict[str, Any]:
    volume = ec2.create_volume(
        AvailabilityZone=zone,
        Size=settings.home_gib,
        VolumeType="gp3",
        Encrypted=True,  # with the account's default EBS key unless the account sets another
        TagSpecifications=[{"ResourceType": "volume", "Tags": settings.tags("home")}],
    )
    ec2.get_waiter("volume_available").wait(
        VolumeIds=[volume["VolumeId"]], WaiterConfig={"Delay": 2, "MaxAttempts": 60}
    )
    return dict(volume)


def attach(ec2: Any, volume_id: str, instance_id: str) -> None:
    """Attach after launch (EC2 cannot attach an existing volume at launch time)."""
    ec2.get_waiter("volume_available").wait(VolumeIds=[volume_id], WaiterConfig={"Delay": 2, "MaxAttempts": 90})
    ec2.attach_volume(VolumeId=volume_id, InstanceId=instance_id, Device=DEVICE)


def delete(ec2: Any, volume_id: str) -> None:
    ec2.delete_volume(VolumeId=volume_id)
