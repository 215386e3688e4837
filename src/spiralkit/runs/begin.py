"""Starting a run: its record, and which of its stages an earlier run already made.

``spiral run`` builds the record here, on a laptop or in CI, before anything runs or is submitted; a
Batch job later checks its own copy of the project against it (:func:`check_copy`).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import yaml

from spiralkit import namespace as namespaces
from spiralkit.batch.plan import Plan
from spiralkit.config import ProjectConfig
from spiralkit.errors import RecordError, UsageError
from spiralkit.runs import dvcstage, environment
from spiralkit.runs import record as records
from spiralkit.runs.stage import StageRun, key, trusted
from spiralkit.runs.store import Store

PIPELINE_FILES = ("dvc.yaml", "params.yaml")


class OverrideError(UsageError):
    """A ``--set`` is not ``section.key=value`` for a param the pipeline has."""


def parse_overrides(pairs: Sequence[str], root: Path) -> dict[str, Any]:
    """``["ingest.snapshot=2026-12-01"]`` -> ``{"ingest.snapshot": "2026-12-01"}``, values read as YAML."""
    params = _params(root)
    result: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        section = name.split(".", 1)[0]
        if not sep or not name or "." not in name or section not in params:
            raise OverrideError(
                f"--set {pair!r}: use section.key=value for a section of params.yaml ({', '.join(params)})"
            )
        value = yaml.safe_load(text) if text else ""
        # YAML reads 2026-12-01 as a date; params keep it as the text the user typed.
        result[name] = value if isinstance(value, str | int | float | bool | list | dict) or value is None else text
    return result


def pipeline_hash(root: Path) -> str:
    """sha256 of dvc.yaml and params.yaml as they are at ``root``: one commit's pipeline."""
    digest = hashlib.sha256()
    for name in PIPELINE_FILES:
        path = root / name
        digest.update(name.encode() + b"\0" + (path.read_bytes() if path.is_file() else b"") + b"\0")
    return digest.hexdigest()


def create(
    project: ProjectConfig,
    plan: Plan,
    *,
    namespace: str,
    on: str,
    commit: str,
    environment_id: str,
    overrides: Mapping[str, Any],
    forced: Sequence[str] = (),
    image: str = "",
    queue: str = "",
    env: Mapping[str, str] | None = None,
) -> records.RunRecord:
    """The record of a new run of ``plan``, before anything has run."""
    env = os.environ if env is None else env
    return records.RunRecord(
        run_id=records.new_run_id(commit),
        namespace=namespace,
        project=project.project,
        commit=commit,
        on=on,
        user=env.get("GITHUB_ACTOR") or namespaces.person(project, env),
        origin=environment.origin(dict(env)),
        host=environment.host(),
        started=records.now(),
        environment=environment_id,
        pipeline=pipeline_hash(project.root),
        params=_overridden_params(project.root, overrides),
        overrides=dict(overrides),
        forced=tuple(forced),
        stages=tuple(
            records.StagePlan(
                name=stage.name,
                upstream=stage.upstream,
                per_namespace=stage.per_namespace,
                environment=stage.environment,
                resources={k: v for k, v in asdict(stage.settings).items() if v not in ("", None)},
            )
            for stage in plan.stages
        ),
        image=image,
        region=project.region,
        queue=queue,
        results=declared(project.root),
    )


def with_reused(root: Path, store: Store, record: records.RunRecord) -> records.RunRecord:
    """``record`` with the stages an earlier run already made, found by identity in the index.

    A stage can be found only when every stage it reads from was found too: the hashes of outputs
    still to be made are not known yet. Each stage's job looks again once its inputs exist.
    """
    found: dict[str, dict[str, Any]] = {}
    outs: dict[str, Any] = {}
    probe = StageRun(root, store, record)
    with dvcstage.opened(root) as repo:
        for stage in record.stages:
            if stage.name in record.forced or any(up not in found for up in stage.upstream):
                continue
            identity = key(probe, repo, stage.name, outs)
            hit = records.index_lookup(store, trusted(record.namespace), identity) if identity else None
            if hit is None or not dvcstage.in_remote(repo, hit["entry"].get("outs", [])):
                continue
            found[stage.name] = {**hit, "status": "reused", "from_run": hit["run_id"]}
            outs.update({out["path"]: out for out in hit["entry"].get("outs", [])})
    return replace(record, reused=found)


def check_copy(root: Path, record: records.RunRecord, env: Mapping[str, str] | None = None) -> None:
    """Refuse to run a stage of ``record`` in a copy of the project that is not the run's commit."""
    env = os.environ if env is None else env
    problems = []
    if pipeline_hash(root) != record.pipeline:
        problems.append("its dvc.yaml or params.yaml differ from the run's")
    if (commit := env.get("SPIRAL_COMMIT")) and commit != record.commit:
        problems.append(f"it is commit {commit[:12]}, the run is {record.commit[:12]}")
    if record.on == "batch" and environment.locked(root) != record.environment:
        problems.append("its conda-lock.yml is not the run's environment")
    if problems:
        raise RecordError(
            f"run {record.run_id} was recorded for another copy of the project: {'; '.join(problems)}. "
            "The job's image must be built from the run's commit"
        )


def declared(root: Path) -> dict[str, Any]:
    """dvc.yaml's metrics and plots files (its stages' and top-level) and its top-level plot definitions."""
    path = root / "dvc.yaml"
    pipeline = (yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None) or {}
    stages = list((pipeline.get("stages") or {}).values())
    top_plots = list(pipeline.get("plots") or [])

    def paths(items: list[Any]) -> list[str]:  # an item is a path, or {path: options}
        return [item if isinstance(item, str) else next(iter(item)) for item in items]

    return {
        "metrics": [name for section in (pipeline, *stages) for name in paths(section.get("metrics") or [])],
        "plots": [name for stage in stages for name in paths(stage.get("plots") or [])]
        + [item for item in top_plots if isinstance(item, str)],
        "plot_specs": top_plots,
    }


def _params(root: Path) -> dict[str, Any]:
    path = root / "params.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else {}
    return dict(data or {})


def _overridden_params(root: Path, overrides: Mapping[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = json.loads(json.dumps(_params(root), default=str))
    for dotted, value in overrides.items():
        dvcstage.set_dotted(params, dotted, value)
    return params
