"""Which modules the warm parent imports: ``[tool.spiral.local] preload``, else what the project's code imports.

The default is every module the project's own package imports (``import sklearn.linear_model``,
``from pyarrow import parquet``) whose top-level package comes from one of the project's declared
dependencies and is installed. The project's own modules are never preloaded: a stage must run the
code as it is on disk.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import tomllib
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

from spiralkit.config import ProjectConfig
from spiralkit.errors import ConfigError

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def modules(project: ProjectConfig) -> list[str]:
    """The modules to preload for ``project``, in a stable order."""
    listed = project.section("local").get("preload")
    if listed is not None:
        if not isinstance(listed, list) or not all(isinstance(name, str) for name in listed):
            raise ConfigError("[tool.spiral.local] preload must be a list of module names")
        return list(listed)
    tops = dependency_modules(project.root / "pyproject.toml")
    found = {name for name in imported(_package_files(project.root)) if name.split(".")[0] in tops}
    return sorted(name for name in found if _installed(name.split(".")[0]))


def dependency_modules(pyproject: Path) -> set[str]:
    """Top-level import names of the distributions ``[project] dependencies`` declares."""
    data = tomllib.loads(pyproject.read_text(encoding="utf-8")) if pyproject.is_file() else {}
    wanted = set()
    for requirement in data.get("project", {}).get("dependencies", []):
        if match := _NAME.match(requirement):
            wanted.add(_normal(match.group(1)))
    return {top for top, dists in metadata.packages_distributions().items() if wanted & {_normal(d) for d in dists}}


def imported(files: Iterable[Path]) -> set[str]:
    """Absolute module names imported by ``files`` (``from a.b import c`` counts ``a.b``)."""
    names: set[str] = set()
    for path in files:
        try:
            tree = ast.parse(path.read_bytes(), str(path))
        except (SyntaxError, ValueError):
            continue  # the stage will report its own syntax error when it runs
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module)
    return names


def _package_files(root: Path) -> list[Path]:
    return sorted((root / "src").glob("*/**/*.py")) if (root / "src").is_dir() else []


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
