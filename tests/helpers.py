"""Render the template from this working tree and drive the generated project like a user would."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import requests
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
    """Build spiralkit's wheel from this tree into ``out_dir``, the folder the test index serves."""
    subprocess.run(
        ["uv", "build", "--wheel", "--quiet", "--out-dir", str(out_dir), str(ROOT)],
        check=True,
        capture_output=True,
    )
    return out_dir


def wait_for(url: str, process: subprocess.Popen[bytes], seconds: float = 30) -> bool:
    """Poll ``url`` until it answers 200, or ``process`` exits, or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if requests.get(url, timeout=1, allow_redirects=False).status_code == 200:
                return True
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    process.kill()
    return False


def make_venv(project: Path, python: str, env: Mapping[str, str], extras: str = "[dev]") -> Path:
    """Create ``project/.venv`` and install the project as its README says, from the index ``env`` names.

    ``env`` is the ``index_env`` fixture: spiralkit comes from the test index, as a release would. Unlike
    the README's command, no ``--compile-bytecode``: compiling all 11,000 modules is 40 s of CPU per
    environment, and the tests import a fraction of them; ``isolated_settings`` lets Python cache those as
    they are first imported. (tests/test_first_command.py and tests/test_release.py run the README's
    commands as written.)
    """
    venv = project / ".venv"
    full_env = {**os.environ, **env}
    subprocess.run(["uv", "venv", "--quiet", "--python", python, str(venv)], check=True, env=full_env)
    subprocess.run(
        # Every build of a version has the same name: fetch this session's, not one uv cached earlier.
        ["uv", "pip", "install", "--quiet", "--refresh-package=spiralkit",
         "--python", str(venv), "-e", f"{project}{extras}"],
        check=True,
        env=full_env,
    )  # fmt: skip
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
