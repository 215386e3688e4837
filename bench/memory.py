"""The peak memory of a command's whole process tree: the sum of its processes' PSS, sampled while it runs.

PSS (proportional set size, ``/proc/<pid>/smaps_rollup``) charges each page to the processes sharing it in
equal parts, so a page a warm parent shares with the children it forked counts once in the sum, as it
takes memory once; summed RSS would count it in every process, and the peak RSS of the largest process
(``ru_maxrss``) would miss the other processes. The sum is sampled every ``EVERY`` seconds, so a peak
shorter than that can be missed: the same for every command measured.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

EVERY = 0.02


def tree(pid: int) -> list[int]:
    """``pid`` and every process below it, from the kernel's children lists."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                todo += [int(child) for child in Path(f"/proc/{current}/task/{task}/children").read_text().split()]
        except OSError:  # it ended while we looked
            continue
    return found


def pss_kb(pid: int) -> int:
    """The PSS of process ``pid`` in kB (0 once it has ended)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def sampled(command: Sequence[str], cwd: Path, env: Mapping[str, str]) -> tuple[float, float]:
    """Run ``command`` (it must succeed); returns its wall seconds and the peak PSS of its tree in MB."""
    with tempfile.TemporaryFile() as output:
        start = time.perf_counter()
        process = subprocess.Popen(list(command), cwd=cwd, env=dict(env), stdout=output, stderr=subprocess.STDOUT)
        peak = 0
        while True:
            try:
                process.wait(timeout=EVERY)
                break
            except subprocess.TimeoutExpired:
                peak = max(peak, sum(pss_kb(pid) for pid in tree(process.pid)))
        elapsed = time.perf_counter() - start
        if process.returncode:
            output.seek(0)
            raise RuntimeError(
                f"{' '.join(command)} failed in {cwd}:\n{output.read()[-3000:].decode(errors='replace')}"
            )
    return elapsed, peak / 1024
