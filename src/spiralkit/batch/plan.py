"""The plan of a run: which DVC stages become Batch jobs, in which order, with what resources.

The pipeline is read through DVC's own API, with the same calls ``dvc repro`` makes
(``collect_stages``, ``get_active_graph``, ``plan_repro``): ``foreach``/``matrix`` stages come
expanded (``train@lr``), frozen stages are left out, and the order and the edges are DVC's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from spiralkit.batch.settings import BatchSettings, parse
from spiralkit.errors import UsageError


class PlanError(UsageError):
    """The pipeline cannot be planned: an unknown stage, or a dvc.yaml DVC itself refuses."""


@dataclass(frozen=True)
class StagePlan:
    """One stage to run as one Batch job, after the jobs of its ``upstream`` stages."""

    name: str
    upstream: tuple[str, ...]
    settings: BatchSettings
    per_namespace: bool = False  # meta.spiral.per_namespace: its result belongs to one namespace
    environment: bool = True  # meta.spiral.environment: false when the packages cannot change its result


@dataclass(frozen=True)
class Plan:
    """Stages in an order where each comes after everything it depends on."""

    stages: tuple[StagePlan, ...]

    def names(self) -> list[str]:
        return [stage.name for stage in self.stages]

    def waves(self) -> list[list[StagePlan]]:
        """Stages grouped so each group depends only on earlier groups: each can be submitted at once."""
        depth: dict[str, int] = {}
        for stage in self.stages:
            depth[stage.name] = 1 + max((depth[name] for name in stage.upstream), default=-1)
        grouped: list[list[StagePlan]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
        for stage in self.stages:
            grouped[depth[stage.name]].append(stage)
        return grouped

    def without(self, done: Iterable[str]) -> Plan:
        """The plan less the stages in ``done`` (made by an earlier run), and the edges to them."""
        skip = set(done)
        return Plan(
            tuple(
                replace(s, upstream=tuple(u for u in s.upstream if u not in skip))
                for s in self.stages
                if s.name not in skip
            )
        )


def from_dvc(root: Path, targets: Sequence[str], defaults: BatchSettings) -> Plan:
    """Plan ``targets`` (all stages when empty) and everything upstream of them, as ``dvc repro`` would."""
    from spiralkit.runs import dvcstage

    try:
        with dvcstage.opened(root) as repo:
            stages, graph = dvcstage.repro_order(repo, targets)
            ordered = [stage for stage in stages if _runnable(stage)]
            names = {id(stage): stage.addressing for stage in ordered}
            return Plan(
                tuple(
                    StagePlan(
                        name=stage.addressing,
                        upstream=tuple(sorted(names[id(up)] for up in graph.successors(stage) if id(up) in names)),
                        settings=_settings(stage.addressing, stage.meta, defaults),
                        **_spiral_meta(stage.addressing, stage.meta),
                    )
                    for stage in ordered
                )
            )
    except dvcstage.PipelineError as error:
        raise PlanError(f"{error}: see `dvc stage list` for the stages of this pipeline") from error


def _runnable(stage: Any) -> bool:
    """A stage with a command that is not frozen: ``dvc repro`` would consider running it."""
    return bool(getattr(stage, "cmd", None)) and not stage.frozen


def _settings(name: str, meta: Mapping[str, Any] | None, defaults: BatchSettings) -> BatchSettings:
    meta = meta or {}
    if not isinstance(meta, Mapping):
        raise PlanError(f"stage {name!r}: `meta` must be a mapping")
    return parse(meta.get("batch"), defaults, f"dvc.yaml stage {name!r} meta.batch")


def _spiral_meta(name: str, meta: Mapping[str, Any] | None) -> dict[str, bool]:
    """``meta.spiral``: how a stage's result is identified (see spiralkit.runs.dvcstage)."""
    block = (meta or {}).get("spiral") or {}
    if not isinstance(block, Mapping) or set(block) - {"per_namespace", "environment"}:
        raise PlanError(f"dvc.yaml stage {name!r}: meta.spiral takes per_namespace and environment (true/false)")
    values = {key: block[key] for key in ("per_namespace", "environment") if key in block}
    if any(not isinstance(value, bool) for value in values.values()):
        raise PlanError(f"dvc.yaml stage {name!r}: meta.spiral values must be true or false")
    return values
