"""One table of exit codes: every error class in spiralkit belongs to a category, one code per meaning."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import spiralkit
from spiralkit import errors

DOC = Path(__file__).resolve().parents[1] / "docs" / "errors.md"


def every_error_class() -> set[type[errors.SpiralError]]:
    for module in pkgutil.walk_packages(spiralkit.__path__, "spiralkit."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    found: set[type[errors.SpiralError]] = set()
    todo = [errors.SpiralError]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.add(sub)
            todo.append(sub)
    return found


def test_each_category_has_its_own_code() -> None:
    codes = [category.exit_code for category in errors.CATEGORIES]
    assert len(codes) == len(set(codes))
    assert all(
        category.__doc__ and category.__doc__.startswith(f"{category.exit_code}: ") for category in errors.CATEGORIES
    )


def test_every_error_class_inherits_its_code_from_a_category() -> None:
    for cls in every_error_class():
        category = next(base for base in cls.__mro__ if base in errors.CATEGORIES)
        assert cls.exit_code == category.exit_code, f"{cls.__module__}.{cls.__name__} sets its own exit code"
        assert "exit_code" not in vars(cls) or cls in errors.CATEGORIES, f"{cls.__name__}: inherit, do not set"


def test_the_doc_shows_the_table() -> None:
    page = DOC.read_text(encoding="utf-8")
    for category in errors.CATEGORIES:
        meaning = " ".join(category.__doc__.partition(": ")[2].split())  # type: ignore[union-attr]
        assert f"| {category.exit_code} | `{category.__name__}` | {meaning} |" in page
