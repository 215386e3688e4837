"""Made-up pipelines of any size, for benchmarks: a plan, or a dvc.yaml that DVC itself reads.

Both have the shape of an expanded ``foreach``: layers of ``width`` stages, each stage depending on
two stages of the layer before, so independent stages can be submitted together.
"""

from __future__ import annotations

from spiralkit.batch.plan import Plan, StagePlan
from spiralkit.batch.settings import BatchSettings


def _upstream(index: int, width: int) -> list[int]:
    if index < width:
        return []
    first = index - width
    return sorted({first, first - first % width + (first + 1) % width})


def plan(count: int, width: int = 20, settings: BatchSettings | None = None) -> Plan:
    """A ``count``-stage plan named ``stage-0000`` ... (no DVC involved)."""
    settings = settings or BatchSettings()
    return Plan(
        tuple(
            StagePlan(f"stage-{i:04d}", tuple(f"stage-{up:04d}" for up in _upstream(i, width)), settings)
            for i in range(count)
        )
    )


def dvc_yaml(count: int, width: int = 20) -> str:
    """A dvc.yaml of ``count`` stages with the same edges as :func:`plan`, each writing one small file."""
    lines = ["stages:"]
    for i in range(count):
        lines += [f"  stage-{i:04d}:", f"    cmd: echo {i} > out/{i:04d}.txt", "    deps:"]
        lines += [f"      - out/{up:04d}.txt" for up in _upstream(i, width)] or ["      - params.yaml"]
        lines += ["    outs:", f"      - out/{i:04d}.txt"]
    return "\n".join(lines) + "\n"
