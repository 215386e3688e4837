"""The identity of the environment a stage runs in, and where a run was started from.

A stage's result depends on its code, its inputs, its params *and* the packages that ran it: a new
scikit-learn may train a different model from the same data. So the environment is part of what
identifies a stage's result (see :mod:`spiralkit.runs.dvcstage`).

- Where the project is locked (``conda-lock.yml``), the identity is the lock's sha256: images and
  workstations install that lock and nothing else, so equal locks mean equal packages.
- Elsewhere (a laptop's virtual environment), it is the Python version, the platform and every
  installed distribution's name and version: honest, if a result made there is then only reused there.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import site
import socket
import sys
from importlib import metadata
from pathlib import Path

LOCKFILE = "conda-lock.yml"


def locked(root: Path) -> str | None:
    """``conda-lock:<sha256>`` of the project's lock, or None when it has none."""
    path = root / LOCKFILE
    if not path.is_file():
        return None
    return "conda-lock:" + hashlib.sha256(path.read_bytes()).hexdigest()


def installed() -> str:
    """``python:<version>/<platform>:<sha256 of installed distributions>`` of the running interpreter."""
    names = sorted({f"{dist.metadata['Name']}=={dist.version}".lower() for dist in metadata.distributions()})
    digest = hashlib.sha256("\n".join(names).encode()).hexdigest()
    return f"python:{platform.python_version()}/{sys.platform}-{platform.machine()}:{digest}"


def installed_cached() -> str:
    """:func:`installed`, remembered (in the user's cache) until a directory packages are installed
    in changes: those on ``sys.path`` under the interpreter's prefixes or the user's site directory.

    Reading every installed distribution's metadata takes most of a second in a large environment, and a
    run that reuses every stage would spend it on each ``spiral run``. Installing, upgrading or removing a
    package adds or removes a ``.dist-info`` directory, which changes its parent directory's mtime.
    """
    installs = [entry for entry in sys.path if entry.startswith((sys.prefix, sys.base_prefix, site.USER_SITE or "//"))]
    stamp = [sys.executable] + [f"{entry}@{os.stat(entry).st_mtime_ns}" for entry in installs if os.path.isdir(entry)]
    digest = hashlib.sha256(sys.prefix.encode()).hexdigest()[:16]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "spiralkit" / f"env-{digest}.json"
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        remembered = json.loads(cache.read_text(encoding="utf-8"))
        if remembered["stamp"] == stamp:
            return str(remembered["id"])
    found = installed()
    with contextlib.suppress(OSError):  # no cache then: the next run reads the metadata again
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps({"stamp": stamp, "id": found}), encoding="utf-8")
    return found


def origin(env: dict[str, str] | None = None) -> str:
    """Where a run was started: ``ci`` (GitHub Actions), ``batch``, ``workstation`` or ``laptop``."""
    env = dict(os.environ) if env is None else env
    if env.get("GITHUB_ACTIONS") == "true":
        return "ci"
    if env.get("AWS_BATCH_JOB_ID"):
        return "batch"
    if env.get("SPIRAL_WORKSTATION"):
        return "workstation"
    return "laptop"


def host() -> str:
    return socket.gethostname()
