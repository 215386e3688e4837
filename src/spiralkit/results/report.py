"""``spiral report``: one self-contained HTML page about a run, for people who will never open a terminal.

It says what the run found (headline metrics, with the change against the current prod run), how it
differs from prod (params), the DVC plots, how it ran (the pipeline with each stage's time and
resources), on what data (each stage's inputs and outputs: path, size, hash), in which environment,
who ran it from which commit, and why the project exists (``docs/spiral/01-problem.md`` when the
checkout has it). Everything is inline: the page makes no network request.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from html import escape
from pathlib import Path
from typing import Any

from spiralkit import __version__
from spiralkit.results import drift, graph, page, plots
from spiralkit.results.client import Run, flatten
from spiralkit.results.compare import Change, Comparison
from spiralkit.results.cost import Cost
from spiralkit.results.text import delta, number, size

PROBLEM = Path("docs/spiral/01-problem.md")


def against_prod(run: Run, prod: list[Run]) -> Run | None:
    """The prod run to compare with: prod's newest complete run, or for a prod run the one before it."""
    for candidate in prod:  # newest first
        if candidate.id == run.id or (run.namespace == "prod" and candidate.id > run.id):
            continue
        if candidate.complete:
            return candidate
    return None


def html(
    run: Run,
    comparison: Comparison | None,
    problem: str | None = None,
    cost: Cost | None = None,
    since: drift.Since | None = None,
) -> str:
    """The report of ``run`` (``comparison.other``) against ``comparison.base`` (None: nothing to compare with);
    ``since``: how its data differs from that run's (:func:`spiralkit.results.drift.since`)."""
    record = run.record
    base = comparison.base if comparison else None
    against = f"prod {base.id[:15]}" if base is not None and base.namespace == "prod" else (base.id if base else "")
    status = (
        '<span class="badge complete">complete</span>'
        if run.complete
        else '<span class="badge incomplete">incomplete</span>'
    )
    sections = [
        "<header>",
        f"<h1>{escape(record.project)}: run {escape(run.id)} {status}</h1>",
        f'<div class="meta">namespace <b>{escape(run.namespace)}</b> · started <b>{escape(record.started)}</b> by '
        f"<b>{escape(record.user)}</b> from {escape(record.origin)} ({escape(record.host)}) · on {escape(record.on)}"
        f' · commit <b class="mono">{escape(record.commit[:12])}</b></div>',
        "</header>",
    ]
    if problem:
        sections += ['<h2>The problem</h2><div class="problem">', page.markdown(_problem(problem)), "</div>"]
    sections += _metrics(run, comparison, against)
    sections += _params(run, comparison, against)
    sections += _plots(run)
    sections += ["<h2>The pipeline</h2>", f'<div class="graph">{graph.svg(run.stages)}</div>', _stages(run)]
    sections += _data(run, comparison)
    sections += _since(since, against)
    sections += _environment(run, comparison, cost)
    footer = f"made by spiral report (spiralkit {__version__}) at {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(record.project)} · {escape(run.namespace)} · {escape(run.id)}</title>"
        f"<style>{page.STYLE}</style></head><body><main>{''.join(sections)}"
        f"<footer>{escape(footer)}</footer></main></body></html>\n"
    )


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def problem_of(root: Path | None) -> str | None:
    """The project's ``docs/spiral/01-problem.md``, when there is a checkout that has it."""
    path = root / PROBLEM if root else None
    return path.read_text(encoding="utf-8") if path and path.is_file() else None


def _problem(text: str) -> str:
    """The document without its title and the italic note to the writer."""
    blocks = [block for block in text.strip().split("\n\n") if block.strip()]
    return "\n\n".join(b for b in blocks if not b.lstrip().startswith("# ") and not b.lstrip().startswith("*Spiral"))


def _metrics(run: Run, comparison: Comparison | None, against: str) -> list[str]:
    if comparison is None:
        changes = [Change(name, None, value) for name, value in run.metrics.items()]
    else:
        changes = [change for change in comparison.metrics if change.after is not None]
    if not changes:
        return ["<h2>Metrics</h2><p>No metrics recorded yet.</p>"]
    note = "" if comparison else "<p class=meta>No complete prod run to compare with yet.</p>"
    return ["<h2>Metrics</h2>", note, '<div class="cards">', *(page.card(c, against) for c in changes), "</div>"]


def _params(run: Run, comparison: Comparison | None, against: str) -> list[str]:
    differ = {change.name: change for change in comparison.params} if comparison else {}
    rows, marks = [], []
    for name, value in flatten(run.params).items():
        row = [f"<code>{escape(name)}</code>", escape(str(value))]
        if comparison:  # without a run to compare with, there is no second column to show
            before = differ[name].before if name in differ else value
            row.append(escape("-" if before is None else str(before)))
        rows.append(row)
        marks.append(name in differ)
    if not comparison:
        return ["<h2>Params</h2>", page.table(["param", "this run"], rows, marks)]
    title = f"<h2>Params</h2><p class=meta>{len(differ)} differ from {escape(against)}</p>"
    return [title, page.table(["param", "this run", against], rows, marks)]


