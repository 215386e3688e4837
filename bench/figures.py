"""What a benchmark is given (a context) and what it returns (figures, each with its baseline and target)."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Context:
    """What every benchmark may use: where to cache data, how big, how many runs, the rendered project."""

    work: Path
    size_mb: int
    runs: int
    project: Path | None = None
    project_venv: Path | None = None


@dataclass(frozen=True)
class Target:
    """A bound a figure must meet: on its median, or on its ratio to the baseline."""

    text: str
    met: Callable[[Figure], bool]

    @classmethod
    def median_at_most(cls, bound: float, unit: str = "s") -> Target:
        return cls(f"median ≤ {bound:g} {unit}", lambda figure: figure.median <= bound)

    @classmethod
    def ratio_at_least(cls, bound: float, meaning: str) -> Target:
        return cls(f"ratio ≥ {bound:g} ({meaning})", lambda figure: figure.ratio is not None and figure.ratio >= bound)


@dataclass(frozen=True)
class Figure:
    """The samples of one measurement; the ratio is baseline median / this median (> 1: less than the baseline)."""

    name: str
    samples: Sequence[float]
    unit: str = "s"
    baseline: Figure | None = None
    target: Target | None = None
    notes: Sequence[str] = field(default_factory=tuple)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def ratio(self) -> float | None:
        return None if self.baseline is None else self.baseline.median / self.median

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.target.met(self)
