"""`spiral lock check`: passes on a fresh lock, fails after any edit that changes what is locked."""

from __future__ import annotations

from pathlib import Path

import pytest
from conda_lock.content_hash import compute_content_hashes
from conda_lock.lockfile import parse_conda_lock_file
from conda_lock.src_parser import make_lock_spec
from conda_lock.virtual_package import default_virtual_package_repodata
from lockfiles import edit, template_project, write_lock

from spiralkit.cli import main
from spiralkit.lock import check, sources
from spiralkit.lock.errors import StaleLockError
from spiralkit.lock.spec import content_hashes


@pytest.fixture
def locked(tmp_path: Path) -> Path:
    """The default project with a lock of its current sources."""
    project = template_project(tmp_path / "churn-model")
    write_lock(project)
    return project


def test_a_fresh_lock_passes(locked: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    verdict = check(locked)
    assert verdict.startswith("conda-lock.yml matches its sources on linux-64, linux-aarch64")
    monkeypatch.chdir(locked)
    assert main(["lock", "check"]) == 0


def test_the_hash_is_conda_locks_own(locked: Path) -> None:
    """Recomputed with conda-lock's parser and hash function, as `conda-lock lock` does."""
    spec = make_lock_spec(
        src_files=[locked / "environment.yml", locked / "pyproject.toml"],
        mapping_url=str(sources.read(locked).lookup),
    )
    expected = compute_content_hashes(spec, default_virtual_package_repodata())
    assert content_hashes(sources.read(locked)) == expected
    assert parse_conda_lock_file(locked / "conda-lock.yml").metadata.content_hash == expected


# id: (file, old, new, what the message must say)
EDITS = {
    "python-version": (
        "environment.yml",
        "python=3.12",
        "python=3.13",
        "environment.yml:12: python changed from 3.12.* to 3.13.*",
    ),
    "conda-only-package": (
        "environment.yml",
        "  - pip ",
        "  - graphviz\n  - pip ",
        "environment.yml:13: added graphviz *",
    ),
    "new-platform": (
        "environment.yml",
        "  - osx-64 ",
        "  - osx-64\n  - win-64 ",
        "platform win-64 is not locked yet",
    ),
    "dropped-platform": (
        "environment.yml",
        "  - osx-64 ",
        "  # - osx-64 ",
        "platform osx-64 is locked but no longer in the sources",
    ),
    "channel": (
        "environment.yml",
        "  - conda-forge",
        "  - bioconda\n  - conda-forge",
        "channels changed from ['conda-forge'] to ['bioconda', 'conda-forge']",
    ),
    "runtime-package": (
        "pyproject.toml",
        '  "pyyaml>=6",',
        '  "pyyaml>=6",\n  "lightgbm>=4.3",',
        "pyproject.toml:17: added lightgbm >=4.3",
    ),
    "pin": (
        "pyproject.toml",
        '"pandas>=2.1"',
        '"pandas>=2.2"',
        "pyproject.toml:15: pandas changed from >=2.1 to >=2.2",
    ),
    "dev-tool-removed": (
        "pyproject.toml",
        '  "nox>=2024.10",\n',
        "",
        "removed nox, was >=2024.10 [dev]",
    ),
    "pypi-only-package": (
        "pyproject.toml",
        'spiralkit = { source = "pypi" }',
        'spiralkit = { source = "pypi" }\npyyaml = { source = "pypi" }',
        "pyproject.toml:16: added pyyaml (from PyPI) >=6",
    ),
    "conda-name": (
        "pyproject.toml",
        "[tool.conda-lock.dependencies]",
        '[tool.spiral.lock]\nconda-names = { pyyaml = "yaml-py" }\n\n[tool.conda-lock.dependencies]',
        "pyproject.toml:16: added yaml-py >=6",
    ),
}


@pytest.mark.parametrize("case", list(EDITS), ids=list(EDITS))
def test_each_edit_of_a_source_makes_the_lock_stale(
    case: str, locked: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    file, old, new, says = EDITS[case]
    edit(locked, file, old, new)
    with pytest.raises(StaleLockError) as raised:
        check(locked)
    assert says in str(raised.value)
    assert str(raised.value).endswith(
        "Run `spiral lock` and commit conda-lock.yml, or push and let the lock workflow do it."
    )
    monkeypatch.chdir(locked)
    assert main(["lock", "check", "--allow-missing"]) == 1
    assert says in capsys.readouterr().err


def test_virtual_packages_are_part_of_the_lock(locked: Path) -> None:
    (locked / "virtual-packages.yml").write_text(
        "subdirs:\n"
        + "".join(
            f"  {p}:\n    packages:\n      __unix: '0'\n      __glibc: '2.17'\n"
            for p in ("linux-64", "linux-aarch64", "osx-arm64", "osx-64")
        )
    )
    with pytest.raises(StaleLockError, match="a setting that is not a package changed"):
        check(locked)


@pytest.mark.parametrize(
    ("file", "old", "new"),
    [
        ("environment.yml", "# Python packages go in", "# Python packages (all of them) go in"),
        ("pyproject.toml", "line-length = 100", "line-length = 110"),
        ("pyproject.toml", '"pandas>=2.1"', "'pandas>=2.1'"),
    ],
    ids=["comment", "other-table", "quoting"],
)
def test_edits_that_lock_nothing_new_keep_the_lock_fresh(locked: Path, file: str, old: str, new: str) -> None:
    edit(locked, file, old, new)
    check(locked)


def test_a_lock_without_recorded_requests_still_says_which_platforms(tmp_path: Path) -> None:
    project = template_project(tmp_path / "p")
    write_lock(project, record_requested=False)
    check(project)
    edit(project, "pyproject.toml", '"pandas>=2.1"', '"pandas>=2.2"')
    with pytest.raises(StaleLockError, match="does not record what was requested"):
        check(project)


def test_a_missing_lock_fails_the_strict_check_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = template_project(tmp_path / "churn-model")
    monkeypatch.chdir(project)
    assert main(["lock", "check"]) == 1
    assert "conda-lock.yml not found: this project has never been locked" in capsys.readouterr().err
    assert main(["lock", "check", "--allow-missing"]) == 0
    assert "does not exist yet" in capsys.readouterr().out


def test_an_unreadable_lock_is_stale(locked: Path) -> None:
    (locked / "conda-lock.yml").write_text("version: 1\nmetadata: {}\npackage: []\n")
    with pytest.raises(StaleLockError, match="cannot be read"):
        check(locked)
