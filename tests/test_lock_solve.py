"""`spiral lock`: says plainly when it cannot solve here; otherwise runs conda-lock, and checks it.

conda-forge is out of reach on this machine, so the end-to-end tests run conda-lock's real `lock`
command against a stand-in micromamba (see lockfiles.STUB_MICROMAMBA) and a local mirror of the
channel: what is real is conda-lock's parsing, hashing and writing, and spiralkit's handling around
it. The real solve is the last test, marked `needs_network`.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from conda_lock.lockfile import parse_conda_lock_file
from helpers import render
from lockfiles import lockable, minimal_project

from spiralkit.cli import main
from spiralkit.lock import check, solve
from spiralkit.lock.errors import LockUnavailableError, StaleLockError


def _closed_port() -> str:
    """A local address where nothing listens: a host that cannot be reached, without waiting."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def no_solver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """This machine as it is: no micromamba or conda, and micro.mamba.pm out of reach."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # where ensureconda keeps a download
    for name in ("CONDA_EXE", "MAMBA_EXE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(solve, "MICROMAMBA_DOWNLOAD", _closed_port() + "/{subdir}/latest")


def test_without_a_solver_lock_says_so_at_once_and_writes_nothing(
    tmp_path: Path,
    no_solver: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    project = minimal_project(tmp_path / "demo")
    monkeypatch.chdir(project)
    started = time.monotonic()
    assert main(["lock"]) == LockUnavailableError.exit_code
    assert time.monotonic() - started < 10
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "no conda solver can be reached: neither micromamba nor conda is on PATH" in err
    assert "connection refused" in err
    assert "Install micromamba" in err
    assert "uv pip install -e '.[dev]'" in err
    assert not (project / "conda-lock.yml").exists()


def test_an_unreachable_channel_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = minimal_project(tmp_path / "demo")
    monkeypatch.chdir(project)
    alias = _closed_port()
    with lockable(tmp_path / "solver", monkeypatch):
        monkeypatch.setenv("MAMBA_CHANNEL_ALIAS", alias)
        assert main(["lock"]) == LockUnavailableError.exit_code
    err = capsys.readouterr().err
    assert f"channel conda-forge cannot be reached at {alias}/conda-forge (connection refused)" in err
    assert not (project / "conda-lock.yml").exists()


def test_lock_runs_conda_lock_whose_hash_the_check_recomputes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = minimal_project(tmp_path / "demo")
    monkeypatch.chdir(project)
    with lockable(tmp_path / "solver", monkeypatch):
        assert main(["lock"]) == 0
        assert "conda-lock.yml matches its sources on linux-64, osx-arm64" in capsys.readouterr().out
        lock = parse_conda_lock_file(project / "conda-lock.yml")
        assert lock.metadata.sources == ["environment.yml", "pyproject.toml"]
        assert lock.metadata.custom_metadata == {
            "requested conda pandas": ">=2.1",
            "requested conda pip": "*",
            "requested conda pytest": ">=8 [dev]",
            "requested conda python": "3.12.*",
            "requested conda pyyaml": ">=6",
        }
        assert {p.name: p.categories for p in lock.package if p.platform == "linux-64"}["pytest"] == {"dev"}
        before = (project / "conda-lock.yml").read_text()
        assert main(["lock"]) == 0
        assert "Nothing to do" in capsys.readouterr().out
        assert (project / "conda-lock.yml").read_text() == before

        pyproject = project / "pyproject.toml"
        pyproject.write_text(pyproject.read_text().replace('"pyyaml>=6"', '"numpy>=1.26"'))
        with pytest.raises(StaleLockError, match=r"added numpy >=1\.26"):
            check(project)
        assert main(["lock"]) == 0
    relocked = parse_conda_lock_file(project / "conda-lock.yml")
    assert {p.name for p in relocked.package} == {"pandas", "numpy", "pip", "pytest", "python"}
    assert not (project / ".conda-lock.yml.previous").exists()


def test_a_failed_solve_keeps_the_lock_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = minimal_project(tmp_path / "demo")
    monkeypatch.chdir(project)
    with lockable(tmp_path / "solver", monkeypatch):
        monkeypatch.setenv("STUB_SOLVER_FAILS", "1")
        assert main(["lock"]) == 9
        assert not (project / "conda-lock.yml").exists()
        monkeypatch.delenv("STUB_SOLVER_FAILS")
        assert main(["lock"]) == 0
        before = (project / "conda-lock.yml").read_bytes()
        monkeypatch.setenv("STUB_SOLVER_FAILS", "1")
        assert main(["lock", "--refresh"]) == 9
    assert "conda-lock failed (its output is above); conda-lock.yml is unchanged" in (capsys.readouterr().err)
    assert (project / "conda-lock.yml").read_bytes() == before
    assert not (project / ".conda-lock.yml.previous").exists()


def _real_solve_unavailable() -> str | None:
    if reason := solve.unreachable("https://conda.anaconda.org/conda-forge/noarch/repodata.json"):
        return f"conda-forge cannot be reached from here ({reason})"
    if solve.unreachable("https://pypi.org/simple/spiralkit/"):
        return "spiralkit is not on PyPI yet: the lock's pip solve would not find it"
    return None


@pytest.mark.needs_network
@pytest.mark.slow
@pytest.mark.skipif(bool(_real_solve_unavailable()), reason=_real_solve_unavailable() or "")
def test_the_template_locks_against_conda_forge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = render(tmp_path / "churn-model", skip_tasks=True)
    monkeypatch.chdir(project)
    assert main(["lock"]) == 0
    lock = parse_conda_lock_file(project / "conda-lock.yml")
    assert sorted(lock.metadata.platforms) == ["linux-64", "linux-aarch64", "osx-64", "osx-arm64"]
    linux = {p.name: p for p in lock.package if p.platform == "linux-64"}
    assert linux["spiralkit"].manager == "pip"
    assert linux["jupyterlab"].categories == {"dev"}
    assert "main" in linux["pandas"].categories
    check(project)
