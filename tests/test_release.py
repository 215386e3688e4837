"""spiralkit installs as a user installs it: from a package index (pypiserver on 127.0.0.1, PyPI behind
it, the way a team's mirror works), with no find-links; a generated project, its hooks and its
workflows' install commands all get this tree's build under its own version."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from helpers import ROOT, run

import spiralkit


def test_release_workflow_publishes_the_tagged_version_only() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text())
    assert workflow[True] == {"push": {"tags": ["v*"]}}  # YAML 1.1 reads the key `on` as True
    build, publish = workflow["jobs"]["build"], workflow["jobs"]["publish"]
    check = next(step for step in build["steps"] if "tag" in step.get("name", ""))
    assert 'if [ "$TAG" != "v$version" ]' in check["run"]
    assert publish["permissions"] == {"id-token": "write"}  # trusted publishing: no token stored
    assert publish["environment"]["name"] == "pypi"
    assert any("pypa/gh-action-pypi-publish@" in step.get("uses", "") for step in publish["steps"])


def test_the_tag_check_fails_on_a_mismatch(tmp_path: Path) -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text())
    script = next(step["run"] for step in workflow["jobs"]["build"]["steps"] if "tag" in step.get("name", ""))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    for tag, code in ((f"v{spiralkit.__version__}", 0), ("v9.9.9", 1)):
        env = {"PATH": os.environ["PATH"], "TAG": tag}
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, env=env,
                                capture_output=True, text=True)  # fmt: skip
        assert result.returncode == code, result.stdout + result.stderr
    assert "does not match pyproject.toml's version" in result.stdout


def test_the_index_serves_this_trees_spiralkit_and_nothing_is_found_by_links(package_index: str) -> None:
    import requests

    page = requests.get(f"{package_index}spiralkit/", timeout=10).text
    assert f"spiralkit-{spiralkit.__version__}-py3-none-any.whl" in page
    assert os.environ["UV_DEFAULT_INDEX"] == os.environ["PIP_INDEX_URL"] == package_index
    assert "UV_FIND_LINKS" not in os.environ


@pytest.mark.slow
def test_the_generated_projects_install_commands_work_from_the_index(default_project: Path, tmp_path: Path) -> None:
    """The project installed (the fixture), its hooks install, and each workflow's `uvx --from` runs."""
    venv = default_project / ".venv"
    assert run([str(venv / "bin" / "spiral"), "--help"], default_project).returncode == 0
    env = {"PRE_COMMIT_HOME": str(tmp_path / "pre-commit"), "UV_CACHE_DIR": str(tmp_path / "uv")}
    run(["pre-commit", "install-hooks"], default_project, venv=venv, env=env)
    pins = set()
    for workflow in (default_project / ".github" / "workflows").glob("*.yml"):
        pins.update(re.findall(r"SPIRALKIT: (\S+)", workflow.read_text()))
    version = spiralkit.__version__
    assert pins == {f"spiralkit[lock]=={version}", f"spiralkit[lock,report]=={version}"}  # deploy also reports
    for pin in sorted(pins):
        result = run(["uvx", "--from", pin, "spiral", "--help"], default_project, env=env)
        assert "usage: spiral" in result.stdout
