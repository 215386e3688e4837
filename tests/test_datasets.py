"""How spiralkit sets Arrow up for a read: the allocator it switches to, and when it leaves it alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

READ_THEN_SHOW_POOL = """
import pyarrow as pa
from spiralkit.tables import read_table, write_table
write_table(pa.table({"a": [1, 2]}), "t.parquet")
assert read_table("t.parquet")["a"].to_pylist() == [1, 2]
print(pa.default_memory_pool().backend_name)
"""


@pytest.mark.parametrize(
    ("env", "pool"), [({}, "jemalloc"), ({"ARROW_DEFAULT_MEMORY_POOL": "system"}, "system")], ids=["default", "chosen"]
)
def test_reads_use_jemalloc_unless_the_user_chose_a_pool(tmp_path: Path, env: dict[str, str], pool: str) -> None:
    """A fresh interpreter, as a pipeline stage: the switch happens once per process."""
    inherited = {name: value for name, value in os.environ.items() if name != "ARROW_DEFAULT_MEMORY_POOL"}
    result = subprocess.run(
        [sys.executable, "-c", READ_THEN_SHOW_POOL],
        cwd=tmp_path,
        env={**inherited, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [pool]
