"""The workstation's generated files, each checked by its own ecosystem's tool: hadolint and
dockerfile-parse on the Dockerfile, the dev container schema and CLI on devcontainer.json,
``cloud-init schema`` and shellcheck on the user-data, systemd-analyze on the units."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
from dockerfile_parse import DockerfileParser
from helpers import render

from spiralkit.config import ProjectConfig
from spiralkit.workstation import settings, userdata

ROOT = Path(__file__).parents[1]
SCHEMA = "https://raw.githubusercontent.com/devcontainers/spec/main/schemas/devContainer.base.schema.json"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template rendered from this working tree (uncommitted changes included)."""
    destination = tmp_path_factory.mktemp("rendered") / "churn-model"
    return render(destination, {"s3_bucket": "acme-churn"}, skip_tasks=True)


def stages(dockerfile: Path) -> dict[str, dict[str, Any]]:
    """Each build stage's name, parent image and instructions, as dockerfile-parse reads them."""
    found: dict[str, dict[str, Any]] = {}
    current: dict[str, Any] = {"steps": []}  # global ARGs before the first FROM
    for instruction in DockerfileParser(str(dockerfile)).structure:
        if instruction["instruction"] == "FROM":
            parent, _, name = instruction["value"].partition(" AS ")
            current = found.setdefault(name.strip(), {"from": parent.strip(), "steps": []})
        elif instruction["instruction"] != "COMMENT":
            current["steps"].append(instruction)
    return found


def tool(name: str) -> str:
    """A linter installed as a wheel: on PATH, or beside this interpreter when the venv is not
    activated."""
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail(f"{name} is missing: install the test dependency group")
    return found


def test_hadolint_passes_the_dockerfile(project: Path) -> None:
    done = subprocess.run([tool("hadolint"), str(project / "Dockerfile")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_workstation_target_derives_from_runtime_and_installs_only_from_the_lock(
    project: Path,
) -> None:
    found = stages(project / "Dockerfile")
    assert found["workstation"]["from"] == "runtime"
    runtime_labels = [s["value"] for s in found["runtime"]["steps"] if s["instruction"] == "LABEL"]
    assert any("org.spiralkit.lock-hash" in label for label in runtime_labels)  # inherited
    runs = [s["value"] for s in found["workstation"]["steps"] if s["instruction"] == "RUN"]
    python_installs = [r for r in runs if any(t in r for t in ("mamba", "conda", "pip "))]
    assert python_installs, "the workstation target installs the lock's dev category"
    for run in python_installs:
        assert "micromamba install" in run
        assert "--file /tmp/conda-lock.yml" in run
        assert "--category dev" in run
        for solve in ("environment.yml", "pip install", "conda install", "conda env"):
            assert solve not in run


def test_devcontainer_builds_the_workstation_target(project: Path) -> None:
    config = json.loads((project / ".devcontainer" / "devcontainer.json").read_text())
    build = config["build"]
    assert build["target"] == "workstation"
    folder = project / ".devcontainer"
    assert (folder / build["dockerfile"]).resolve() == (project / "Dockerfile").resolve()
    assert (folder / build["context"]).resolve() == project.resolve()
    assert "workstation" in stages(folder / build["dockerfile"])


@pytest.mark.needs_network
def test_devcontainer_validates_against_the_dev_container_schema(project: Path, tmp_path: Path) -> None:
    try:
        schema = requests.get(SCHEMA, timeout=10)
        schema.raise_for_status()
    except requests.RequestException as error:
        pytest.skip(f"the dev container schema is on GitHub, unreachable here: {error}")
    (tmp_path / "schema.json").write_text(schema.text)
    done = subprocess.run(
        [
            tool("check-jsonschema"),
            "--schemafile",
            str(tmp_path / "schema.json"),
            str(project / ".devcontainer" / "devcontainer.json"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_devcontainer_cli_reads_the_configuration(project: Path) -> None:
    if shutil.which("devcontainer") is None:
        pytest.skip("the dev container CLI is not installed: npm install -g @devcontainers/cli")
    done = subprocess.run(
        [
            "devcontainer",
            "read-configuration",
            "--workspace-folder",
            str(project),
            "--docker-path",
            "true",
        ],  # reading needs no Docker: `true` answers its container query
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["configuration"]["build"]["target"] == "workstation"


@pytest.fixture(scope="module")
def cloud_config() -> dict[str, Any]:
    project = ProjectConfig(
        root=ROOT,
        project="churn-model",
        region="us-east-1",
        bucket="acme-churn",
        ecr_repository="churn-model",
    )
    chosen = settings.resolve(project, gpu=True, person="ana", env={})  # as `grant ana` names her
    launch = userdata.Launch(
        image="123456789012.dkr.ecr.us-east-1.amazonaws.com/churn-model@sha256:" + "0" * 64,
        home_volume="vol-0123456789abcdef0",
        ssh_public_key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB ana@laptop",
        jupyter_token="token",
    )
    return userdata.cloud_config(chosen, launch)


def _cloud_init_schema(path: Path) -> subprocess.CompletedProcess[str]:
    if shutil.which("cloud-init") is None:
        pytest.skip("cloud-init is not installed: apt-get install cloud-init (Debian)")
    command = ["cloud-init", "schema", "--config-file", str(path)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_the_user_data_passes_cloud_init_schema(cloud_config: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "user-data"
    rendered = userdata.render(cloud_config)
    assert len(rendered) < 16 * 1024, "EC2 refuses user-data over 16 KiB"
    path.write_text(userdata.text(rendered))
    done = _cloud_init_schema(path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Valid" in done.stdout


def test_cloud_init_schema_would_catch_a_mistake(cloud_config: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "user-data"
    path.write_text(userdata.text(userdata.render({**cloud_config, "packages": "docker"})))
    assert _cloud_init_schema(path).returncode != 0


def test_the_user_data_shell_passes_shellcheck(cloud_config: dict[str, Any], tmp_path: Path) -> None:
    scripts = [f for f in cloud_config["write_files"] if f["content"].startswith("#!/bin/bash")]
    assert [f["path"] for f in scripts] == ["/opt/spiral/start.sh"]
    for entry in scripts:
        path = tmp_path / Path(entry["path"]).name
        path.write_text(entry["content"])
        done = subprocess.run([tool("shellcheck"), str(path)], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout
    assert all(isinstance(command, list) for command in cloud_config["runcmd"]), "no shell strings"


def test_the_systemd_units_have_no_unknown_settings(cloud_config: dict[str, Any], tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    units = [f for f in cloud_config["write_files"] if f["path"].endswith(".service")]
    assert len(units) == 2
    for entry in units:
        path = tmp_path / Path(entry["path"]).name
        path.write_text(entry["content"])
        done = subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True, text=True)
        # Missing docker.service or /opt/spiral on this machine is expected; bad syntax is not.
        for problem in ("Unknown key", "Failed to parse", "bad unit file", "Unknown section"):
            assert problem not in done.stderr, done.stderr
