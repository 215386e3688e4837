"""``spiral namespace``: print the namespace this run writes and where its outputs are published."""

from __future__ import annotations

import argparse
from typing import Any

from spiralkit import config, namespace


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("namespace", help=__doc__.split(": ", 1)[1])
    parser.add_argument("--namespace", help="check this namespace instead of the default")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    project = config.load()
    name = namespace.resolve(project, args.namespace)
    print(name)
    print(namespace.publish_uri(project, name, ""))
    return 0
