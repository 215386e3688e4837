"""Shared fixtures: a real moto server on 127.0.0.1, and AWS settings that point at it."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
import requests

from spiralkit import aws

# The `fault` fixture and the table `pytest -m faults` prints; the order xdist hands the modules out in.
pytest_plugins = ["faults_plugin", "scheduling"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_moto(env: Mapping[str, str] | None = None) -> Iterator[str]:
    """A moto server in its own process on a free 127.0.0.1 port, with ``env`` added to its environment."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(f"{url}/moto-api/", timeout=1)
            break
        except requests.ConnectionError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("moto server did not start on 127.0.0.1")
            time.sleep(0.1)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """A moto server in its own process, as a separate AWS endpoint would be."""
    with running_moto() as url:
        yield url


AWS_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


@pytest.fixture
def aws_env(moto_server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """A clean moto account: every boto3 client, subprocess and DVC remote talks to it."""
    requests.post(f"{moto_server}/moto-api/reset", timeout=10).raise_for_status()
    requests.post(
        f"{moto_server}/moto-api/config", json={"batch": {"use_docker": False}}, timeout=10
    ).raise_for_status()
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    # Empty files, not /dev/null: DVC's S3 remote refuses a config path that is not a regular file.
    for name in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        empty = tmp_path / name.lower()
        empty.touch()
        monkeypatch.setenv(name, str(empty))
    for name, value in AWS_TEST_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    aws.session.cache_clear()
    yield moto_server
    aws.session.cache_clear()


def _shared_tmp(factory: pytest.TempPathFactory) -> Path:
    """This run's temporary root: under pytest-xdist, the folder every worker's own temporary root is in."""
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session", autouse=True)
def isolated_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """git, copier and pre-commit read settings and caches of this run's own, never the user's.

    A git identity of our own, copier's settings file and mirror cache, and one pre-commit cache that
    every project rendered in this run installs its hook environments into (each build of spiralkit
    has the same version, so a cache that outlived the run could keep serving an older build). No
    find-links: spiralkit reaches a project only through the test package index (``index_env``).
    """
    home = tmp_path_factory.mktemp("settings")
    (home / "gitconfig").write_text(
        "[user]\n\tname = spiralkit tests\n\temail = tests@example.com\n"
        '[init]\n\tdefaultBranch = main\n[protocol "file"]\n\tallow = always\n'
    )
    (home / "copier.yml").write_text("{}\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GIT_CONFIG_GLOBAL", str(home / "gitconfig"))
        patch.setenv("GIT_CONFIG_NOSYSTEM", "1")
        patch.setenv("COPIER_SETTINGS_PATH", str(home / "copier.yml"))
        patch.setenv("COPIER_CACHE_DIR", str(home / "copier-cache"))
        # Shared by xdist's workers: pre-commit locks its cache, so they install each hook once.
        patch.setenv("PRE_COMMIT_HOME", str(_shared_tmp(tmp_path_factory) / "pre-commit"))
        for name in ("UV_FIND_LINKS", "PIP_FIND_LINKS"):
            patch.delenv(name, raising=False)
        # The projects' and hooks' environments are installed without compiling every module (noxfile.py
        # asks uv to, for its own environments): let their commands cache what they import instead.
        patch.delenv("UV_COMPILE_BYTECODE", raising=False)
        patch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
        yield


@pytest.fixture(scope="session")
def package_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A package index on 127.0.0.1 serving spiralkit built from this tree, as a team's private index would.

    pypiserver answers for spiralkit alone (every other name is "not found"); uv asks it before PyPI
    (``index_env``), and takes spiralkit from it only: uv's first-index rule, so no other index can stand
    in for it. Everything else comes from PyPI, whose files uv's cache keeps across runs: an index that
    proxied PyPI at a new port each run made uv download and unpack 1.5 GB again per worker per run.
    """
    from helpers import build_wheel, wait_for

    packages = build_wheel(tmp_path_factory.mktemp("index"))
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "pypiserver", "run", "-i", "127.0.0.1", "-p", str(port), "--server", "auto",
         "--disable-fallback", "--hash-algo", "sha256", str(packages)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/simple/"
    if not wait_for(f"{url}spiralkit/", process):
        pytest.fail("pypiserver did not start on 127.0.0.1")
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="session")
def index_env(package_index: str) -> dict[str, str]:
    """The environment that puts the test index ahead of PyPI for uv (which pre-commit-uv installs the hook
    environments with) and beside it for pip; passed to the commands that install, not set for the whole
    session."""
    return {"UV_INDEX": package_index, "PIP_EXTRA_INDEX_URL": package_index}


@pytest.fixture(scope="session")
def default_project(tmp_path_factory: pytest.TempPathFactory, index_env: dict[str, str]) -> Path:
    """A project rendered with default answers, committed, with its own .venv installed.

    Shared read-only by tests across modules, and by xdist's workers (the first to need it builds it,
    the others wait for it): copy it (``git clone``) before changing anything.
    """
    from helpers import make_venv, render

    folder = _shared_tmp(tmp_path_factory) / "default-project"
    project, ready = folder / "churn-model", folder / "ready"
    with open(f"{folder}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not ready.exists():
            shutil.rmtree(folder, ignore_errors=True)  # what a worker that failed to build it left
            render(project)
            make_venv(project, _python_for(project), env=index_env)
            ready.touch()
    return project


def _python_for(project: Path) -> str:
    import yaml

    return str(yaml.safe_load((project / ".copier-answers.yml").read_text())["python_version"])


# Fixtures that bring a server or a rendered, installed project: a test that uses one is `e2e`.
E2E_FIXTURES = {"moto_server", "package_index", "default_project"}
# Modules that run whole commands without those fixtures: their own moto (the benchmark, the IAM-enforcing
# one), real DVC pipelines, pytest itself. Each test there takes seconds.
E2E_MODULES = {"test_bench.py", "test_security_matrix.py", "test_runs_records.py", "test_reliability_doc.py"}


def pytest_sessionstart(session: pytest.Session) -> None:
    """Forget every spiralkit wheel uv has cached, once, before xdist starts its workers.

    Each build of a version has the same name, and the hooks' installs (pre-commit-uv) cannot be told
    ``--refresh-package``: without this a cached older build could stand in for this tree's.
    """
    if not hasattr(session.config, "workerinput") and shutil.which("uv"):
        subprocess.run(["uv", "cache", "clean", "spiralkit"], check=True, capture_output=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the end-to-end tests `e2e`: `nox -s quick` leaves them to `nox -s tests`."""
    for item in items:
        if E2E_FIXTURES & set(getattr(item, "fixturenames", ())) or item.path.name in E2E_MODULES:
            item.add_marker(pytest.mark.e2e)
