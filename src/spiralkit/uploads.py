"""Uploads to S3 that either complete or leave nothing behind.

An S3 object appears whole when its upload completes, so readers never see half of one. What a failed
upload can leave is an incomplete multipart upload: invisible, but billed until aborted. Arrow's S3
output stream completes the upload when it is closed, even after an error (a valid Parquet file with
only its first row groups), so tables are written to a local scratch file first and uploaded here: on
any exception, Ctrl-C or SIGTERM (how Batch and ``docker stop`` end a job) the upload is aborted. Only
SIGKILL can leave one behind; the bucket's lifecycle rule for incomplete uploads removes those.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import FrameType
from typing import Any

PART_BYTES = 16 * 1024 * 1024  # S3's minimum is 5 MiB; at most 10,000 parts, so parts grow for huge files
_MAX_PARTS = 10_000
_THREADS = 8


def upload_file(client: Any, path: Path, bucket: str, key: str) -> None:
    """Put the file at ``path`` as ``s3://bucket/key``: one PUT if small, else a multipart upload."""
    size = path.stat().st_size
    part = max(PART_BYTES, -(-size // _MAX_PARTS))
    if size <= part:
        with path.open("rb") as body:
            client.put_object(Bucket=bucket, Key=key, Body=body)
        return
    upload = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    pool = ThreadPoolExecutor(_THREADS, thread_name_prefix="spiral-upload")
    try:
        with _terminate_raises():
            with path.open("rb") as file:
                futures = [
                    pool.submit(upload_part, client, file.fileno(), bucket, key, upload, number, part)
                    for number in range(1, -(-size // part) + 1)
                ]
                parts = [future.result() for future in futures]
            client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": parts})
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload)
        raise
    finally:
        pool.shutdown(wait=False)


def upload_part(client: Any, fd: int, bucket: str, key: str, upload: str, number: int, size: int) -> dict[str, Any]:
    """Part ``number`` (from 1) of the file open at ``fd``, read with pread so threads share the file."""
    body = os.pread(fd, size, (number - 1) * size)
    done = client.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=number, Body=body)
    return {"PartNumber": number, "ETag": done["ETag"]}


@contextlib.contextmanager
def _terminate_raises() -> Iterator[None]:
    """Turn SIGTERM into SystemExit for the block, so the upload is aborted instead of left behind.

    Only where Python's default (die at once) is in place and only in the main thread, the one place a
    handler can be set; a program with its own SIGTERM handler keeps it.
    """
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) not in (
        signal.SIG_DFL,
        None,
    ):
        yield
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def upload_dataset(client: Any, folder: Path, bucket: str, prefix: str) -> None:
    """Upload every file under ``folder`` below ``prefix``; then delete the old objects of the partitions it wrote.

    Each object is replaced whole, the dataset is not: S3 has no rename, so until the last upload a reader
    can find some partitions new and some old, and a killed write leaves that mix (never a torn file).
    """
    keys = {f"{prefix}/{path.relative_to(folder).as_posix()}": path for path in sorted(folder.rglob("*"))}
    keys = {key: path for key, path in keys.items() if path.is_file()}
    for key, path in keys.items():
        upload_file(client, path, bucket, key)
    written = {key.rsplit("/", 1)[0] for key in keys}
    stale = [
        item["Key"]
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}/")
        for item in page.get("Contents", [])
        if item["Key"] not in keys and item["Key"].rsplit("/", 1)[0] in written
    ]
    for start in range(0, len(stale), 1000):  # DeleteObjects takes at most 1,000 keys
        objects = [{"Key": key} for key in stale[start : start + 1000]]
        client.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
