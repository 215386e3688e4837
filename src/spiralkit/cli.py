"""The ``spiral`` command: parses arguments, calls the library, prints one clear message on error.

Each subcommand lives in ``spiralkit.commands.<name>`` and exposes ``register(subparsers)``; the
handler it sets returns the exit code.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from botocore.exceptions import BotoCoreError, ClientError

from spiralkit import __version__
from spiralkit.commands import (
    cost,
    infra,
    job,
    keepalive,
    lock,
    logs,
    namespace,
    pull,
    report,
    run,
    runs,
    status,
    workstation,
)
from spiralkit.errors import AwsError, SpiralError

COMMANDS = (namespace, run, status, pull, logs, job, infra, workstation, keepalive, lock, cost, runs, report)
# What `spiral --help` tells a user; the module docstring above is for developers.
DESCRIPTION = (
    "Run a spiralkit project's DVC pipeline here or on AWS Batch, in your namespace; follow, pull, compare "
    "and report its runs; see what they cost; keep its conda-lock.yml fresh; deploy its AWS resources; "
    "start and stop your workstation."
)
EPILOG = "`spiral COMMAND --help` says more about each command. Run it inside a project made by `copier copy`."


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, one subparser per command module."""
    parser = argparse.ArgumentParser(prog="spiral", description=DESCRIPTION, epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"spiral {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``spiral`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except SpiralError as error:
        print(f"spiral: error: {error}", file=sys.stderr)
        return error.exit_code
    except (ClientError, BotoCoreError) as error:
        # Whatever AWS refuses that a command did not foresee: one line, never a traceback.
        print(f"spiral: error: AWS: {error}; `aws sts get-caller-identity` shows who you are to AWS", file=sys.stderr)
        return AwsError.exit_code
    except OSError as error:
        print(f"spiral: error: {error.strerror or error}: {error.filename or ''}".rstrip(": "), file=sys.stderr)
        return SpiralError.exit_code
    except KeyboardInterrupt:
        print("spiral: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
