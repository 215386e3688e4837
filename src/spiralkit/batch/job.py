"""``spiral job STAGE --namespace NS --run RUN``: what one Batch job runs, in the image of the run's commit.

1. read the run's record (written by ``spiral run`` before it submitted anything) and check that this
   copy of the project is the run's: same dvc.yaml and params.yaml, same lock, same commit;
2. set the run's params (``--set``) in this copy's params.yaml;
3. run the stage as :func:`spiralkit.runs.stage.execute` does everywhere: upstream outputs restored by
   the hashes this run recorded, the stage reused by identity or run once, its objects pushed, its
   record written.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

from spiralkit.config import ProjectConfig
from spiralkit.runs import begin, dvcstage
from spiralkit.runs import record as records
from spiralkit.runs.stage import StageRun, execute


def run_stage(
    project: ProjectConfig, stage: str, namespace: str, run_id: str, echo: Callable[[str], None] = print
) -> dict[str, Any]:
    """Run one stage of run ``run_id`` as its Batch job does, in the project at ``project.root``."""
    store = records.store_for(project)
    record = records.load(store, namespace, run_id)
    begin.check_copy(project.root, record)
    if (done := records.load_stage(store, record, stage)) is not None:
        echo(f"spiral job: {stage} of run {run_id} is recorded already ({done['status']}): nothing to do")
        return done
    if not (project.root / ".git").exists():
        # The image holds the project's files without .git: DVC then runs without git.
        subprocess.run(
            [sys.executable, "-m", "dvc", "config", "--local", "core.no_scm", "true"], cwd=project.root, check=True
        )
    dvcstage.apply_overrides(project.root, record.overrides)
    return execute(StageRun(project.root, store, record, echo), stage)
