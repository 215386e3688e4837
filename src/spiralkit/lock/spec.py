"""What conda-lock is asked to lock, computed with conda-lock's own API, offline.

The lock records, per platform, a content hash of this specification; recomputing it is how a
stale lock is found. `spiral lock` also records the requested packages in the lock's custom
metadata, so that a stale lock is explained (which package was added, removed or re-pinned) and not
only detected.
"""

from __future__ import annotations

from collections.abc import Mapping

from conda_lock.content_hash import backwards_compatible_content_hashes, compute_content_hashes
from conda_lock.errors import ChannelAggregationError
from conda_lock.models.lock_spec import Dependency, LockSpecification, VersionedDependency
from conda_lock.src_parser import make_lock_spec

from spiralkit.lock.errors import LockSourceError
from spiralkit.lock.platforms import virtual_packages
from spiralkit.lock.sources import Sources

REQUESTED = "requested "


def lock_spec(sources: Sources) -> LockSpecification:
    """The specification `conda-lock lock -f environment.yml -f pyproject.toml` builds."""
    try:
        return make_lock_spec(src_files=sources.files, mapping_url=str(sources.lookup))
    except (ChannelAggregationError, ValueError) as error:
        raise LockSourceError(f"conda-lock cannot combine environment.yml and pyproject.toml: {error}") from error


def content_hashes(sources: Sources) -> dict[str, str]:
    """The content hash that conda-lock writes into the lock, per platform."""
    return dict(compute_content_hashes(lock_spec(sources), virtual_packages(sources.root)))


def stale_platforms(sources: Sources, spec: LockSpecification, recorded: Mapping[str, str]) -> list[str]:
    """Platforms whose recorded hash is not one that conda-lock accepts for ``spec``.

    This is the test conda-lock itself applies (``--check-input-hash``), including the hashes that
    older conda-lock versions wrote for the same specification.
    """
    packages = virtual_packages(sources.root)
    return [
        platform
        for platform in spec.platforms
        if recorded.get(platform) not in backwards_compatible_content_hashes(spec, packages, platform)
    ]


def requested(spec: LockSpecification) -> dict[str, str]:
    """``requested <manager> <name>`` -> pin, category and platforms: the lock's custom metadata."""
    found: dict[str, dict[str, list[str]]] = {}
    for platform, dependencies in spec.dependencies.items():
        for dep in dependencies:
            variants = found.setdefault(f"{REQUESTED}{dep.manager} {dep.name}", {})
            variants.setdefault(_describe(dep), []).append(platform)
    return {
        key: "; ".join(
            pin if len(platforms) == len(spec.platforms) else f"{pin} on {', '.join(platforms)}"
            for pin, platforms in variants.items()
        )
        for key, variants in sorted(found.items())
    }


def _describe(dep: Dependency) -> str:
    if isinstance(dep, VersionedDependency):
        pin = f"{dep.version} {dep.build}" if dep.build else dep.version
    else:
        pin = getattr(dep, "url", None) or getattr(dep, "source", None) or getattr(dep, "path", "")
    category = "" if dep.category == "main" else f" [{dep.category}]"
    return f"{pin or '*'}{category}"
