"""``spiral run --on local``: the pipeline here, stage by stage, recorded like a Batch run.

Each stage goes through :func:`spiralkit.runs.stage.execute`, as in a Batch job: reused by identity
when an earlier run (here, or prod's) made it, else run by ``dvc repro --single-item --force``.
The environment is this interpreter's installed packages (or ``SPIRAL_ENVIRONMENT``, which the
project's images set to the lock they installed).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

from spiralkit.batch.plan import Plan
from spiralkit.config import ProjectConfig
from spiralkit.runs import begin, environment, last_run
from spiralkit.runs import record as records
from spiralkit.runs.stage import StageRun, execute


def run(
    project: ProjectConfig,
    plan: Plan,
    namespace: str,
    forced: Sequence[str] = (),
    echo: Callable[[str], None] = print,
) -> records.RunRecord:
    """Run ``plan`` in the working tree, in ``namespace``; returns the run's record."""
    record = begin.create(
        project,
        plan,
        namespace=namespace,
        on="local",
        commit=_commit(project),
        environment_id=os.environ.get("SPIRAL_ENVIRONMENT") or environment.installed(),
        overrides={},
        forced=forced,
    )
    store = records.store_for(project)
    records.save(store, record)
    last_run.remember(project.root, record)
    for index, stage in enumerate(record.names(), 1):
        echo(f"[{index}/{len(record.stages)}] {stage} in {namespace}")
        execute(StageRun(project.root, store, record, echo), stage)
    echo(f"run {record.run_id} done: `spiral status {record.run_id}` shows it")
    return record


def _commit(project: ProjectConfig) -> str:
    """HEAD, marked ``-dirty`` when the user's files differ from it (the run used those changes)."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=project.root, capture_output=True, text=True, check=False)
        return done.stdout if done.returncode == 0 else ""

    head = git("rev-parse", "HEAD").strip()
    changed = [line[3:] for line in git("status", "--porcelain", "--untracked-files=no").splitlines()]
    # DVC itself writes dvc.lock and the .gitignore files next to outputs; anything else is the user's.
    own = [path for path in changed if path != "dvc.lock" and Path(path).name != ".gitignore"]
    return head + ("-dirty" if head and own else "")
