"""Read and write Parquet tables at local paths or ``s3://`` URIs, straight into Arrow.

One line in a pipeline stage: ``cases = read_table("s3://bucket/cases", columns=["age", "label"],
filter=[("age", ">=", 18)])``. ``pyarrow.dataset`` reads only the columns asked for, skips row groups
whose statistics rule the filter out, decodes on every core and never writes a temporary file.
Everything stays in Arrow until a caller asks for pandas (:func:`read_frame`).

Files are written uncompressed by default (dictionary encoding still shrinks repeated values): on the
2-core machines pipelines run on, decompression, not the disk, is what slows a read. A zstd file a third
smaller took about twice as long to read (docs/benchmarks.md, made by `nox -s bench`: compare its zstd
line with the uncompressed one). Pass ``compression="zstd"`` for archives and slow links.
"""

from __future__ import annotations

import difflib
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, get_args

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from spiralkit import atomic, uploads
from spiralkit.datasets import open_dataset, require_bucket, use_jemalloc, with_schema_stamp
from spiralkit.errors import TableError
from spiralkit.storage import Location, locate, s3_client

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow.dataset as ds  # imported when a call needs it: it costs pandas's import too

__all__ = ["TableError", "read_frame", "read_table", "write_table"]

Compression = Literal["none", "snappy", "gzip", "brotli", "lz4", "zstd"]
Filter: TypeAlias = "ds.Expression | Sequence[Any]"  # an Arrow expression, or pyarrow.parquet's [(column, op, value)]

_READ_ATTEMPTS = 5
_UNKNOWN_FIELD = re.compile(r"No match for FieldRef\.Name\((.*?)\)")


def read_table(
    uri: str | os.PathLike[str], columns: Sequence[str] | None = None, filter: Filter | None = None
) -> pa.Table:
    """Read the Parquet file or hive-partitioned folder at ``uri``: only ``columns``, only rows matching ``filter``.

    A local dataset that :func:`write_table` swapped while this read listed and opened its files is read
    again, so a read returns the old data or the new, never files of both.
    """
    use_jemalloc()
    location = locate(uri)
    if not location.is_s3 and not os.path.exists(location.path):
        atomic.clean_leftovers(Path(location.path))  # a writer killed mid-swap set the old dataset aside
    for _ in range(_READ_ATTEMPTS):
        before = _identity(location)
        try:
            table = _read(location, columns, filter)
        except TableError:
            if _identity(location) == before:
                raise
            continue  # a file listed before the swap was gone when opened
        if _identity(location) == before:
            return table
    raise TableError(f"{location.uri}: replaced {_READ_ATTEMPTS} times while being read; read it again later")


def _read(location: Location, columns: Sequence[str] | None, filter: Filter | None) -> pa.Table:
    dataset = open_dataset(location)
    wanted = [columns] if isinstance(columns, str) else list(columns) if columns is not None else None
    if wanted is not None:
        _check_names(location, dataset.schema, wanted, "column")
    try:
        scanner = dataset.scanner(columns=wanted, filter=_expression(location, filter))
    except pa.ArrowInvalid as error:
        missing = _UNKNOWN_FIELD.findall(str(error))
        _check_names(location, dataset.schema, missing, "filter field")
        raise TableError(f"{location.uri}: filter {filter} is not valid: {error}") from error
    except pa.ArrowNotImplementedError as error:
        problem = str(error).splitlines()[0]
        raise TableError(f"{location.uri}: filter {filter} does not fit the column types: {problem}") from error
    try:
        return scanner.to_table()
    except (OSError, pa.ArrowException) as error:
        raise TableError(f"{location.uri}: could not read: {error}") from error


def _identity(location: Location) -> tuple[int, int] | None:
    """Which file or folder is at a local path now: every write puts a new one there. None on S3."""
    if location.is_s3:
        return None
    try:
        status = os.stat(location.path)
    except OSError:
        return None
    return status.st_dev, status.st_ino


def read_frame(
    uri: str | os.PathLike[str], columns: Sequence[str] | None = None, filter: Filter | None = None
) -> pd.DataFrame:
    """:func:`read_table`, as a pandas DataFrame.

    Numeric columns without nulls share Arrow's memory instead of being copied, and each Arrow column is
    freed once converted, so the conversion does not need the table twice over in memory.
    """
    return read_table(uri, columns, filter).to_pandas(split_blocks=True, self_destruct=True)


