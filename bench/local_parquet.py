"""Reading a Parquet table from local disk: against the file's raw bytes, against CSV, and its memory."""

from __future__ import annotations

import os
import statistics

from bench import data
from bench.figures import Context, Figure, Target
from bench.measure import Sample, added_mb, in_turns, probe, seconds
from bench.report import number

TITLE = "Parquet from local disk"


def run(context: Context) -> list[Figure]:
    path = data.parquet(context.work, context.size_mb)
    zstd = data.parquet(context.work, context.size_mb, compression="zstd")
    csv = data.csv(context.work, context.size_mb)
    tenth = data.tenth_of_the_columns(path)
    size = f"{path.stat().st_size / 1e6:,.0f} MB"
    mimalloc = {"ARROW_DEFAULT_MEMORY_POOL": "mimalloc"}
    runs = in_turns(
        {
            "bytes": lambda: probe("read_bytes", str(path)),
            "all": lambda: probe("read_table", str(path)),
            "tenth": lambda: probe("read_table", str(path), *tenth),
            "mimalloc": lambda: probe("read_table", str(path), env=mimalloc),
            "zstd bytes": lambda: probe("read_bytes", str(zstd)),
            "zstd": lambda: probe("read_table", str(zstd)),
        },
        context.runs,
    )
    # pandas.read_csv takes tens of seconds a run at 1 GB: fewer runs, taken in turns with read_table.
    slow = in_turns({"csv": lambda: probe("read_csv", str(csv)), "all": lambda: probe("read_table", str(path))}, 3)

    read_bytes = Figure(f"read the file's {size} sequentially into memory (Path.read_bytes)", seconds(runs["bytes"]))
    read_csv = Figure(
        f"pandas.read_csv of the same rows ({csv.stat().st_size / 1e6:,.0f} MB of CSV)", seconds(slow["csv"])
    )
    zstd_bytes = Figure(
        f"read the zstd file's {zstd.stat().st_size / 1e6:,.0f} MB sequentially", seconds(runs["zstd bytes"])
    )
    all_memory = Figure(
        "memory a read of all 50 columns adds (peak RSS above the interpreter's)", added_mb(runs["all"]), "MB"
    )
    return [
        read_bytes,
        Figure(
            f"read_table, all 50 columns, {size} uncompressed",
            seconds(runs["all"]),
            baseline=read_bytes,
            target=Target.ratio_at_least(0.5, "of the byte-read throughput"),
            notes=[_cpu(runs["bytes"], runs["all"])],
        ),
        read_csv,
        Figure(
            "read_table, all 50 columns (runs taken in turns with read_csv)",
            seconds(slow["all"]),
            baseline=read_csv,
            target=Target.ratio_at_least(10, "times faster than pandas.read_csv"),
            notes=[_csv(csv.stat().st_size, read_csv, read_bytes)],
        ),
        all_memory,
        Figure(
            f"memory a read of a tenth of the columns adds ({', '.join(tenth)})",
            added_mb(runs["tenth"]),
            "MB",
            baseline=all_memory,
            target=Target.ratio_at_least(5, "at most a fifth of all columns'"),
            notes=[_arrow_memory(runs["all"], runs["tenth"])],
        ),
        Figure(
            "read_table with pyarrow's default allocator, mimalloc (spiralkit uses jemalloc)",
            seconds(runs["mimalloc"]),
            baseline=read_bytes,
        ),
        zstd_bytes,
        Figure(
            "read_table, the same table written with compression='zstd'", seconds(runs["zstd"]), baseline=zstd_bytes
        ),
    ]


def _cpu(read_bytes: list[Sample], read_table: list[Sample]) -> str:
    """CPU time explains the wall time on a shared machine: read_table needs both cores free to be fast."""

    def median(samples: list[Sample], field: str) -> float:
        return float(statistics.median(getattr(sample, field) for sample in samples))

    return (
        f"CPU time per read (medians): reading the bytes {median(read_bytes, 'user_seconds'):.2f} s user + "
        f"{median(read_bytes, 'system_seconds'):.2f} s system on one thread; read_table "
        f"{median(read_table, 'user_seconds'):.2f} s user + {median(read_table, 'system_seconds'):.2f} s system over "
        f"{os.cpu_count()} threads. System time is mostly the kernel handing over fresh memory, and the decoded table "
        f"({median(read_table, 'arrow_mb'):,.0f} MB) is larger than the file, whose string columns are stored "
        "dictionary-encoded. When other work holds a core, read_table's wall time moves towards its CPU time."
    )


def _csv(csv_bytes: int, read_csv: Figure, read_bytes: Figure) -> str:
    """What ten times faster than read_csv would take, next to what merely reading the file's bytes takes."""
    tenth = read_csv.median / 10
    speed = csv_bytes / 1e6 / read_csv.median
    note = f"pandas.read_csv parsed {speed:,.0f} MB of CSV a second; ten times faster is {number(tenth)} s"
    if tenth < read_bytes.median:
        note += f", less than the {number(read_bytes.median)} s it takes to read the Parquet file's bytes into memory"
    return note + "."


def _arrow_memory(all_columns: list[Sample], tenth: list[Sample]) -> str:
    peak_all = max(sample.arrow_mb for sample in all_columns)
    peak_tenth = max(sample.arrow_mb for sample in tenth)
    return f"Arrow's own allocations peaked at {peak_all:,.0f} MB for all columns, {peak_tenth:,.0f} MB for a tenth."
