"""Runs of the example pipeline's shape: records and objects written straight into a records folder and a
DVC remote folder, with the functions a run uses (``spiralkit.runs.record``).

The results tests (tests/results_fixtures.py) and the results benchmark (bench/results.py) read them back
through the Client API, ``spiral runs`` and ``spiral report``; tests/test_results_e2e.py checks real runs.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from spiralkit.runs import record as records
from spiralkit.runs.store import Store

PIPELINE = {  # the example pipeline's stages and what each reads from
    "ingest": (),
    "features": ("ingest",),
    "train": ("features",),
    "evaluate": ("features", "train"),
    "publish": ("ingest", "train"),
}
OUTS = {
    "ingest": ["data/raw/cases.parquet"],
    "features": ["data/features/train.parquet", "data/features/test.parquet"],
    "train": ["models/model.skops"],
    "evaluate": ["metrics.json", "plots/roc.json", "plots/confusion.json"],
    "publish": ["data/predictions.parquet"],
}
PLOT_SPECS = [
    {"ROC curve": {"template": "simple", "x": "fpr", "y": {"plots/roc.json": "tpr"}}},
    {"Confusion matrix": {"template": "confusion", "x": "predicted", "y": {"plots/confusion.json": "actual"}}},
]


def parquet(rows: int) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.table({"case": list(range(rows)), "label": [i % 2 for i in range(rows)]}), sink)
    return sink.getvalue()


def put(remote: Path, body: bytes) -> dict[str, Any]:
    """Store ``body`` in the DVC remote folder as DVC would; returns its lock fields."""
    md5 = hashlib.md5(body, usedforsecurity=False).hexdigest()
    path = remote / "files" / "md5" / md5[:2] / md5[2:]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    return {"hash": "md5", "md5": md5, "size": len(body)}


def make_run(
    root: Path,
    namespace: str,
    run_id: str,
    *,
    metrics: dict[str, float],
    C: float = 1.0,
    rows: int = 569,
    environment: str = "conda-lock:aaaa",
    commit: str = "1111111111111111111111111111111111111111",
    user: str = "ana",
    complete: bool = True,
    thresholds: dict[str, float] | None = None,
    on: str = "batch",
    jobs: dict[str, str] | None = None,
    estimate: dict[str, float] | None = None,
    snapshot: str | None = None,
    cases: bytes | None = None,
) -> records.RunRecord:
    """A run of the example pipeline, recorded under ``root/.spiral`` with objects in ``root/dvc-storage``.

    ``cases``: the Parquet ingest wrote (its ``snapshot`` in the params), else ``rows`` made-up ones; the
    later stages' tables have as many rows.
    """
    store, remote = Store(str(root / ".spiral")), root / "dvc-storage"
    ingest = {"dataset": "breast_cancer", "snapshot": snapshot or "2026-07-31"}
    params: dict[str, Any] = {"ingest": ingest, "train": {"model": "logistic_regression", "C": C}}
    if thresholds:
        params["thresholds"] = thresholds
    record = records.RunRecord(
        run_id=run_id,
        namespace=namespace,
        project="churn-model",
        commit=commit,
        on=on,
        user=user,
        origin="ci",
        host="runner",
        started=f"{run_id[:4]}-{run_id[4:6]}-{run_id[6:8]}T{run_id[9:11]}:{run_id[11:13]}:{run_id[13:15]}Z",
        environment=environment,
        pipeline="p",
        params=params,
        overrides={},
        forced=(),
        stages=tuple(
            records.StagePlan(name, upstream, resources={"vcpus": 2 if name == "train" else 1, "memory": 2048})
            for name, upstream in PIPELINE.items()
        ),
        cost={"estimate": estimate} if estimate else {},
        results={
            "metrics": ["metrics.json"],
            "plots": ["plots/roc.json", "plots/confusion.json"],
            "plot_specs": PLOT_SPECS,
        },
    )
    records.save(store, record)
    if jobs:
        records.save_jobs(store, record, jobs)
    cases = cases or parquet(rows)
    rows = pq.read_metadata(io.BytesIO(cases)).num_rows  # the later stages' tables follow the cases
    bodies = {
        "data/raw/cases.parquet": cases,
        "data/features/train.parquet": parquet(rows * 3 // 4),
        "data/features/test.parquet": parquet(rows - rows * 3 // 4),
        "models/model.skops": f"model C={C}".encode(),
        "metrics.json": json.dumps(metrics, indent=1).encode(),
        "plots/roc.json": json.dumps({"roc": [{"fpr": x / 4, "tpr": min(1.0, x / 2)} for x in range(5)]}).encode(),
        "plots/confusion.json": json.dumps(
            {"cases": [{"actual": a, "predicted": p} for a, p in [(1, 1), (1, 0), (0, 0), (0, 0), (1, 1)]]}
        ).encode(),
        "data/predictions.parquet": parquet(rows),
    }
    for index, name in enumerate(PIPELINE):
        if not complete and name == "publish":
            break
        deps = [{"path": path, **put(remote, bodies[path])} for up in PIPELINE[name] for path in OUTS[up]]
        deps.append({"path": f"src/churn_model/{name}.py", **put(remote, f"# {name} at {commit}".encode())})
        stage = {
            "stage": name,
            "run_id": run_id,
            "status": "ran",
            "from_run": run_id,
            "key": f"key-{name}",
            "entry": {
                "cmd": f"python -m churn_model.{name}",
                "deps": deps,
                "outs": [{"path": path, **put(remote, bodies[path])} for path in OUTS[name]],
            },
            "environment": environment,
            "started": record.started,
            "seconds": 1.5 + index,
            "resources": dict(record.plan(name).resources),
        }
        records.save_stage(store, record, stage)
        records.finish(store, record)
    return record


def upload(archive: Path, bucket: str) -> None:
    """The records folder and the DVC remote folder into ``bucket``, as a project with a bucket keeps them."""
    from spiralkit import aws

    s3 = aws.client("s3")
    s3.create_bucket(Bucket=bucket)
    for folder, prefix in ((archive / ".spiral", "spiral"), (archive / "dvc-storage", "dvc")):
        for path in folder.rglob("*"):
            if path.is_file():
                s3.put_object(Bucket=bucket, Key=f"{prefix}/{path.relative_to(folder)}", Body=path.read_bytes())
