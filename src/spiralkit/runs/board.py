"""The live display of a local run: each stage waiting, running, done, reused, failed or skipped, with its
time and its log.

On a terminal the table is redrawn in place; elsewhere (CI, a pipe) one line is printed per change.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

ENDED = ("done", "reused", "failed", "skipped")


@dataclass
class Row:
    state: str = "waiting"
    started: float = 0.0
    ended: float = 0.0
    how: str = ""


class Board:
    """Stage states for the run whose logs are in ``logs``."""

    def __init__(self, names: Sequence[str], logs: Path, out: TextIO | None = None) -> None:
        self.rows = {name: Row() for name in names}
        self.logs = logs
        self.out = out or sys.stdout
        self.live = self.out.isatty()
        self._drawn = 0

    def log(self, name: str) -> Path:
        return self.logs / f"{name.replace('/', '_')}.log"

    def set(self, name: str, state: str, how: str = "") -> None:
        row = self.rows[name]
        row.state, row.how = state, how or row.how
        if state == "running":
            row.started = time.monotonic()
        elif state in ENDED:
            row.ended = time.monotonic()
        if not self.live:
            print(f"  {self._line(name)}", file=self.out, flush=True)

    def draw(self) -> None:
        """Redraw the table (on a terminal only)."""
        if not self.live:
            return
        lines = [self._line(name) for name in self.rows]
        counts = {state: sum(row.state == state for row in self.rows.values()) for state in ("running", *ENDED)}
        lines.append(", ".join(f"{count} {state}" for state, count in counts.items() if count))
        up = f"\x1b[{self._drawn}F" if self._drawn else ""
        self.out.write(up + "".join(f"\x1b[2K{line}\n" for line in lines))
        self.out.flush()
        self._drawn = len(lines)

    def echo(self, inner: Callable[[str], None]) -> Callable[[str], None]:
        """``inner`` for messages, quiet on a terminal (the table says it) but for what matters."""
        return (lambda text: None) if self.live else inner

    def _line(self, name: str) -> str:
        row = self.rows[name]
        if row.state == "running":
            seconds = f"{time.monotonic() - row.started:6.1f}s"
        elif row.started and row.ended:
            seconds = f"{row.ended - row.started:6.1f}s"
        else:
            seconds = " " * 7
        width = max(map(len, self.rows))
        log = f"  {self.log(name)}" if row.state in ("running", "done", "failed") else ""
        how = f" ({row.how})" if row.how and row.state in ("running", "done") else ""
        return f"{row.state:8} {name:{width}} {seconds}{log}{how}"


def tail(path: Path, lines: int = 15) -> str:
    """The last ``lines`` lines of a log, for a failure message."""
    if not path.is_file():
        return "(no log)"
    text = path.read_text(encoding="utf-8", errors="replace").rstrip().splitlines()
    return "\n".join(f"    {line}" for line in text[-lines:]) or "    (empty log)"
