"""write_table killed at many moments: a reader finds the old table or the new one, whole, never a torn one.

Each case runs the write in a child process that prints a marker at a chosen moment (a small hook that
wraps one step of the writer, so the moment is exact however loaded the machine), and kills it there
with a real signal. Timed kills of a large write add moments no hook names.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from faults_plugin import FaultCase

from spiralkit import atomic, aws
from spiralkit.errors import TableError
from spiralkit.tables import read_table, write_table

ROWS = 200_000


def cases(rows: int, version: float, parts: int) -> pa.Table:
    """A table whose every value says which write it came from; ``parts`` partitions by ``p``."""
    ids = pa.array(range(rows), pa.int64())
    return pa.table({"id": ids, "p": pc.bit_wise_and(ids, parts - 1), "version": pa.array([version] * rows)})


OLD, NEW = cases(ROWS, 1.0, 4), cases(ROWS // 2, 2.0, 2)


def merged(old: pa.Table, new: pa.Table) -> pa.Table:
    """What a partitioned write of ``new`` over ``old`` gives: ``new``'s partitions, and old's others."""
    kept = old.filter(pc.invert(pc.is_in(old["p"], new["p"].unique())))
    return pa.concat_tables([new, kept])


def ordered(table: pa.Table) -> pa.Table:
    return table.select(["id", "p", "version"]).sort_by([("p", "ascending"), ("id", "ascending")])


def which(found: pa.Table, candidates: dict[str, pa.Table]) -> str:
    for name, table in candidates.items():
        if ordered(found).equals(ordered(table)):
            return name
    return f"a mix: {found.num_rows} rows, versions {sorted(set(found['version'].to_pylist()))}"


CHILD = """
import os, sys, time, pathlib, shutil
import numpy as np
import pyarrow as pa, pyarrow.compute as pc, pyarrow.dataset as ds, pyarrow.parquet as pq
sys.path.insert(0, {tests!r})
from spiralkit import atomic, tables, uploads
from test_tables_faults import NEW, ROWS, cases

def mark(text):
    print(text, flush=True)

def stall(text):
    mark(text)
    time.sleep(120)

