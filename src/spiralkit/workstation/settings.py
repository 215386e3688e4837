"""The workstation's settings: ``[tool.spiral.workstation]`` plus command-line overrides, checked
once, before anything is created."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from spiralkit import namespace
from spiralkit.config import ProjectConfig
from spiralkit.errors import ConfigError

# Amazon Linux 2023 has Docker, the SSM agent and python3 in its repositories; the ECS GPU image
# adds the NVIDIA driver and container toolkit. Both are public SSM parameters, so `up` always
# gets the current image without anyone copying AMI ids around.
CPU_AMI = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
GPU_AMI = "/aws/service/ecs/optimized-ami/amazon-linux-2023/gpu/recommended/image_id"

DEFAULTS: Mapping[str, Any] = {
    "instance_type": "m6i.xlarge",
    "gpu_instance_type": "g5.xlarge",
    "ami_parameter": CPU_AMI,
    "gpu_ami_parameter": GPU_AMI,
    "image_tag": "workstation",
    "gpu_image_tag": "workstation-gpu",
    "idle_minutes": 60,
    "max_hours": 12,  # up at most this long after each start, busy or not, unless `spiral keepalive` renews it
    "cpu_threshold": 10.0,
    "gpu_threshold": 10.0,
    "root_gib": 60,
    "home_gib": 100,
    "cost_centre": "",
    "subnet_id": "",
    "instance_profile": "",
}
_RANGES = {
    "idle_minutes": (10, 24 * 60),
    "max_hours": (1, 24 * 7),
    "root_gib": (30, 2000),
    "home_gib": (1, 16000),
    "cpu_threshold": (1, 100),
    "gpu_threshold": (1, 100),
}


@dataclass(frozen=True)
class Settings:
    """One person's workstation for one project."""

    project: str
    region: str
    owner: str
    bucket: str
    ecr_repository: str
    gpu: bool
    instance_type: str
    ami_parameter: str
    image_tag: str
    idle_minutes: int
    max_hours: int
    cpu_threshold: float
    gpu_threshold: float
    root_gib: int
    home_gib: int
    cost_centre: str
    subnet_id: str
    instance_profile: str

    @property
    def name(self) -> str:
        return f"spiral-{self.project}-{self.owner}"

    def tags(self, role: str) -> list[dict[str, str]]:
        """Tags on every workstation resource: cost reports group by them, `up` finds by them."""
        return [
            {"Key": "Name", "Value": f"{self.name}-{role}" if role != "instance" else self.name},
            {"Key": "spiral:project", "Value": self.project},
            {"Key": "spiral:owner", "Value": self.owner},
            # The keys Batch jobs carry too, so `spiral cost --by user` and budgets add workstations and jobs up.
            {"Key": "spiral:user", "Value": self.owner},
            {"Key": "spiral:namespace", "Value": f"user.{self.owner}"},
            {"Key": "spiral:cost-centre", "Value": self.cost_centre},
            {"Key": "spiral:role", "Value": role},
        ]


def owner(config: ProjectConfig, person: str | None, env: Mapping[str, str] | None) -> str:
    """The person a workstation belongs to: the ``<name>`` of their ``user.<name>`` namespace.

    ``person`` is given when a platform engineer acts for someone (``grant``); else it is you.
    """
    env = os.environ if env is None else env
    name = namespace.resolve(config, f"user.{person}", env) if person else namespace.default(config, env)
    if not name.startswith("user."):
        raise ConfigError(f"workstations belong to a person, and this run is {name} (CI)")
    return name.removeprefix("user.")


def profile_name(project: str, who: str) -> str:
    name = f"spiral-ws-{project}-{who}"
    if len(name) > 64:
        raise ConfigError(f"{name!r} is longer than IAM's 64 characters: set instance_profile")
    return name


def cpu_threshold(config: ProjectConfig) -> float:
    """The busiest-core percentage below which a box counts as idle, for `spiral workstation ls`."""
    return float(config.section("workstation").get("cpu_threshold", DEFAULTS["cpu_threshold"]))


def resolve(
    config: ProjectConfig,
    *,
    gpu: bool = False,
    instance_type: str | None = None,
    person: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Merge defaults, ``[tool.spiral.workstation]`` and flags; refuse anything unusable."""
    table = dict(config.section("workstation"))
    where = "[tool.spiral.workstation]"
    if unknown := sorted(set(table) - set(DEFAULTS)):
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(DEFAULTS)}")
    values = {**DEFAULTS, **table}
    for key, value in values.items():
        expected = type(DEFAULTS[key])
        if type(value) is not expected and not (expected is float and type(value) is int):
            raise ConfigError(f"{where}: {key} must be a {expected.__name__}, got {value!r}")
        low, high = _RANGES.get(key, (value, value))
        if not low <= value <= high:
            raise ConfigError(f"{where}: {key} = {value} is outside {low}..{high}")
    if not config.ecr_repository:
        raise ConfigError("[tool.spiral] ecr_repository is empty: the workstation image lives there")
    who = owner(config, person, env)
    prefix = "gpu_" if gpu else ""
    return Settings(
        project=config.project,
        region=config.region,
        owner=who,
        bucket=config.bucket,
        ecr_repository=config.ecr_repository,
        gpu=gpu,
        instance_type=instance_type or values[f"{prefix}instance_type"],
        ami_parameter=values[f"{prefix}ami_parameter"],
        image_tag=values[f"{prefix}image_tag"],
        idle_minutes=values["idle_minutes"],
        max_hours=values["max_hours"],
        cpu_threshold=values["cpu_threshold"],
        gpu_threshold=values["gpu_threshold"],
        root_gib=values["root_gib"],
        home_gib=values["home_gib"],
        cost_centre=values["cost_centre"] or config.project,
        subnet_id=values["subnet_id"],
        instance_profile=values["instance_profile"] or profile_name(config.project, who),
    )
