"""`copier update` between two tagged template versions keeps the user's edits and takes the template's."""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml
from copier import run_update
from helpers import ROOT, render, run

USER_LINE = "Our team's rule: ask Ana before changing the threshold."
TEMPLATE_LINE = "> Generated with spiralkit; `copier update` keeps this project current."


def snapshot_template(dst: Path) -> Path:
    """Copy this working tree's template (tracked and new files) into a repository of its own."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in listed:
        if (ROOT / name).is_file() and name.split("/")[0] in {"copier.yml", "pyproject.toml", "template", "hooks"}:
            (dst / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dst / name)
    run(["git", "init", "-q"], dst)
    return dst


def commit_and_tag(repo: Path, tag: str) -> None:
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-qm", f"template {tag}"], repo)
    run(["git", "tag", tag], repo)


@pytest.fixture
def template_v1(tmp_path: Path) -> Path:
    template = snapshot_template(tmp_path / "template-repo")
    commit_and_tag(template, "v1")
    return template


def test_update_keeps_user_edits_and_brings_template_changes(template_v1: Path, tmp_path: Path) -> None:
    project = render(tmp_path / "churn-model", src=template_v1, vcs_ref="v1")
    readme = project / "README.md"
    readme.write_text(readme.read_text() + f"\n{USER_LINE}\n")
    run(["git", "commit", "-qam", "Note our team's rule"], project)

    template_readme = template_v1 / "template" / "README.md.jinja"
    title, rest = template_readme.read_text().split("\n", 1)
    template_readme.write_text(f"{title}\n\n{TEMPLATE_LINE}\n{rest}")
    commit_and_tag(template_v1, "v2")

    run_update(project, defaults=True, overwrite=True, unsafe=True, quiet=True, vcs_ref="v2")

    updated = readme.read_text()
    assert USER_LINE in updated
    assert TEMPLATE_LINE in updated
    assert not list(project.rglob("*.rej"))
    changed = run(["git", "diff", "--name-only"], project).stdout.split()
    for name in changed:
        text = (project / name).read_text()
        assert "<<<<<<<" not in text, name
        assert ">>>>>>>" not in text, name
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["_commit"] == "v2"


def test_update_merges_parameters_and_keeps_answers(template_v1: Path, tmp_path: Path) -> None:
    project = render(tmp_path / "fraud-radar", {"aws_region": "eu-west-1"}, src=template_v1, vcs_ref="v1")
    params = project / "params.yaml"
    params.write_text(params.read_text().replace("C: 1.0", "C: 0.3"))
    run(["git", "commit", "-qam", "Tune C"], project)
    (template_v1 / "template" / "params.yaml").write_text(
        (template_v1 / "template" / "params.yaml").read_text().replace("seed: 42", "seed: 7")
    )
    commit_and_tag(template_v1, "v2")

    run_update(project, defaults=True, overwrite=True, unsafe=True, quiet=True, vcs_ref="v2")

    merged = params.read_text()
    assert "C: 0.3" in merged
    assert "seed: 7" in merged
    assert 'region = "eu-west-1"' in (project / "pyproject.toml").read_text()


def test_a_local_project_adds_production_through_update(template_v1: Path, tmp_path: Path) -> None:
    """Start without AWS, then answer `production` yes: the operations files and settings arrive, edits stay."""
    project = render(tmp_path / "case-triage", {"production": False}, src=template_v1, vcs_ref="v1")
    operations = ["infra/stack.yaml", "Dockerfile", ".dockerignore", ".devcontainer/devcontainer.json",
                  ".github/workflows/deploy.yml", ".github/workflows/lock.yml"]  # fmt: skip
    assert [name for name in operations if (project / name).exists()] == []
    assert tomllib.loads((project / "pyproject.toml").read_text())["tool"]["spiral"] == {"project": "case-triage"}
    params = project / "params.yaml"
    params.write_text(params.read_text().replace("C: 1.0", "C: 0.3"))
    run(["git", "commit", "-qam", "Tune C"], project)

    run_update(project, data={"production": True}, defaults=True, overwrite=True, unsafe=True, quiet=True)

    assert [name for name in operations if not (project / name).is_file()] == []
    spiral = tomllib.loads((project / "pyproject.toml").read_text())["tool"]["spiral"]
    assert (spiral["region"], spiral["job_queue"]) == ("us-east-1", "case-triage-queue")
    assert {"batch", "workstation"} <= spiral.keys()
    assert "C: 0.3" in params.read_text()
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["production"] is True
