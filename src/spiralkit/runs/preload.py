"""Which modules the warm parent imports: ``[tool.spiral.local] preload``, else what the project's code imports.

The default is every module the project's own code under ``src/`` imports (``import sklearn.linear_model``,
``from pyarrow import parquet``) from an installed package outside the standard library, declared or not,
and what the spiralkit helpers it imports import when called (``spiralkit.models``: skops):
``import pyarrow`` costs a stage the same whether pyarrow came with spiralkit or was declared. For
``from a import b``, ``a.b`` is offered too, in case ``b`` is a submodule (``from sklearn import metrics``);
the warm parent skips a name that is no module. The project's own modules are never preloaded: a stage
must run the code as it is on disk.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from collections.abc import Iterable
from pathlib import Path

import spiralkit
from spiralkit.config import ProjectConfig
from spiralkit.errors import ConfigError


def modules(project: ProjectConfig) -> list[str]:
    """The modules to preload for ``project``, in a stable order."""
    listed = project.section("local").get("preload")
    if listed is not None:
        if not isinstance(listed, list) or not all(isinstance(name, str) for name in listed):
            raise ConfigError("[tool.spiral.local] preload must be a list of module names")
        return list(listed)
    files = _package_files(project.root)
    own = {path.relative_to(project.root / "src").parts[0].removesuffix(".py") for path in files}
    names = imported(files)
    names |= imported(_helper_files(names), inside_functions=True)
    tops = {name.split(".")[0] for name in names} - own - set(sys.stdlib_module_names)
    installed = {top for top in tops if _installed(top)}
    return sorted(name for name in names if name.split(".")[0] in installed)


def _helper_files(names: Iterable[str]) -> list[Path]:
    """The files of the spiralkit modules among ``names``. Their functions import heavy libraries when called
    (``spiralkit.models`` imports skops, 1.3 s, only to save or load a model) so that the ``spiral`` CLI
    stays quick; a stage that calls them pays those imports, so they are preloaded too.

    Found from spiralkit's own directory, not with ``importlib.util.find_spec``, which imports a dotted
    name's parents (``spiralkit.tables.read_table`` would cost this process pyarrow).
    """
    package = Path(spiralkit.__file__).parent
    files = []
    for name in names:
        if name.startswith("spiralkit."):
            path = package.joinpath(*name.split(".")[1:])
            files += [found for found in (path.with_suffix(".py"), path / "__init__.py") if found.is_file()]
    return files


def imported(files: Iterable[Path], inside_functions: bool = False) -> set[str]:
    """Absolute module names imported by ``files`` (``from a.b import c`` counts ``a.b`` and ``a.b.c``); with
    ``inside_functions``, only those imported in a function's body, when it is called."""
    names: set[str] = set()
    for path in files:
        try:
            tree = ast.parse(path.read_bytes(), str(path))
        except (SyntaxError, ValueError):
            continue  # the stage will report its own syntax error when it runs
        scopes = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]
        for node in (child for scope in (scopes if inside_functions else [tree]) for child in ast.walk(scope)):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names if alias.name != "*")
    return names


def _package_files(root: Path) -> list[Path]:
    return sorted((root / "src").glob("*/**/*.py")) if (root / "src").is_dir() else []


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False
