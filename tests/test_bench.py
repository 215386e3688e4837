"""The benchmark suite runs end to end and reports what it measured: a small table, one run, local reads."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT


def test_a_quick_local_run_writes_figures_ratios_and_the_machine(tmp_path: Path) -> None:
    output = tmp_path / "benchmarks.md"
    command = ["-m", "bench", "--size-mb", "5", "--runs", "1", "--only", "local_parquet", "--output", str(output)]
    result = subprocess.run([sys.executable, *command], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    page = output.read_text()
    assert "| CPU |" in page
    assert "| Packages | pyarrow " in page
    rows = {cells[0]: cells for line in page.splitlines() if len(cells := _cells(line)) == 5}
    baseline = next(cells for name, cells in rows.items() if name.startswith("read the file's"))
    read = next(cells for name, cells in rows.items() if name.startswith("read_table, all 50 columns,"))
    assert float(read[3]) == pytest.approx(_seconds(baseline[1]) / _seconds(read[1]), rel=0.02)
    assert "of the byte-read throughput" in read[4]
    memory = next(cells for name, cells in rows.items() if name.startswith("memory a read of a tenth"))
    assert float(memory[3]) > 1, "a tenth of the columns must add less memory than all of them"


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")] if line.startswith("| ") else []


def _seconds(median: str) -> float:
    match = re.fullmatch(r"([\d.,]+) s", median)
    assert match, median
    return float(match.group(1).replace(",", ""))
