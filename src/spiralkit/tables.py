"""Read and write Parquet tables at local paths or ``s3://`` URIs, straight into Arrow."""

from __future__ import annotations

import os
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq


def _filesystem(uri: str) -> tuple[pafs.FileSystem, str]:
    return pafs.FileSystem.from_uri(uri if "://" in uri else os.path.abspath(uri))


def read_table(uri: str, columns: Sequence[str] | None = None, filter: ds.Expression | None = None) -> pa.Table:
    """Read the Parquet file or dataset at ``uri``, reading only ``columns`` and rows matching ``filter``."""
    filesystem, path = _filesystem(uri)
    dataset = ds.dataset(path, filesystem=filesystem, format="parquet", partitioning="hive")
    return dataset.to_table(columns=list(columns) if columns else None, filter=filter)


def write_table(table: pa.Table, uri: str, partition_by: Sequence[str] | None = None) -> None:
    """Write ``table`` as Parquet to ``uri``: one file, or a hive-partitioned dataset."""
    filesystem, path = _filesystem(uri)
    if partition_by:
        ds.write_dataset(
            table,
            path,
            filesystem=filesystem,
            format="parquet",
            partitioning=list(partition_by),
            partitioning_flavor="hive",
            existing_data_behavior="delete_matching",
        )
        return
    filesystem.create_dir(path.rsplit("/", 1)[0], recursive=True)
    pq.write_table(table, path, filesystem=filesystem)
