"""``spiral lock``: lock the conda environment for every platform; `check` and `hash` read it."""

from __future__ import annotations

import argparse
from typing import Any

from spiralkit import config
from spiralkit.errors import SpiralError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "lock",
        help="solve environment.yml + pyproject.toml into conda-lock.yml for every platform",
        description="Solve environment.yml and pyproject.toml into conda-lock.yml, for every platform in "
        "environment.yml; needs micromamba (or conda) and the channels. With an ACTION, read the lock "
        "instead: `check` whether it is stale (offline), or print its `hash`.",
    )
    parser.add_argument("--refresh", action="store_true", help="re-solve even if conda-lock.yml matches its sources")
    parser.set_defaults(handler=run_lock)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    check = actions.add_parser(
        "check",
        help="fail if conda-lock.yml is missing or older than its sources (offline)",
        description="Recompute conda-lock's content hash of the sources, per platform, and compare it with "
        "the lock's. Exit 1 if the lock is stale or missing, 2 if a source is malformed.",
    )
    check.add_argument(
        "--allow-missing",
        action="store_true",
        help="pass when there is no lock at all yet (still fails on a stale one)",
    )
    check.set_defaults(handler=run_check)
    hash_ = actions.add_parser(
        "hash",
        help="print the sha256 of the locked packages",
        description="Print a sha256 of the locked packages, for image labels: it changes exactly when an "
        "installed package would.",
    )
    hash_.add_argument("--platform", help="only this platform's packages, e.g. linux-64")
    hash_.set_defaults(handler=run_hash)


def _lock_api() -> Any:
    """spiralkit.lock, which needs conda-lock: say how to get it rather than fail on an import."""
    try:
        import spiralkit.lock
    except ImportError as error:
        raise SpiralError(f"`spiral lock` needs conda-lock ({error}): install `spiralkit[lock]`") from error
    return spiralkit.lock


def run_lock(args: argparse.Namespace) -> int:
    print(_lock_api().lock(config.find_root(), refresh=args.refresh))
    return 0


def run_check(args: argparse.Namespace) -> int:
    print(_lock_api().check(config.find_root(), allow_missing=args.allow_missing))
    return 0


def run_hash(args: argparse.Namespace) -> int:
    api = _lock_api()
    print(api.lock_hash(config.find_root() / api.LOCKFILE, args.platform))
    return 0
