"""Find a run's record from any checkout, or none: by id, by namespace, or the last one started here."""

from __future__ import annotations

from spiralkit import namespace
from spiralkit.config import ProjectConfig
from spiralkit.runs import last_run
from spiralkit.runs import record as records
from spiralkit.runs.record import RunRecord


def load(project: ProjectConfig, run_id: str | None, requested: str | None) -> RunRecord:
    """Run ``run_id`` (default: the latest) of namespace ``requested``.

    Without a namespace: the last run started from this checkout when it is the one asked for (or
    none is named), else the caller's own namespace. Reading any namespace is allowed.
    """
    store = records.store_for(project)
    if requested:
        return records.load(store, namespace.check(requested), run_id)
    last = last_run.recall(project.root)
    if last is not None and run_id in (None, last[1]):
        return records.load(store, *last)
    return records.load(store, namespace.default(project), run_id)
