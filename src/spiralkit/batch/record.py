"""Run records: which job ran which stage, so ``spiral status`` and ``spiral logs`` can find them later.

A record is a small JSON file under ``.spiral/runs/`` (git-ignored) written at submit time. Every job
also carries the run id in its ``spiral:run`` tag, so a fresh clone (a CI job after the one that
submitted) can find the same jobs in the queue with :func:`spiralkit.batch.progress.find_run`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from spiralkit.errors import SpiralError

RUNS = Path(".spiral/runs")


class RunNotFound(SpiralError):
    """No record of the run asked for."""

    exit_code = 2


@dataclass(frozen=True)
class RunRecord:
    """A submitted run: its id, where it ran, and each stage's job id (in plan order)."""

    run_id: str
    namespace: str
    commit: str
    region: str
    queue: str
    jobs: dict[str, str]


def save(root: Path, record: RunRecord) -> Path:
    folder = root / RUNS
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{record.run_id}.json"
    path.write_text(json.dumps(asdict(record), indent=2) + "\n", encoding="utf-8")
    (folder / "latest").write_text(record.run_id + "\n", encoding="utf-8")
    return path


def load(root: Path, run_id: str | None = None) -> RunRecord:
    """The record of ``run_id``, or of the latest run submitted from this checkout."""
    folder = root / RUNS
    if run_id is None:
        latest = folder / "latest"
        if not latest.is_file():
            raise RunNotFound(
                "no run submitted from this checkout yet: `spiral run --on batch` first, "
                "or name the run (`spiral status RUN`)"
            )
        run_id = latest.read_text(encoding="utf-8").strip()
    path = folder / f"{run_id}.json"
    if not path.is_file():
        raise RunNotFound(f"no record of run {run_id!r} in {folder}")
    return RunRecord(**json.loads(path.read_text(encoding="utf-8")))
