"""The workstation's security group: no inbound rule at all. Session Manager reaches the instance
through the SSM agent's own outbound connection, so nothing needs to listen to the network."""

from __future__ import annotations

from typing import Any

from spiralkit.workstation import WorkstationError
from spiralkit.workstation.settings import Settings


def security_group(ec2: Any, settings: Settings, vpc_id: str) -> str:
    """The project's workstation group in ``vpc_id``, created on first use; refused if opened up."""
    name = f"spiral-workstation-{settings.project}"
    found = ec2.describe_security_groups(
        Filters=[
            {"Name": "group-name", "Values": [name]},
            {"Name": "vpc-id", "Values": [vpc_id]},
        ]
    )["SecurityGroups"]
    if found:
        if found[0]["IpPermissions"]:
            raise WorkstationError(
                f"security group {found[0]['GroupId']} ({name}) has inbound rules; workstations "
                "are reached through Session Manager only: remove the rules and retry"
            )
        return str(found[0]["GroupId"])
    created = ec2.create_security_group(
        GroupName=name,
        Description="spiral workstations: no inbound rules, access through SSM Session Manager",
        VpcId=vpc_id,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": settings.tags("network")}],
    )
    return str(created["GroupId"])
