"""What ``spiral workstation status`` says: the owner's instance and home volume, found by their tags."""

from __future__ import annotations

from typing import Any

from spiralkit.workstation import home, machine
from spiralkit.workstation.settings import Settings


def describe(ec2: Any, settings: Settings) -> list[str]:
    """The lines to print: the instance (state, type, zone, image), its stop rules, and the home volume."""
    lines = []
    current = machine.find(ec2, settings)
    if current is None:
        lines.append(f"{settings.name}: no workstation (`spiral workstation up` makes one)")
    else:
        tags = {t["Key"]: t["Value"] for t in current.get("Tags", [])}
        lines += [
            f"workstation {current['InstanceId']}: {current['State']['Name']}, "
            f"{current['InstanceType']} in {current['Placement']['AvailabilityZone']}, "
            f"launched {current['LaunchTime']:%Y-%m-%d %H:%M %Z}",
            f"image       {tags.get('spiral:image', 'unknown')}",
            f"idle stop   after {settings.idle_minutes} min with no session, kernel, CPU/GPU use or lease",
            f"lifetime    {settings.max_hours} h after each start, busy or not, unless a lease runs",
        ]
    volume = home.find(ec2, settings)
    if volume is not None:
        lines.append(
            f"home volume {volume['VolumeId']}: {volume['Size']} GiB, {volume['State']}; "
            "it is your ~ (/home/spiral) in the workstation"
        )
    return lines
