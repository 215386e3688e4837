"""What changed between two runs, and by how much: params, metrics, data versions, environment, code.

The same comparison feeds ``spiral runs diff``, the report's deltas against prod and the index page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from spiralkit.results.client import Run, flatten


@dataclass(frozen=True)
class Change:
    """One named value in the base run and in the other (None where a run has no such value)."""

    name: str
    before: Any
    after: Any

    @property
    def changed(self) -> bool:
        return bool(self.before != self.after)

    @property
    def delta(self) -> float | None:
        """``after - before`` for numbers (not booleans), else None."""
        if _number(self.before) and _number(self.after):
            return float(self.after) - float(self.before)
        return None

    @property
    def ratio(self) -> float | None:
        """The delta relative to ``before`` (0.05 is 5 % up); None when it has no meaning."""
        delta = self.delta
        return delta / abs(float(self.before)) if delta is not None and self.before else None


@dataclass(frozen=True)
class Comparison:
    """``other`` against ``base``: metrics all listed, params and data only where they differ."""

    base: Run
    other: Run
    metrics: list[Change]
    params: list[Change]
    data: list[Change]  # by output path: {"md5", "size"} in each run
    same_data: int  # outputs the two runs share byte for byte
    environment: Change
    commit: Change


def compare(base: Run, other: Run) -> Comparison:
    """Read both runs (records, stages, metrics) and say what differs."""
    metric_names = [*base.metrics, *(name for name in other.metrics if name not in base.metrics)]
    before_params, after_params = flatten(base.params), flatten(other.params)
    param_names = [*before_params, *(name for name in after_params if name not in before_params)]
    paths = [*base.outputs, *(path for path in other.outputs if path not in base.outputs)]
    data = [Change(path, _version(base.outputs.get(path)), _version(other.outputs.get(path))) for path in paths]
    return Comparison(
        base=base,
        other=other,
        metrics=[Change(name, base.metrics.get(name), other.metrics.get(name)) for name in metric_names],
        params=[
            change
            for name in param_names
            if (change := Change(name, before_params.get(name), after_params.get(name))).changed
        ],
        data=[change for change in data if change.changed],
        same_data=sum(1 for change in data if not change.changed),
        environment=Change("environment", base.environment, other.environment),
        commit=Change("commit", base.commit, other.commit),
    )


def _version(out: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return {"md5": out.get("md5"), "size": out.get("size")} if out else None


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
