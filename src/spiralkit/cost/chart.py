"""Spend as text: a table with a bar per row for the terminal, or CSV and JSON for other tools."""

from __future__ import annotations

import csv
import io
import json

from spiralkit.cost.explorer import UNTAGGED, Spend

BLOCKS = " ▏▎▍▌▋▊▉█"  # eighths of a character cell
WIDTH = 30


def bar(share: float, width: int = WIDTH) -> str:
    """``share`` (0..1) of ``width`` cells, to an eighth of a cell."""
    eighths = round(max(0.0, min(1.0, share)) * width * 8)
    full, rest = divmod(eighths, 8)
    return "█" * full + (BLOCKS[rest] if rest else "")


def table(spend: Spend) -> str:
    if not spend.rows:
        return f"no spend by {spend.by} from {spend.start} to {spend.end} (end exclusive)"
    total = spend.total
    name_width = max(len(spend.by), *(len(value) for value, _ in spend.rows))
    lines = [f"spend by {spend.by}, {spend.start} to {spend.end} (end exclusive), {spend.currency}", ""]
    for value, amount in spend.rows:
        share = amount / total if total else 0.0
        lines.append(f"{value:<{name_width}}  {amount:>10,.2f}  {share:>4.0%}  {bar(share)}")
    lines.append(f"{'total':<{name_width}}  {total:>10,.2f}")
    if spend.untagged:
        lines.append(
            f"{spend.untagged / total:.0%} of it carries no {spend.by} tag: resources made outside spiral, spend "
            "from before the tags were activated, or services that cannot be tagged (docs/cost.md)"
        )
    elif total:
        lines.append(f"none of it is {UNTAGGED}")
    return "\n".join(lines)


def as_csv(spend: Spend) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([spend.by, "amount", "currency", "start", "end"])
    for value, amount in spend.rows:
        writer.writerow([value, f"{amount:.2f}", spend.currency, spend.start, spend.end])
    return out.getvalue().rstrip("\n")


def as_json(spend: Spend) -> str:
    return json.dumps(spend.as_dict(), indent=1)
