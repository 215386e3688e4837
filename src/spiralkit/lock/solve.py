"""`spiral lock`: solve the sources with conda-lock for every platform, into conda-lock.yml.

Solving needs a conda solver and the channels; this machine may have neither, so both are looked
for first (in seconds), and their absence is one plain error instead of a traceback after minutes.
The old lock is put back if conda-lock fails: a failed solve never leaves a broken or missing lock.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import requests
import yaml
from conda_lock.models.channel import Channel
from ensureconda.api import ensureconda
from ensureconda.resolve import platform_subdir

from spiralkit.lock import sources as sources_
from spiralkit.lock.check import check
from spiralkit.lock.errors import LockFailedError, LockUnavailableError, StaleLockError
from spiralkit.lock.lockfile import LOCKFILE
from spiralkit.lock.spec import lock_spec, requested

MICROMAMBA_DOWNLOAD = "https://micro.mamba.pm/api/micromamba/{subdir}/latest"
DEFAULT_CHANNEL_ALIAS = "https://conda.anaconda.org"
TIMEOUT_SECONDS = 5
MEANWHILE = "Until then, `uv venv && uv pip install -e '.[dev]'` makes a working environment from the same sources."


def lock(root: Path, *, refresh: bool = False) -> str:
    """Write ``root/conda-lock.yml`` unless it already matches its sources (or ``refresh``)."""
    sources = sources_.read(root)
    if not refresh and (root / LOCKFILE).exists():
        try:
            return f"{check(root)} Nothing to do; `spiral lock --refresh` re-solves anyway."
        except StaleLockError:
            pass
    spec = lock_spec(sources)
    solver = find_solver()
    for channel in spec.channels:
        check_channel(channel)
    with tempfile.TemporaryDirectory(prefix="spiral-lock-") as scratch:
        metadata = Path(scratch) / "requested.yml"
        metadata.write_text(yaml.safe_dump(requested(spec)), encoding="utf-8")
        run_conda_lock(root, conda_lock_command(sources, solver, metadata))
    return check(root)


def conda_lock_command(sources: sources_.Sources, solver: Sequence[str], metadata: Path) -> list[str]:
    """The conda-lock invocation, run in the project root: its sources, platforms and categories.

    Platforms and channels come from the sources; every category (``main``, ``dev``, other extras)
    is locked, and images choose theirs at install time.
    """
    files = [arg for path in sources.files for arg in ("--file", path.name)]
    return [
        sys.executable, "-m", "conda_lock", "lock", *solver, *files, "--lockfile", LOCKFILE,
        "--pypi_to_conda_lookup_file", str(sources.lookup), "--metadata-yaml", str(metadata),
    ]  # fmt: skip


def run_conda_lock(root: Path, command: list[str]) -> None:
    """Run conda-lock from scratch (every platform re-solved); on failure, keep the old lock."""
    lockfile = root / LOCKFILE
    previous = root / f".{LOCKFILE}.previous"
    if lockfile.exists():
        lockfile.replace(previous)
    try:
        returncode = subprocess.run(command, cwd=root, check=False).returncode
    except BaseException:
        _put_back(previous, lockfile)
        raise
    if returncode != 0:
        _put_back(previous, lockfile)
        raise LockFailedError(f"conda-lock failed (its output is above); {LOCKFILE} is unchanged")
    previous.unlink(missing_ok=True)


def _put_back(previous: Path, lockfile: Path) -> None:
    if previous.exists():
        previous.replace(lockfile)
    else:
        lockfile.unlink(missing_ok=True)


def find_solver() -> list[str]:
    """conda-lock's solver option: micromamba or conda if installed, else a micromamba download."""
    found = ensureconda(no_install=True, mamba=False, micromamba=True, conda=True, conda_exe=True)
    if found:
        return ["--conda", str(found)]
    reason = unreachable(MICROMAMBA_DOWNLOAD.format(subdir=platform_subdir()))
    if reason is None:
        return ["--micromamba"]  # conda-lock downloads micromamba itself
    raise LockUnavailableError(
        "no conda solver can be reached: neither micromamba nor conda is on PATH, and "
        f"micromamba cannot be downloaded ({reason}). Install micromamba "
        "(https://mamba.readthedocs.io/en/latest/installation/micromamba-installation.html) "
        f"and run `spiral lock` again, or push and let the lock workflow lock. {MEANWHILE}"
    )


def check_channel(channel: Channel) -> None:
    """Raise LockUnavailableError unless ``channel`` answers (any HTTP answer but 404 or 5xx)."""
    url = os.path.expandvars(channel.url)
    if "://" not in url:  # a name: the solver prefixes it with its channel alias (a mirror, maybe)
        alias = os.environ.get("MAMBA_CHANNEL_ALIAS") or os.environ.get("CONDA_CHANNEL_ALIAS")
        url = f"{(alias or DEFAULT_CHANNEL_ALIAS).rstrip('/')}/{url}"
    reason = unreachable(f"{url.rstrip('/')}/noarch/repodata.json")
    if reason is not None:
        raise LockUnavailableError(
            f"channel {channel.url} cannot be reached at {url} ({reason}). Lock where it can be "
            "reached, or point MAMBA_CHANNEL_ALIAS (micromamba) or CONDA_CHANNEL_ALIAS (conda) "
            f"at your mirror. {MEANWHILE}"
        )


def unreachable(url: str) -> str | None:
    """Why ``url`` cannot be fetched, or None when it can."""
    if url.startswith("file://"):
        return None if Path(url.removeprefix("file://")).exists() else "no such file"
    try:
        status = requests.head(url, timeout=TIMEOUT_SECONDS, allow_redirects=True).status_code
    except requests.RequestException as error:
        text = str(error)
        for needle, reason in (("NameResolution", "its host name does not resolve"),
                               ("timed out", f"no answer in {TIMEOUT_SECONDS}s"),
                               ("refused", "connection refused")):  # fmt: skip
            if needle in text:
                return reason
        return type(error).__name__
    return f"HTTP {status}" if status == 404 or status >= 500 else None
