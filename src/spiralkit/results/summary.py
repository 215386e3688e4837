"""The headline of a run in Markdown, for a GitHub job summary or a pull-request comment.

Metrics with their change against prod, the params that differ, and where the full report is: what a
reviewer needs to decide without opening anything else.
"""

from __future__ import annotations

from spiralkit.results.client import Run
from spiralkit.results.compare import Comparison
from spiralkit.results.cost import Cost
from spiralkit.results.drift import MOVED, Since
from spiralkit.results.text import delta, number


def markdown(
    run: Run, comparison: Comparison | None, report: str, cost: Cost | None = None, since: Since | None = None
) -> str:
    """``run``'s headline against ``comparison.base`` (prod), pointing at ``report``."""
    lines = [f"### {run.record.project}: {run.namespace} run `{run.id}`", ""]
    if comparison is None:
        lines += ["No complete prod run to compare with yet.", "", "| metric | value |", "|---|---:|"]
        lines += [f"| {name} | {number(value)} |" for name, value in run.metrics.items()]
    else:
        previous = "the previous prod run" if run.namespace == "prod" else "prod"
        lines += [
            f"Against {previous} `{comparison.base.id}`:",
            "",
            "| metric | this run | prod | change |",
            "|---|---:|---:|---:|",
        ]
        lines += [
            f"| {c.name} | {number(c.after)} | {number(c.before)} | {delta(c) or 'same'} |" for c in comparison.metrics
        ]
        if comparison.params:
            changed = ", ".join(f"`{c.name}` {c.before} → {c.after}" for c in comparison.params)
            lines += ["", f"Params that differ: {changed}."]
        lines += ["", f"Data: {len(comparison.data)} output(s) differ from prod, {comparison.same_data} the same."]
        lines += _since(since) if since else []
    if cost is not None:
        lines += ["", f"Cost: {cost.line()}."]
    lines += ["", f"Report: {report}", ""]
    return "\n".join(lines)


def _since(since: Since) -> list[str]:
    """Tables whose row count changed, and the input columns that moved, the largest first (five at most)."""
    lines = []
    changed = [f"`{t.path}` {number(t.before)} → {number(t.after)}" for t in since.rows if t.before != t.after]
    if changed:
        lines += ["", f"Rows: {', '.join(changed)}."]
    moved = [d for d in since.drift if d.value >= MOVED]
    if moved:
        worst = ", ".join(f"`{d.column}` {d.measure} {d.value:.2f}" for d in moved[:5])
        lines += ["", f"Input drift, {len(moved)} column(s) moved: {worst}."]
    return lines
