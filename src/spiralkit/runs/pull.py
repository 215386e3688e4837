"""``spiral pull RUN``: put exactly a recorded run's outputs in this checkout, each hash checked."""

from __future__ import annotations

from pathlib import Path

import yaml

from spiralkit.runs import dvcstage
from spiralkit.runs import record as records
from spiralkit.runs.store import Store


def pull(root: Path, store: Store, record: records.RunRecord, write_lock: bool = False) -> list[str]:
    """Fetch every output of ``record``'s dvc.lock into ``root``; returns their paths.

    With ``write_lock``, ``root/dvc.lock`` becomes the run's, so ``dvc status`` compares against it.
    """
    lock = records.lock(store, record)
    stages = (yaml.safe_load(lock) or {}).get("stages", {})
    paths: list[str] = []
    with dvcstage.opened(root) as repo:
        for entry in stages.values():
            for out in entry.get("outs", []):
                dvcstage.fetch(repo, root, out, cache=True)
                paths.append(str(out["path"]))
    if write_lock:
        dvcstage.dump_lock(root, stages, list(stages))
    return paths
