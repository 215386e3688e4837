"""Shared fixtures: a real moto server on 127.0.0.1, and AWS settings that point at it."""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
import requests

from spiralkit import aws

pytest_plugins = ["faults_plugin"]  # the `fault` fixture and the table `pytest -m faults` prints


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


@pytest.fixture(scope="session", autouse=True)
def isolated_git(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A git identity and config of our own: tests neither need nor touch the user's ~/.gitconfig."""
    config = tmp_path_factory.mktemp("git") / "gitconfig"
    config.write_text(
        "[user]\n\tname = spiralkit tests\n\temail = tests@example.com\n"
        '[init]\n\tdefaultBranch = main\n[protocol "file"]\n\tallow = always\n'
    )
    saved = {name: os.environ.get(name) for name in ("GIT_CONFIG_GLOBAL", "GIT_CONFIG_NOSYSTEM")}
    os.environ["GIT_CONFIG_GLOBAL"] = str(config)
    os.environ["GIT_CONFIG_NOSYSTEM"] = "1"
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def package_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A package index on 127.0.0.1 serving spiralkit built from this tree, as a team's index mirror would.

    pypiserver answers for the packages it holds (spiralkit) and redirects every other name to PyPI
    (``--fallback-url``), so uv, pip and pre-commit are configured the way a user configures a mirror:
    one index URL, no find-links.
    """
    from helpers import build_wheel, wait_for

    packages = build_wheel(tmp_path_factory.mktemp("index"))
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "pypiserver", "run", "-i", "127.0.0.1", "-p", str(port),
         "--fallback-url", "https://pypi.org/simple/", "--hash-algo", "sha256", str(packages)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/simple/"
    if not wait_for(f"{url}spiralkit/", process):
        pytest.fail("pypiserver did not start on 127.0.0.1")
    saved = {name: os.environ.get(name) for name in (*INDEX_ENV, "PRE_COMMIT_HOME")}
    os.environ.update(dict.fromkeys(INDEX_ENV, url))
    # Every build of a version has the same name, and pre-commit caches hook environments by name: a
    # cache per build keeps a hook that installs spiralkit from running an older build of it.
    digest = hashlib.sha256(b"".join(wheel.read_bytes() for wheel in sorted(packages.glob("*.whl"))))
    os.environ["PRE_COMMIT_HOME"] = str(Path.home() / ".cache" / "spiralkit-tests" / digest.hexdigest()[:16])
    yield url
    process.terminate()
    process.wait(timeout=10)
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


# uv's and pip's names for "the index": pre-commit's hook environments install with pip.
INDEX_ENV = ("UV_DEFAULT_INDEX", "PIP_INDEX_URL")


@pytest.fixture(scope="session")
def default_project(tmp_path_factory: pytest.TempPathFactory, package_index: str) -> Path:
    """A project rendered with default answers, committed, with its own .venv installed.

    Shared read-only by tests across modules: copy it (``git clone``) before changing anything.
    """
    from helpers import make_venv, render

    project = render(tmp_path_factory.mktemp("default") / "churn-model")
    make_venv(project, _python_for(project))
    return project


def _python_for(project: Path) -> str:
    import yaml

    return str(yaml.safe_load((project / ".copier-answers.yml").read_text())["python_version"])
