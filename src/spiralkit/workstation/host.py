"""The files that run on the instance (this repository's ``workstation/``), wherever spiralkit is
installed: the wheel carries them as ``spiralkit/workstation/host/``; an editable install from a
checkout reads them in place."""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

from spiralkit.workstation import WorkstationError


def directory() -> Path:
    packaged = Path(__file__).with_name("host")
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[3] / "workstation"
    if (checkout / "idle_agent.py").is_file():
        return checkout
    raise WorkstationError(f"spiralkit's workstation files are missing from {packaged}: reinstall it")


def read(name: str) -> str:
    return (directory() / name).read_text(encoding="utf-8")


@cache
def rules() -> ModuleType:
    """``idle_decide.py``: the one definition of idle, of the lease file and of durations."""
    path = directory() / "idle_decide.py"
    spec = importlib.util.spec_from_file_location("spiral_idle_decide", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it is executed
    spec.loader.exec_module(module)
    return module
