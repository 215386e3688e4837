"""``spiral infra deploy``: create or update the project's AWS stack (infra/stack.yaml)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from spiralkit import config
from spiralkit.errors import ConfigError
from spiralkit.infra import NotApproved, deploy


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("infra", help="manage the project's AWS stack")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    deploy_parser = actions.add_parser(
        "deploy",
        help=__doc__.split(": ", 1)[1],
        description="Show what changes (a CloudFormation change set), then change it. Parameters not given "
        "keep the value the stack has.",
    )
    deploy_parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a stack parameter, e.g. GitHubOidcProviderArn=arn:... or EnableGpu=true",
    )
    deploy_parser.add_argument(
        "--reset-parameter",
        action="append",
        default=[],
        metavar="KEY",
        help="put a parameter back to the template's default (others keep their current value)",
    )
    deploy_parser.add_argument("--yes", action="store_true", help="apply the changes without asking")
    deploy_parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    overrides = dict(_pair(text) for text in args.parameter)
    if both := sorted(set(overrides) & set(args.reset_parameter)):
        raise ConfigError(f"{', '.join(both)}: given with both --parameter and --reset-parameter; pick one")
    project = config.load()
    outputs = deploy.deploy(project, overrides, approve=lambda: _approve(args.yes), reset=args.reset_parameter)
    for key, value in sorted(outputs.items()):
        print(f"{key:<18} {value}")
    return 0


def _approve(yes: bool) -> bool:
    """``--yes``, or a person at a terminal who types y; with no terminal, say how to apply."""
    if yes:
        return True
    if not sys.stdin.isatty():
        raise NotApproved("nothing was changed (no terminal to ask): review the changes above, then rerun with --yes")
    return input("apply these changes? [y/N] ").strip().lower() in {"y", "yes"}


def _pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ConfigError(f"--parameter {text!r}: expected KEY=VALUE, e.g. EnableGpu=true")
    return key, value
