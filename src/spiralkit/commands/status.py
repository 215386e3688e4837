"""``spiral status``: the state of each stage of a run (the last one started here by default)."""

from __future__ import annotations

import argparse
from typing import Any

from spiralkit import config
from spiralkit.batch import lookup, progress
from spiralkit.runs import record as records


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("status", help=__doc__.split(": ", 1)[1])
    parser.add_argument("run_id", nargs="?", metavar="RUN", help="a run id that `spiral run` printed")
    parser.add_argument("--wait", action="store_true", help="follow the run until it ends")
    parser.add_argument("--namespace", help="the run's namespace (default: the last run started here, else yours)")
    progress.add_wait_timeout(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    project = config.load()
    found = lookup.load(project, args.run_id, args.namespace)
    store = records.store_for(project)
    header = f"{found.run_id} ({found.namespace}, {found.on}, {found.commit[:8]}, {found.user} from {found.origin})"
    if not found.jobs:  # a local run, or a Batch run whose every stage an earlier run made
        done = records.stages(store, found)
        for name in found.names():
            stage = done.get(name)
            print(f"  {name:<32} {stage['status'] if stage else 'not recorded':<12} {_seconds(stage)}")
        print(f"{header}: {len(done)} of {len(found.stages)} stage(s) recorded")
        return 0
    states = progress.wait(found, deadline=args.wait_timeout, store=store) if args.wait else progress.describe(found)
    if not args.wait:
        recorded = records.recorded(store, found)
        for state in states:
            how = "recorded" if state.stage in recorded else ""
            print(f"  {state.stage:<32} {state.state:<10} {how:<8} {state.job_id} {state.fallback}".rstrip())
        for name in found.reused:
            print(f"  {name:<32} {'reused':<10} from run {found.reused[name]['from_run']}")
        print(f"{header}: {progress.summary(states)}")
    progress.check(states, found.region)
    return 0


def _seconds(stage: dict[str, Any] | None) -> str:
    return f"{stage['seconds']:.1f} s" if stage else ""
