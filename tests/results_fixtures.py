"""Run records of the example pipeline's shape (bench/example_runs.py), and the example's own input data.

They are made with the same functions a run uses, so the Client API, ``spiral runs`` and ``spiral report``
are tested in seconds; tests/test_results_e2e.py checks them on real runs.
"""

from __future__ import annotations

import importlib
import io
import sys
from functools import cache
from importlib.machinery import ModuleSpec
from importlib.util import module_from_spec
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from bench import example_runs
from bench.example_runs import PIPELINE
from spiralkit.runs import record as records

__all__ = ["PIPELINE", "example_cases", "make_run"]


@cache
def example_cases(snapshot: str) -> bytes:
    """What the example's own ingest stage writes for ``snapshot`` (its code, loaded from the template)."""
    if "example_pipeline" not in sys.modules:
        package = module_from_spec(ModuleSpec("example_pipeline", None, is_package=True))
        package.__path__ = [str(Path(__file__).parents[1] / "template" / "src" / "{{package_name}}")]
        sys.modules["example_pipeline"] = package
    ingest = importlib.import_module("example_pipeline.ingest")
    sink = io.BytesIO()
    pq.write_table(ingest.load("breast_cancer", snapshot), sink)
    return sink.getvalue()


def make_run(
    root: Path, namespace: str, run_id: str, *, snapshot: str | None = None, **options: Any
) -> records.RunRecord:
    """:func:`bench.example_runs.make_run`; ``snapshot``: ingest wrote the example's real cases as of that day."""
    cases = example_cases(snapshot) if snapshot else None
    return example_runs.make_run(root, namespace, run_id, snapshot=snapshot, cases=cases, **options)
