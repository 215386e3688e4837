"""DVC's internals that spiralkit calls are still there, with the parameters spiralkit passes.

DVC has no public API for a stage's run-cache key, for running one stage's command apart from
``dvc repro``, or for planning a pipeline; spiralkit uses its internals for these (mostly in
``spiralkit.runs.dvcstage``). A DVC release that renames or drops one fails here, naming it, rather
than deep inside a run; pyproject.toml bounds dvc to the major version this passes with.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import tomllib
from pathlib import Path

import dvc
import pytest
from helpers import ROOT
from packaging.requirements import Requirement

import spiralkit

SRC = Path(spiralkit.__file__).parent
# The modules that may touch DVC's Python API; anything else goes through them.
ADAPTERS = {"runs/dvcstage.py"}
# Private (or internal) callables and the parameters spiralkit passes them by name or position.
CALLED_WITH = {
    "dvc.stage.cache:_get_cache_hash": {"cache", "key"},
    "dvc.stage.serialize:to_single_stage_lockfile": {"stage"},
    "dvc.stage.run:prepare_kwargs": {"stage", "run_env"},
    "dvc.stage.run:_enforce_cmd_list": {"cmd"},
    "dvc.stage.run:_make_cmd": {"executable", "cmd"},
    "dvc.stage.run:get_executable": set(),
    "dvc.repo.reproduce:collect_stages": {"repo", "targets"},
    "dvc.repo.reproduce:get_active_graph": {"graph"},
    "dvc.repo.reproduce:plan_repro": {"graph", "stages"},
    "dvc.stage:Stage.remove_outs": {"ignore_remove", "force"},
    "dvc.stage:Stage.save": {"allow_missing", "run_cache"},
    "dvc.stage:Stage.commit": {"allow_missing"},
    "dvc.utils:fix_env": {"env"},
    "dvc.utils.serialize:modify_yaml": {"path"},
    "dvc.utils.serialize:dumps_yaml": {"d"},
    "dvc.utils.serialize:dump_yaml": {"path", "data"},
    "dvc.utils.serialize:parse_yaml_for_update": {"text", "path"},
}


def _dvc_imports() -> set[tuple[str, str, str]]:
    """(module of spiralkit, DVC module, name) for every ``from dvc... import name`` in the library."""
    found = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in {"dvc", "dvc_data"}:
                found |= {(path.relative_to(SRC).as_posix(), str(node.module), alias.name) for alias in node.names}
            elif isinstance(node, ast.Import):
                assert not any(a.name.split(".")[0] in {"dvc", "dvc_data"} for a in node.names), path
    return found


IMPORTS = _dvc_imports()


def _resolve(target: str) -> object:
    module, _, name = target.partition(":")
    found: object = importlib.import_module(module)
    for part in name.split("."):
        found = getattr(found, part)
    return found


def test_the_scan_finds_the_imports_it_must() -> None:
    """A scanner that finds nothing would pass everything below: it must see the known private names."""
    names = {(module, name) for _, module, name in IMPORTS}
    assert {("dvc.stage.cache", "_get_cache_hash"), ("dvc.stage.run", "_make_cmd")} <= names


def test_only_the_adapter_modules_use_dvc() -> None:
    assert {where for where, _, _ in IMPORTS} <= ADAPTERS


@pytest.mark.parametrize(("module", "name"), sorted({(m, n) for _, m, n in IMPORTS}), ids=lambda v: v)
def test_every_dvc_name_spiralkit_imports_still_exists(module: str, name: str) -> None:
    assert hasattr(importlib.import_module(module), name), f"{module}.{name} is gone from DVC {dvc.__version__}"


@pytest.mark.parametrize(("target", "parameters"), sorted(CALLED_WITH.items()), ids=sorted(CALLED_WITH))
def test_each_internal_takes_the_parameters_spiralkit_passes(target: str, parameters: set[str]) -> None:
    taken = set(inspect.signature(_resolve(target)).parameters) - {"self"}  # type: ignore[arg-type]
    assert parameters <= taken, f"{target} in DVC {dvc.__version__} takes {sorted(taken)}"


def test_every_private_name_spiralkit_imports_is_checked_for_its_parameters() -> None:
    private = {f"{module}:{name}" for _, module, name in IMPORTS if name.startswith("_")}
    assert private <= CALLED_WITH.keys()


def test_the_installed_dvc_is_inside_the_range_pyproject_allows() -> None:
    """These tests speak for the installed DVC only: it must be one that the bound lets users install."""
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    [requirement] = [Requirement(d) for d in dependencies if Requirement(d).name == "dvc"]
    assert requirement.specifier.contains(dvc.__version__), (requirement, dvc.__version__)
    assert any(spec.operator == "<" for spec in requirement.specifier), "dvc needs an upper bound"
