"""``spiral cost``: what was spent, by project, namespace, user or stage, from Cost Explorer."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from spiralkit import config
from spiralkit.cost import chart, explorer
from spiralkit.errors import ConfigError

FORMATS = {"table": chart.table, "json": chart.as_json, "csv": chart.as_csv}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("cost", help=__doc__.split(": ", 1)[1])
    parser.add_argument("--by", choices=tuple(explorer.TAGS), default="namespace", help="group by this tag")
    parser.add_argument("--since", type=_date, help="first day, YYYY-MM-DD (default: the 1st of this month)")
    parser.add_argument("--until", type=_date, help="last day, included (default: today)")
    parser.add_argument("--format", choices=tuple(FORMATS), default="table")
    parser.add_argument(
        "--project",
        help="only this project's spend (default: the project you are in; --by project shows every project)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    today = dt.datetime.now(dt.UTC).date()
    start = args.since or explorer.first_of_month(today)
    until = args.until or today
    project = args.project or (None if args.by == "project" else _current_project())
    found = explorer.spend(
        explorer.client(),
        args.by,
        start,
        until + dt.timedelta(days=1),  # Cost Explorer's end is exclusive; --until is the last day shown
        {"project": project} if project else None,
    )
    if project and args.format == "table":
        print(f"project {project}")
    print(FORMATS[args.format](found))
    return 0


def _current_project() -> str | None:
    try:
        return config.load().project
    except ConfigError:
        return None  # outside a project: the whole account


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-12-01") from error
