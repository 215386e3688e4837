"""``python -m bench``: run the benchmark suite, print each figure, write the results as Markdown."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bench import report
from bench.figures import Context
from bench.measure import ROOT
from bench.suite import BENCHMARKS

FULL_SIZE_MB = 1000


def main(argv: Sequence[str] | None = None) -> int:
    names = [module.__name__.rsplit(".", 1)[1] for module in BENCHMARKS]
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split(": ", 1)[1])
    parser.add_argument(
        "--size-mb",
        type=int,
        default=int(os.environ.get("SPIRAL_BENCH_MB", FULL_SIZE_MB)),
        help="size of the Parquet table (default: $SPIRAL_BENCH_MB or %(default)s)",
    )
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (default: %(default)s)")
    parser.add_argument("--only", nargs="+", choices=names, help="run only these benchmarks")
    parser.add_argument("--project", type=Path, help="a rendered project, for the dvc repro figures")
    parser.add_argument("--project-venv", type=Path, help="the environment the project is installed in")
    parser.add_argument(
        "--output",
        type=Path,
        help="where to write the results (default: docs/benchmarks.md for a full run, else build/bench/benchmarks.md)",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    context = Context(ROOT / "build" / "bench", args.size_mb, args.runs, args.project, args.project_venv)
    selected = [module for module, name in zip(BENCHMARKS, names, strict=True) if not args.only or name in args.only]
    before = f"{os.getloadavg()[0]:.1f}"
    results = []
    for module in selected:
        print(f"== {module.TITLE}", flush=True)
        figures = module.run(context)
        for figure in figures:
            print(report.line(figure), flush=True)
        results.append((module.TITLE, figures))
    full = args.size_mb == FULL_SIZE_MB and not args.only and args.project is not None
    output = args.output or (ROOT / "docs" / "benchmarks.md" if full else context.work / "benchmarks.md")
    loads = (before, f"{os.getloadavg()[0]:.1f}")
    output.write_text(report.markdown(results, context, loads, report.machine(context.work)), encoding="utf-8")
    missed = [figure.name for _, figures in results for figure in figures if figure.met is False]
    print(f"wrote {output}; targets missed: {len(missed)}" + "".join(f"\n  - {name}" for name in missed))
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
