"""The benchmark suite runs end to end and reports what it measured: a small table, one run, local reads."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT

from bench import local_runs, memory
from bench.figures import Figure


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


def test_peak_memory_sums_the_whole_process_tree(tmp_path: Path) -> None:
    """A grandchild holding 200 MB for half a second is seen; an idle command is not charged for it."""
    hold = "b = bytearray(200 * 2**20); b[::4096] = b'x' * len(b[::4096]); import time; time.sleep(0.5)"
    child = [sys.executable, "-c", f"import subprocess, sys; subprocess.run([sys.executable, '-c', {hold!r}])"]
    seconds, peak = memory.sampled(child, tmp_path, {"PATH": "/usr/bin:/bin"})
    idle_seconds, idle = memory.sampled([sys.executable, "-c", "import time; time.sleep(0.5)"], tmp_path, {})
    assert seconds >= 0.5
    assert idle_seconds >= 0.5
    assert peak >= 200 > idle
    with pytest.raises(RuntimeError, match="exit 3"):
        memory.sampled([sys.executable, "-c", "import sys; print('exit 3'); sys.exit(3)"], tmp_path, {})


def test_the_bytecode_state_is_what_the_environment_holds(tmp_path: Path) -> None:
    package = tmp_path / "lib" / "python3.11" / "site-packages" / "demo"
    (package / "__pycache__").mkdir(parents=True)
    for name in ("a", "b", "c", "d"):
        (package / f"{name}.py").write_text("")
    (package / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"")
    assert local_runs.bytecode(tmp_path).startswith("25% of the modules")


def test_a_times_target_is_met_up_to_its_bound_and_missed_past_it() -> None:
    baseline = Figure("dvc repro", [10.0])
    at_bound = Figure("spiral", [6.0], baseline=baseline, target=local_runs._at_most(0.6, "dvc repro's time"))
    past = Figure("spiral", [6.5], baseline=baseline, target=local_runs._at_most(0.6, "dvc repro's time"))
    assert (at_bound.met, past.met) == (True, False)
    assert at_bound.target is not None
    assert at_bound.target.text == "at most 0.6x dvc repro's time"
