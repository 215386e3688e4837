"""Copier task, run once after `copier copy`: make the new project a git repository with a first commit.

The template already writes what `dvc init` writes (.dvc/config, .dvc/.gitignore, .dvcignore), so a
copy needs neither DVC nor network; this script only adds git. It leaves an existing repository alone,
and commits with the project's author when the machine has no git identity yet.
Skip it with `copier copy --skip-tasks`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml


def git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True)


def identity() -> list[str]:
    """``-c user.name=... -c user.email=...`` from the answers when git has no identity configured."""
    configured = subprocess.run(["git", "config", "user.email"], capture_output=True, text=True)
    if configured.stdout.strip():
        return []
    answers = yaml.safe_load(Path(".copier-answers.yml").read_text(encoding="utf-8"))
    return [
        "-c",
        f"user.name={answers['author_name']}",
        "-c",
        f"user.email={answers['author_email']}",
    ]


def main() -> int:
    if Path(".git").exists():
        print("init_repo: already a git repository, leaving it as it is")
        return 0
    git("init", "--quiet", "--initial-branch=main")
    git("add", "--all")
    git(
        *identity(),
        "commit",
        "--quiet",
        "--no-verify",
        "-m",
        "Start project from the spiralkit template",
    )
    print("init_repo: created a git repository with a first commit (DVC is initialised by .dvc/)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
