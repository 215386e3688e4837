"""``spiral logs``: print a stage's CloudWatch log from a Batch run (the latest one from here by default)."""

from __future__ import annotations

import argparse
from typing import Any

from spiralkit import config
from spiralkit.batch import lookup, progress


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("logs", help=__doc__.split(": ", 1)[1])
    parser.add_argument("stage", metavar="STAGE")
    parser.add_argument("-f", "--follow", action="store_true", help="print new lines as the stage writes them")
    parser.add_argument("--run", dest="run_id", metavar="RUN", help="a run id that `spiral run` printed")
    parser.add_argument("--namespace", help="where to look for a run this checkout did not submit (default: yours)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    found = lookup.load(config.load(), args.run_id, args.namespace)
    lines = progress.follow(found, args.stage) if args.follow else progress.log_lines(found, args.stage)
    for line in lines:
        print(line, flush=True)
    return 0
