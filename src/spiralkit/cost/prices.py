"""What a vCPU-, GiB- and GPU-hour costs on the instance kinds the stack's queues launch.

A small static table, not AWS's Price List API: an estimate must work offline, before any credentials,
and be the same for everyone on the team. The figures are AWS's published us-east-1 Linux on-demand
list prices (aws.amazon.com/ec2/pricing/on-demand), split per resource:

- m6i.xlarge, $0.192/h for 4 vCPU and 16 GiB: $0.036 per vCPU-hour and $0.003 per GiB-hour
  (4 x 0.036 + 16 x 0.003 = 0.192). The general-purpose types Batch's ``optimal`` picks (m5/m6i, c5/c6i,
  r5/r6i) cost within about 15% of this per vCPU and GiB.
- g5.xlarge, $1.006/h, is an m6i.xlarge plus one A10G: $0.814 per GPU-hour (the GPU queue's dearest);
  g4dn.xlarge, $0.526/h, is one plus a T4: $0.334 (its cheapest).
- Spot: the stack's default queue is Spot first. Spot prices move hourly; ``spot_fraction`` 0.35 (65% off
  on-demand) is typical for these families and is an assumption, not a quote.

Prices as of 2026-12-01, not re-checked from this machine (it has no route to AWS). Other regions cost
more or less: set ``[tool.spiral.cost]`` ``vcpu_hour``, ``gib_hour``, ``gpu_hour``, ``spot_fraction``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from spiralkit.errors import ConfigError

SOURCE = "AWS us-east-1 Linux on-demand list prices (m6i.xlarge, g5.xlarge, g4dn.xlarge), 2026-12-01"


@dataclass(frozen=True)
class Prices:
    """Dollars per hour of each resource a job asks for."""

    vcpu_hour: float = 0.036
    gib_hour: float = 0.003
    gpu_hour: float = 0.814  # g5 (A10G): the high end of the GPU queue
    gpu_hour_low: float = 0.334  # g4dn (T4): the low end
    spot_fraction: float = 0.35

    def hourly(self, vcpus: float, memory_mib: float, gpus: int, *, spot: bool = False, low: bool = False) -> float:
        """One job's dollars per hour: what it asks for, on Spot or on-demand."""
        gpu = self.gpu_hour_low if low else self.gpu_hour
        rate = vcpus * self.vcpu_hour + memory_mib / 1024 * self.gib_hour + gpus * gpu
        # The GPU queue has no Spot environment (see infra/stack.yaml): GPU jobs pay on-demand.
        return rate * self.spot_fraction if spot and not gpus else rate


def for_project(section: Mapping[str, Any]) -> Prices:
    """The table, with the project's own figures from ``[tool.spiral.cost]`` where it sets them."""
    keys = {field.name for field in fields(Prices)}
    values = {key: section[key] for key in keys & set(section)}
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            raise ConfigError(f"[tool.spiral.cost] {key} must be a number of dollars (>= 0), not {value!r}")
    if values.get("spot_fraction", 0) > 1:
        raise ConfigError("[tool.spiral.cost] spot_fraction is Spot's share of the on-demand price: 0..1")
    return replace(Prices(), **values)
