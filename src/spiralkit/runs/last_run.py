"""The run this checkout started last, so ``spiral status`` with no argument finds it.

Kept in the git-ignored ``.spiral/last-run``: a pointer only; the record itself is in the store.
"""

from __future__ import annotations

from pathlib import Path

from spiralkit.runs.record import RunRecord

POINTER = Path(".spiral/last-run")


def remember(root: Path, record: RunRecord) -> None:
    path = root / POINTER
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{record.namespace} {record.run_id}\n", encoding="utf-8")


def recall(root: Path) -> tuple[str, str] | None:
    """``(namespace, run id)`` of the last run started here, or None."""
    path = root / POINTER
    if not path.is_file():
        return None
    namespace, _, run_id = path.read_text(encoding="utf-8").strip().partition(" ")
    return (namespace, run_id) if run_id else None
