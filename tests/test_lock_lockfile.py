"""conda-lock.yml as images use it: its hash, its explicit rendering, its install commands."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conda_lock.lockfile import parse_conda_lock_file, write_conda_lock_file
from lockfiles import template_project, write_lock

from spiralkit.cli import main
from spiralkit.lock import INSTALL_PROJECT, INSTALL_RUNTIME, INSTALL_WORKSTATION, lock_hash

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def locked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = template_project(tmp_path_factory.mktemp("locked") / "churn-model")
    write_lock(project)
    return project


def test_the_hash_ignores_layout_and_follows_packages(locked: Path, tmp_path: Path) -> None:
    lock = parse_conda_lock_file(locked / "conda-lock.yml")
    lock.package.reverse()
    rewritten = tmp_path / "conda-lock.yml"
    write_conda_lock_file(lock, rewritten, metadata_choices=None, include_help_text=False)
    assert rewritten.read_text() != (locked / "conda-lock.yml").read_text()
    assert lock_hash(rewritten) == lock_hash(locked / "conda-lock.yml")

    pandas = next(p for p in lock.package if p.name == "pandas" and p.platform == "osx-arm64")
    pandas.url = pandas.url.replace("1.0.0", "1.0.1")
    write_conda_lock_file(lock, rewritten, metadata_choices=None)
    assert lock_hash(rewritten) != lock_hash(locked / "conda-lock.yml")
    assert lock_hash(rewritten, "osx-arm64") != lock_hash(locked / "conda-lock.yml", "osx-arm64")
    assert lock_hash(rewritten, "linux-64") == lock_hash(locked / "conda-lock.yml", "linux-64")


def test_spiral_lock_hash_prints_it(
    locked: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(locked)
    assert main(["lock", "hash", "--platform", "linux-64"]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed == lock_hash(locked / "conda-lock.yml", "linux-64")
    assert re.fullmatch(r"[0-9a-f]{64}", printed)
    assert main(["lock", "hash", "--platform", "win-64"]) == 1
    assert "has no packages for win-64" in capsys.readouterr().err


@pytest.mark.parametrize("dev", [True, False], ids=["main-and-dev", "main-only"])
def test_conda_lock_renders_explicit_files_with_every_package_and_its_checksum(
    locked: Path, tmp_path: Path, dev: bool
) -> None:
    """Checked statically: installing the rendered file needs conda-forge."""
    categories = "--dev-dependencies" if dev else "--no-dev-dependencies"
    template = str(tmp_path / "explicit-{platform}.lock")
    render = ["render", "--kind", "explicit", "--platform", "linux-64", categories]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "conda_lock",
            *render,
            "--filename-template",
            template,
            "conda-lock.yml",
        ],
        cwd=locked,
        check=True,
        capture_output=True,
    )
    rendered = (tmp_path / "explicit-linux-64.lock").read_text().splitlines()
    assert "@EXPLICIT" in rendered
    urls = [line for line in rendered if not line.startswith(("#", "@"))]
    lock = parse_conda_lock_file(locked / "conda-lock.yml")
    wanted = {"main", "dev"} if dev else {"main"}
    expected = [
        f"{p.url}#{p.hash.md5}"
        for p in lock.package
        if p.platform == "linux-64" and p.manager == "conda" and p.categories & wanted
    ]
    assert sorted(urls) == sorted(expected)
    assert all(
        re.fullmatch(r"https://conda\.anaconda\.org/conda-forge/linux-64/\S+\.conda#[0-9a-f]{32}", u) for u in urls
    )
    assert ("jupyterlab" in " ".join(urls)) is dev
    spiralkit = next(p for p in lock.package if p.name == "spiralkit" and p.platform == "linux-64")
    assert f"# pip spiralkit @ {spiralkit.url}#sha256={spiralkit.hash.sha256}" in rendered


def test_the_install_commands_use_the_lock_only_and_the_docs_show_them() -> None:
    for command in (INSTALL_RUNTIME, INSTALL_WORKSTATION):
        assert command.startswith("micromamba install --yes --name base --file conda-lock.yml")
    assert INSTALL_RUNTIME.endswith("--category main")
    assert INSTALL_WORKSTATION.endswith("--category dev")  # FROM the runtime image
    assert "--no-deps" in INSTALL_PROJECT
    docs = " ".join((ROOT / "docs" / "environment.md").read_text().replace("\\\n", " ").split())
    for command in (INSTALL_RUNTIME, INSTALL_WORKSTATION, INSTALL_PROJECT):
        assert command.replace("conda-lock.yml", "/tmp/conda-lock.yml") in docs or command in docs
