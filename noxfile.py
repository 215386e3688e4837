"""spiralkit's own sessions: CI calls these and nothing else, so a laptop runs what CI runs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nox

nox.needs_version = ">=2024.10"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "tests"]

# Every install compiles bytecode: where PYTHONDONTWRITEBYTECODE=1 is set (this project's machines) nothing
# else ever writes a .pyc, and every command then compiles its imports again (3x slower, docs/benchmarks.md).
os.environ.setdefault("UV_COMPILE_BYTECODE", "1")
ROOT = Path(__file__).parent
DEMO = ROOT / "build" / "demo"
BENCH = ROOT / "build" / "bench"
PYTHONS = ["3.11", "3.12", "3.13"]


def _pyenv_versions() -> dict[str, str]:
    """Let uv find every Python that pyenv has installed, not only the active one."""
    if shutil.which("pyenv") is None:
        return {}
    listed = subprocess.run(["pyenv", "versions", "--bare"], capture_output=True, text=True)
    versions = [line.strip() for line in listed.stdout.splitlines() if line.strip()[:1].isdigit()]
    return {"PYENV_VERSION": ":".join(versions)} if versions else {}


def _wheelhouse(session: nox.Session) -> Path:
    """Build spiralkit from this tree, so generated projects install it instead of a released one."""
    wheels = ROOT / "build" / "wheels"
    shutil.rmtree(wheels, ignore_errors=True)
    session.run("uv", "build", "--wheel", "--out-dir", str(wheels), str(ROOT), external=True, silent=True)
    return wheels


# pytest-xdist with one worker more than this machine has cores: a sixth of the suite's time is spent
# waiting (on the package index, moto, the network), and a third worker fills it (2 cores: 7.6 min, not
# 8.3). A module's tests run on one worker, so its module-scoped fixtures (a rendered project, a stack on
# moto) are built once; tests/scheduling.py hands the longest out first. (`loadgroup` would split them
# finer, but with pytest 9.2 it silently stops grouping: pytest-dev/pytest-xdist#1386.)
PARALLEL = ["--numprocesses", str((os.cpu_count() or 1) + 1), "--dist", "loadfile"]


def _pytest(session: nox.Session, *args: str) -> None:
    """Install the test environment and run pytest in it on every core.

    Not compiled at install (31 s of a 41 s install on 2 cores): pytest imports a fraction of it, and
    with PYTHONDONTWRITEBYTECODE emptied (Python's "unset") each module is compiled once, when first
    imported, for the workers and the commands the tests start.
    """
    session.install("-e", ".[lock]", "--group", "test", "--group", "bench", env={"UV_COMPILE_BYTECODE": "0"})
    session.run("pytest", *PARALLEL, *args, *session.posargs, env={**_pyenv_versions(), "PYTHONDONTWRITEBYTECODE": ""})


@nox.session
def tests(session: nox.Session) -> None:
    """Run the whole test suite: the template, the generated project's own gates, the library."""
    _pytest(session)


@nox.session(default=False)
def quick(session: nox.Session) -> None:
    """Run the tests to run before each commit: all but the `slow` and `e2e` ones (`nox -s tests` runs those)."""
    _pytest(session, "-m", "not slow and not e2e")


@nox.session(default=False)
def faults(session: nox.Session) -> None:
    """Inject every fault case (kills mid-write, 24-hour idle traces, bad settings); table into docs/reliability.md."""
    session.install("-e", ".[lock]", "--group", "test", "--group", "bench")
    session.run("pytest", "-m", "faults", "--faults-doc", "docs/reliability.md", *session.posargs)


@nox.session(default=False)
def demo(session: nox.Session) -> None:
    """Render the template with defaults into build/demo, install it with uv, and run its pipeline."""
    session.install("copier>=9.4")
    venv = _rendered_project(session, DEMO, extras="[dev]")
    report = DEMO / "report.html"
    for command in (
        ["spiral", "run"],  # the pipeline, recorded (dvc repro gives the same dvc.lock)
        ["dvc", "metrics", "show"],
        ["spiral", "status"],
        ["spiral", "report", "--output", str(report)],
    ):
        _in_project(session, venv, command)
    session.log(f"project: {DEMO}  outputs: {DEMO / 'data'}, {DEMO / 'published'}  report: {report}")


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Benchmark Parquet reads (local, S3 on moto), copier copy, dvc repro, local runs; write docs/benchmarks.md.

    ``nox -s bench -- --size-mb 100 --runs 3`` is a quick pass (written to build/bench/benchmarks.md).
    """
    session.install("-e", ".[report]", "--group", "bench")  # report: bench/results.py draws plots
    project = BENCH / "project"
    venv = _rendered_project(session, project, extras="")
    # Metaflow, the local-run peer, goes where the example's code and libraries are: its steps import them.
    session.run(
        "uv", "pip", "install", "--quiet", "--python", str(venv), "--group", f"{ROOT / 'pyproject.toml'}:bench-peers",
        external=True,
    )  # fmt: skip
    session.run("python", "-m", "bench", "--project", str(project), "--project-venv", str(venv), *session.posargs)


def _rendered_project(session: nox.Session, project: Path, extras: str) -> Path:
    """Render the template with defaults into ``project`` and install it, with spiralkit from this tree, into
    ``project/.venv``, which it returns."""
    wheels = _wheelhouse(session)
    shutil.rmtree(project, ignore_errors=True)
    env = {**_pyenv_versions(), "UV_FIND_LINKS": str(wheels)}
    python = _project_python(session, env)
    session.run("copier", "copy", "--trust", "--defaults", "--vcs-ref=HEAD", *python, str(ROOT), str(project))
    answers = (project / ".copier-answers.yml").read_text()
    python = next(
        line.split(":")[1].strip().strip("'\"") for line in answers.splitlines() if line.startswith("python_version")
    )
    venv = project / ".venv"
    session.run("uv", "venv", "--quiet", "--python", python, str(venv), external=True, env=env)
    session.run(
        "uv",
        "pip",
        "install",
        "--quiet",
        "--reinstall-package=spiralkit",  # every build is 0.1.0: take this one, not uv's cached one
        "--python",
        str(venv),
        "-e",
        f"{project}{extras}",
        external=True,
        env=env,
    )
    return venv


def _project_python(session: nox.Session, env: dict[str, str]) -> list[str]:
    """copier's data for the project's Python: none (the template's default) when uv finds that Python, else the
    version running nox, so that a machine with only its distribution's Python (Debian 12's 3.11), and no way to
    download another, still renders a project it can run."""
    default = re.search(r'^python_version:.*?^  default: "([\d.]+)"', (ROOT / "copier.yml").read_text(), re.M | re.S)
    assert default, "copier.yml has no python_version default"
    uv = shutil.which("uv") or "uv"
    found = subprocess.run([uv, "python", "find", default[1]], env={**os.environ, **env}, capture_output=True)
    if found.returncode == 0:
        return []
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    session.warn(f"Python {default[1]} is not installed and uv cannot fetch it: the demo project uses {running}")
    return [f"--data=python_version={running}"]


def _in_project(session: nox.Session, venv: Path, command: list[str]) -> None:
    """Run ``command`` in the demo project with its own environment first on PATH.

    ``session.run`` would put this session's environment first, and the pipeline's stages, which
    run ``python -m ...``, would then miss the project's package.
    """
    session.log(f"{DEMO.name}$ {' '.join(command)}")
    env = {
        **os.environ,
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "VIRTUAL_ENV": str(venv),
    }
    if subprocess.run(command, cwd=DEMO, env=env).returncode:
        session.error(f"`{' '.join(command)}` failed in {DEMO}")


@nox.session
def lint(session: nox.Session) -> None:
    """Run pre-commit on this repository, and mypy on the library."""
    session.install("pre-commit", "mypy", "-e", ".")
    session.run("pre-commit", "run", "--all-files", "--show-diff-on-failure")
    session.run("mypy")


@nox.session(default=False)
def docs(session: nox.Session) -> None:
    """Build the documentation site, failing on any warning."""
    session.install("mkdocs-material>=9.5")
    session.run("mkdocs", "build", "--strict", "--site-dir", str(ROOT / "build" / "site"))
