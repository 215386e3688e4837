"""A write-once store for run records: a local folder, or a prefix of the project's S3 bucket.

A record is evidence of what a run did, so it is created once and never replaced: S3's conditional
write (``If-None-Match: *``) refuses a second writer, and locally ``open(..., "x")`` does the same
(the bytes go to a temporary file first and are linked into place, so no reader sees half a record).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from spiralkit import aws
from spiralkit.errors import RecordError


class RecordExists(RecordError):
    """A record was written already: records are never overwritten."""


@dataclass(frozen=True)
class Store:
    """Records under ``root``: ``s3://bucket/prefix`` or a local folder."""

    root: str
    region: str | None = None

    @property
    def _s3(self) -> tuple[str, str] | None:
        if not self.root.startswith("s3://"):
            return None
        bucket, _, prefix = self.root[5:].partition("/")
        return bucket, prefix.strip("/")

    @cached_property
    def _client(self) -> Any:
        """One S3 client for the store's life: making one costs more than a request to S3."""
        return aws.client("s3", self.region)

    def uri(self, key: str) -> str:
        return f"{self.root.rstrip('/')}/{key}"

    def create(self, key: str, body: bytes) -> None:
        """Write ``key`` once; :class:`RecordExists` if it is there already."""
        if s3 := self._s3:
            client = self._client
            try:
                client.put_object(Bucket=s3[0], Key=_join(s3[1], key), Body=body, IfNoneMatch="*")
            except client.exceptions.ClientError as error:
                if error.response.get("Error", {}).get("Code") in {"PreconditionFailed", "ConditionalRequestConflict"}:
                    raise RecordExists(f"{self.uri(key)} exists already: records are written once") from error
                raise
            return
        path = Path(self.root) / key
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(body)
            try:
                os.link(temporary, path)  # fails if path exists: the first writer wins
            except FileExistsError as error:
                raise RecordExists(f"{path} exists already: records are written once") from error
        finally:
            os.unlink(temporary)

    def read(self, key: str) -> bytes | None:
        """The bytes of ``key``, or None when there is no such record."""
        if s3 := self._s3:
            client = self._client
            try:
                return bytes(client.get_object(Bucket=s3[0], Key=_join(s3[1], key))["Body"].read())
            except client.exceptions.NoSuchKey:
                return None
        path = Path(self.root) / key
        with contextlib.suppress(FileNotFoundError):
            return path.read_bytes()
        return None

    def folders(self, prefix: str) -> list[str]:
        """The names of the folders directly under ``prefix`` (one request on S3), sorted."""
        prefix = prefix.rstrip("/") + "/"
        if s3 := self._s3:
            client = self._client
            full = _join(s3[1], prefix)
            names: list[str] = []
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=s3[0], Prefix=full, Delimiter="/"):
                names.extend(item["Prefix"][len(full) :].rstrip("/") for item in page.get("CommonPrefixes", []))
            return sorted(names)
        folder = Path(self.root) / prefix
        return sorted(path.name for path in folder.iterdir() if path.is_dir()) if folder.is_dir() else []

    def list(self, prefix: str) -> list[str]:
        """Keys under ``prefix`` (relative to the store's root), sorted."""
        if s3 := self._s3:
            client = self._client
            full = _join(s3[1], prefix)
            start = len(_join(s3[1], "")) if s3[1] else 0
            keys: list[str] = []
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=s3[0], Prefix=full):
                keys.extend(item["Key"][start:] for item in page.get("Contents", []))
            return sorted(keys)
        base = Path(self.root)
        folder = base / prefix
        if not folder.is_dir():
            return []
        return sorted(
            str(path.relative_to(base))
            for path in folder.rglob("*")
            if path.is_file() and not path.name.startswith(".tmp-")
        )


def _join(prefix: str, key: str) -> str:
    return f"{prefix}/{key}" if prefix else key
