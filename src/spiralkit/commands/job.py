"""``spiral job``: run one pipeline stage as an AWS Batch job does (the jobs' container command)."""

from __future__ import annotations

import argparse
from typing import Any

from spiralkit.batch import job


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "job",
        help=__doc__.split(": ", 1)[1],
        description=job.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("stage", help="the DVC stage, as `dvc stage list` names it (e.g. train@lr)")
    parser.add_argument("--namespace", required=True, help="the run's namespace")
    parser.add_argument("--force", action="store_true", help="rerun the stage even if cached")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    job.run_stage(args.stage, args.namespace, args.force)
    return 0
