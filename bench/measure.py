"""Measuring without fooling ourselves: a fresh process per sample, and cases taken in turns.

Taking the cases in turns (baseline, candidate, baseline, candidate, ...) rather than one after the
other means a burst of load from elsewhere on a shared machine slows both alike, so their ratio holds
even when the absolute figures wander.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")


class BenchError(RuntimeError):
    """A benchmark could not run; the message says which command failed and how."""


@dataclass(frozen=True)
class Sample:
    """One operation in a fresh interpreter: its wall and CPU time, the memory it added (bench.probe)."""

    seconds: float
    user_seconds: float
    system_seconds: float
    added_mb: float
    arrow_mb: float


def seconds(samples: Iterable[Sample]) -> list[float]:
    return [sample.seconds for sample in samples]


def added_mb(samples: Iterable[Sample]) -> list[float]:
    return [sample.added_mb for sample in samples]


def probe(operation: str, *args: str, env: Mapping[str, str] | None = None) -> Sample:
    """Run ``operation`` once in a fresh interpreter (see bench.probe) and return what it measured."""
    result = subprocess.run(
        [sys.executable, "-m", "bench.probe", operation, *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        raise BenchError(f"`bench.probe {operation} {' '.join(args)}` failed:\n{result.stderr[-3000:]}")
    return Sample(**json.loads(result.stdout))


def time_command(command: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None) -> float:
    """Wall time of ``command`` as a user types it, interpreter start-up included; it must succeed."""
    start = time.perf_counter()
    result = subprocess.run(list(command), cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode:
        raise BenchError(f"`{' '.join(command)}` failed in {cwd}:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}")
    return elapsed


def in_turns(cases: Mapping[str, Callable[[], T]], runs: int) -> dict[str, list[T]]:
    """``runs`` rounds, each running every case once in order; returns each case's results."""
    results: dict[str, list[T]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, case in cases.items():
            results[name].append(case())
    return results
