"""``spiral status``: the state of each stage of a Batch run (the latest one from here by default)."""

from __future__ import annotations

import argparse
from typing import Any

from spiralkit import config
from spiralkit.batch import lookup, progress
from spiralkit.commands.run import report


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("status", help=__doc__.split(": ", 1)[1])
    parser.add_argument("run_id", nargs="?", metavar="RUN", help="a run id that `spiral run` printed")
    parser.add_argument("--wait", action="store_true", help="follow the run until it ends")
    parser.add_argument("--namespace", help="where to look for a run this checkout did not submit (default: yours)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    found = lookup.load_or_find(config.load(), args.run_id, args.namespace)
    if args.wait:
        states = progress.wait(found)
    else:
        states = progress.describe(found)
        for state in states:
            print(f"  {state.stage:<32} {state.state:<10} {state.job_id}")
        print(f"{found.run_id} ({found.namespace}, {found.commit[:8]}): {progress.summary(states)}")
    report(states)
    return 0
