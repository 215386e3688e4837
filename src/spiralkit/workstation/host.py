"""The files that run on the instance, wherever spiralkit is installed: the scripts and systemd units
of this repository's ``workstation/`` (the wheel carries them as ``spiralkit/workstation/host/``; an
editable install from a checkout reads them in place), and the idle agent's own package
(``spiralkit.workstation.idle``), which the instance runs as ``spiral_idle``."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from spiralkit.workstation import WorkstationError, idle

IDLE_MODULES = ("__init__.py", "decide.py", "lease.py", "agent.py")


def directory() -> Path:
    packaged = Path(__file__).with_name("host")
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[3] / "workstation"
    if (checkout / "start.sh").is_file():
        return checkout
    raise WorkstationError(f"spiralkit's workstation files are missing from {packaged}: reinstall it")


def read(name: str) -> str:
    return (directory() / name).read_text(encoding="utf-8")


def idle_source(name: str) -> str:
    """One module of the idle agent, as the instance gets it: the installed file, byte for byte."""
    return resources.files(idle).joinpath(name).read_text(encoding="utf-8")
