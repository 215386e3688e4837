"""Results from S3 (a moto server here): ``Runs("prod").latest().metrics`` and ``spiral report`` of the example.

Both in a fresh Python process per sample, as a data scientist's session or a CI step starts, timed after
the imports; each report starts with an empty object cache, so it fetches what it reads. The runs have the
example's shape (bench/example_runs.py): a prod run on all 569 cases, and last week's before it on an
older snapshot, so the report compares metrics, draws two plots and measures the drift of 31 columns.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bench import example_runs, moto_server
from bench.figures import Context, Figure, Target
from bench.measure import BenchError

TITLE = "Results from S3 (a moto server on this machine): the Client API and `spiral report` of the example"
BUCKET = "bench-results"
LAST_WEEK, THIS_WEEK = "20261123T041700Z-11111111-aaaa", "20261130T041700Z-11111111-bbbb"

METRICS = """
import json, sys, time
from spiralkit import Runs, aws
requests = []
aws.session(None).events.register("before-send.s3", lambda request, **_: requests.append(request.url))
start = time.perf_counter()
Runs("prod", bucket=sys.argv[1]).latest().metrics
print(json.dumps({"seconds": time.perf_counter() - start, "requests": len(requests)}))
"""
REPORT = """
import json, sys, time
from spiralkit.cli import main
start, cpu = time.perf_counter(), time.process_time()
code = main(["report", "prod", "--bucket", sys.argv[1], "-o", sys.argv[2]])
print(json.dumps({"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu, "code": code}))
"""
FIRST_PLOT = """
import json, time
import vl_convert
spec = {"data": {"values": [{"x": 1, "y": 2}]}, "mark": "line",
        "encoding": {"x": {"field": "x", "type": "quantitative"}, "y": {"field": "y", "type": "quantitative"}}}
start = time.perf_counter()
vl_convert.vegalite_to_svg(spec)
first = time.perf_counter() - start
start = time.perf_counter()
vl_convert.vegalite_to_svg(spec)
print(json.dumps({"first": first, "second": time.perf_counter() - start}))
"""


def run(context: Context) -> list[Figure]:
    work = context.work / "results"
    archive = _archive(work / "archive")
    metrics: list[float] = []
    requests: list[float] = []
    reports: list[float] = []
    cpu: list[float] = []
    sizes: list[int] = []
    plots: list[dict[str, float]] = []
    with moto_server.running(work / "moto") as server, moto_server.pointed_at(server.env):
        example_runs.upload(archive, BUCKET)
        env = {**os.environ, **server.env}
        for attempt in range(context.runs):
            found = _python(METRICS, env, BUCKET)
            metrics.append(found["seconds"])
            requests.append(found["requests"])
            page = work / f"report-{attempt}.html"
            found = _python(REPORT, {**env, "XDG_CACHE_HOME": str(work / f"cache-{attempt}")}, BUCKET, str(page))
            if found["code"] != 0:
                raise BenchError(f"spiral report exited {found['code']}")
            reports.append(found["seconds"])
            cpu.append(found["cpu"])
            sizes.append(page.stat().st_size)
            plots.append(_python(FIRST_PLOT, env))
    first = statistics.median(p["first"] for p in plots)
    second = statistics.median(p["second"] for p in plots)
    return [
        Figure(
            '`Runs("prod", bucket=...).latest().metrics`, fresh process, after the import',
            metrics,
            target=Target.median_at_most(0.5),
        ),
        Figure("requests it makes", requests, unit="requests", target=Target.median_at_most(3, "requests")),
        Figure(
            "`spiral report prod --bucket ...` of the example (two plots, 31 columns' drift), after the import",
            reports,
            target=Target.median_at_most(2.0),
            notes=[
                f"the report is {max(sizes) / 1e3:.0f} kB (target: at most 5 MB)",
                f"it took {statistics.median(cpu):.2f} s of CPU (median): on a shared machine, the wall time is that "
                "plus what other work takes of the cores",
                f"vl-convert's first plot in a process takes {first:.2f} s (it starts its JavaScript engine and "
                f"compiles Vega-Lite), the next {second:.3f} s: most of a report's time",
            ],
        ),
    ]


def _archive(root: Path) -> Path:
    """Last week's prod run and this week's, on input of the example's shape (30 measurements, a label)."""
    if not (root / ".spiral").exists():
        example_runs.make_run(root, "prod", LAST_WEEK, metrics={"roc_auc": 0.99, "recall": 0.95},
                              snapshot="2026-07-24", cases=_cases(60, shift=0.5, seed=1))  # fmt: skip
        example_runs.make_run(root, "prod", THIS_WEEK, metrics={"roc_auc": 0.97, "recall": 0.93},
                              snapshot="2026-07-31", cases=_cases(569, shift=0.0, seed=2))  # fmt: skip
    return root


def _cases(rows: int, shift: float, seed: int) -> bytes:
    generator = np.random.default_rng(seed)
    columns = {"case_id": pa.array(range(rows))}
    for index in range(30):
        columns[f"measurement_{index}"] = pa.array(generator.normal(shift * (index % 3), 1 + index / 30, rows))
    columns["label"] = pa.array(generator.integers(0, 2, rows))
    sink = io.BytesIO()
    pq.write_table(pa.table(columns), sink)
    return sink.getvalue()


def _python(script: str, env: dict[str, str], *args: str) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", script, *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"python -c ... {' '.join(args)} failed: {done.stderr[-2000:]}")
    return dict(json.loads(done.stdout.splitlines()[-1]))
