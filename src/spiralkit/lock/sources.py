"""The environment's two sources, read as conda-lock reads them, and checked before anything runs.

environment.yml holds the conda side (channels, platforms, python, conda-only packages);
pyproject.toml holds the Python packages, once. conda-lock silently keeps the last of two entries
for one package, and quietly falls back to default platforms, so this module refuses both, naming
the file and the line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from conda_lock.src_parser.conda_common import conda_spec_to_versioned_dep
from conda_lock.src_parser.markers import evaluate_marker
from conda_lock.src_parser.pyproject_toml import parse_python_requirement
from conda_lock.src_parser.selectors import filter_platform_selectors
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from spiralkit.lock import names
from spiralkit.lock.environment_file import Entry, read_environment
from spiralkit.lock.errors import LockSourceError
from spiralkit.lock.platforms import check_platforms
from spiralkit.lock.pyproject_file import Pyproject, read_pyproject

ENVIRONMENT = "environment.yml"
PYPROJECT = "pyproject.toml"


@dataclass(frozen=True)
class Declared:
    """One dependency as written: its conda-forge name (its identity), its pin and its place."""

    key: str
    text: str
    pin: str
    where: str
    platforms: frozenset[str]


@dataclass(frozen=True)
class Sources:
    """Checked sources of one project, and the name lookup that conda-lock must use with them."""

    root: Path
    platforms: tuple[str, ...]
    declared: tuple[Declared, ...]
    lookup: Path

    @property
    def files(self) -> list[Path]:
        return [self.root / ENVIRONMENT, self.root / PYPROJECT]

    def where(self, name: str) -> str:
        """``file:line`` of the package named ``name`` (conda or PyPI name), or "" if undeclared."""
        keys = {name, _conda_name(name, self.lookup)}
        return next((d.where for d in self.declared if d.key in keys), "")


def read(root: Path) -> Sources:
    """Read and check environment.yml and pyproject.toml in ``root``; raise LockSourceError."""
    environment = read_environment(root / ENVIRONMENT)
    pyproject = read_pyproject(root / PYPROJECT)
    settings = pyproject.table("tool", "spiral", "lock")
    if unknown := sorted(set(settings) - {"conda-names"}):
        where = pyproject.where(unknown[0], "tool.spiral.lock")
        raise LockSourceError(f"{where}: unknown key {unknown[0]!r} in [tool.spiral.lock]; known: conda-names")
    lookup = names.lookup_file(names.conda_names(settings.get("conda-names", {})))
    platforms = [(p.value, p.where) for p in environment.platforms]
    platforms += [
        (p, pyproject.where(p, "tool.conda-lock")) for p in pyproject.table("tool", "conda-lock").get("platforms", [])
    ]
    ordered = check_platforms(root, platforms)
    declared = [_conda_entry(e, ordered) for e in environment.conda]
    declared += [_pip_entry(e, ordered, lookup) for e in environment.pip]
    declared += _pyproject_entries(pyproject, ordered, lookup)
    _refuse_duplicates(declared)
    return Sources(root=root, platforms=ordered, declared=tuple(declared), lookup=lookup)


def _conda_entry(entry: Entry, platforms: tuple[str, ...]) -> Declared:
    try:
        dep = conda_spec_to_versioned_dep(entry.value, "main")
    except RuntimeError as error:
        raise LockSourceError(f"{entry.where}: {entry.value!r} is not a conda package spec") from error
    pin = f"{dep.version} {dep.build}" if dep.build else dep.version
    applies = frozenset(p for p in platforms if _selected(entry.line, p))
    return Declared(dep.name, entry.value, pin, entry.where, applies)


def _selected(line: str, platform: str) -> bool:
    """Whether a conda selector comment (``# [osx]``) keeps this line for ``platform``."""
    try:
        return any(filter_platform_selectors(line, platform))
    except KeyError:  # a platform that conda-lock has no selectors for: the line applies
        return True


def _pip_entry(entry: Entry, platforms: tuple[str, ...], lookup: Path) -> Declared:
    try:
        requirement = Requirement(entry.value)
    except InvalidRequirement as error:
        raise LockSourceError(
            f"{entry.where}: {entry.value!r} is not a pip requirement: {_first_line(error)}"
        ) from error
    key = _conda_name(requirement.name, lookup)
    applies = frozenset(p for p in platforms if evaluate_marker(_marker(requirement), p))
    return Declared(key, entry.value, requirement.url or str(requirement.specifier), entry.where, applies)


def _marker(requirement: Requirement) -> str | None:
    return str(requirement.marker) if requirement.marker else None


def _conda_name(pypi_name: str, lookup: Path) -> str:
    return str(parse_python_requirement(canonicalize_name(pypi_name), mapping_url=str(lookup)).name)


def _pyproject_entries(pyproject: Pyproject, platforms: tuple[str, ...], lookup: Path) -> list[Declared]:
    """Every requirement conda-lock reads from pyproject.toml, from the sections it reads."""
    project = pyproject.table("project")
    groups = [("project", "dependencies", project.get("dependencies", []))]
    groups += [
        ("project.optional-dependencies", extra, reqs)
        for extra, reqs in project.get("optional-dependencies", {}).items()
    ]
    declared = []
    for section, key, requirements in groups:
        for text in requirements:
            where = pyproject.where(text, section, key)
            try:
                dep = parse_python_requirement(text, mapping_url=str(lookup))
            except (InvalidRequirement, ValueError) as error:
                raise LockSourceError(f"{where}: {text!r} is not a requirement: {_first_line(error)}") from error
            pin = str(getattr(dep, "version", None) or getattr(dep, "url", ""))
            applies = frozenset(p for p in platforms if evaluate_marker(dep.markers, p))
            declared.append(Declared(_conda_name(dep.name, lookup), text, pin, where, applies))
    # A string is a conda package; a table such as {source = "pypi"} only says where one comes from.
    for name, pin in pyproject.table("tool", "conda-lock", "dependencies").items():
        if isinstance(pin, str):
            where = pyproject.where(name, "tool.conda-lock.dependencies")
            declared.append(Declared(name, f"{name} {pin}", pin, where, frozenset(platforms)))
    return declared


def _refuse_duplicates(declared: list[Declared]) -> None:
    for i, first in enumerate(declared):
        for second in declared[i + 1 :]:
            if first.key == second.key and first.platforms & second.platforms:
                differ = " with a different pin" if first.pin != second.pin else ""
                raise LockSourceError(
                    f"{second.where}: {second.text!r} is already declared at {first.where} as "
                    f"{first.text!r}{differ}; declare each package once "
                    f"(Python packages in {PYPROJECT})"
                )


def _first_line(error: Exception) -> str:
    """packaging's messages draw a caret under the error on further lines: keep the first."""
    return str(error).splitlines()[0]
