"""The docs stay true to the template: every question is documented, and the README keeps its promise."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml
from helpers import ROOT

QUESTIONS = yaml.safe_load((ROOT / "copier.yml").read_text())


def test_every_question_is_documented() -> None:
    documented = (ROOT / "docs" / "questions.md").read_text()
    for name, spec in QUESTIONS.items():
        if not name.startswith("_") and spec.get("when") is not False:
            assert f"| `{name}` |" in documented, name


def test_readme_starts_with_the_two_commands_and_ci_runs_both() -> None:
    readme = (ROOT / "README.md").read_text()
    quickstart = readme.split("## Quickstart", 1)[1].split("##", 1)[0]
    venv = "python3 -m venv .venv && . .venv/bin/activate && pip install nox uv && nox -s "
    commands = re.findall(rf"^({re.escape(venv)}\w+)$", quickstart, re.MULTILINE)
    assert [command.rsplit(" ", 1)[1] for command in commands] == ["demo", "tests"]
    lines = subprocess.run([ROOT / ".ci" / "run", "--lines"], capture_output=True, text=True, check=True)
    assert lines.stdout.splitlines() == commands


def test_the_site_builds_without_warnings(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "questions" / "index.html").is_file()
