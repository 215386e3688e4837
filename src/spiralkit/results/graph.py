"""The pipeline as an inline SVG: stages in topological layers, left to right, each with its time and resources.

Drawn here rather than by a layout engine: a DVC pipeline is a small DAG, and a layer per longest
path from a source stage reads like ``dvc dag`` turned on its side.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from spiralkit.results.client import Stage

BOX_W, BOX_H, GAP_X, GAP_Y, PAD = 176, 66, 56, 22, 12
COLOURS = {  # fill, stroke by status
    "ran": ("#eff6ff", "#2563eb"),
    "reused": ("#f0fdf4", "#16a34a"),
    "not recorded": ("#fef2f2", "#dc2626"),
}


def layers(stages: Mapping[str, Stage]) -> dict[str, int]:
    """Each stage's column: 0 for a stage that reads from no other, else one more than its furthest upstream."""
    found: dict[str, int] = {}

    def layer(name: str) -> int:
        if name not in found:
            ups = [up for up in stages[name].upstream if up in stages]
            found[name] = 1 + max(map(layer, ups)) if ups else 0
        return found[name]

    for name in stages:
        layer(name)
    return found


def svg(stages: Mapping[str, Stage]) -> str:
    """The pipeline drawn as an ``<svg>`` element sized to fit."""
    columns = layers(stages)
    rows: dict[int, int] = {}
    place: dict[str, tuple[int, int]] = {}
    for name in stages:
        column = columns[name]
        rows[column] = rows.get(column, -1) + 1
        place[name] = (PAD + column * (BOX_W + GAP_X), PAD + rows[column] * (BOX_H + GAP_Y))
    width = PAD * 2 + (max(columns.values(), default=0) + 1) * (BOX_W + GAP_X) - GAP_X
    height = PAD * 2 + (max(rows.values(), default=0) + 1) * (BOX_H + GAP_Y) - GAP_Y
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="pipeline" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="the pipeline\'s stages">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#64748b"/></marker></defs>',
    ]
    for name, stage in stages.items():
        for up in stage.upstream:
            if up in place:
                parts.append(_edge(place[up], place[name]))
    for name, stage in stages.items():
        parts.append(_box(stage, *place[name]))
    parts.append("</svg>")
    return "".join(parts)


def _edge(start: tuple[int, int], end: tuple[int, int]) -> str:
    x1, y1 = start[0] + BOX_W, start[1] + BOX_H // 2
    x2, y2 = end[0], end[1] + BOX_H // 2
    if x2 - x1 > GAP_X:  # a long edge turns to its target's row in the first gap, clear of the boxes between
        path = f"M{x1} {y1}C{x1 + GAP_X // 2} {y1} {x1 + GAP_X // 2} {y2} {x1 + GAP_X} {y2}L{x2} {y2}"
    else:
        bend = (x2 - x1) // 2
        path = f"M{x1} {y1}C{x1 + bend} {y1} {x2 - bend} {y2} {x2} {y2}"
    return f'<path d="{path}" fill="none" stroke="#94a3b8" stroke-width="1.5" marker-end="url(#arrow)"/>'


def _box(stage: Stage, x: int, y: int) -> str:
    fill, stroke = COLOURS.get(stage.status, COLOURS["not recorded"])
    dash = ' stroke-dasharray="5 3"' if stage.status == "not recorded" else ""
    timing = f"{stage.status} · {stage.seconds:.1f} s" if stage.seconds is not None else stage.status
    lines: Sequence[tuple[str, str]] = (
        (stage.name, 'font-weight="600" font-size="14" fill="#0f172a"'),
        (timing, f'font-size="12" fill="{stroke}"'),
        (resources(stage.resources), 'font-size="11" fill="#475569"'),
    )
    text = "".join(
        f'<text x="{x + 12}" y="{y + 21 + index * 17}" {style}>{escape(line)}</text>'
        for index, (line, style) in enumerate(lines)
    )
    return (
        f'<g class="stage"><title>{escape(stage.name)}: {escape(timing)}</title>'
        f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="8" fill="{fill}" stroke="{stroke}" '
        f'stroke-width="1.5"{dash}/>{text}</g>'
    )


def resources(requested: Mapping[str, object]) -> str:
    """``2 vCPU · 4 GB · 1 GPU`` from a stage's Batch resources (memory in MiB)."""
    parts = []
    if vcpus := requested.get("vcpus"):
        parts.append(f"{vcpus} vCPU")
    if isinstance(memory := requested.get("memory"), int | float) and memory:
        parts.append(f"{memory / 1024:g} GB")
    if gpus := requested.get("gpus"):
        parts.append(f"{gpus} GPU")
    return " · ".join(parts) or "default resources"
