"""The environment's two sources, read as conda-lock reads them, and checked before anything runs.

environment.yml holds the conda side (channels, platforms, python, conda-only packages);
pyproject.toml holds the Python packages, once. conda-lock silently keeps the last of two entries
for one package, and quietly falls back to default platforms, so this module refuses both, naming
the file and the line.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conda_lock.src_parser.conda_common import conda_spec_to_versioned_dep
from conda_lock.src_parser.markers import evaluate_marker
from conda_lock.src_parser.pyproject_toml import parse_python_requirement
from conda_lock.src_parser.selectors import filter_platform_selectors
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from spiralkit.lock import names
from spiralkit.lock.environment_file import Entry, read_environment
from spiralkit.lock.errors import LockSourceError
from spiralkit.lock.platforms import supported_platforms

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
    pyproject, lines = _read_toml(root / PYPROJECT)
    settings = _get(pyproject, "tool", "spiral", "lock")
    if unknown := sorted(set(settings) - {"conda-names"}):
        where = f"{PYPROJECT}:{_line(lines, unknown[0], 'tool.spiral.lock')}"
        raise LockSourceError(
            f"{where}: unknown key {unknown[0]!r} in [tool.spiral.lock]; known: conda-names"
        )
    lookup = names.lookup_file(names.conda_names(settings.get("conda-names", {})))
    conda_lock = _get(pyproject, "tool", "conda-lock")
    platforms = [(p.value, p.where) for p in environment.platforms]
    platforms += [
        (p, f"{PYPROJECT}:{_line(lines, p, 'tool.conda-lock')}")
        for p in conda_lock.get("platforms", [])
    ]
    known = supported_platforms(root)
    for platform, where in platforms:
        if platform not in known:
            raise LockSourceError(
                f"{where}: unknown platform {platform!r}; conda-lock can lock "
                f"{', '.join(sorted(known))}"
            )
    if not platforms:
        raise LockSourceError(
            f"{ENVIRONMENT}: no `platforms:` list; add the platforms to lock, e.g. linux-64"
        )
    ordered = tuple(dict.fromkeys(p for p, _ in platforms))
    declared = [_conda_entry(e, ordered) for e in environment.conda]
    declared += [_pip_entry(e, ordered, lookup) for e in environment.pip]
    declared += _pyproject_entries(pyproject, lines, ordered, lookup)
    _refuse_duplicates(declared)
    return Sources(root=root, platforms=ordered, declared=tuple(declared), lookup=lookup)


def _read_toml(path: Path) -> tuple[dict[str, Any], list[str]]:
    if not path.is_file():
        raise LockSourceError(f"{path.name} not found in {path.parent}")
    text = path.read_text(encoding="utf-8")
    try:
        return tomllib.loads(text), text.splitlines()
    except tomllib.TOMLDecodeError as error:
        found = re.search(r"line (\d+)", str(error))
        raise LockSourceError(
            f"{path.name}:{found[1] if found else 1}: not valid TOML: {error}"
        ) from error


def _get(table: dict[str, Any], *keys: str) -> dict[str, Any]:
    for key in keys:
        table = table.get(key, {})
    return table


def _line(lines: list[str], needle: str, section: str = "", key: str = "") -> int:
    """The line of ``needle`` in a TOML file, searching from ``[section]`` and its ``key = ``."""
    start = next((i for i, line in enumerate(lines) if line.strip() == f"[{section}]"), 0)
    if key:
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
        start = next((i for i in range(start, len(lines)) if pattern.match(lines[i])), start)
    hits = [i for i, line in enumerate(lines) if needle in line]
    return next((i for i in hits if i >= start), hits[0] if hits else 0) + 1


def _conda_entry(entry: Entry, platforms: tuple[str, ...]) -> Declared:
    try:
        dep = conda_spec_to_versioned_dep(entry.value, "main")
    except RuntimeError as error:
        raise LockSourceError(
            f"{entry.where}: {entry.value!r} is not a conda package spec"
        ) from error
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
    return Declared(
        key, entry.value, requirement.url or str(requirement.specifier), entry.where, applies
    )


def _marker(requirement: Requirement) -> str | None:
    return str(requirement.marker) if requirement.marker else None


def _conda_name(pypi_name: str, lookup: Path) -> str:
    return str(parse_python_requirement(canonicalize_name(pypi_name), mapping_url=str(lookup)).name)


def _pyproject_entries(
    pyproject: dict[str, Any], lines: list[str], platforms: tuple[str, ...], lookup: Path
) -> list[Declared]:
    """Every requirement conda-lock reads from pyproject.toml, from the sections it reads."""
    project = pyproject.get("project", {})
    groups = [("project", "dependencies", project.get("dependencies", []))]
    groups += [
        ("project.optional-dependencies", extra, reqs)
        for extra, reqs in project.get("optional-dependencies", {}).items()
    ]
    declared = []
    for section, key, requirements in groups:
        for text in requirements:
            where = f"{PYPROJECT}:{_line(lines, text, section, key)}"
            try:
                dep = parse_python_requirement(text, mapping_url=str(lookup))
            except (InvalidRequirement, ValueError) as error:
                raise LockSourceError(
                    f"{where}: {text!r} is not a requirement: {_first_line(error)}"
                ) from error
            pin = str(getattr(dep, "version", None) or getattr(dep, "url", ""))
            applies = frozenset(p for p in platforms if evaluate_marker(dep.markers, p))
            declared.append(Declared(_conda_name(dep.name, lookup), text, pin, where, applies))
    conda_only = _get(pyproject, "tool", "conda-lock", "dependencies")
    for name, pin in conda_only.items():
        if isinstance(
            pin, str
        ):  # a table such as {source = "pypi"} only says where `name` comes from
            where = f"{PYPROJECT}:{_line(lines, name, 'tool.conda-lock.dependencies')}"
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
