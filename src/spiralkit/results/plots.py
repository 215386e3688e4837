"""A run's DVC plots as inline SVG: dvc.yaml's plot definitions, drawn with Vega-Lite, with no browser or CDN.

The definitions come from the run record (``results.plot_specs``, dvc.yaml's top-level ``plots:``) and
the data from the run's plots files, fetched by hash. DVC's templates map to Vega-Lite marks:
``simple``/``linear``/``smooth`` draw lines, ``scatter`` points, ``bar_horizontal`` bars and
``confusion`` a heat map of counts. A plots file no definition names is drawn as DVC draws it: a line of
its last field against its first. ``vl-convert-python`` (the ``report`` extra) renders Vega-Lite to SVG
in-process.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from spiralkit.errors import SpiralError

WIDTH, HEIGHT = 320, 240


class ReportError(SpiralError):
    """A plot cannot be drawn: vl-convert-python is missing, or a plot's definition does not fit its data."""


@dataclass(frozen=True)
class Plot:
    """One plot to draw: its title, DVC template, fields, and the rows of each file it reads."""

    title: str
    template: str
    x: str
    y: str
    rows: list[dict[str, Any]]


def rows_of(data: Any) -> list[dict[str, Any]]:
    """A DVC plots file's rows: a list of records, or the first list inside a mapping (``{"roc": [...]}``)."""
    if isinstance(data, Mapping):
        data = next((value for value in data.values() if isinstance(value, list)), [])
    return [dict(row) for row in data if isinstance(row, Mapping)] if isinstance(data, list) else []


def plots(specs: list[Any], files: Mapping[str, Any]) -> list[Plot]:
    """The plots to draw from dvc.yaml's definitions and the parsed plots ``files`` by path."""
    found: list[Plot] = []
    named: set[str] = set()
    for item in specs:
        if not isinstance(item, Mapping):
            continue
        title, spec = next(iter(item.items()))
        spec = spec or {}
        y = spec.get("y")
        sources = y if isinstance(y, Mapping) else {title: y}
        for path, field in sources.items():
            if path in files:
                named.add(path)
                fields = field if isinstance(field, list) else [field]
                rows = rows_of(files[path])
                for one in fields:
                    x = spec.get("x") or "step"
                    found.append(
                        Plot(str(spec.get("title", title)), str(spec.get("template", "linear")), x, str(one), rows)
                    )
    for path, data in files.items():
        rows = rows_of(data)
        if path not in named and rows and len(rows[0]) >= 2:
            names = list(rows[0])
            found.append(Plot(path, "linear", names[0], names[-1], rows))
    return found


def vega_lite(plot: Plot) -> dict[str, Any]:
    """The Vega-Lite spec of ``plot``, in the report's look."""
    x = {"field": plot.x, "type": "quantitative", "title": plot.x}
    y = {"field": plot.y, "type": "quantitative", "title": plot.y}
    spec: dict[str, Any] = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": plot.title,
        "width": WIDTH,
        "height": HEIGHT,
        "data": {"values": plot.rows},
        "config": {"font": "system-ui, sans-serif", "view": {"stroke": None}},
    }
    if plot.template.startswith("confusion"):
        nominal_x, nominal_y = {**x, "type": "nominal"}, {**y, "type": "nominal"}
        count = {"aggregate": "count", "type": "quantitative", "title": "cases"}
        spec["encoding"] = {"x": nominal_x, "y": nominal_y}
        spec["layer"] = [
            {"mark": "rect", "encoding": {"color": {**count, "scale": {"scheme": "blues"}}}},
            {"mark": {"type": "text", "fontSize": 14}, "encoding": {"text": count}},
        ]
        spec["width"] = spec["height"] = HEIGHT
    elif plot.template == "scatter":
        spec["mark"], spec["encoding"] = {"type": "point", "filled": True}, {"x": x, "y": y}
    elif plot.template == "bar_horizontal":
        spec["mark"], spec["encoding"] = "bar", {"x": x, "y": {**y, "type": "nominal"}}
    else:
        spec["mark"], spec["encoding"] = {"type": "line", "point": True, "color": "#2563eb"}, {"x": x, "y": y}
    return spec


def svg(plot: Plot) -> str:
    """``plot`` drawn as an SVG document (no scripts, no external references)."""
    try:
        import vl_convert
    except ImportError as error:
        raise ReportError("drawing plots needs vl-convert-python: pip install 'spiralkit[report]'") from error
    try:
        return str(vl_convert.vegalite_to_svg(vega_lite(plot)))
    except ValueError as error:
        raise ReportError(f"plot {plot.title!r} cannot be drawn: {error}") from error
