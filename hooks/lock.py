"""Copier task, run once after `copier copy`: lock the new project's environment if this host can.

Locking needs spiralkit with conda-lock, a conda solver and conda-forge. When one is missing, the
user is told once what to run later; the project works meanwhile in a virtual environment made by
uv from the same sources, and its lock workflow writes conda-lock.yml on the first push. This task
never fails the copy. It runs before the first commit, so a lock made here is part of it.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys

NO_SPIRAL = (
    "lock: no conda-lock.yml yet (spiral is not installed where copier runs). In the project's "
    "environment, run `spiral lock` where micromamba (or conda) and conda-forge are reachable and "
    "commit conda-lock.yml, or push: the lock workflow writes it."
)


def spiral() -> list[str] | None:
    """How to run `spiral` here: copier's own Python if it has spiralkit, else `spiral` on PATH."""
    if importlib.util.find_spec("spiralkit") is not None:
        return [sys.executable, "-m", "spiralkit"]
    found = shutil.which("spiral")
    return [found] if found else None


NO_SOLVER = (
    "lock: no conda-lock.yml yet (no micromamba, mamba or conda on PATH). Run `spiral lock` where one "
    "is installed and conda-forge is reachable, and commit conda-lock.yml, or push: the lock workflow "
    "writes it. Meanwhile the README's first command (a venv, then `uv pip install -e .[dev]`) gives a "
    "working environment."
)


def main() -> int:
    command = spiral()
    if command is None:
        print(NO_SPIRAL)
    elif not any(shutil.which(solver) for solver in ("micromamba", "mamba", "conda")):
        print(NO_SOLVER)  # said here, without `spiral lock`'s slower import of conda-lock
    elif subprocess.run([*command, "lock"], check=False).returncode != 0:
        print("lock: the project is ready without conda-lock.yml; the message above says how to lock")
    return 0


if __name__ == "__main__":
    sys.exit(main())
