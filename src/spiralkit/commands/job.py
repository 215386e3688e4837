"""``spiral job``: run one pipeline stage as an AWS Batch job does (the jobs' container command)."""

from __future__ import annotations

import argparse
from typing import Any

from spiralkit import config
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
    parser.add_argument("--run", required=True, metavar="RUN", help="the run's id, as `spiral run` recorded it")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    job.run_stage(config.load(), args.stage, args.namespace, args.run)
    return 0
