"""``spiral infra deploy``: create or update the project's AWS stack (infra/stack.yaml)."""

from __future__ import annotations

import argparse
from typing import Any

from spiralkit import config
from spiralkit.errors import ConfigError
from spiralkit.infra import deploy


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("infra", help="manage the project's AWS stack")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    deploy_parser = actions.add_parser("deploy", help=__doc__.split(": ", 1)[1])
    deploy_parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a stack parameter, e.g. GitHubOidcProviderArn=arn:... or EnableGpu=true",
    )
    deploy_parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    overrides = dict(_pair(text) for text in args.parameter)
    project = config.load()
    outputs = deploy.deploy(project, overrides)
    for key, value in sorted(outputs.items()):
        print(f"{key:<18} {value}")
    return 0


def _pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ConfigError(f"--parameter {text!r}: expected KEY=VALUE, e.g. EnableGpu=true")
    return key, value
