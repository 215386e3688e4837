"""Odd but valid answers render a project whose every file parses back to them; answers that would break it are
refused with a message saying what a valid one looks like; a destination folder that names no valid project still
gets a valid default."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from generated_files import assert_answers_arrived
from helpers import ROOT, render
from jinja2 import Environment, FileSystemLoader

NAMES = Environment(loader=FileSystemLoader(ROOT), autoescape=False).get_template("hooks/names.jinja").module
PYENV = Path.home() / ".pyenv" / "versions"


def rendered_answers(dst: Path, data: dict[str, Any]) -> dict[str, Any]:
    """Render without the tasks (no lock, no git) and return every recorded answer."""
    render(dst, data, skip_tasks=True)
    answers = yaml.safe_load((dst / ".copier-answers.yml").read_text())
    return {key: value for key, value in answers.items() if not key.startswith("_")}


@pytest.mark.parametrize(
    "data",
    [
        pytest.param({"description": 'Flag the "risky" cases first'}, id="double-quote"),
        pytest.param({"description": "Paths like C:\\data\\ and a final \\"}, id="backslash"),
        pytest.param({"description": "Templated {{ like this }} {% raw %} and {braces}"}, id="braces"),
        pytest.param({"description": "- *not* a list, # not a heading, <b>not</b> html & `no` code"}, id="markdown"),
        pytest.param({"description": "1. Costs $HOME and 100% of 'quotes'"}, id="ordered-list-and-dollar"),
        pytest.param({"author_name": 'Ana "Q" O\'Neil \\ Data'}, id="author-quotes"),
        pytest.param({"author_email": "o'neil+ml@acme.co.uk", "license": "MIT"}, id="email-apostrophe"),
        pytest.param({"project_name": "yes", "batch_job_queue": "on", "ecr_repository": "null"}, id="yaml-words"),
        pytest.param({"project_name": "off", "batch_job_queue": "1e3", "ecr_repository": "123"}, id="yaml-numbers"),
        pytest.param({"batch_job_queue": "q" * 124}, id="queue-longest"),
        pytest.param({"description": "Ünïcödé — prédictions “quoted” 数据"}, id="unicode"),
        pytest.param({"production": False, "description": "Local first: no AWS yet"}, id="no-production"),
    ],
)
def test_odd_but_valid_answers_reach_every_file_intact(tmp_path: Path, data: dict[str, Any]) -> None:
    answers = rendered_answers(tmp_path / "churn-model", data)
    assert {key: answers[key] for key in data} == data
    assert_answers_arrived(tmp_path / "churn-model", answers)


@pytest.mark.parametrize(
    ("question", "answer", "message"),
    [
        pytest.param("package_name", "json", "standard library's json module: try json_model", id="stdlib-json"),
        pytest.param("package_name", "test", "standard library's test module", id="stdlib-test"),
        pytest.param("package_name", "numpy", "shadow numpy, which the project installs", id="dependency-numpy"),
        pytest.param("package_name", "sklearn", "shadow sklearn", id="dependency-sklearn"),
        pytest.param("package_name", "spiralkit", "shadow spiralkit", id="dependency-spiralkit"),
        pytest.param("project_name", "pandas", "a package the project depends on", id="project-pandas"),
        pytest.param("description", "Churn ", "must not start or end with a space", id="trailing-space"),
        pytest.param("author_name", " Ana", "must not start or end with a space", id="leading-space"),
        pytest.param("description", "two\tcolumns", "one line of printable text", id="tab"),
        pytest.param("description", "line\u2028separator", "one line of printable text", id="unicode-line-break"),
        pytest.param("author_email", 'ana"@acme.io', "no spaces, quotes or backslashes", id="email-quote"),
        pytest.param("batch_job_queue", "q" * 125, "<queue>-gpu fits AWS Batch's 128", id="queue-gpu-suffix"),
        pytest.param("ecr_repository", "ml//churn", "parts separated by '/'", id="ecr-empty-part"),
        pytest.param("ecr_repository", "churn_-model", "single '-', '_'", id="ecr-double-separator"),
        pytest.param("github_repository", "acme/..", "owner/name as GitHub spells them", id="github-dots"),
        pytest.param("github_repository", "ac.me/churn", "owner of 1-39 letters, digits and '-'", id="github-owner"),
    ],
)
def test_an_answer_that_would_break_the_project_is_refused(
    tmp_path: Path, question: str, answer: str, message: str
) -> None:
    with pytest.raises(ValueError, match=question) as refused:
        render(tmp_path / "churn-model", {question: answer}, skip_tasks=True)
    assert message in str(refused.value)
    assert not (tmp_path / "churn-model").exists()


@pytest.mark.parametrize(
    ("folder", "project", "package"),
    [
        pytest.param("Case Triage", "case-triage", "case_triage", id="spaces-and-capitals"),
        pytest.param("fraud_radar.v2", "fraud-radar-v2", "fraud_radar_v2", id="underscore-and-dot"),
        pytest.param("2024_data", "case-triage", "case_triage", id="digit-first"),
        pytest.param("x", "case-triage", "case_triage", id="too-short"),
        pytest.param("ab--c!", "case-triage", "case_triage", id="punctuation"),
        pytest.param("json", "json", "json_model", id="stdlib-name"),
        pytest.param("class", "class", "class_model", id="keyword"),
    ],
)
def test_the_destination_folder_gives_a_valid_default_or_the_example(
    tmp_path: Path, folder: str, project: str, package: str
) -> None:
    """Copier checks a default before it asks: one made from a folder like `2024_data` must still be valid."""
    answers = rendered_answers(tmp_path / folder, {})
    assert (answers["project_name"], answers["package_name"]) == (project, package)


def _stdlib(python: Path) -> set[str]:
    listed = subprocess.run(
        [str(python), "-c", "import sys; print(*sys.stdlib_module_names)"], capture_output=True, text=True, check=True
    )
    return {name for name in listed.stdout.split() if name == name.lower()}


def test_the_refused_module_names_hold_every_stdlib_module_of_each_supported_python() -> None:
    pythons = [Path(sys.executable), *sorted(PYENV.glob("3.1[123].*/bin/python3"))]
    for python in pythons:
        assert _stdlib(python) <= set(NAMES.stdlib_modules), python


def test_the_refused_module_names_hold_the_project_dependencies_top_level_modules() -> None:
    pyproject = (ROOT / "template" / "pyproject.toml.jinja").read_text()
    for module in ("pandas", "yaml", "sklearn", "spiralkit", "numpy", "pyarrow", "dvc", "boto3", "conda_lock"):
        assert module in NAMES.dependency_modules, module
    for distribution in ("pandas", "pyyaml", "scikit-learn", "spiralkit", "nox", "pytest", "ruff", "pre-commit"):
        assert f'"{distribution}>=' in pyproject or f'"{distribution}==' in pyproject, distribution
        assert distribution in NAMES.dependency_distributions, distribution