{hook}
mark("start")
tables.write_table({table}, {uri!r}, {partition_by!r})
mark("done")
"""

# Hooks that stop the writer at one exact moment; each wraps one step and stalls there.
HOOKS = {
    "half the row groups written": """
        real = pq.ParquetWriter.write_table
        def write_half(self, table, row_group_size=None):
            real(self, table.slice(0, table.num_rows // 2), 1000)
            stall("half")
        pq.ParquetWriter.write_table = write_half
    """,
    "half the partitions written": """
        real = ds.write_dataset
        def write_half(data, path, **options):
            real(data.filter(pc.equal(data["p"], 0)), path, **options)
            stall("half")
        ds.write_dataset = write_half
    """,
    "new data complete, not yet renamed": """
        real_replace, real_swap = os.replace, atomic.swap
        def before(real):
            def hooked(*args):
                stall("ready")
            return hooked
        os.replace, atomic.swap = before(real_replace), before(real_swap)
    """,
    "swapped, old copy not yet removed": """
        real = shutil.rmtree
        def hooked(path, *args, **kwargs):
            stall("swapped")
        shutil.rmtree = hooked
    """,
    "between the two renames (no renameat2)": """
        atomic._exchange = lambda a, b: False
        real = pathlib.Path.rename
        def hooked(self, target):
            result = real(self, target)
            if ".spiral-old" in str(target):
                stall("aside")
            return result
        pathlib.Path.rename = hooked
    """,
}


MARKERS = {
    "half the row groups written": "half",
    "half the partitions written": "half",
    "new data complete, not yet renamed": "ready",
    "swapped, old copy not yet removed": "swapped",
    "between the two renames (no renameat2)": "aside",
}


def spawn(tmp_path: Path, uri: str, partition_by: list[str] | None, hook: str = "", table: str = "NEW") -> Process:
    script = CHILD.format(
        tests=str(Path(__file__).parent),
        hook=textwrap.dedent(hook),
        table=table,
        uri=uri,
        partition_by=partition_by,
    )
    # A killed writer cannot remove its scratch folder (tables.py stages S3 uploads in one): keep it in tmp_path.
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    popen = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=tmp_path, env=env)
    return Process(popen)


class Process:
    """A child writer, and the markers it prints."""

    def __init__(self, popen: subprocess.Popen[str]) -> None:
        self.popen = popen

    def wait_for(self, marker: str, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        assert self.popen.stdout is not None
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.popen.stdout], [], [], deadline - time.monotonic())
            line = self.popen.stdout.readline() if ready else ""
            if line.strip() == marker:
                return
            if not line and self.popen.poll() is not None:
                break
        self.popen.kill()
        pytest.fail(f"the writer never printed {marker!r} (exit code {self.popen.poll()})")

    def kill(self, signum: int = signal.SIGKILL) -> int:
        self.popen.send_signal(signum)
        return self.popen.wait(timeout=60)


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if ".spiral-" in path.name)


LOCAL_CASES = [
    ("file", "half the row groups written", "old"),
    ("file", "new data complete, not yet renamed", "old"),
    ("dataset", "half the partitions written", "old"),
    ("dataset", "new data complete, not yet renamed", "old"),
    ("dataset", "swapped, old copy not yet removed", "new"),
    ("dataset", "between the two renames (no renameat2)", "old"),
]


@pytest.mark.faults
@pytest.mark.parametrize(("shape", "moment", "expected"), LOCAL_CASES, ids=[f"{s}-{m}" for s, m, _ in LOCAL_CASES])
def test_a_local_write_killed_leaves_the_old_or_the_new_table_whole(
    tmp_path: Path, shape: str, moment: str, expected: str, fault: FaultCase
) -> None:
    target = tmp_path / "out" / ("cases.parquet" if shape == "file" else "cases")
    partition_by = ["p"] if shape == "dataset" else None
    new = merged(OLD, NEW) if partition_by else NEW
    fault.inject(f"SIGKILL of a local {shape} write: {moment}", f"{expected} table, whole; next write cleans up")
    write_table(OLD, target, partition_by)
    writer = spawn(tmp_path, str(target), partition_by, HOOKS[moment])
    writer.wait_for(MARKERS[moment])
    assert writer.kill() == -signal.SIGKILL
    left = leftovers(target.parent)
    found = which(read_table(target), {"old": OLD, "new": new})
    fault.saw(f"{found} table, whole; {len(left)} leftover(s) before the next write")
    assert found == expected
    write_table(NEW, target, partition_by)
    assert which(read_table(target), {"new": new}) == "new"
    assert leftovers(target.parent) == []


@pytest.mark.faults
@pytest.mark.slow
@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("shape", ["file", "dataset"])
def test_a_large_write_killed_at_any_moment_leaves_a_whole_table(
    tmp_path: Path, shape: str, fraction: float, fault: FaultCase
) -> None:
    """No hook: the kill lands wherever the writer is after ``fraction`` of a write's measured time."""
    target = tmp_path / ("big.parquet" if shape == "file" else "big")
    partition_by = ["p"] if shape == "dataset" else None
    big_old, big_new = cases(1_000_000, 1.0, 4), cases(1_000_000, 2.0, 2)
    new = merged(big_old, big_new) if partition_by else big_new
    fault.inject(f"SIGKILL at {fraction:.0%} of a 1M-row {shape} write's time", "old or new table, whole")
    started = time.monotonic()
    write_table(big_old, target, partition_by)
    took = time.monotonic() - started
    writer = spawn(tmp_path, str(target), partition_by, table="cases(1_000_000, 2.0, 2)")
    writer.wait_for("start")
    time.sleep(fraction * took)
    writer.kill()
    found = which(read_table(target), {"old": big_old, "new": new})
    fault.saw(f"{found} table, whole")
    assert found in ("old", "new")


def test_a_reader_during_repeated_swaps_sees_one_version_whole(tmp_path: Path) -> None:
    """Readers and a writer at once: every read is one write's dataset, never files of two."""
    target = tmp_path / "swapped"
    versions = [cases(20_000, float(v), 4) for v in range(1, 4)]
    write_table(versions[0], target, ["p"])
    stop, seen = threading.Event(), []

    def rewrite() -> None:
        for round_ in range(30):
            write_table(versions[round_ % 3], target, ["p"])
        stop.set()

    named = {str(i): v for i, v in enumerate(versions)}
    writer = threading.Thread(target=rewrite)
    writer.start()
    while not stop.is_set():
        try:
            seen.append(which(read_table(target), named))
        except TableError as error:  # swapped under it on every attempt (a loaded machine): refused, not mixed
            seen.append("refused" if "times while being read; read it again later" in str(error) else str(error))
    writer.join()
    assert which(read_table(target), named) == str(29 % 3)  # once the writer stops, the last write, whole
    assert all(name in ("0", "1", "2", "refused") for name in seen), seen


def test_a_dead_writers_leftovers_go_and_a_live_ones_stay(tmp_path: Path) -> None:
    target = tmp_path / "t.parquet"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_tmp = tmp_path / f".t.parquet.{dead.stdout.strip()}-ab12.spiral-tmp"
    live_tmp = atomic.sibling(target, "tmp")  # ours: this process is alive
    dead_tmp.write_text("torn")
    live_tmp.write_text("being written")
    write_table(OLD, target)
    assert not dead_tmp.exists()
    assert live_tmp.exists()


# --- S3: the old object stays whole; an interrupted upload is aborted --------------------------------
S3_HOOK = """
uploads.PART_BYTES = 5 * 1024 * 1024  # S3's minimum part: a few parts from a small table
uploads._THREADS = 1  # one part at a time, so the interrupt lands between parts
real_part = uploads.upload_part
def slow_part(*args):
    result = real_part(*args)
    mark("part")
    time.sleep(0.5)
    return result
uploads.upload_part = slow_part
"""

# About 13 MB of Parquet: random doubles do not shrink, so the upload takes three 5 MiB parts.
BIG = "cases(ROWS * 4, 3.0, 4).append_column('noise', pa.array(np.random.default_rng(0).random(ROWS * 4)))"


@pytest.fixture
def bucket(aws_env: str) -> str:
    aws.client("s3").create_bucket(Bucket="faults")
    return "faults"


def incomplete_uploads(bucket: str) -> list[str]:
    return [upload["Key"] for upload in aws.client("s3").list_multipart_uploads(Bucket=bucket).get("Uploads", [])]


S3_CASES = [
    (signal.SIGINT, "aborted"),
    (signal.SIGTERM, "aborted"),
    (signal.SIGKILL, "left for the lifecycle rule"),
]


@pytest.mark.faults
@pytest.mark.parametrize(("signum", "upload"), S3_CASES, ids=[s.name for s, _ in S3_CASES])
def test_an_s3_write_interrupted_mid_upload_keeps_the_old_object(
    tmp_path: Path, bucket: str, signum: signal.Signals, upload: str, fault: FaultCase
) -> None:
    uri = f"s3://{bucket}/cases.parquet"
    fault.inject(f"{signum.name} between the parts of a multipart upload to S3", f"old object whole; upload {upload}")
    write_table(OLD, uri)
    writer = spawn(tmp_path, uri, None, S3_HOOK, table=BIG)
    writer.wait_for("part")
    writer.kill(signum)
    left = incomplete_uploads(bucket)
    found = which(read_table(uri), {"old": OLD})
    fault.saw(f"{found} object whole; {len(left)} incomplete upload(s) left")
    assert found == "old"
    assert left == ([] if upload == "aborted" else ["cases.parquet"])


def test_an_s3_upload_that_completes_replaces_the_object_in_parts(tmp_path: Path, bucket: str) -> None:
    writer = spawn(tmp_path, f"s3://{bucket}/cases.parquet", None, S3_HOOK, table=BIG)
    writer.wait_for("done")
    assert writer.popen.wait(timeout=60) == 0
    assert read_table(f"s3://{bucket}/cases.parquet", columns=["version"])["version"].unique().to_pylist() == [3.0]
    assert incomplete_uploads(bucket) == []


def test_a_partitioned_s3_write_replaces_its_partitions_and_removes_stale_files(bucket: str) -> None:
    write_table(OLD, f"s3://{bucket}/by_p", ["p"])
    write_table(NEW, f"s3://{bucket}/by_p", ["p"])
    assert which(read_table(f"s3://{bucket}/by_p"), {"merged": merged(OLD, NEW)}) == "merged"
    keys = [item["Key"] for item in aws.client("s3").list_objects_v2(Bucket=bucket)["Contents"]]
    assert sorted(keys) == [f"by_p/p={p}/part-0.parquet" for p in range(4)]


def test_the_child_writer_runs_unhooked(tmp_path: Path) -> None:
    """The harness itself: without a hook the child writes the new table and says so."""
    writer = spawn(tmp_path, str(tmp_path / "plain.parquet"), None)
    writer.wait_for("done")
    assert writer.popen.wait(timeout=60) == 0
    assert which(read_table(tmp_path / "plain.parquet"), {"new": NEW}) == "new"
    assert os.listdir(tmp_path) == ["plain.parquet"]
