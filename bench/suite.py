"""The benchmarks ``nox -s bench`` runs, in order.

To add one: write ``bench/<name>.py`` with a ``TITLE`` and a ``run(context: Context) -> list[Figure]``
(bench.figures), and append the module here.
"""

from __future__ import annotations

from types import ModuleType

from bench import batch_submit, local_parquet, local_runs, records, results, s3_parquet, template

BENCHMARKS: tuple[ModuleType, ...] = (
    local_parquet,
    s3_parquet,
    template,
    batch_submit,
    records,
    local_runs,
    results,
)
