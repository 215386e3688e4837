"""Quick check that the shared default project renders and installs (the heavy gates are elsewhere)."""

from pathlib import Path

import pytest
from helpers import run


@pytest.mark.slow
def test_default_project_runs_spiral(default_project: Path) -> None:
    result = run(["spiral", "namespace"], default_project, venv=default_project / ".venv")
    assert result.stdout.startswith("user.")
