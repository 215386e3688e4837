"""A run's outputs read back from the DVC remote by the md5 its record holds, without DVC or a checkout.

The remote is DVC's own layout (``<remote>/files/md5/ab/cdef...``), so these are the objects ``dvc pull``
would fetch. Every byte is hashed before it is handed out: an object replaced in the remote after its
run recorded it is refused, as a stage refuses it (:mod:`spiralkit.runs.dvcstage`). Fetched files land
in a content-addressed cache, so a second ``run.path(...)`` costs nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from spiralkit import aws
from spiralkit.runs.dvcstage import ObjectError, md5_file, object_id, object_key


def default_cache() -> Path:
    """``$XDG_CACHE_HOME/spiralkit/objects`` (``~/.cache/...``): objects are named by hash, so one cache serves all."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "spiralkit" / "objects"


@dataclass(frozen=True)
class Remote:
    """A DVC remote's objects: ``s3://bucket/prefix`` or a local folder."""

    root: str
    region: str | None = None

    @cached_property
    def _client(self) -> Any:
        """One S3 client for the remote's life, as the record store keeps one."""
        return aws.client("s3", self.region)

    def read(self, out: Mapping[str, Any]) -> bytes:
        """The bytes of file output ``out`` (a dvc.lock ``outs`` item), checked against its md5."""
        oid = object_id(out)
        if oid.endswith(".dir"):
            raise ObjectError(f"{out['path']} is a directory: use run.path() for it")
        body = self._get(object_key(oid), str(out["path"]))
        if (found := hashlib.md5(body, usedforsecurity=False).hexdigest()) != oid:
            raise _replaced(str(out["path"]), oid, found)
        return body

    def tail(self, out: Mapping[str, Any], size: int, cache: Path) -> bytes:
        """The last ``size`` bytes of file output ``out`` (all of it when smaller), with one ranged read.

        For what a file's end says about it (a Parquet footer: its row count), not for its data: the
        bytes are not hashed, as that needs every byte. A copy in ``cache`` is read instead when there is one.
        """
        key = object_key(object_id(out))
        local = cache / key if (cache / key).is_file() else None
        if local is None and (s3 := _split(self.root)):
            client = self._client
            try:
                found = client.get_object(Bucket=s3[0], Key=_join(s3[1], key), Range=f"bytes=-{size}")
            except client.exceptions.NoSuchKey as error:
                raise _missing(str(out["path"]), self.root, key) from error
            return bytes(found["Body"].read())
        try:
            with (local or Path(self.root) / key).open("rb") as file:
                file.seek(max(0, file.seek(0, os.SEEK_END) - size))
                return file.read()
        except FileNotFoundError as error:
            raise _missing(str(out["path"]), self.root, key) from error

    def fetch(self, out: Mapping[str, Any], cache: Path) -> Path:
        """A local copy of output ``out`` (a file, or a directory for a ``.dir`` output), from ``cache`` if there."""
        oid, label = object_id(out), str(out["path"])
        if not oid.endswith(".dir"):
            return self._file(oid, cache, label)
        target = cache / "dirs" / oid.removesuffix(".dir")
        if target.is_dir():
            return target
        listing = json.loads(self._file(oid, cache, label).read_bytes())
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache, prefix=".tmp-") as scratch:
            staged = Path(scratch) / "tree"
            for item in listing:
                source = self._file(item["md5"], cache, f"{label}/{item['relpath']}")
                (staged / item["relpath"]).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, staged / item["relpath"])
            target.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(OSError):  # another reader put the same tree there first
                os.replace(staged, target)
        return target

    def _file(self, oid: str, cache: Path, label: str) -> Path:
        path = cache / object_key(oid)
        if path.is_file():  # hashed when it was put there
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        os.close(handle)
        try:
            self._download(object_key(oid), Path(temporary), label)
            if (found := md5_file(Path(temporary))) != oid.removesuffix(".dir"):
                raise _replaced(label, oid, found)
            os.replace(temporary, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
        return path

    def _get(self, key: str, label: str) -> bytes:
        if s3 := _split(self.root):
            client = self._client
            try:
                return bytes(client.get_object(Bucket=s3[0], Key=_join(s3[1], key))["Body"].read())
            except client.exceptions.NoSuchKey as error:
                raise _missing(label, self.root, key) from error
        try:
            return (Path(self.root) / key).read_bytes()
        except FileNotFoundError as error:
            raise _missing(label, self.root, key) from error

    def _download(self, key: str, into: Path, label: str) -> None:
        if s3 := _split(self.root):
            client = self._client
            try:
                client.download_file(s3[0], _join(s3[1], key), str(into))
            except client.exceptions.ClientError as error:
                if error.response.get("Error", {}).get("Code") in {"404", "NoSuchKey"}:
                    raise _missing(label, self.root, key) from error
                raise
            return
        try:
            shutil.copyfile(Path(self.root) / key, into)
        except FileNotFoundError as error:
            raise _missing(label, self.root, key) from error


def _split(root: str) -> tuple[str, str] | None:
    if not root.startswith("s3://"):
        return None
    bucket, _, prefix = root[5:].partition("/")
    return bucket, prefix.strip("/")


def _join(prefix: str, key: str) -> str:
    return f"{prefix}/{key}" if prefix else key


def _missing(label: str, root: str, key: str) -> ObjectError:
    return ObjectError(f"{label}: object {root.rstrip('/')}/{key} is not in the DVC remote (was its stage pushed?)")


def _replaced(label: str, oid: str, found: str) -> ObjectError:
    return ObjectError(
        f"{label}: the remote's object {oid} has md5 {found}: it was replaced after its run recorded it; refusing it"
    )
