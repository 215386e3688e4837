"""The platforms a lock can be made for, and the virtual packages (glibc, macOS, CUDA) it assumes.

conda-lock solves each platform against a set of virtual packages: its defaults, or the project's
own ``virtual-packages.yml`` when there is one. They are part of the content hash, so `spiral lock
check` must pick what `conda-lock lock` picks; and a platform they do not describe cannot be solved.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from conda_lock.virtual_package import (
    DEFAULT_VIRTUAL_PACKAGES_YAML_PATH,
    FakeRepoData,
    default_virtual_package_repodata,
    virtual_package_repo_from_specification,
)

from spiralkit.lock.errors import LockSourceError

# conda-lock reads the first of these in the directory it runs in, and so does `spiral lock check`.
PROJECT_SPECS = ("virtual-packages.yml", "virtual-packages.yaml")


def project_spec(root: Path) -> Path | None:
    """The project's own virtual package file, if it has one."""
    return next((root / name for name in PROJECT_SPECS if (root / name).is_file()), None)


def virtual_packages(root: Path) -> FakeRepoData:
    """The virtual packages `conda-lock lock` uses when run in ``root`` with no CUDA option."""
    spec = project_spec(root)
    return virtual_package_repo_from_specification(spec) if spec else default_virtual_package_repodata()


def supported_platforms(root: Path) -> set[str]:
    """Platforms whose virtual packages are known: conda-lock's defaults or the project's file."""
    spec = project_spec(root) or Path(DEFAULT_VIRTUAL_PACKAGES_YAML_PATH)
    return set(yaml.safe_load(spec.read_text(encoding="utf-8"))["subdirs"])


def check_platforms(root: Path, platforms: list[tuple[str, str]]) -> tuple[str, ...]:
    """The platforms to lock, in order, from ``(platform, file:line)`` pairs; refuse unknown ones.

    conda-lock would lock its default platforms when none are listed: refuse that too.
    """
    known = supported_platforms(root)
    for platform, where in platforms:
        if platform not in known:
            raise LockSourceError(
                f"{where}: unknown platform {platform!r}; conda-lock can lock {', '.join(sorted(known))}"
            )
    if not platforms:
        raise LockSourceError("environment.yml: no `platforms:` list; add the platforms to lock, e.g. linux-64")
    return tuple(dict.fromkeys(platform for platform, _ in platforms))
