"""Published outputs: the tables a pipeline hands to the systems that act on them, one folder per namespace.

``publish(predictions, "predictions.parquet")`` in a stage writes under ``user.<you>/`` on a laptop,
``test.<branch>/`` in a branch's CI and ``prod/`` only from CI on the production branch, so trying a
change never overwrites what production reads. ``read_published(name, "prod")`` reads what production
published, from anywhere: reading another namespace is always allowed, writing it is not.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from spiralkit import config
from spiralkit import namespace as namespaces
from spiralkit.errors import NamespaceError
from spiralkit.tables import Filter, read_table, write_table

_NAME_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.=-]*$")


def check_name(name: str) -> str:
    """Refuse a name that could leave its namespace folder (``../prod/x``, ``/x``, ``a//b``, ``a\\b``).

    Object stores keep such keys literally, but local folders and readers that tidy paths do not:
    a name is one or more plain parts joined by ``/``, each starting with a letter, digit or ``_``.
    """
    parts = name.split("/")
    if not name or not all(_NAME_PART.match(part) for part in parts):
        raise NamespaceError(
            f"published name {name!r} is not valid: use plain names joined by '/', such as "
            "'predictions.parquet' or 'scores/2026', without '..', a leading '/', '\\' or empty parts"
        )
    return name


def publish(
    table: pa.Table | Any, name: str, namespace: str | None = None, partition_by: Sequence[str] | None = None
) -> str:
    """Write ``table`` as output ``name`` of ``namespace`` (default: this run's) and return its URI.

    The name and the namespace are checked before anything is written: a name leaving its folder,
    or ``prod`` outside CI on the production branch, raises :class:`~spiralkit.errors.NamespaceError`.
    (AWS decides in the end: only the prod roles may write ``published/prod/``.)
    """
    check_name(name)
    project = config.load()
    uri = namespaces.publish_uri(project, namespaces.resolve(project, namespace), name)
    write_table(table, uri, partition_by)
    return uri


def read_published(
    name: str, namespace: str | None = None, columns: Sequence[str] | None = None, filter: Filter | None = None
) -> pa.Table:
    """Read output ``name`` as ``namespace`` (default: this run's own) published it."""
    check_name(name)
    project = config.load()
    uri = namespaces.publish_uri(project, namespace or namespaces.default(project), name)
    return read_table(uri, columns, filter)
