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


def test_the_index_serves_this_trees_spiralkit_and_nothing_is_found_by_links(
    package_index: str, index_env: dict[str, str]
) -> None:
    import requests

    answer = requests.get(f"{package_index}spiralkit/", timeout=10)
    assert f"spiralkit-{spiralkit.__version__}-py3-none-any.whl" in answer.text
    assert answer.headers["Server"] == "waitress"  # answers uv's parallel requests at once (tests/conftest.py)
    assert index_env == {"UV_INDEX": package_index, "PIP_EXTRA_INDEX_URL": package_index}
    assert requests.get(f"{package_index}pandas/", timeout=10).status_code == 404  # PyPI's names: from PyPI
    assert not {"UV_FIND_LINKS", "PIP_FIND_LINKS"} & os.environ.keys()


@pytest.mark.slow
def test_the_generated_projects_install_commands_work_from_the_index(
    default_project: Path, index_env: dict[str, str]
) -> None:
    """The project installed (the fixture), its hooks install, and each workflow's `uvx --from` runs.

    The hooks install into the run's pre-commit cache (tests/conftest.py), which holds only this build.
    """
    venv = default_project / ".venv"
    assert run([str(venv / "bin" / "spiral"), "--help"], default_project).returncode == 0
    run(["pre-commit", "install-hooks"], default_project, venv=venv, env=index_env)
    pins = set()
    for workflow in (default_project / ".github" / "workflows").glob("*.yml"):
        pins.update(re.findall(r"SPIRALKIT: (\S+)", workflow.read_text()))
    version = spiralkit.__version__
    assert pins == {f"spiralkit[lock]=={version}", f"spiralkit[lock,report]=={version}"}  # deploy also reports
    for pin in sorted(pins):
        # Every build of a version has the same name: this run's, not one uv cached earlier.
        uvx = ["uvx", "--refresh-package", "spiralkit", "--from", pin, "spiral", "--help"]
        assert "usage: spiral" in run(uvx, default_project, env=index_env).stdout
