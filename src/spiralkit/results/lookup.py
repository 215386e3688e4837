"""Which run a command means: ``prod`` (its latest complete run), ``NS/RUN``, a run id, or none (the last here)."""

from __future__ import annotations

import re

from spiralkit import namespace as namespaces
from spiralkit.config import ProjectConfig
from spiralkit.results.client import Archive, Run, Runs
from spiralkit.runs import last_run
from spiralkit.runs.record import RunNotFound

RUN_ID = re.compile(r"^\d{8}T\d{6}Z-")


def find(archive: Archive, ref: str | None, namespace: str | None = None, project: ProjectConfig | None = None) -> Run:
    """The run ``ref`` names.

    - ``prod``, ``test.main``, ``user.ana``: that namespace's latest complete run.
    - ``prod/20261201T101500Z-1a2b3c4d-9f3e``: that run.
    - ``20261201T101500Z-1a2b3c4d-9f3e``: that run, in ``namespace`` or whichever namespace has it.
    - ``None``: the latest complete run of ``namespace``; without one, the last run started from this
      checkout, else the latest of the caller's own namespace.
    """
    if ref and "/" in ref:
        space, _, run_id = ref.partition("/")
        return Runs(namespaces.check(space), archive=archive).get(run_id)
    if ref and not RUN_ID.match(ref):
        return Runs(namespaces.check(ref), archive=archive).latest()
    if ref is None:
        if namespace is None and project is not None and (last := last_run.recall(project.root)):
            return Runs(last[0], archive=archive).get(last[1])
        return Runs(default_namespace(namespace, project, archive), archive=archive).latest()
    if namespace:
        return Runs(namespaces.check(namespace), archive=archive).get(ref)
    for space in archive.store.folders("runs"):
        if archive.store.read(f"runs/{space}/{ref}/run.json") is not None:
            return Runs(space, archive=archive).get(ref)
    raise RunNotFound(f"no run {ref!r} in any namespace of {archive.store.uri('runs/')}")


def default_namespace(namespace: str | None, project: ProjectConfig | None, archive: Archive) -> str:
    """``namespace`` checked, else the caller's own in a project."""
    if namespace:
        return namespaces.check(namespace)
    if project is None:
        found = ", ".join(archive.store.folders("runs")) or "none yet"
        raise RunNotFound(
            f"outside a project, name a run (`prod`, NS/RUN, a run id) or a --namespace; namespaces: {found}"
        )
    return namespaces.default(project)
