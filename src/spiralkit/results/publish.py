"""Reports where people look: ``reports/<namespace>/<run>.html`` beside the records, and an index per namespace.

In the bucket (``s3://<bucket>/reports/...``) for projects that have one, else in ``.spiral/reports/``.
The index lists the namespace's newest runs first with their metrics and the change against prod's
latest run, linking each run that has a published report; it is rewritten on every publish, the
reports themselves are written once per run.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from spiralkit import __version__, aws
from spiralkit.results import page
from spiralkit.results.client import Archive, Run, Runs
from spiralkit.results.compare import Change
from spiralkit.results.report import write
from spiralkit.results.text import delta, number

INDEXED = 30  # runs on an index page


def root(archive: Archive) -> str:
    """Where reports go: ``reports/`` beside the records' root (``s3://bucket/spiral`` -> ``s3://bucket/reports``)."""
    records = archive.store.root.rstrip("/")
    if records.startswith("s3://"):
        return records.rsplit("/", 1)[0] + "/reports" if records.count("/") > 2 else records + "/reports"
    return records + "/reports"


def publish(archive: Archive, run: Run, report: str) -> tuple[str, str]:
    """Put ``run``'s report and its namespace's new index; returns both addresses."""
    base = f"{root(archive)}/{run.namespace}"
    _put(archive, f"{base}/{run.id}.html", report)
    published = {name.removesuffix(".html") for name in _names(archive, base)} | {run.id}
    _put(archive, f"{base}/index.html", index(archive, run.namespace, published))
    return f"{base}/{run.id}.html", f"{base}/index.html"


def index(archive: Archive, namespace: str, published: set[str]) -> str:
    """The namespace's newest runs with their metrics and the change against prod's latest complete run."""
    runs = Runs(namespace, archive=archive).list()[:INDEXED]
    prod = next((run for run in Runs("prod", archive=archive).list() if run.complete), None)
    names = list(prod.metrics) if prod else []
    for run in runs:
        names += [name for name in run.metrics if name not in names]
    rows = []
    for run in runs:
        link = f'<a href="{escape(run.id)}.html">{escape(run.id)}</a>' if run.id in published else escape(run.id)
        cells = [
            f"<span class=mono>{link}</span>",
            escape(run.started.strftime("%Y-%m-%d %H:%M")),
            escape(run.record.user),
        ]
        cells.append("complete" if run.complete else "incomplete")
        for name in names:
            change = Change(name, prod.metrics.get(name) if prod else None, run.metrics.get(name))
            moved = delta(change) if prod and run.id != prod.id and change.before is not None else ""
            cells.append(f"{escape(number(change.after))} <span class=same>{escape(moved)}</span>")
        rows.append(cells)
    against = f"changes against prod {prod.id}" if prod else "no complete prod run yet"
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>runs of {escape(namespace)}</title><style>{page.STYLE}</style></head><body><main>"
        f"<header><h1>Runs of {escape(namespace)}</h1><div class=meta>newest first; {escape(against)}</div></header>"
        + page.table(["run", "started (UTC)", "by", "state", *names], rows)
        + f"<footer>spiralkit {escape(__version__)}</footer></main></body></html>\n"
    )


def _put(archive: Archive, uri: str, text: str) -> None:
    if uri.startswith("s3://"):
        bucket, _, key = uri[5:].partition("/")
        aws.client("s3", archive.store.region).put_object(
            Bucket=bucket, Key=key, Body=text.encode(), ContentType="text/html; charset=utf-8"
        )
        return
    write(Path(uri), text)


def _names(archive: Archive, folder: str) -> list[str]:
    if folder.startswith("s3://"):
        bucket, _, prefix = folder[5:].partition("/")
        listed = aws.client("s3", archive.store.region).list_objects_v2(Bucket=bucket, Prefix=prefix + "/")
        return [item["Key"].rsplit("/", 1)[1] for item in listed.get("Contents", [])]
    return [path.name for path in Path(folder).glob("*.html")] if Path(folder).is_dir() else []
