"""The checks CI runs, on any machine: `nox -s tests lint`; `nox -s repro` runs the pipeline."""

import os

import nox

# Installs compile bytecode: with PYTHONDONTWRITEBYTECODE=1 set, nothing else writes a .pyc.
os.environ.setdefault("UV_COMPILE_BYTECODE", "1")

nox.needs_version = ">=2024.10"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["tests", "lint"]


@nox.session
def tests(session: nox.Session) -> None:
    """Run the stages' tests."""
    session.install("-e", ".[dev]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Run every pre-commit hook on every file."""
    session.install("pre-commit")
    session.run("pre-commit", "run", "--all-files", "--show-diff-on-failure")


@nox.session
def repro(session: nox.Session) -> None:
    """Run the pipeline and print its metrics."""
    session.install("-e", ".")
    session.run("dvc", "repro", *session.posargs)
    session.run("dvc", "metrics", "show")


@nox.session(default=False)
def batch(session: nox.Session) -> None:
    """Run the pipeline on AWS Batch, one job per stage, and wait for it (deploy.yml runs this)."""
    session.install("-e", ".")
    session.run("spiral", "run", "--on", "batch", "--wait", *session.posargs)
