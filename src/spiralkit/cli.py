"""The ``spiral`` command: parses arguments, calls the library, prints one clear message on error.

Each subcommand lives in ``spiralkit.commands.<name>`` and exposes ``register(subparsers)``; the
handler it sets returns the exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from spiralkit import __version__
from spiralkit.errors import AwsError, SpiralError

# Imported when named: `spiral run` then pays for its own libraries only, not boto3 for `spiral cost`.
COMMANDS = (
    "namespace", "run", "status", "pull", "logs", "job", "infra", "workstation", "keepalive", "lock", "cost", "runs",
    "report",
)  # fmt: skip
# What `spiral --help` tells a user; the module docstring above is for developers.
DESCRIPTION = (
    "Run a spiralkit project's DVC pipeline here or on AWS Batch, in your namespace; follow, pull, compare "
    "and report its runs; see what they cost; keep its conda-lock.yml fresh; deploy its AWS resources; "
    "start and stop your workstation."
)
EPILOG = "`spiral COMMAND --help` says more about each command. Run it inside a project made by `copier copy`."


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser, one subparser per command module (``only`` that command's, when it is one)."""
    parser = argparse.ArgumentParser(prog="spiral", description=DESCRIPTION, epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"spiral {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS if only not in COMMANDS else (only,):
        importlib.import_module(f"spiralkit.commands.{name}").register(subparsers)
    return parser


def _aws_errors() -> tuple[type[Exception], ...]:
    """botocore's errors, once something has imported botocore (nothing else raises them)."""
    if "botocore.exceptions" not in sys.modules:
        return ()
    from botocore.exceptions import BotoCoreError, ClientError

    return (ClientError, BotoCoreError)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``spiral`` console script."""
    words = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(words[0] if words else None).parse_args(words)
    try:
        return int(args.handler(args))
    except SpiralError as error:
        print(f"spiral: error: {error}", file=sys.stderr)
        return error.exit_code
    except _aws_errors() as error:
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
