"""The benchmark table: a wide feature table, generated once per size into build/bench and reused.

Fifty columns of the kinds a feature table holds: an id, measurements as recorded (four decimals),
derived features (full float64 precision), amounts and counts (integers), segments (strings from a few
hundred values), a timestamp and a label. Seeded, so every machine benchmarks the same bytes for a given size.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from spiralkit import tables
from spiralkit.tables import Compression, write_table

_CHUNK_ROWS = 500_000
_SEGMENTS = pa.array([f"segment_{index:03d}" for index in range(200)])
_START = np.datetime64("2025-01-01T00:00:00", "ms").astype(np.int64)
# A cached file is reused only while this generator and the writer that wrote it are unchanged.
_VERSION = hashlib.sha256(Path(__file__).read_bytes() + Path(tables.__file__).read_bytes()).hexdigest()[:8]


def _chunk(rng: np.random.Generator, first_id: int, rows: int) -> pa.Table:
    columns: dict[str, pa.Array] = {"case_id": pa.array(np.arange(first_id, first_id + rows))}
    columns |= {f"measure_{i}": pa.array(np.round(rng.normal(100, 25, rows), 4)) for i in range(10)}
    columns |= {f"feature_{i}": pa.array(rng.normal(0, 1, rows)) for i in range(9)}
    columns |= {f"amount_{i}": pa.array(rng.integers(0, 1_000_000, rows)) for i in range(10)}
    columns |= {f"count_{i}": pa.array(rng.poisson(12, rows).astype(np.int32)) for i in range(10)}
    columns |= {
        f"segment_{i}": pa.DictionaryArray.from_arrays(rng.integers(0, len(_SEGMENTS), rows), _SEGMENTS).cast(
            pa.string()
        )
        for i in range(8)
    }
    updated = _START + rng.integers(0, 365 * 24 * 3600 * 1000, rows)
    columns["updated_at"] = pa.array(updated.astype("datetime64[ms]"))
    columns["label"] = pa.array(rng.random(rows) < 0.1)
    return pa.table(columns)


def _table(rows: int) -> pa.Table:
    rng = np.random.default_rng(20251121)
    chunks = [_chunk(rng, start, min(_CHUNK_ROWS, rows - start)) for start in range(0, rows, _CHUNK_ROWS)]
    return pa.concat_tables(chunks).combine_chunks()


def parquet(work: Path, size_mb: int, compression: Compression = "none") -> Path:
    """A Parquet file of about ``size_mb`` MB written by spiralkit's write_table; made once, then reused."""
    path = work / f"table-{size_mb}mb-{compression}-{_VERSION}.parquet"
    if path.exists():
        return path
    work.mkdir(parents=True, exist_ok=True)
    _forget_stale(work)
    sample = work / "sample.parquet"
    write_table(_table(_CHUNK_ROWS), sample)
    rows = int(size_mb * 1e6 / (sample.stat().st_size / _CHUNK_ROWS))
    sample.unlink()
    partial = path.with_suffix(".partial")
    write_table(_table(rows), partial, compression=compression)
    os.replace(partial, path)  # a run interrupted while writing never leaves a file that looks complete
    return path


def csv(work: Path, size_mb: int) -> Path:
    """The same rows as the ``size_mb`` Parquet table, as CSV."""
    path = work / f"table-{size_mb}mb-{_VERSION}.csv"
    if not path.exists():
        partial = path.with_suffix(".partial")
        pacsv.write_csv(pq.read_table(parquet(work, size_mb)), partial)
        os.replace(partial, path)
    return path


def _forget_stale(work: Path) -> None:
    """Delete tables an older generator or writer made: at 1 GB each they would soon fill the disk."""
    for path in work.glob("table-*"):
        if _VERSION not in path.name:
            path.unlink()


def tenth_of_the_columns(path: Path) -> list[str]:
    """Every tenth column: a mix of the kinds, a tenth of the table."""
    return [str(name) for name in pq.read_schema(path).names[::10]]
