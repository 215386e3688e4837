"""``spiral run``: run the pipeline's stages, each as its own AWS Batch job (or here, stage by stage)."""

from __future__ import annotations

import argparse
from typing import Any

from spiralkit import config, namespace
from spiralkit.batch import progress
from spiralkit.batch import run as runs
from spiralkit.errors import SpiralError
from spiralkit.runs import begin, dvcstage, local, warmstart
from spiralkit.runs import record as records


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
        help="rerun STAGE even if an earlier run made it (a stage that is not deterministic)",
    )  # fmt: skip
    parser.add_argument(
        "--set", action="append", default=[], metavar="SECTION.KEY=VALUE", dest="overrides",
        help="set a param for this run only, on Batch (e.g. ingest.snapshot=2026-12-01); recorded in the run",
    )  # fmt: skip
    parser.add_argument(
        "--jobs", "-j", type=int, metavar="N",
        help="local: run up to N stages at once (default: the number of cores)",
    )  # fmt: skip
    parser.add_argument(
        "--over-budget", action="store_true",
        help="submit even if the estimate exceeds what is left of [tool.spiral.cost] budget_usd; recorded in the run",
    )  # fmt: skip
    progress.add_wait_timeout(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    project = config.load()
    if args.on == "local":
        if args.overrides:
            raise SpiralError(
                "--set is for Batch runs, whose jobs each get a copy of the commit; here, edit params.yaml "
                "or try a value with `dvc exp run -S section.key=value`"
            )
        name = namespace.resolve(project, args.namespace)
        # The warm parent first: on a first run its imports overlap DVC's work. One DVC repo to plan and run.
        with warmstart.warm_parent(project) as warm, dvcstage.opened(project.root):
            local.run(
                project, runs.plan_for(project, args.stages, args.force), name, args.force, jobs=args.jobs, warm=warm
            )
        return 0
    overrides = begin.parse_overrides(args.overrides, project.root)
    prepared = runs.prepare(
        project, args.stages, args.namespace, force=args.force, overrides=overrides, over_budget=args.over_budget
    )
    record = runs.launch(prepared, project)
    if args.wait:
        store = records.store_for(project)
        progress.check(progress.wait(record, deadline=args.wait_timeout, store=store), record.region)
    else:
        print(f"follow it with `spiral status {record.run_id}`")
    return 0
