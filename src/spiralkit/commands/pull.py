"""``spiral pull``: check out exactly the outputs a recorded run made, from any checkout."""

from __future__ import annotations

import argparse
from typing import Any

from spiralkit import config
from spiralkit.batch import lookup
from spiralkit.runs import record as records
from spiralkit.runs.pull import pull


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("pull", help=__doc__.split(": ", 1)[1])
    parser.add_argument("run_id", nargs="?", metavar="RUN", help="the run (default: the namespace's latest)")
    parser.add_argument("--namespace", help="the run's namespace (default: the last run started here, else yours)")
    parser.add_argument("--lock", action="store_true", help="also make dvc.lock the run's (a tracked file)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    project = config.load()
    found = lookup.load(project, args.run_id, args.namespace)
    paths = pull(project.root, records.store_for(project), found, write_lock=args.lock)
    print(f"{found.run_id} ({found.namespace}, {found.commit[:8]}): {len(paths)} output(s) checked out")
    if not args.lock:
        print("dvc.lock is unchanged; `spiral pull --lock` makes it the run's, for `dvc status`")
    return 0