def write_table(
    table: pa.Table | Any,
    uri: str | os.PathLike[str],
    partition_by: Sequence[str] | None = None,
    *,
    compression: Compression = "none",
) -> None:
    """Write ``table`` (Arrow, or anything ``pyarrow.table`` takes: pandas, polars) as Parquet at ``uri``.

    Without ``partition_by``, ``uri`` is one file, replaced if it exists. With it, ``uri`` is a folder of
    ``column=value/`` sub-folders; the partitions this table has values for are replaced, others are kept.
    Rows keep their order, so the same table always gives the same bytes (and DVC the same hash).

    A reader never finds a half-written file, even if this process is killed: local files and datasets
    are written aside and renamed into place whole (:mod:`spiralkit.atomic`), S3 objects appear when their
    upload completes and a failed upload is aborted (:mod:`spiralkit.uploads`).
    """
    use_jemalloc()
    location = locate(uri)
    data = _as_table(location, table)
    partitions = [partition_by] if isinstance(partition_by, str) else list(partition_by or [])
    _check_names(location, data.schema, partitions, "partition column")
    if compression not in get_args(Compression):
        raise TableError(
            f"{location.uri}: compression {compression!r} is not one of {', '.join(get_args(Compression))}"
        )
    require_bucket(location)
    try:
        if location.is_s3:
            _write_s3(data, location, partitions, compression)
        elif partitions:
            target = Path(location.path)
            with atomic.replacing_folder(target) as staging:
                _write_dataset(data, str(staging), pafs.LocalFileSystem(), partitions, compression)
                atomic.carry_over(target, staging)
        else:
            with atomic.replacing_file(Path(location.path)) as staging:
                pq.write_table(data, str(staging), compression=compression)
    except (OSError, pa.ArrowException) as error:
        raise TableError(f"{location.uri}: could not write: {error}") from error


def _write_s3(data: pa.Table, location: Location, partitions: list[str], compression: Compression) -> None:
    """Write to a local scratch folder, then upload: see :mod:`spiralkit.uploads` for why not straight to S3."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, _, key = location.path.partition("/")
    with tempfile.TemporaryDirectory(prefix="spiral-write-") as scratch:
        try:
            if partitions:
                _write_dataset(data, f"{scratch}/data", pafs.LocalFileSystem(), partitions, compression)
                uploads.upload_dataset(s3_client(), Path(scratch, "data"), bucket, key)
            else:
                pq.write_table(data, f"{scratch}/table.parquet", compression=compression)
                uploads.upload_file(s3_client(), Path(scratch, "table.parquet"), bucket, key)
        except (BotoCoreError, ClientError) as error:
            raise TableError(f"{location.uri}: could not upload: {error}") from error


def _write_dataset(
    data: pa.Table, path: str, filesystem: pafs.FileSystem, partitions: list[str], compression: Compression
) -> None:
    """The whole of ``data`` as a fresh hive-partitioned dataset at ``path``, rows in their order."""
    import pyarrow.dataset as ds

    ds.write_dataset(
        with_schema_stamp(data),
        path,
        filesystem=filesystem,
        format="parquet",
        file_options=ds.ParquetFileFormat().make_write_options(compression=compression),
        partitioning=partitions,
        partitioning_flavor="hive",
        preserve_order=True,
    )


def _check_names(location: Location, schema: pa.Schema, names: Sequence[str], what: str) -> None:
    """Name every unknown column at once, with the nearest real names, instead of Arrow's schema dump."""
    unknown = [name for name in names if name not in schema.names]
    if not unknown:
        return
    hints = [_with_hint(name, schema.names) for name in unknown]
    shown = ", ".join(schema.names[:30]) + (", ..." if len(schema.names) > 30 else "")
    raise TableError(f"{location.uri}: no {what} {', '.join(hints)}; the table has: {shown}")


def _with_hint(name: str, names: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, names, n=1)
    return f"{name!r} (did you mean {close[0]!r}?)" if close else repr(name)


def _expression(location: Location, filter: Filter | None) -> ds.Expression | None:
    """``filter`` as an Arrow expression; ``[("age", ">=", 18)]`` reads easier in a stage than ``pc.field``."""
    import pyarrow.dataset as ds

    if filter is None or isinstance(filter, ds.Expression):
        return filter
    try:
        return pq.filters_to_expression(filter)
    except (TypeError, ValueError) as error:
        raise TableError(
            f"{location.uri}: filter {filter!r} is not valid: {error}; "
            "write it as [(column, op, value), ...] or as a pyarrow.compute expression"
        ) from error


def _as_table(location: Location, table: Any) -> pa.Table:
    if isinstance(table, pa.Table):
        return table
    try:
        return pa.table(table)
    except (TypeError, ValueError, pa.ArrowException) as error:
        raise TableError(f"{location.uri}: cannot write a {type(table).__name__} as a table: {error}") from error
