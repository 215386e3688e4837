"""The template itself: how long ``copier copy`` takes, and ``dvc repro`` of the generated pipeline."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from bench.figures import Context, Figure, Target
from bench.measure import ROOT, in_turns, time_command

TITLE = "The template: copier copy and the generated pipeline"


def run(context: Context) -> list[Figure]:
    if context.project is None or context.project_venv is None:
        print("  skipped: needs a rendered project and its environment (`nox -s bench` prepares both)")
        return []
    project, venv = context.project, context.project_venv
    copier = str(Path(sys.executable).with_name("copier"))
    copies = context.work / "copies"

    def copy() -> float:
        shutil.rmtree(copies, ignore_errors=True)
        return time_command([copier, "copy", "--defaults", "--trust", "--vcs-ref=HEAD", str(ROOT), str(copies)], ROOT)

    env = {"PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}", "VIRTUAL_ENV": str(venv)}
    repro = [str(venv / "bin" / "dvc"), "repro"]

    def from_scratch() -> float:
        """Back to the state `copier copy` left: no outputs, no dvc.lock, no DVC cache or run-cache."""
        subprocess.run(["git", "clean", "-ffdxq", "--exclude=.venv"], cwd=project, check=True)
        subprocess.run(["git", "checkout", "-q", "--", "."], cwd=project, check=True)
        return time_command(repro, project, env)

    runs = in_turns(
        {
            "copy": copy,
            "scratch": from_scratch,
            "unchanged": lambda: time_command(repro, project, env),
        },
        context.runs,
    )
    return [
        Figure(
            "copier copy --defaults --trust --vcs-ref=HEAD of this template",
            runs["copy"],
            target=Target.median_at_most(1.5),
            notes=["Peers: cookiecutter-data-science 0.5-1.0 s, other copier templates 0.7-1.5 s."],
        ),
        Figure("dvc repro of the generated pipeline, from scratch", runs["scratch"], target=Target.median_at_most(20)),
        Figure("dvc repro again, nothing changed", runs["unchanged"], target=Target.median_at_most(2)),
    ]
