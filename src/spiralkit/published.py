"""Published outputs: the tables a pipeline hands to the systems that act on them, one folder per namespace.

``publish(predictions, "predictions.parquet")`` in a stage writes under ``user.<you>/`` on a laptop,
``test.<branch>/`` in a branch's CI and ``prod/`` only from CI on the production branch, so trying a
change never overwrites what production reads. ``read_published(name, "prod")`` reads what production
published, from anywhere: reading another namespace is always allowed, writing it is not.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from spiralkit import config
from spiralkit import namespace as namespaces
from spiralkit.tables import Filter, read_table, write_table


def publish(
    table: pa.Table | Any, name: str, namespace: str | None = None, partition_by: Sequence[str] | None = None
) -> str:
    """Write ``table`` as output ``name`` of ``namespace`` (default: this run's) and return its URI.

    The namespace is checked before anything is written: ``prod`` outside CI on the production branch
    raises :class:`~spiralkit.errors.NamespaceError`.
    """
    project = config.load()
    uri = namespaces.publish_uri(project, namespaces.resolve(project, namespace), name)
    write_table(table, uri, partition_by)
    return uri


def read_published(
    name: str, namespace: str | None = None, columns: Sequence[str] | None = None, filter: Filter | None = None
) -> pa.Table:
    """Read output ``name`` as ``namespace`` (default: this run's own) published it."""
    project = config.load()
    uri = namespaces.publish_uri(project, namespace or namespaces.default(project), name)
    return read_table(uri, columns, filter)
