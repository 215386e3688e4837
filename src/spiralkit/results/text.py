"""Runs and comparisons as plain text for the terminal (``spiral runs``); the report has its own HTML."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from spiralkit.results.client import Run, flatten
from spiralkit.results.compare import Change, Comparison
from spiralkit.results.cost import Cost

HEADLINE = 3  # metrics shown per run in the table


def number(value: Any) -> str:
    """Numbers to four significant figures, the rest as they are; a missing value is a dash."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def size(value: Any) -> str:
    if not isinstance(value, int | float):
        return "-"
    for unit in ("B", "kB", "MB", "GB"):
        if abs(value) < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError  # pragma: no cover - the loop returns at GB


def delta(change: Change) -> str:
    """``+0.04 (+4.4%)``, or ``changed`` for values that are not numbers, or empty when equal."""
    if not change.changed:
        return ""
    if change.delta is None:
        return "new" if change.before is None else "gone" if change.after is None else "changed"
    return f"{change.delta:+.4g}{_percent(change.ratio)}"


def size_delta(change: Change) -> str:
    """``-439 B (-11.5%)``: how much bigger or smaller a file became."""
    if change.delta is None or not change.delta:
        return ""
    return f"{'+' if change.delta > 0 else '-'}{size(abs(change.delta))}{_percent(change.ratio)}"


def _percent(ratio: float | None) -> str:
    """`` (+4.4%)``; small changes keep two decimals so they do not read as 0.0%."""
    if ratio is None:
        return ""
    return f" ({ratio:+.2%})" if abs(ratio) < 0.01 else f" ({ratio:+.1%})"


def table(rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell, two spaces apart."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)


def run_table(runs: Iterable[Run], costs: Mapping[str, Cost]) -> str:
    """One line per run; ``costs`` by run id (:func:`spiralkit.results.cost.costs`)."""
    rows: list[list[str]] = []
    names: list[str] = []
    for run in runs:
        stages = run.stages
        ran = sum(1 for stage in stages.values() if stage.status == "ran")
        done = sum(1 for stage in stages.values() if stage.status != "not recorded")
        metrics = run.metrics
        names = names or list(metrics)[:HEADLINE]
        rows.append(
            [
                run.id,
                run.started.strftime("%Y-%m-%d %H:%M"),
                run.commit[:8],
                run.record.user,
                f"{done}/{len(stages)} ({ran} ran)",
                costs[run.id].spent,
                costs[run.id].estimated,
                *(number(metrics.get(name)) for name in names),
            ]
        )
    header = ["RUN", "STARTED (UTC)", "COMMIT", "USER", "STAGES", "COST", "ESTIMATE", *names]
    return table([header, *[row + [""] * (len(header) - len(row)) for row in rows]])


def show(run: Run, cost: Cost) -> str:
    record = run.record
    lines = [
        f"run          {run.namespace}/{run.id}",
        f"started      {record.started} by {record.user} from {record.origin} ({record.host}), on {record.on}",
        f"commit       {record.commit}",
        f"environment  {record.environment}",
        f"cost         {cost.line()}",
        "",
        "metrics",
        *(f"  {name:<28} {number(value)}" for name, value in run.metrics.items()),
        "",
        "params",
        *(f"  {name:<28} {value}" for name, value in flatten(record.params).items()),
        "",
        "stages",
    ]
    rows = [["  STAGE", "STATUS", "SECONDS", "RESOURCES", "FROM RUN"]]
    for stage in run.stages.values():
        resources = ", ".join(f"{k} {v}" for k, v in stage.resources.items() if k in ("vcpus", "memory", "gpus"))
        from_run = stage.from_run if stage.from_run and stage.from_run != run.id else ""
        rows.append([f"  {stage.name}", stage.status, number(stage.seconds), resources, from_run])
    lines += [table(rows), "", "outputs"]
    rows = [["  PATH", "SIZE", "MD5", "STAGE"]]
    rows += [
        [f"  {path}", size(out.get("size")), str(out.get("md5", ""))[:12], out["stage"]]
        for path, out in run.outputs.items()
    ]
    lines.append(table(rows))
    return "\n".join(lines)


def diff(comparison: Comparison) -> str:
    base, other = comparison.base, comparison.other
    lines = [f"{other.namespace}/{other.id} against {base.namespace}/{base.id}", ""]
    for change in (comparison.commit, comparison.environment):
        text = "same" if not change.changed else f"{change.before} -> {change.after}"
        lines.append(f"{change.name:<12} {text}")
    lines += ["", "metrics"]
    rows = [["  NAME", "BEFORE", "AFTER", "CHANGE"]]
    rows += [[f"  {c.name}", number(c.before), number(c.after), delta(c)] for c in comparison.metrics]
    lines += [table(rows), "", f"params: {len(comparison.params)} differ"]
    if comparison.params:
        rows = [["  NAME", "BEFORE", "AFTER"]]
        rows += [[f"  {c.name}", _param(c.before), _param(c.after)] for c in comparison.params]
        lines.append(table(rows))
    lines += ["", f"data: {len(comparison.data)} output(s) differ, {comparison.same_data} the same"]
    if comparison.data:
        rows = [["  PATH", "BEFORE", "AFTER", "SIZE CHANGE"]]
        for c in comparison.data:
            sizes = Change(c.name, (c.before or {}).get("size"), (c.after or {}).get("size"))
            rows.append([f"  {c.name}", _version(c.before), _version(c.after), size_delta(sizes)])
        lines.append(table(rows))
    return "\n".join(lines)


def _param(value: Any) -> str:
    return "-" if value is None else str(value)


def _version(version: dict[str, Any] | None) -> str:
    return f"{str(version['md5'])[:8]} {size(version['size'])}" if version else "-"
