"""Render the template from this working tree and drive the generated project like a user would."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from copier import run_copy

ROOT = Path(__file__).resolve().parents[1]


def render(
    dst: Path,
    data: Mapping[str, Any] | None = None,
    *,
    src: Path = ROOT,
    vcs_ref: str | None = "HEAD",
    skip_tasks: bool = False,
) -> Path:
    """``copier copy --defaults --trust`` of ``src`` (uncommitted changes included) into ``dst``."""
    run_copy(
        str(src),
        dst,
        data=dict(data or {}),
        defaults=True,
        unsafe=True,
        vcs_ref=vcs_ref,
        quiet=True,
        skip_tasks=skip_tasks,
    )
    return dst


def build_wheel(out_dir: Path) -> Path:
    """Build spiralkit's wheel from this tree: generated projects install it instead of a release."""
    subprocess.run(
        ["uv", "build", "--wheel", "--quiet", "--out-dir", str(out_dir), str(ROOT)],
        check=True,
        capture_output=True,
    )
    return out_dir


def make_venv(project: Path, python: str, wheels: Path, extras: str = "[dev]") -> Path:
    """Create ``project/.venv`` with uv and install the project (and spiralkit from ``wheels``)."""
    venv = project / ".venv"
    env = {**os.environ, "UV_FIND_LINKS": str(wheels)}
    subprocess.run(["uv", "venv", "--quiet", "--python", python, str(venv)], check=True, env=env)
    subprocess.run(
        # Every build is 0.1.0: take this tree's, not a build uv cached earlier.
        [
            "uv",
            "pip",
            "install",
            "--quiet",
            "--reinstall-package=spiralkit",
            "--python",
            str(venv),
            "-e",
            f"{project}{extras}",
        ],
        check=True,
        env=env,
    )
    return venv


def run(
    command: Sequence[str],
    cwd: Path,
    venv: Path | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in ``cwd`` with ``venv`` first on PATH, as an activated shell would.

    On failure the assertion message carries the command's output, so a red test explains itself.
    """
    full_env = {**os.environ, **(env or {})}
    if venv is not None:
        full_env["PATH"] = f"{venv / 'bin'}{os.pathsep}{full_env['PATH']}"
        full_env["VIRTUAL_ENV"] = str(venv)
    result = subprocess.run(list(command), cwd=cwd, env=full_env, capture_output=True, text=True, check=False)
    if check:
        assert result.returncode == 0, (
            f"`{' '.join(command)}` exited {result.returncode} in {cwd}\n"
            f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
        )
    return result
