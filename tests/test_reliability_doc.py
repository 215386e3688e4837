"""docs/reliability.md is what `nox -s faults` printed: its figure adds up and it lists every fault case."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).parent.parent / "docs" / "reliability.md"
FIGURE = re.compile(r"(\d+) faults injected, (\d+) survived, (\d+) results lost")


def test_the_figure_matches_the_table_and_the_cases() -> None:
    text = DOC.read_text()
    match = FIGURE.search(text)
    assert match, "docs/reliability.md has no 'N faults injected, N survived, 0 results lost' figure"
    injected, survived, lost = map(int, match.groups())
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert injected == len(rows)
    assert survived == sum(line.rstrip().endswith("| survived |") for line in rows)
    assert (survived, lost) == (injected, 0), "regenerate with `nox -s faults` once every case survives"
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "faults", "-p", "no:cacheprovider"],
        capture_output=True,
        text=True,
        cwd=DOC.parent.parent,
        check=True,
    ).stdout
    cases = {line.removeprefix("tests/") for line in collected.splitlines() if "::" in line}
    documented = {line.split("`")[1] for line in rows}
    assert documented == cases, "docs/reliability.md is out of date: run `nox -s faults`"
