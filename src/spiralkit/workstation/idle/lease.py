"""The lease: ``spiral keepalive --for 6h`` writes it, the idle-stop agent reads it, in one format.

A lease keeps a workstation up through a long background job with nobody connected. It is a small
JSON file on the instance; both its writer and its reader live here so they cannot disagree.
Standard library only, Python 3.9 compatible: the agent runs this on the instance's own python3.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from .decide import iso, parse_iso

MAX_SECONDS = 3 * 24 * 3600  # a weekend job; longer leases are how bills explode
DEFAULT_PATH = "/var/lib/spiral/lease.json"
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")


def parse_duration(text: str) -> int:
    """``6h``, ``90m``, ``1d12h`` or ``0`` (end the lease) in seconds; ValueError says why not."""
    match = _DURATION.match(text.strip().lower())
    if text.strip() == "0":
        return 0
    if not text.strip() or match is None:
        raise ValueError(f"{text!r} is not a duration: write it like 6h, 90m or 1d12h")
    days, hours, minutes = (int(group or 0) for group in match.groups())
    seconds = days * 86400 + hours * 3600 + minutes * 60
    if seconds > MAX_SECONDS:
        raise ValueError(f"{text} is longer than the {MAX_SECONDS // 3600}h maximum lease")
    return seconds


def text(until: float, by: str, reason: str = "") -> str:
    return json.dumps({"until": iso(until), "by": by, "reason": reason}) + "\n"


def until(content: str | None, written: float | None = None) -> float | None:
    """The lease's expiry, or None when there is no lease file or it cannot be read.

    The agent passes ``written``, the file's modification time: a lease edited by hand to 2099 still ends
    :data:`MAX_SECONDS` after it was written, as ``spiral keepalive`` would have refused it.
    """
    if not content:
        return None
    try:
        expiry = parse_iso(json.loads(content)["until"])
    except (ValueError, KeyError, TypeError, OverflowError):
        return None
    return expiry if written is None else min(expiry, written + MAX_SECONDS)


def read(path: Path) -> float | None:
    """The expiry of the lease at ``path`` as the agent honours it (capped from its write time)."""
    try:
        return until(path.read_text(encoding="utf-8"), written=path.stat().st_mtime)
    except OSError:
        return None


def write(path: Path, expiry: float, by: str, reason: str = "") -> None:
    """Replace the lease whole (temp file + rename), so the agent never reads half of one."""
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(text(expiry, by, reason), encoding="utf-8")
    tmp.replace(path)
