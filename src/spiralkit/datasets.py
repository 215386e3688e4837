"""Opening Parquet data the fast way for where it lives, and the memory Arrow reads it into.

Each choice here is backed by a figure in docs/benchmarks.md, measured on the 2-core machines that
pipeline stages run on.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import os
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.fs as pafs

from spiralkit.errors import TableError
from spiralkit.storage import Location

if TYPE_CHECKING:
    import pyarrow.dataset as ds  # imported by the calls that need it: it costs pandas's import too

# Hive folder names only say `day=2024-01-02`: without the written schema, that comes back as a string.
_SCHEMA_KEY = b"spiralkit.schema"


@functools.cache
def use_jemalloc() -> None:
    """Allocate Arrow memory with jemalloc unless ARROW_DEFAULT_MEMORY_POOL says otherwise.

    pyarrow's default, mimalloc, asks Linux for transparent huge pages; where the kernel has to compact
    memory to find them (a busy VM), every fault stalls: reading a 1 GB file took 2.6 s with it and
    0.74 s with jemalloc on the 2-core machine of docs/benchmarks.md. Buffers already allocated keep
    their own pool, so switching is safe at any point. Arrow's I/O layer took its pool when pyarrow
    started and keeps mimalloc for its read buffers; local reads keep those to 1 MiB per column.
    """
    if "ARROW_DEFAULT_MEMORY_POOL" not in os.environ:
        with contextlib.suppress(NotImplementedError):  # a pyarrow built without jemalloc (Windows)
            pa.set_memory_pool(pa.jemalloc_memory_pool())


def open_dataset(location: Location) -> ds.Dataset:
    """The dataset at ``location``, or a TableError that says which part of the URI does not exist."""
    import pyarrow.dataset as ds

    try:
        dataset = ds.dataset(
            location.path,
            filesystem=location.filesystem,
            format=_scan_format(location),
            partitioning="hive",
        )
    except FileNotFoundError as error:
        require_bucket(location)
        raise TableError(f"{location.uri}: no such file or folder") from error
    except (OSError, pa.ArrowInvalid) as error:
        raise TableError(f"{location.uri}: not a Parquet file or a folder of them: {error}") from error
    if not dataset.files:
        raise TableError(f"{location.uri}: a folder with no Parquet files in it")
    return _with_written_types(location, dataset)


def with_schema_stamp(table: pa.Table) -> pa.Table:
    """``table`` carrying its own schema in the metadata every file of a partitioned write keeps."""
    stamp = base64.b64encode(table.schema.remove_metadata().serialize().to_pybytes())
    return table.replace_schema_metadata({**(table.schema.metadata or {}), _SCHEMA_KEY: stamp})


def _with_written_types(location: Location, dataset: ds.Dataset) -> ds.Dataset:
    """Give partition columns back the types and the place they had when :func:`write_table` wrote them."""
    import pyarrow.dataset as ds

    stamp = (dataset.schema.metadata or {}).get(_SCHEMA_KEY)
    if stamp is None or not isinstance(dataset, ds.FileSystemDataset) or dataset.partitioning is None:
        return dataset
    written = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(stamp)))
    partitions = pa.schema([written.field(field.name) for field in dataset.partitioning.schema])
    return ds.dataset(
        dataset.files,
        filesystem=location.filesystem,
        format=dataset.format,
        partitioning=ds.partitioning(partitions, flavor="hive"),
        partition_base_dir=location.path,
        schema=written,
    )


def _scan_format(location: Location) -> ds.ParquetFileFormat:
    """How to read column chunks: streamed from a local disk, in a few large concurrent GETs from S3.

    Locally, a 1 MiB buffer per column streams each chunk. Pre-buffering would first copy every chunk
    into fresh memory (a 700 MB read took five times as long on the bench machine); memory-mapping
    would turn a file rewritten in place during the read into a SIGBUS instead of an error. On S3,
    pre-buffering is what coalesces hundreds of column chunks into a few large ranged GETs run at once.
    """
    import pyarrow.dataset as ds

    if location.is_s3:
        return ds.ParquetFileFormat(default_fragment_scan_options=ds.ParquetFragmentScanOptions(pre_buffer=True))
    options = ds.ParquetFragmentScanOptions(pre_buffer=False, use_buffered_stream=True, buffer_size=1 << 20)
    return ds.ParquetFileFormat(default_fragment_scan_options=options)


def require_bucket(location: Location) -> None:
    """Fail before reading or writing anything when the bucket itself is missing (a typo, most often)."""
    if location.is_s3 and location.filesystem.get_file_info(location.bucket).type == pafs.FileType.NotFound:
        raise TableError(
            f"{location.uri}: bucket {location.bucket!r} does not exist, or these AWS credentials cannot see it"
        )
