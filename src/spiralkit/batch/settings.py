"""Per-stage AWS Batch settings: ``meta.batch`` in dvc.yaml over ``[tool.spiral.batch]`` defaults.

DVC has no per-stage compute settings, but its stage schema keeps a free-form ``meta`` block, so a
stage asks for resources there (``meta: {batch: {vcpus: 4, memory: 16384}}``). Every key is checked
here, before anything is submitted: a typo must fail on the laptop, not as a cryptic Batch error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from spiralkit.errors import UsageError


class BatchSettingsError(UsageError):
    """A ``meta.batch`` block or the ``[tool.spiral.batch]`` table is malformed."""


@dataclass(frozen=True)
class BatchSettings:
    """What one stage asks of AWS Batch.

    ``retries`` counts attempts after the first, and applies only to failures of the host (Spot
    reclamation, an EC2 instance lost): a stage that fails by itself fails at once, since running the
    same code on the same data again would fail again. ``timeout`` (seconds) is enforced by Batch.
    """

    vcpus: float = 1
    memory: int = 2048
    gpus: int = 0
    retries: int = 2
    timeout: int = 3600
    queue: str = ""

    def resource_requirements(self) -> list[dict[str, str]]:
        """The settings as Batch ``resourceRequirements`` (memory in MiB)."""
        wanted = [("VCPU", f"{self.vcpus:g}"), ("MEMORY", str(self.memory))]
        if self.gpus:
            wanted.append(("GPU", str(self.gpus)))
        return [{"type": kind, "value": value} for kind, value in wanted]


# Batch's own limits: at least 60 s of timeout, 1-10 attempts, 4 MiB of memory; vCPUs in quarters on Fargate.
_MINIMUM = {"vcpus": 0.25, "memory": 4, "gpus": 0, "retries": 0, "timeout": 60}
# Past these no instance type Batch can launch fits the job, and Batch does not refuse it: the job waits
# RUNNABLE for ever. 192 vCPUs: the largest c7i/m7i/r7i (.48xlarge); 4 TiB: x2iedn.32xlarge;
# 8 GPUs: p4d.24xlarge and p5.48xlarge.
_MAXIMUM = {"vcpus": 192, "memory": 4 * 1024 * 1024, "gpus": 8, "retries": 9}
_WHY_MAXIMUM = {
    "vcpus": " (the largest instance types AWS Batch launches have 192)",
    "memory": " MiB (4 TiB, the largest instance type AWS Batch launches)",
    "gpus": " (the most GPUs one instance type has)",
}
_KEYS = tuple(field.name for field in fields(BatchSettings))


def parse(block: Any, base: BatchSettings, where: str) -> BatchSettings:
    """``base`` updated with the checked values of ``block`` (a ``meta.batch`` or ``[tool.spiral.batch]``)."""
    if block is None:
        return base
    if not isinstance(block, Mapping):
        raise BatchSettingsError(f"{where} must be a mapping like {{vcpus: 2, memory: 4096}}")
    if unknown := sorted(set(block) - set(_KEYS)):
        raise BatchSettingsError(
            f"{where}: unknown key(s) {', '.join(map(str, unknown))}; known keys: {', '.join(_KEYS)}"
        )
    values = {key: _check(key, value, where) for key, value in block.items()}
    return replace(base, **values)


def _check(key: str, value: Any, where: str) -> Any:
    if key == "queue":
        if not isinstance(value, str):
            raise BatchSettingsError(f"{where}: queue must be a job queue name, not {value!r}")
        return value
    kinds = (int, float) if key == "vcpus" else (int,)
    if isinstance(value, bool) or not isinstance(value, kinds):
        kind = "a number" if key == "vcpus" else "a whole number"
        raise BatchSettingsError(f"{where}: {key} must be {kind}, not {value!r}")
    if not math.isfinite(value):  # NaN passes every comparison below, and infinity is no request
        raise BatchSettingsError(f"{where}: {key} must be a finite number, not {value!r}")
    if value < _MINIMUM[key] or value > _MAXIMUM.get(key, value):
        limits = f"at least {_MINIMUM[key]:g}"
        if key in _MAXIMUM:
            limits += f" and at most {_MAXIMUM[key]}{_WHY_MAXIMUM.get(key, '')}"
        raise BatchSettingsError(f"{where}: {key} must be {limits}, not {value!r}")
    return value
