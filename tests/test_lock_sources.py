"""The environment's sources: the template's are valid; a bad one gets one error naming its line."""

from __future__ import annotations

from pathlib import Path

import pytest
from lockfiles import edit, lockable, template_project

from spiralkit.cli import main
from spiralkit.lock import sources
from spiralkit.lock.errors import LockSourceError
from spiralkit.lock.spec import lock_spec


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return template_project(tmp_path / "churn-model")


def test_the_template_declares_each_package_once_in_the_right_file(project: Path) -> None:
    found = sources.read(project)
    assert found.platforms == ("linux-64", "linux-aarch64", "osx-arm64", "osx-64")
    keys = [d.key for d in found.declared]
    assert len(keys) == len(set(keys))
    assert {d.key for d in found.declared if d.where.startswith("environment.yml")} == {
        "python",
        "pip",
    }
    spec = lock_spec(found)
    deps = {(d.name, d.manager, d.category) for d in spec.dependencies["linux-64"]}
    assert ("python", "conda", "main") in deps
    assert ("pandas", "conda", "main") in deps
    assert ("spiralkit", "pip", "main") in deps  # PyPI only: [tool.conda-lock.dependencies]
    assert ("pre-commit-uv", "pip", "dev") in deps
    assert {"jupyterlab", "pytest", "pre-commit", "conda-lock"} <= {
        name for name, _, category in deps if category == "dev"
    }


def test_answers_choose_python_and_windows(tmp_path: Path) -> None:
    project = template_project(tmp_path / "p", {"python_version": "3.13", "lock_windows": True})
    found = sources.read(project)
    assert found.platforms[-1] == "win-64"
    python = next(d for d in found.declared if d.key == "python")
    assert python.pin == "3.13.*"


# id: ((file, old, new)..., (file, text on the line the error must name), words in the error)
BAD = {
    "yaml-syntax": (
        ("environment.yml", "  - pip", " - pip"),
        ("environment.yml", " - pip"),
        "not valid YAML",
    ),
    "misspelt-key": (
        ("environment.yml", "platforms:", "platform:"),
        ("environment.yml", "platform:"),
        "unknown key 'platform'",
    ),
    "number-as-package": (
        ("environment.yml", "  - pip", "  - 3.12"),
        ("environment.yml", "  - 3.12"),
        "found '3.12' (a float)",
    ),
    "bad-conda-spec": (
        ("environment.yml", "  - pip", "  - pandas>>=2"),
        ("environment.yml", "pandas>>=2"),
        "is not a conda package spec",
    ),
    "unknown-platform": (
        ("environment.yml", "  - osx-64 ", "  - macos-64 "),
        ("environment.yml", "macos-64"),
        "unknown platform 'macos-64'",
    ),
    "unknown-platform-in-pyproject": (
        (
            "pyproject.toml",
            "[tool.conda-lock.dependencies]",
            '[tool.conda-lock]\nplatforms = ["linux-arm"]\n\n[tool.conda-lock.dependencies]',
        ),
        ("pyproject.toml", "linux-arm"),
        "unknown platform 'linux-arm'",
    ),
    "two-pins-across-files": (
        ("environment.yml", "  - pip", "  - pip\n  - pandas=2.2"),
        ("pyproject.toml", '"pandas>=2.1"'),
        "already declared at environment.yml:",
    ),
    "same-package-in-main-and-dev": (
        ("pyproject.toml", '  "pytest>=8",', '  "pytest>=8",\n  "pyyaml>=6",'),
        ("pyproject.toml", '  "pyyaml>=6",\n  "ruff'),
        "'pyyaml>=6' is already declared at pyproject.toml:",
    ),
    "conda-and-pip": (
        ("environment.yml", "  - pip ", "  - pip:\n      - scikit-learn==1.5.2\n  - pip "),
        ("pyproject.toml", '"scikit-learn>=1.4"'),
        "with a different pin",
    ),
    "renamed-on-conda-forge": (
        ("environment.yml", "  - pip ", "  - pytorch=2.3\n  - pip "),
        ("pyproject.toml", '  "pyyaml>=6",', '  "pyyaml>=6",\n  "torch>=2.4",'),
        ("pyproject.toml", '"torch>=2.4"'),
        "already declared at environment.yml:",
    ),
    "toml-syntax": (
        ("pyproject.toml", '  "pandas>=2.1",', '  "pandas>=2.1"\n  "pyyaml>=5",'),
        ("pyproject.toml", '"pyyaml>=5",'),
        "not valid TOML",
    ),
    "bad-requirement": (
        ("pyproject.toml", '"pandas>=2.1"', '"pandas>>2.1"'),
        ("pyproject.toml", "pandas>>2.1"),
        "is not a requirement",
    ),
    "unknown-lock-setting": (
        (
            "pyproject.toml",
            "[tool.conda-lock.dependencies]",
            "[tool.spiral.lock]\nconda_names = {}\n\n[tool.conda-lock.dependencies]",
        ),
        ("pyproject.toml", "conda_names"),
        "unknown key 'conda_names'",
    ),
}


def _line_of(path: Path, text: str) -> int:
    content = path.read_text()
    assert content.count(text) == 1, f"{text!r} is not on exactly one line of {path.name}"
    return content[: content.index(text)].count("\n") + 1


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_a_bad_source_gets_one_error_naming_file_and_line_and_no_lock(
    case: str,
    project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    *edits, (file, text), words = BAD[case]
    for change in edits:
        edit(project, *change)
    with pytest.raises(LockSourceError) as raised:
        sources.read(project)
    message, line = str(raised.value), _line_of(project / file, text)
    assert message.startswith(f"{file}:{line}: "), message
    assert words in message
    assert "\n" not in message
    # With a solver and a channel at hand, `spiral lock` still refuses before writing anything.
    # (A pyproject.toml that is not TOML is already refused while looking for the project.)
    monkeypatch.chdir(project)
    with lockable(tmp_path / "solver", monkeypatch):
        assert main(["lock"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("spiral: error: ")
    assert err.count("\n") == 1
    assert file in err
    assert str(line) in err
    assert not (project / "conda-lock.yml").exists()


def test_selectors_may_pin_one_package_differently_per_platform(project: Path) -> None:
    edit(
        project,
        "environment.yml",
        "  - pip ",
        "  - mkl=2024  # [linux64]\n  - mkl=2023  # [osx64]\n  - pip ",
    )
    mkl = [d.platforms for d in sources.read(project).declared if d.key == "mkl"]
    assert mkl == [frozenset({"linux-64"}), frozenset({"osx-64"})]
    edit(project, "environment.yml", "# [linux64]", "# [unix]")
    with pytest.raises(LockSourceError, match="mkl=2023' is already declared"):
        sources.read(project)


def test_a_project_names_a_package_that_conda_forge_calls_differently(project: Path) -> None:
    edit(project, "pyproject.toml", '  "pyyaml>=6",', '  "pyyaml>=6",\n  "cool-lib>=1",')
    edit(
        project,
        "pyproject.toml",
        "[tool.conda-lock.dependencies]",
        '[tool.spiral.lock]\nconda-names = { cool-lib = "python-cool-lib" }\n\n[tool.conda-lock.dependencies]',
    )
    spec = lock_spec(sources.read(project))
    names = {d.name for d in spec.dependencies["linux-64"]}
    assert "python-cool-lib" in names
    assert "cool-lib" not in names
