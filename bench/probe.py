"""One measured operation in a fresh interpreter: ``python -m bench.probe OP ARGS...`` prints JSON.

A fresh process per measurement is what a pipeline stage is, and it keeps figures honest: no memory
left over from an earlier run to reuse, and the memory a read adds is the peak resident size above
what the interpreter held, with its imports, just before the read.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def _reset_peak() -> None:
    """Forget the peak the imports reached, so it cannot pass for the read's (``5`` in clear_refs resets VmHWM)."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def _peak() -> int:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


def _operation(op: str, args: list[str]) -> Callable[[], Any]:
    """The operation, with its imports done, so that only the work itself is timed."""
    if op == "read_bytes":
        return lambda: Path(args[0]).read_bytes()
    if op == "read_table":
        from spiralkit.tables import read_table

        return lambda: read_table(args[0], columns=args[1:] or None)
    if op == "read_csv":
        import pandas

        return lambda: pandas.read_csv(args[0])
    if op == "s3_get_object":
        from spiralkit import aws

        return lambda: aws.client("s3").get_object(Bucket=args[0], Key=args[1])["Body"].read()
    if op == "s3_get_range":
        from spiralkit import aws

        return lambda: aws.client("s3").get_object(Bucket=args[0], Key=args[1], Range="bytes=-65536")["Body"].read()
    raise SystemExit(f"unknown operation {op!r}")


def main(argv: list[str]) -> None:
    operation = _operation(argv[0], argv[1:])
    import pyarrow  # loaded by most operations; imported here so every baseline includes it alike

    _reset_peak()
    before, cpu = _rss(), os.times()
    start = time.perf_counter()
    result = operation()
    seconds = time.perf_counter() - start
    cpu_after = os.times()
    peak = _peak()
    del result
    print(
        json.dumps(
            {
                "seconds": seconds,
                "user_seconds": cpu_after.user - cpu.user,
                "system_seconds": cpu_after.system - cpu.system,
                "added_mb": (peak - before) / 1e6,
                "arrow_mb": pyarrow.default_memory_pool().max_memory() / 1e6,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])
