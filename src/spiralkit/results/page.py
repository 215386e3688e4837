"""HTML pieces of the report: the stylesheet, tables, metric cards and a little Markdown, all escaped.

No script, no font, no image is fetched: the page is one file that opens offline and looks the same
mailed, attached to a ticket or served from a bucket.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from html import escape

from spiralkit.results.compare import Change
from spiralkit.results.text import delta, number

LOWER_IS_BETTER = re.compile(r"loss|error|rmse|mae|mse|mape|brier|log_?loss|latency|seconds|cost", re.IGNORECASE)

STYLE = """
:root{--ink:#0f172a;--muted:#64748b;--line:#e2e8f0;--good:#15803d;--bad:#b91c1c;--accent:#2563eb}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:#f8fafc}
main{max-width:1100px;margin:0 auto;padding:28px 32px 48px}
header{border-bottom:1px solid var(--line);padding-bottom:14px;margin-bottom:8px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:18px;margin:30px 0 10px}
.meta{color:var(--muted);font-size:14px}.meta b{color:var(--ink);font-weight:600}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}
.badge{display:inline-block;border-radius:999px;padding:1px 10px;font-size:12px;font-weight:600;vertical-align:middle}
.complete{background:#dcfce7;color:var(--good)}.incomplete{background:#fee2e2;color:var(--bad)}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(230px,1fr));gap:12px}
.card{background:#fff;border:1px solid var(--line);border-radius:10px;padding:12px 16px;min-width:170px}
.card .name{color:var(--muted);font-size:13px}.card .value{font-size:28px;font-weight:650}
.good{color:var(--good)}.bad{color:var(--bad)}.same{color:var(--muted)}
table{border-collapse:collapse;background:#fff;border:1px solid var(--line);border-radius:8px;width:100%}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid var(--line);font-size:14px;vertical-align:top}
th{background:#f1f5f9;font-weight:600;font-size:13px;color:#334155}
tr.changed td{background:#fffbeb}
.plots{display:flex;flex-wrap:wrap;gap:16px}
.plot{background:#fff;border:1px solid var(--line);border-radius:10px;padding:8px}
.graph{background:#fff;border:1px solid var(--line);border-radius:10px;padding:8px;overflow-x:auto}
.problem{background:#fff;border:1px solid var(--line);border-radius:10px;padding:4px 18px}
.bar{display:inline-block;width:120px;height:10px;background:#f1f5f9;border-radius:5px;overflow:hidden}
.bar span{display:block;height:100%;background:currentColor}.warn{color:#d97706}
footer{margin-top:36px;color:var(--muted);font-size:12px}
"""


def table(header: Sequence[str], rows: Iterable[Sequence[str]], changed: Iterable[bool] = ()) -> str:
    """An HTML table; cells are HTML already (escape text with :func:`escape` first)."""
    marks = list(changed)
    head = "".join(f"<th>{escape(cell)}</th>" for cell in header)
    body = "".join(
        f"<tr{' class=changed' if index < len(marks) and marks[index] else ''}>"
        + "".join(f"<td>{cell}</td>" for cell in row)
        + "</tr>"
        for index, row in enumerate(rows)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def card(change: Change, against: str) -> str:
    """A headline metric: its value and the change against ``against`` (green when it is better)."""
    moved = delta(change) if change.before is not None else ""
    if change.delta:
        better = (change.delta < 0) if LOWER_IS_BETTER.search(change.name) else (change.delta > 0)
        tone, arrow = ("good" if better else "bad"), ("▲" if change.delta > 0 else "▼")
        moved = f'<span class="{tone}">{arrow} {escape(moved)}</span> <span class="same">vs {escape(against)}</span>'
    elif change.before is not None:
        moved = f'<span class="same">same as {escape(against)}</span>'
    return (
        f'<div class="card"><div class="name">{escape(change.name)}</div>'
        f'<div class="value">{escape(number(change.after))}</div><div>{moved}</div></div>'
    )


def bar(fraction: float, level: str) -> str:
    """A small inline bar, full at ``fraction`` 1 (longer values are cut), coloured by ``level``."""
    width = round(100 * min(max(fraction, 0.0), 1.0))
    tone = {"a lot": "bad", "moved": "warn"}.get(level, "same")
    return f'<span class="bar"><span class="{tone}" style="width:{width}%"></span></span> {escape(level)}'


def markdown(text: str) -> str:
    """The little Markdown the spiral documents use: headings, paragraphs, lists, bold, italics, code."""
    blocks = []
    for block in re.split(r"\n\s*\n", text.strip()):
        if block.startswith("#"):
            level = min(len(block) - len(block.lstrip("#")) + 2, 6)
            blocks.append(f"<h{level}>{_inline(block.lstrip('#').strip())}</h{level}>")
        elif all(line.lstrip().startswith(("- ", "* ")) for line in block.splitlines()):
            items = "".join(f"<li>{_inline(line.lstrip()[2:])}</li>" for line in block.splitlines())
            blocks.append(f"<ul>{items}</ul>")
        else:
            blocks.append(f"<p>{_inline(' '.join(block.split()))}</p>")
    return "".join(blocks)


def _inline(text: str) -> str:
    text = escape(text)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", text)
    return re.sub(r"(?<![*\w])\*([^*]+)\*(?!\w)", r"<i>\1</i>", text)
