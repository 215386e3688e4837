"""conda-lock.yml: reading it, naming its content with one hash, installing it without a solve.

Images install the lock and nothing else, so that the AWS Batch runtime and the workstation run the
same packages. micromamba reads conda-lock.yml directly, pip packages included (it installs them
with ``pip --no-deps`` and their sha256), and does not solve: every package is already chosen.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from conda_lock.lockfile import parse_conda_lock_file
from conda_lock.lockfile.v2prelim.models import Lockfile
from pydantic import ValidationError

from spiralkit.lock.errors import StaleLockError

LOCKFILE = "conda-lock.yml"

# The Dockerfile commands that install the lock (in a mambaorg/micromamba image, into `base`).
# The runtime image gets the pipeline's packages only; the workstation image, built FROM it, adds
# the `dev` category.
INSTALL_RUNTIME = f"micromamba install --yes --name base --file {LOCKFILE} --category main"
INSTALL_WORKSTATION = f"micromamba install --yes --name base --file {LOCKFILE} --category dev"
# The project's own package, on top of the locked environment: never resolve dependencies again.
INSTALL_PROJECT = "python -m pip install --no-deps --no-cache-dir ."


def read_lock(path: Path) -> Lockfile:
    """Parse ``path`` with conda-lock; a missing or unreadable lock is a stale one."""
    if not path.is_file():
        workflow = (path.parent / ".github" / "workflows" / "lock.yml").is_file()  # a project without AWS has none
        raise StaleLockError(
            f"{path.name} not found: this project has never been locked. Run `spiral lock` where "
            f"micromamba (or conda) and conda-forge are reachable and commit {path.name}"
            + (", or push: the lock workflow writes it" if workflow else "")
        )
    try:
        return parse_conda_lock_file(path)
    except (ValueError, ValidationError, AttributeError, TypeError) as error:
        raise StaleLockError(f"{path.name} cannot be read ({error}); run `spiral lock` to rewrite it") from error


def lock_hash(path: Path, platform: str | None = None) -> str:
    """sha256 of the locked packages (of one platform, or all), independent of the file's layout.

    It changes exactly when an installed package would change, so it suits image labels and build
    arguments: ``docker build --build-arg LOCK_HASH=$(spiral lock hash --platform linux-64)``.
    """
    lock = read_lock(path)
    if platform is not None and platform not in lock.metadata.platforms:
        raise StaleLockError(f"{path.name} has no packages for {platform}; it locks {lock.metadata.platforms}")
    lines = sorted(
        f"{p.platform} {p.manager} {p.name} {p.version} {p.url} "
        f"{p.hash.sha256 or p.hash.md5} {','.join(sorted(p.categories))}"
        for p in lock.package
        if platform is None or p.platform == platform
    )
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()
