"""``spiral report``: write one self-contained HTML page about a run, compared with prod."""

from __future__ import annotations

import argparse
import os
import webbrowser
from pathlib import Path
from typing import Any

from spiralkit.commands.runs import RUN_HELP, opened, prices_of, where
from spiralkit.results import drift, lookup, report, summary
from spiralkit.results.client import Runs
from spiralkit.results.compare import compare
from spiralkit.results.cost import costs
from spiralkit.results.publish import publish
from spiralkit.results.threshold import ReportUsage, check, floors, parse


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
        help="exit 14 when the run's METRIC is below VALUE (the report is written first); repeatable",
    )
    parser.add_argument(
        "--check", action="store_true", help="also fail below the floors of the run's own params (`thresholds:`)"
    )
    parser.add_argument(
        "--summary",
        nargs="?",
        const="",
        metavar="FILE",
        help="append the headline in Markdown to FILE (default: $GITHUB_STEP_SUMMARY)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    thresholds = parse(args.fail_below)
    archive, project = opened(args)
    found = lookup.find(archive, args.run, getattr(args, "namespace", None), project)
    base = report.against_prod(found, Runs("prod", archive=archive).list())
    comparison = compare(base, found) if base is not None else None
    cost = costs([found], prices_of(project))[found.id]
    since = drift.since(base, found) if base is not None else None
    text = report.html(found, comparison, report.problem_of(project.root if project else None), cost, since)
    default = Path(".spiral/reports") / found.namespace / f"{found.id}.html"
    path = report.write(args.output or ((project.root if project else Path.cwd()) / default), text)
    print(f"report of {found.namespace}/{found.id} ({len(text.encode()) / 1e3:.0f} kB): {path}")
    shown = str(path)
    if args.publish:
        shown, index = publish(archive, found, text)
        print(f"published {shown} and {index}")
    if args.summary is not None:
        target = args.summary or os.environ.get("GITHUB_STEP_SUMMARY")
        if not target:
            raise ReportUsage("--summary: name a file, or run where $GITHUB_STEP_SUMMARY is set")
        with Path(target).open("a", encoding="utf-8") as out:
            out.write(summary.markdown(found, comparison, shown, cost, since))
    if args.open:
        webbrowser.open(path.resolve().as_uri())
    if args.check:
        thresholds = {**floors(found.params), **thresholds}
    check(found.metrics, thresholds)
    return 0
