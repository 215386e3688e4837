"""The generated project's first command: copier's message after copy says what the README says, and the
command works with nothing but a distribution's Python (no uv, no pyenv) on PATH."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from helpers import ROOT, render

DEBIAN_PYTHON = Path("/usr/bin/python3.11")
OTHER_PYTHONS = {"VIRTUAL_ENV", "PYENV_VERSION", "CONDA_PREFIX", "UV_PYTHON"}  # a stock shell has none of them


def first_command(readme: str) -> str:
    """The README's `# once` line: the environment, made once."""
    line = next(line for line in readme.splitlines() if line.endswith("# once"))
    return line.removesuffix("# once").strip()


def test_copiers_message_after_copy_gives_the_readmes_first_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from copier import run_copy

    dst = tmp_path / "churn-model"
    run_copy(
        str(ROOT), dst, data={"python_version": "3.13"}, defaults=True, unsafe=True, vcs_ref="HEAD", skip_tasks=True
    )
    command = first_command((dst / "README.md").read_text())
    assert command.startswith("python3.13 -m venv .venv && ")
    assert "uv venv" not in command  # uv is installed by the command, not assumed
    message = capsys.readouterr().err
    assert command in [line.strip() for line in message.splitlines()]


@pytest.mark.slow
@pytest.mark.skipif(not DEBIAN_PYTHON.is_file(), reason="no distribution Python at /usr/bin/python3.11")
def test_the_first_command_works_with_only_the_distributions_python(tmp_path: Path, index_env: dict[str, str]) -> None:
    dst = render(tmp_path / "churn-model", {"python_version": "3.11"}, skip_tasks=True)
    command = first_command((dst / "README.md").read_text())
    env = {key: value for key, value in os.environ.items() if key not in OTHER_PYTHONS}
    env |= {"PATH": "/usr/bin:/bin", **index_env}  # the test index serves spiralkit from this tree
    subprocess.run(["bash", "-c", command], cwd=dst, env=env, check=True, capture_output=True)
    check = "import churn_model, spiralkit, sys; print(sys.base_prefix)"
    result = subprocess.run([dst / ".venv" / "bin" / "python", "-c", check], capture_output=True, text=True)
    assert result.stdout.strip() == "/usr"
    assert (dst / ".venv" / "bin" / "dvc").is_file()
