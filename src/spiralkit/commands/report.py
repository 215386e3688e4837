"""``spiral report``: write one self-contained HTML page about a run, compared with prod."""

from __future__ import annotations

import argparse
import webbrowser
from pathlib import Path
from typing import Any

from spiralkit.commands.runs import RUN_HELP, opened, where
from spiralkit.results import lookup, report
from spiralkit.results.client import Runs
from spiralkit.results.publish import publish
from spiralkit.results.threshold import check, parse


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("report", help=__doc__.split(": ", 1)[1])
    parser.add_argument("run", nargs="?", metavar="RUN", help=RUN_HELP)
    where(parser)
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        help="where to write it (default: .spiral/reports/<namespace>/<run>.html, git-ignored)",
    )
    parser.add_argument("--open", action="store_true", help="open it in the browser")
    parser.add_argument(
        "--publish", action="store_true", help="also put it in reports/<namespace>/ of the bucket, with an index page"
    )
    parser.add_argument(
        "--fail-below",
        action="append",
        default=[],
        metavar="METRIC=VALUE",
        help="exit 13 when the run's METRIC is below VALUE (the report is written first); repeatable",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    thresholds = parse(args.fail_below)
    archive, project = opened(args)
    found = lookup.find(archive, args.run, getattr(args, "namespace", None), project)
    base = report.against_prod(found, Runs("prod", archive=archive).list())
    text = report.html(found, base, report.problem_of(project.root if project else None))
    default = Path(".spiral/reports") / found.namespace / f"{found.id}.html"
    path = report.write(args.output or ((project.root if project else Path.cwd()) / default), text)
    print(f"report of {found.namespace}/{found.id} ({len(text.encode()) / 1e3:.0f} kB): {path}")
    if args.publish:
        for uri in publish(archive, found, text):
            print(f"published {uri}")
    if args.open:
        webbrowser.open(path.resolve().as_uri())
    check(found.metrics, thresholds)
    return 0
