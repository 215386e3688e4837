"""The benchmark suite runs end to end and reports what it measured: a small table, one run, local reads."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT


def test_a_quick_local_run_writes_figures_ratios_and_the_machine(tmp_path: Path) -> None:
    page = _bench(tmp_path, "local_parquet")
    assert "| CPU |" in page
    assert "| Packages | pyarrow " in page
    rows = _rows(page)
    baseline = next(cells for name, cells in rows.items() if name.startswith("read the file's"))
    read = next(cells for name, cells in rows.items() if name.startswith("read_table, all 50 columns,"))
    assert float(read[3]) == pytest.approx(_seconds(baseline[1]) / _seconds(read[1]), rel=0.02)
    assert "of the byte-read throughput" in read[4]
    memory = next(cells for name, cells in rows.items() if name.startswith("memory a read of a tenth"))
    assert float(memory[3]) > 1, "a tenth of the columns must add less memory than all of them"


def test_the_s3_run_starts_its_own_moto_and_counts_the_requests(tmp_path: Path) -> None:
    page = _bench(tmp_path, "s3_parquet")
    read = next(cells for name, cells in _rows(page).items() if name == "read_table from s3://, all 50 columns")
    assert "at least as fast as boto3" in read[4]
    requests = re.search(r"read_table made (\d+) GET requests", page)
    assert requests, page
    assert int(requests.group(1)) >= 2, "the footer, then at least one range of column chunks"


def test_the_batch_run_submits_200_jobs_both_ways_and_compares(tmp_path: Path) -> None:
    rows = _rows(_bench(tmp_path, "batch_submit"))
    total = next(cells for name, cells in rows.items() if name.startswith("spiralkit: plan and submit"))
    assert "median ≤ 10 s" in total[4]
    assert float(total[3]) > 0
    assert any(name.startswith("a plain loop: 200 SubmitJob calls") for name in rows)


def _bench(tmp_path: Path, benchmark: str) -> str:
    """``python -m bench`` on a 5 MB table, one run of ``benchmark``; returns the page it wrote."""
    output = tmp_path / "benchmarks.md"
    command = ["-m", "bench", "--size-mb", "5", "--runs", "1", "--only", benchmark, "--output", str(output)]
    result = subprocess.run([sys.executable, *command], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return output.read_text()


def _rows(page: str) -> dict[str, list[str]]:
    """The figure rows of the page's tables, by figure name."""
    return {cells[0]: cells for line in page.splitlines() if len(cells := _cells(line)) == 5}


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")] if line.startswith("| ") else []


def _seconds(median: str) -> float:
    match = re.fullmatch(r"([\d.,]+) s", median)
    assert match, median
    return float(match.group(1).replace(",", ""))
