"""One stage of a run, the same way everywhere: in a Batch job, on a workstation, on a laptop.

1. Its upstream stages' outputs are put in place by the hashes *this run* recorded for them (fetched
   from the DVC remote and hashed again when they are not already here). A stage whose upstream has
   no record fails at once: it is never recomputed from whatever a cache holds.
2. Its identity (see :mod:`~spiralkit.runs.dvcstage`) is looked up in the index of results; a hit
   from a namespace this one trusts (its own, and prod's) is reused by hash. Otherwise, or when the
   run forces the stage, ``dvc repro --single-item --force`` runs it exactly once.
3. Its dvc.lock entry, objects and record are written: the objects to the DVC remote, the record
   once, and the run's complete dvc.lock by whichever stage finishes last.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spiralkit import namespace as namespaces
from spiralkit.errors import RecordError, StageFailed
from spiralkit.runs import dvcstage, launch
from spiralkit.runs import record as records
from spiralkit.runs.store import Store


@dataclass(frozen=True)
class StageRun:
    """Where one stage of ``record`` runs: the project copy at ``root``, records in ``store``."""

    root: Path
    store: Store
    record: records.RunRecord
    echo: Callable[[str], None] = print


def trusted(namespace: str) -> list[str]:
    """Whose results a namespace reuses: its own, then prod's. Prod trusts only its own."""
    return [namespace] if namespace == namespaces.PROD else [namespace, namespaces.PROD]


def key(run: StageRun, repo: Any, name: str, upstream_outs: dict[str, Any]) -> str | None:
    """The identity of stage ``name``'s result in this run, or None for a stage DVC never caches."""
    plan = run.record.plan(name)
    dvc_key = dvcstage.dvc_key(repo, name, upstream_outs, run.record.overrides)
    if dvc_key is None:
        return None
    return dvcstage.identity(
        dvc_key,
        run.record.environment if plan.environment else None,
        run.record.namespace if plan.per_namespace else None,
    )


@dataclass
class Started:
    """A stage whose command is to run: its outputs removed, its upstream entries and identity known."""

    name: str
    started: float
    identity: str | None
    upstream: dict[str, dict[str, Any]]
    prepared: dvcstage.Prepared


def execute(run: StageRun, name: str) -> dict[str, Any]:
    """Run (or reuse) stage ``name`` of the run and record it; returns its stage record.

    One stage, as a Batch job runs it: the command's output goes to this process's output.
    """
    with dvcstage.opened(run.root) as repo:
        begun = begin(run, repo, name)
        if isinstance(begun, Started):
            code = launch.start(begun.prepared, None, None)
            while code.poll() is None:
                time.sleep(0.05)
            result = finish(run, begun, code.code == 0)
            entries = {up: stage["entry"] for up, stage in begun.upstream.items()}
        else:
            result, entries = begun, {}
    dvcstage.dump_lock(run.root, {**entries, name: result["entry"]}, run.record.names())
    if records.finish(run.store, run.record, name):
        run.echo(f"spiral: run {run.record.run_id} complete: its dvc.lock is recorded")
    return result


def begin(
    run: StageRun, repo: Any, name: str, known: Mapping[str, dict[str, Any]] | None = None
) -> dict[str, Any] | Started:
    """Steps 1 and 2: the upstream outputs put in place, then either the stage's record (reused, and
    recorded) or a :class:`Started` stage whose command the caller runs, then passes to :func:`finish`.

    ``known`` holds stage records this process made in this run: their outputs are in place already.
    """
    record, started = run.record, time.time()
    upstream = _upstream(run, name, known or {})
    outs = {out["path"]: out for stage in upstream.values() for out in stage["entry"].get("outs", [])}
    for up, stage in upstream.items():
        if up not in (known or {}):
            for out in stage["entry"].get("outs", []):
                dvcstage.fetch(repo, run.root, out)
    identity = key(run, repo, name, outs)
    hit = None
    if identity is not None and name not in record.forced:
        hit = records.index_lookup(run.store, trusted(record.namespace), identity)
    if hit is None:
        run.echo(f"Running stage '{name}':")
        env = {"SPIRAL_NAMESPACE": record.namespace, "SPIRAL_RUN": record.run_id}
        prepared = dvcstage.prepare(repo, name, env)
        for command in prepared.commands:
            run.echo(f"> {command}")
        return Started(name, started, identity, upstream, prepared)
    for out in hit["entry"].get("outs", []):
        dvcstage.fetch(repo, run.root, out)
    run.echo(f"spiral: {name}: reusing the result of run {hit['run_id']} (same code, inputs, params, environment)")
    return _record(run, name, started, identity, hit["entry"], "reused", hit["run_id"])


def finish(run: StageRun, started: Started, succeeded: bool) -> dict[str, Any]:
    """Step 3 for a stage whose command ended: its outputs hashed, cached and pushed, its record written."""
    name = started.name
    if not succeeded:
        raise StageFailed(f"stage {name} failed in run {run.record.run_id}")
    entry = dvcstage.commit(started.prepared)
    repo = started.prepared.stage.repo
    prod = run.record.namespace == namespaces.PROD
    pushed = sum(dvcstage.push(repo, run.root, out, overwrite=prod) for out in entry.get("outs", []))
    run.echo(f"spiral: {name}: pushed {pushed} object(s)")
    return _record(run, name, started.started, started.identity, entry, "ran", run.record.run_id)


def _record(
    run: StageRun, name: str, started: float, identity: str | None, entry: dict[str, Any], status: str, origin: str
) -> dict[str, Any]:
    record = run.record
    result = {
        "stage": name,
        "run_id": record.run_id,
        "status": status,
        "from_run": origin,
        "key": identity,
        "entry": entry,
        "environment": record.environment,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "seconds": round(time.time() - started, 3),
        "resources": dict(record.plan(name).resources),
    }
    records.save_stage(run.store, record, result)
    if status == "ran" and identity is not None:
        records.index_add(run.store, record.namespace, identity, result)
    return result


def _upstream(run: StageRun, name: str, known: Mapping[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """This run's records of every stage ``name`` reads from; refuses when one is missing."""
    found: dict[str, dict[str, Any]] = {}
    for up in run.record.upstream_closure(name):
        stage = known.get(up) or records.load_stage(run.store, run.record, up)
        if stage is None:
            raise RecordError(
                f"stage {name}: upstream stage {up!r} of run {run.record.run_id} has no record (its job did not "
                "finish): not recomputing it from whatever a cache holds; "
                f"see `spiral status {run.record.run_id} --namespace {run.record.namespace}`"
            )
        found[up] = stage
    return found
