"""pyproject.toml, with a line number for each requirement: tomllib gives values, not positions."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spiralkit.lock.errors import LockSourceError


@dataclass(frozen=True)
class Pyproject:
    name: str
    data: dict[str, Any]
    lines: list[str]

    def table(self, *keys: str) -> dict[str, Any]:
        """The table at ``keys`` (``"tool", "conda-lock"``), empty when absent."""
        table = self.data
        for key in keys:
            table = table.get(key, {})
        return table

    def where(self, needle: str, section: str = "", key: str = "") -> str:
        """``pyproject.toml:<line>`` of ``needle``, looked for from ``[section]`` and its ``key =``.

        Searching from the section tells apart the same requirement in two places (main and dev).
        """
        start = next((i for i, line in enumerate(self.lines) if line.strip() == f"[{section}]"), 0)
        if key:
            pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
            lines = range(start, len(self.lines))
            start = next((i for i in lines if pattern.match(self.lines[i])), start)
        hits = [i for i, line in enumerate(self.lines) if needle in line]
        found = next((i for i in hits if i >= start), hits[0] if hits else 0)
        return f"{self.name}:{found + 1}"


def read_pyproject(path: Path) -> Pyproject:
    if not path.is_file():
        raise LockSourceError(f"{path.name} not found in {path.parent}")
    text = path.read_text(encoding="utf-8")
    try:
        return Pyproject(path.name, tomllib.loads(text), text.splitlines())
    except tomllib.TOMLDecodeError as error:
        found = re.search(r"line (\d+)", str(error))
        raise LockSourceError(f"{path.name}:{found[1] if found else 1}: not valid TOML: {error}") from error
