"""``--fail-below roc_auc=0.9``: a run whose metric falls below a floor fails its workflow, with its report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from spiralkit.errors import BelowThreshold, UsageError


class ReportUsage(UsageError):
    """A report option given in a form it cannot take (``--fail-below`` not ``METRIC=NUMBER``, ...)."""


class MetricBelowThreshold(BelowThreshold):
    """A metric of the run is below the floor the caller set (or missing): the model must not ship."""


def parse(pairs: Sequence[str]) -> dict[str, float]:
    """``["roc_auc=0.9"]`` -> ``{"roc_auc": 0.9}``; a malformed pair is a usage error."""
    found = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        try:
            found[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise ReportUsage(f"--fail-below {pair!r}: use METRIC=NUMBER, e.g. roc_auc=0.9")
    return found


def floors(params: Mapping[str, Any]) -> dict[str, float]:
    """The floors a project sets in params.yaml (``thresholds: {roc_auc: 0.9}``), as the run recorded them."""
    section = params.get("thresholds") or {}
    if not isinstance(section, Mapping):
        raise ReportUsage(f"params `thresholds` must map metric names to numbers, not {section!r}")
    return parse([f"{name}={value}" for name, value in section.items()])


def check(metrics: Mapping[str, Any], floors: Mapping[str, float]) -> None:
    """Raise :class:`MetricBelowThreshold` naming every metric under its floor, or absent."""
    problems = []
    for name, floor in floors.items():
        value = metrics.get(name)
        if not isinstance(value, int | float) or isinstance(value, bool):
            problems.append(f"{name} is not among the run's metrics ({', '.join(metrics) or 'none'})")
        elif value < floor:
            problems.append(f"{name} {value:.4g} < {floor:g}")
    if problems:
        raise MetricBelowThreshold("below the floor: " + "; ".join(problems))
