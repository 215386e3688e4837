"""``spiral keepalive --for 6h``: keep this workstation up through a long background job, even
with nobody connected. The idle-stop agent reads the lease; it ends by itself."""

from __future__ import annotations

import argparse
import getpass
import os
import time
from pathlib import Path
from typing import Any

from spiralkit.errors import UsageError
from spiralkit.workstation.idle import decide, lease


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("keepalive", help="keep this workstation up for a long job")
    parser.add_argument("--for", dest="duration", required=True, help="like 6h, 90m, 1d12h; 0 ends it")
    parser.add_argument("--reason", default="", help="logged by the idle agent")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        seconds = lease.parse_duration(args.duration)
    except ValueError as error:
        raise UsageError(str(error)) from error
    path = Path(os.environ.get("SPIRAL_LEASE_FILE", lease.DEFAULT_PATH))
    if not path.parent.is_dir():
        raise UsageError(
            f"{path.parent} does not exist: keepalive works on a spiral workstation, where the idle-stop agent reads it"
        )
    if seconds == 0:
        path.unlink(missing_ok=True)
        print("lease ended: the workstation stops once it has been idle long enough")
        return 0
    until = time.time() + seconds
    lease.write(path, until, getpass.getuser(), args.reason)
    print(f"the workstation stays up until {decide.iso(until)}, then stops once idle")
    return 0
