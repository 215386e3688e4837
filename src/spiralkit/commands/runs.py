"""``spiral runs``: list a namespace's runs, show one, or say what changed between two."""

from __future__ import annotations

import argparse
from typing import Any

from spiralkit import config
from spiralkit.config import ProjectConfig
from spiralkit.cost import prices
from spiralkit.cost.prices import Prices
from spiralkit.errors import ConfigError
from spiralkit.results import lookup, text
from spiralkit.results.client import Archive, Runs
from spiralkit.results.compare import compare
from spiralkit.results.cost import costs

RUN_HELP = "`prod` (its latest run), NS/RUN, or a run id (default: the last run started here)"


def where(parser: argparse.ArgumentParser) -> None:
    """Options naming where the runs are, for commands that also work outside a project."""
    for flag, text_ in (
        ("--namespace", "the namespace to look in (default: yours)"),
        ("--bucket", "read the runs of this bucket (no project checkout needed)"),
        ("--folder", "read the runs recorded in this folder (a project's .spiral/)"),
    ):
        parser.add_argument(flag, default=argparse.SUPPRESS, help=text_)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("runs", help=__doc__.split(": ", 1)[1])
    where(parser)
    parser.add_argument("--limit", type=int, default=20, help="at most this many runs, newest first (default 20)")
    parser.add_argument("--since", help="runs started on or after this date or time (ISO, UTC)")
    parser.set_defaults(handler=list_runs)
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")
    show = verbs.add_parser("show", help="one run: metrics, params, stages, outputs")
    show.add_argument("run", nargs="?", metavar="RUN", help=RUN_HELP)
    where(show)
    show.set_defaults(handler=show_run)
    diff = verbs.add_parser("diff", help="what changed from run A to run B: metrics, params, data, environment, code")
    diff.add_argument("base", metavar="A", help=RUN_HELP)
    diff.add_argument("other", nargs="?", metavar="B", help="default: the last run started here")
    where(diff)
    diff.set_defaults(handler=diff_runs)


def opened(args: argparse.Namespace) -> tuple[Archive, ProjectConfig | None]:
    """The runs' archive from --bucket or --folder, else from the project here."""
    bucket, folder = getattr(args, "bucket", None), getattr(args, "folder", None)
    if bucket or folder:
        return Archive.of(bucket=bucket, folder=folder), None
    try:
        project = config.load()
    except ConfigError as error:
        raise ConfigError(f"{error}; or read runs without a checkout: --bucket BUCKET") from error
    return Archive.of(project), project


def prices_of(project: ProjectConfig | None) -> Prices | None:
    """The project's prices (``[tool.spiral.cost]``); the default table outside a project."""
    return prices.for_project(project.section("cost")) if project else None


def list_runs(args: argparse.Namespace) -> int:
    archive, project = opened(args)
    namespace = lookup.default_namespace(getattr(args, "namespace", None), project, archive)
    runs = Runs(namespace, archive=archive).list(since=args.since)[: args.limit]
    if not runs:
        print(f"no runs in {namespace}")
        return 0
    print(text.run_table(runs, costs(runs, prices_of(project))))
    print(f"{len(runs)} run(s) in {namespace}, newest first")
    return 0


def show_run(args: argparse.Namespace) -> int:
    archive, project = opened(args)
    found = lookup.find(archive, args.run, getattr(args, "namespace", None), project)
    print(text.show(found, costs([found], prices_of(project))[found.id]))
    return 0


def diff_runs(args: argparse.Namespace) -> int:
    archive, project = opened(args)
    namespace = getattr(args, "namespace", None)
    base = lookup.find(archive, args.base, namespace, project)
    other = lookup.find(archive, args.other, namespace, project)
    print(text.diff(compare(base, other)))
    return 0