def _plots(run: Run) -> list[str]:
    files = {path: run.read_data(out) for path, out in run.plots.items()}
    drawn = plots.plots(list(run.record.results.get("plot_specs", [])), files)
    if not drawn:
        return []
    return [
        "<h2>Plots</h2>",
        '<div class="plots">',
        *(f'<div class="plot">{plots.svg(p)}</div>' for p in drawn),
        "</div>",
    ]


def _stages(run: Run) -> str:
    rows = []
    for stage in run.stages.values():
        source = f"reused from {stage.from_run}" if stage.status == "reused" else ""
        rows.append(
            [
                f"<b>{escape(stage.name)}</b>",
                escape(stage.status),
                escape(f"{stage.seconds:.1f} s" if stage.seconds is not None else "-"),
                escape(graph.resources(stage.resources)),
                escape(_limits(stage.resources)),
                f"<span class=mono>{escape(source)}</span>",
            ]
        )
    return page.table(["stage", "status", "time", "resources", "retries / timeout", "result"], rows)


def _limits(resources: Mapping[str, Any]) -> str:
    """``2 retries, 3600 s`` from a stage's Batch settings; a dash where the run set none (a local run)."""
    parts = []
    if (retries := resources.get("retries")) is not None:
        parts.append(f"{retries} retries")
    if (timeout := resources.get("timeout")) is not None:
        parts.append(f"{timeout} s")
    return ", ".join(parts) or "-"


def _data(run: Run, comparison: Comparison | None) -> list[str]:
    changed = {change.name for change in comparison.data} if comparison else set()
    rows, marks = [], []
    for stage in run.stages.values():
        for kind, items in (("reads", stage.inputs), ("writes", stage.outputs)):
            for item in items:
                path = str(item.get("path", ""))
                rows.append(
                    [
                        escape(stage.name),
                        kind,
                        f"<code>{escape(path)}</code>",
                        escape(size(item.get("size"))),
                        f"<span class=mono>{escape(str(item.get('md5', ''))[:12])}</span>",
                    ]
                )
                marks.append(kind == "writes" and path in changed)
    note = f"<p class=meta>{len(changed)} output(s) differ from prod; highlighted.</p>" if comparison else ""
    return ["<h2>Data</h2>", note, page.table(["stage", "", "path", "size", "md5"], rows, marks)]


def _since(since: drift.Since | None, against: str) -> list[str]:
    """Rows per table and the input columns' drift against the run compared with (last week's, for prod)."""
    tables = since.rows if since else []
    if not since or not tables:
        return []
    rows = [
        [
            escape(t.stage),
            f"<code>{escape(t.path)}</code>",
            escape(number(t.before)),
            escape(number(t.after)),
            escape(delta(Change(t.path, t.before, t.after)) or "same"),
        ]
        for t in tables
    ]
    marks = [t.before != t.after for t in tables]
    section = [
        f"<h2>Data since {escape(against)}</h2>",
        page.table(["stage", "table", f"rows in {against}", "rows now", "change"], rows, marks),
    ]
    moved = since.drift
    if not moved:
        return [*section, f"<p class=meta>The input data is the same as in {escape(against)}.</p>"]
    rows = [
        [
            f"<code>{escape(d.column)}</code>",
            f"<code>{escape(d.table)}</code>",
            escape(d.measure),
            escape(f"{d.value:.3f}"),
            page.bar(d.value / drift.MOVED_A_LOT, d.level),
        ]
        for d in moved
    ]
    note = (
        "<p class=meta>Input columns, the largest drift first: PSI for numbers, total variation for categories; "
        f"{drift.MOVED} is a move, {drift.MOVED_A_LOT} a large one.</p>"
    )
    header = ["column", "table", "measure", "drift", ""]
    return [*section, note, page.table(header, rows, [d.level == "a lot" for d in moved])]


def _environment(run: Run, comparison: Comparison | None, cost: Cost | None) -> list[str]:
    record = run.record
    same = ""
    if comparison is not None:
        same = " (the same as prod's)" if not comparison.environment.changed else " (differs from prod's)"
    rows: list[tuple[str, Any]] = [
        ("environment", f"{record.environment}{same}"),
        ("commit", record.commit),
        ("ran on", f"{record.on}, {record.origin}, host {record.host}"),
        ("image", record.image or "-"),
        ("region / queue", f"{record.region or '-'} / {record.queue or '-'}"),
        ("overrides", ", ".join(f"{k}={v}" for k, v in record.overrides.items()) or "none"),
    ]
    if cost is not None:
        rows.append(("cost", cost.line()))
    return [
        "<h2>Environment</h2>",
        page.table(["", ""], [[escape(k), f"<span class=mono>{escape(number(v))}</span>"] for k, v in rows]),
    ]
