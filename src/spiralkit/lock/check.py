"""`spiral lock check`: is conda-lock.yml still the lock of environment.yml and pyproject.toml?

Offline and fast, so it runs on every commit (pre-commit) and in CI. A stale lock fails with what
changed and the command that fixes it; a project that was never locked fails too, except where the
caller allows it (the pre-commit hook, on a machine that cannot lock: CI then writes the lock).
"""

from __future__ import annotations

from pathlib import Path

from conda_lock.lockfile.v2prelim.models import Lockfile
from conda_lock.models.lock_spec import LockSpecification

from spiralkit.lock import sources as sources_
from spiralkit.lock.errors import StaleLockError
from spiralkit.lock.lockfile import LOCKFILE, read_lock
from spiralkit.lock.spec import REQUESTED, lock_spec, requested, stale_platforms

FIX = f"Run `spiral lock` and commit {LOCKFILE}, or push and let the lock workflow do it."


def check(root: Path, *, allow_missing: bool = False) -> str:
    """Return a one-line verdict for a fresh lock; raise StaleLockError naming what changed."""
    sources = sources_.read(root)
    path = root / LOCKFILE
    if allow_missing and not path.exists():
        return f"{LOCKFILE} does not exist yet; nothing to compare. `spiral lock` writes it."
    lock = read_lock(path)
    spec = lock_spec(sources)
    changes = changes_since_locked(sources, spec, lock)
    if changes:
        listed = "\n".join(f"  - {change}" for change in changes)
        raise StaleLockError(f"{LOCKFILE} is stale: its sources changed since it was locked:\n{listed}\n{FIX}")
    count = sum(1 for p in lock.package if p.platform == spec.platforms[0])
    return f"{LOCKFILE} matches its sources on {', '.join(spec.platforms)} ({count} packages each)."


def changes_since_locked(sources: sources_.Sources, spec: LockSpecification, lock: Lockfile) -> list[str]:
    """What differs between the sources and the lock, most specific first; empty when fresh."""
    stale = stale_platforms(sources, spec, lock.metadata.content_hash)
    removed = [p for p in lock.metadata.platforms if p not in spec.platforms]
    if not stale and not removed:
        return []
    changes = [f"platform {p} is not locked yet" for p in spec.platforms if p not in lock.metadata.platforms]
    changes += [f"platform {p} is locked but no longer in the sources" for p in removed]
    before = [c.url for c in lock.metadata.channels]
    after = [c.url for c in spec.channels]
    if before != after:
        changes.append(f"channels changed from {before} to {after}")
    recorded = {k: v for k, v in (lock.metadata.custom_metadata or {}).items() if k.startswith(REQUESTED)}
    if recorded:
        changes += _package_changes(sources, recorded, requested(spec))
    else:
        changes.append(f"{LOCKFILE} does not record what was requested (it was not written by `spiral lock`)")
    if not changes:
        changes.append(
            f"the content hash differs on {', '.join(stale)}: a setting that is not a package "
            "changed (virtual packages, pip repositories, or conda-lock options)"
        )
    return changes


def _package_changes(sources: sources_.Sources, before: dict[str, str], after: dict[str, str]) -> list[str]:
    changes = []
    for key in sorted(before.keys() | after.keys()):
        manager, name = key.removeprefix(REQUESTED).split(" ", 1)
        label = f"{name} (from PyPI)" if manager == "pip" else name
        where = sources.where(name)
        at = f"{where}: " if where else ""
        if key not in before:
            changes.append(f"{at}added {label} {after[key]}")
        elif key not in after:
            changes.append(f"removed {label}, was {before[key]}")
        elif before[key] != after[key]:
            changes.append(f"{at}{label} changed from {before[key]} to {after[key]}")
    return changes
