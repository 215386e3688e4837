"""How this run's data differs from the run before: rows per table, and a drift figure per input column.

A weekly retraining on new data should say what the new data is like before anyone reads its metrics:
how many rows each stage wrote against last week, and which columns of the pipeline's input moved.
The input is what the first stages (those with no upstream stage) wrote: the source data as it came in.

The figures are the usual ones, simple on purpose:
- a numeric column: the population stability index (PSI) over the base run's deciles;
- a categorical column (or a numeric one with at most ten values, such as a label): the total
  variation distance, half the sum of the differences of each value's share.
Both are 0 for the same distribution; read 0.1 as "moved", 0.25 as "moved a lot". An integer column
whose every value is distinct in both runs is an id: it has no distribution to compare and is left out.
Everything is computed with Arrow's kernels, one pass per bin, so a large table needs no NumPy copy.
"""

from __future__ import annotations

import io
import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from spiralkit.results.client import Run

if TYPE_CHECKING:
    import pyarrow as pa

BINS = 10
MOVED, MOVED_A_LOT = 0.1, 0.25
FOOTER = 64 * 1024  # read at the end of a Parquet file: its footer, in one request most of the time
_FLOOR = 1e-4  # a bin's share when it is empty: PSI's log would be infinite


@dataclass(frozen=True)
class Rows:
    """The rows of one Parquet output in the base run and in this one (None where a run has no such table)."""

    path: str
    stage: str
    before: int | None
    after: int | None


@dataclass(frozen=True)
class Drift:
    """How far one input column's distribution moved from the base run to this one."""

    table: str
    column: str
    measure: str  # PSI | TV
    value: float

    @property
    def level(self) -> str:
        return "a lot" if self.value >= MOVED_A_LOT else "moved" if self.value >= MOVED else "steady"


@dataclass(frozen=True)
class Since:
    """What changed in the data from ``base`` to ``other``: rows per table, input columns' drift (largest first)."""

    rows: list[Rows]
    drift: list[Drift]


def since(base: Run, other: Run) -> Since:
    """Read both runs' tables once, for the report and the headline alike."""
    return Since(rows(base, other), drift(base, other))


def rows(base: Run, other: Run) -> list[Rows]:
    """Rows of every Parquet file output of either run, in this run's order, from each file's footer alone."""
    before, after = base.outputs, other.outputs
    paths = [*after, *(path for path in before if path not in after)]
    found = []
    for path in (p for p in paths if p.endswith(".parquet")):
        now = row_count(other, after[path]) if path in after else None
        same = path in before and path in after and before[path].get("md5") == after[path].get("md5")
        was = now if same else row_count(base, before[path]) if path in before else None
        found.append(Rows(path, str((after.get(path) or before[path])["stage"]), was, now))
    return found


def row_count(run: Run, out: Mapping[str, Any]) -> int | None:
    """A Parquet file's rows from its footer: one ranged read of its end, not the whole file (None: a folder)."""
    import pyarrow.parquet as pq

    if str(out.get("md5", "")).endswith(".dir"):
        return None
    remote, cache = run.archive.remote, run.archive.cache
    tail = remote.tail(out, FOOTER, cache)
    length = struct.unpack("<I", tail[-8:-4])[0] + 8  # the footer: metadata, its length, "PAR1"
    if length > len(tail):
        tail = remote.tail(out, length, cache)
    return int(pq.read_metadata(io.BytesIO(b"PAR1" + tail[-length:])).num_rows)


def inputs(run: Run) -> list[str]:
    """The Parquet outputs of the stages nothing runs before: the data as it came in."""
    return [path for stage in run.stages.values() if not stage.upstream for path in _tables(stage.outputs)]


def drift(base: Run, other: Run) -> list[Drift]:
    """Every input column's drift from ``base`` to ``other``, the largest first; unchanged tables are skipped."""
    found: list[Drift] = []
    before = base.outputs
    for path in inputs(other):
        if path not in before or before[path].get("md5") == other.outputs[path].get("md5"):
            continue
        old, new = _table(base, path), _table(other, path)
        for name in (n for n in new.column_names if n in old.column_names):
            figure = column_drift(old.column(name), new.column(name))
            if figure is not None:
                found.append(Drift(path, name, *figure))
    return sorted(found, key=lambda d: -d.value)


def column_drift(before: pa.ChunkedArray, after: pa.ChunkedArray) -> tuple[str, float] | None:
    """``("PSI", 0.31)`` or ``("TV", 0.05)`` for one column; None for an id or a column with no values."""
    import pyarrow as pa
    import pyarrow.compute as pc

    before, after = before.drop_null(), after.drop_null()
    if not len(before) or not len(after):
        return None
    kind = before.type
    numeric = (pa.types.is_integer(kind) or pa.types.is_floating(kind)) and not pa.types.is_boolean(kind)
    if pa.types.is_integer(kind) and all(pc.count_distinct(c).as_py() == len(c) for c in (before, after)):
        return None  # an id
    if numeric and pc.count_distinct(before).as_py() > BINS:
        return "PSI", _psi(before, after)
    return "TV", _total_variation(before, after)


def _psi(before: pa.ChunkedArray, after: pa.ChunkedArray) -> float:
    import pyarrow.compute as pc

    # The edges stay Arrow scalars (quantiles come sorted; unique keeps that order): a Python number in a
    # compute call makes Arrow look for pandas types, which imports pandas (0.2 s of a report)
    quantiles = pc.unique(pc.quantile(before, q=[i / BINS for i in range(1, BINS)]))
    edges = [quantiles[i] for i in range(len(quantiles))]

    def shares(values: pa.ChunkedArray) -> list[float]:
        below = [pc.sum(pc.less_equal(values, edge)).as_py() or 0 for edge in edges]
        counts = [b - a for a, b in zip([0, *below], [*below, len(values)], strict=True)]
        return [max(count / len(values), _FLOOR) for count in counts]

    return sum((a - b) * math.log(a / b) for b, a in zip(shares(before), shares(after), strict=True))


def _total_variation(before: pa.ChunkedArray, after: pa.ChunkedArray) -> float:
    import pyarrow.compute as pc

    def shares(values: pa.ChunkedArray) -> dict[Any, float]:
        counted = pc.value_counts(values).to_pylist()
        return {item["values"]: item["counts"] / len(values) for item in counted}

    old, new = shares(before), shares(after)
    return 0.5 * sum(abs(old.get(value, 0.0) - new.get(value, 0.0)) for value in old.keys() | new.keys())


def _table(run: Run, path: str) -> pa.Table:
    """The whole table, fetched by its recorded md5 like :meth:`Run.read_table`, read with ``ParquetFile``:
    ``read_table`` goes through Arrow's datasets, whose import (with pandas) costs a report 0.4 s."""
    import pyarrow.parquet as pq

    return pq.ParquetFile(run.path(path)).read()


def _tables(outputs: tuple[Mapping[str, Any], ...]) -> list[str]:
    return [str(out["path"]) for out in outputs if str(out.get("path", "")).endswith(".parquet")]
