"""The lock in a generated project: the copy task, and the pre-commit hook as its users run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import ROOT, render, run
from lockfiles import write_lock


def test_a_copy_that_cannot_lock_says_so_once_and_commits_no_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    # No solver on PATH, and every HTTPS request fails at once (a proxy where nothing listens),
    # whatever this machine can reach.
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:/usr/bin:/bin")
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    project = render(tmp_path / "churn-model")
    out, err = capfd.readouterr()
    assert (out + err).count("lock: no conda-lock.yml yet (no micromamba, mamba or conda on PATH)") == 1
    assert "uv pip install -e .[dev]" in out + err
    assert not (project / "conda-lock.yml").exists()
    assert run(["git", "status", "--porcelain"], project).stdout == ""
    assert len(run(["git", "log", "--oneline"], project).stdout.splitlines()) == 1


def test_without_spiral_the_copy_task_says_what_to_run(tmp_path: Path) -> None:
    python = next(p for p in ("/usr/bin/python3", "/usr/local/bin/python3") if Path(p).exists())
    result = subprocess.run(
        [python, "-I", str(ROOT / "hooks" / "lock.py")],
        cwd=tmp_path, env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert result.stdout.startswith("lock: no conda-lock.yml yet (spiral is not installed")
    assert "run `spiral lock`" in result.stdout


@pytest.mark.slow
def test_the_pre_commit_hook_passes_unlocked_and_fresh_and_fails_stale(
    default_project: Path, index_env: dict[str, str], tmp_path: Path
) -> None:
    """As the generated .pre-commit-config.yaml declares it: spiralkit[lock] installed by pre-commit-uv."""
    project = tmp_path / "churn-model"
    run(["git", "clone", "--quiet", str(default_project), str(project)], tmp_path)
    venv = default_project / ".venv"
    hook = ["pre-commit", "run", "spiral-lock-check"]
    # spiralkit from the test index (pre-commit-uv), into the run's pre-commit cache, which holds no other build.
    env = index_env
    first = run([*hook, "--all-files"], project, venv=venv, env=env)
    assert "conda-lock.yml is not stale (spiral lock check)" in first.stdout
    assert "Passed" in first.stdout

    write_lock(project)
    run(["git", "add", "conda-lock.yml"], project)
    assert "Passed" in run([*hook, "--files", "conda-lock.yml"], project, venv=venv, env=env).stdout

    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"pandas>=2.1"', '"pandas>=2.2"'))
    stale = run([*hook, "--files", "pyproject.toml"], project, venv=venv, env=env, check=False)
    assert stale.returncode == 1
    assert "pandas changed from >=2.1 to >=2.2" in stale.stdout
    assert "Run `spiral lock`" in stale.stdout


def test_the_published_hook_and_the_generated_one_agree(tmp_path: Path) -> None:
    """This repository's .pre-commit-hooks.yaml and the generated projects' `repo: local` copy of it."""
    generated = render(tmp_path / "case-triage", skip_tasks=True) / ".pre-commit-config.yaml"
    for path in (ROOT / ".pre-commit-hooks.yaml", generated):
        run(["pre-commit", "validate-manifest" if path.name.endswith("hooks.yaml") else
             "validate-config", str(path)], ROOT)  # fmt: skip
    published = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    (manifest,) = [h for h in published if h["id"] == "spiral-lock-check"]
    config = yaml.safe_load(generated.read_text())
    (local,) = [h for r in config["repos"] for h in r["hooks"] if h["id"] == "spiral-lock-check"]
    for key in ("entry", "language", "files", "pass_filenames"):
        assert local[key] == manifest[key], key
