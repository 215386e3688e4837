"""``spiral run``: run the pipeline's stages, each as its own AWS Batch job (or here, stage by stage)."""

from __future__ import annotations

import argparse
from typing import Any

from spiralkit import config, namespace
from spiralkit.batch import job, progress
from spiralkit.batch import run as runs
from spiralkit.errors import SpiralError


class RunFailed(SpiralError):
    """A stage of the run failed; the message names it and its log."""

    exit_code = 7


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("run", help=__doc__.split(": ", 1)[1])
    parser.add_argument(
        "stages",
        nargs="*",
        metavar="STAGE",
        help="stages to run with everything upstream (default: all)",
    )
    parser.add_argument(
        "--on",
        choices=("local", "batch"),
        default="local",
        help="where the stages run (default: local)",
    )
    parser.add_argument(
        "--namespace",
        help="user.<name> (default), test.<branch>; prod only from CI on the production branch",
    )
    parser.add_argument(
        "--wait",
        action="store_true",
        help="follow the run until it ends; exit non-zero if a stage fails",
    )
    parser.add_argument(
        "--force", action="append", default=[], metavar="STAGE",
        help="rerun STAGE even if the run-cache has it (new data behind the same inputs)",
    )  # fmt: skip
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    project = config.load()
    if args.on == "local":
        name = namespace.resolve(project, args.namespace)
        plan = runs.plan_for(project, args.stages, args.force)
        for index, stage in enumerate(plan.names(), 1):
            print(f"[{index}/{len(plan.stages)}] {stage} in {name}")
            job.run_stage(stage, name, stage in args.force)
        return 0
    prepared = runs.prepare(project, args.stages, args.namespace, force=args.force)
    record = runs.launch(prepared, project)
    if args.wait:
        report(progress.wait(record))
    else:
        print(f"follow it with `spiral status {record.run_id}`")
    return 0


def report(states: list[progress.StageState]) -> None:
    """Raise naming each stage that failed by itself, with its log stream."""
    if failed := progress.failures(states):
        raise RunFailed("\n".join(progress.explain(state) for state in failed))
