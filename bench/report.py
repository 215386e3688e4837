"""The machine's description, one console line per figure, and docs/benchmarks.md."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench.figures import Context, Figure

Results = Sequence[tuple[str, Sequence[Figure]]]


def machine(work: Path) -> dict[str, str]:
    """What the figures depend on: CPU, memory, the disk under the data, software versions."""
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), "?")
    memory_kb = int(
        next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    )
    versions = ", ".join(f"{name} {_version(name)}" for name in ("pyarrow", "pandas", "boto3", "moto", "dvc", "copier"))
    return {
        "CPU": f"{model}, {os.cpu_count()} cores",
        "Memory": f"{memory_kb / 1e6:.1f} GB",
        "Disk under build/bench": _disk(work),
        "Transparent huge pages": _thp(),
        "OS": platform.platform(),
        "Python (the bench's)": platform.python_version(),
        "Packages": versions,
    }


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _disk(path: Path) -> str:
    mounts = [line.split() for line in Path("/proc/mounts").read_text().splitlines()]
    device, mount, kind = max(
        ((m[0], m[1], m[2]) for m in mounts if str(path.resolve()).startswith(m[1])), key=lambda m: len(m[1])
    )
    name = Path(device).name.rstrip("0123456789")
    rotational = Path(f"/sys/block/{name}/queue/rotational")
    kind_of_disk = (
        {"0": "solid-state", "1": "rotational"}.get(rotational.read_text().strip(), "?") if rotational.exists() else "?"
    )
    return f"{device} ({kind}, {shutil.disk_usage(mount).total / 1e9:.0f} GB, the kernel says {kind_of_disk})"


def _thp() -> str:
    settings = Path("/sys/kernel/mm/transparent_hugepage")
    if not settings.exists():
        return "not available"
    return ", ".join(f"{name}: {(settings / name).read_text().strip()}" for name in ("enabled", "defrag"))


def line(figure: Figure) -> str:
    """One figure on the console: name, median, ratio, target and whether it is met."""
    parts = [f"  {figure.name}: {_median(figure)}"]
    if figure.ratio is not None:
        parts.append(f"ratio {number(figure.ratio)}")
    if figure.target is not None:
        parts.append(f"target {figure.target.text}: {'met' if figure.met else 'MISSED'}")
    return ", ".join(parts)


def _median(figure: Figure) -> str:
    return f"{number(figure.median)} {figure.unit} (median of {len(figure.samples)})"


def number(value: float) -> str:
    """Three significant digits: 0.0123, 0.863, 27.6, 1,383."""
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def markdown(results: Results, context: Context, loads: tuple[str, str], description: dict[str, str]) -> str:
    """docs/benchmarks.md: the figures, the machine and the date, and how to read them."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        "# Benchmarks",
        "",
        f"Measured by `nox -s bench` on {now}, with a table of about {context.size_mb:,} MB and {context.runs} runs",
        "of each figure; this page is that command's output, so rerun it rather than edit it. Each figure is the",
        "median of its runs. A ratio is the baseline's median divided by the figure's, both measured in the same",
        "run: above 1, the figure took less time (or memory) than its baseline.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *(f"| {key} | {value} |" for key, value in description.items()),
        f"| Load average (1 min) before, after | {loads[0]}, {loads[1]} |",
        "",
    ]
    for title, figures in results:
        out += [f"## {title}", "", "| Figure | Median | Runs | Ratio | Target |", "|---|---:|---|---:|---|"]
        for figure in figures:
            runs = ", ".join(number(sample) for sample in figure.samples)
            ratio = number(figure.ratio) if figure.ratio is not None else ""
            target = f"{figure.target.text}: **{'met' if figure.met else 'missed'}**" if figure.target else ""
            out.append(f"| {figure.name} | {number(figure.median)} {figure.unit} | {runs} | {ratio} | {target} |")
        notes = [note for figure in figures for note in figure.notes]
        out += ["", *(f"- {note}" for note in notes), ""] if notes else [""]
    return "\n".join([*out, _METHOD])


_METHOD = """## How these are measured

- Every timed Parquet, CSV and S3 read runs in a fresh Python process (`python -m bench.probe`), as a
  pipeline stage does: no memory left from an earlier run to reuse. The time covers the read call only, not
  the interpreter's start or its imports. `copier copy` and `dvc repro` are timed as the commands a user types.
- A baseline and the figures compared with it are taken in turns (baseline, figure, baseline, figure, ...),
  so a burst of load from elsewhere slows both alike. This machine is shared with other engineers' test runs
  (see the load averages above): absolute figures wander from run to run, ratios much less.
- Memory is the process's peak resident size during the read (`VmHWM`, reset just before the read) minus its
  resident size just before: what the read adds above the interpreter with its imports.
- The baseline for a local read is `Path.read_bytes` of the same file: one sequential read into memory it
  allocates, as any reader must allocate the memory it reads into. The file sits in the page cache.
- The data: fifty columns of the kinds a feature table holds (an id, ten measurements as recorded with
  four decimals, nine derived features at full float64 precision, ten amounts, ten counts, eight segment
  names from 200 values, a timestamp, a label), seeded and generated once per size into `build/bench` by
  `spiralkit.tables.write_table`, so the file read is the file the helpers write.
- The S3 figures use moto, which reads the whole object for every ranged GET. Arrow reads Parquet from
  S3 with ranged GETs (the footer first, then the column chunks it needs, several at once), the pattern
  that makes it fast on S3, where a range costs its length; on moto each of those requests costs about
  one full download, so read_table on moto loses to a single get_object by construction. Compare the
  ranged-GET figure with the boto3 one to see the effect on this machine. This machine cannot reach
  S3, so how the helpers compare with boto3 against S3 itself is not measured here.

## What the figures decided

- `write_table` writes uncompressed Parquet unless asked: compare the zstd line with the uncompressed
  one. On two cores, decompressing costs more time than reading the extra bytes saves.
- `read_table` switches Arrow to jemalloc: compare the mimalloc line. pyarrow's default allocator asks
  for transparent huge pages, and on this machine (`defrag: madvise`) the kernel compacts memory to
  find them on every fault.
- Local reads stream each column chunk through a 1 MiB buffer instead of pre-buffering whole chunks
  (an extra copy into fresh memory) or memory-mapping the file (a file rewritten in place while mapped
  kills the reader with SIGBUS, and mapped pages inflate the memory figures). On S3, Arrow pre-buffers:
  that is what coalesces column chunks into a few large ranged GETs issued at once.
"""
