"""Which conda-forge package provides a PyPI name, known offline.

conda-lock turns each PyPI requirement of pyproject.toml into a conda package, using a name
mapping that it downloads from GitHub by default. The content hash of the lock depends on those
names, so `spiral lock check` must use the same mapping without a network: spiralkit ships this one,
`spiral lock` hands it to conda-lock (``--pypi_to_conda_lookup_file``), and a project adds its own
renames in ``[tool.spiral.lock] conda-names``. Names not listed stay as they are, which is right for
most packages (pandas, scikit-learn, ...); canonical PyPI names also cover ``_``/``.``/``-``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from packaging.utils import canonicalize_name

# PyPI name -> conda-forge name, where they differ by more than separators.
CONDA_NAMES: Mapping[str, str] = {
    "build": "python-build",
    "duckdb": "python-duckdb",
    "flatbuffers": "python-flatbuffers",
    "graphviz": "python-graphviz",
    "huggingface-hub": "huggingface_hub",
    "jupyter-client": "jupyter_client",
    "jupyter-core": "jupyter_core",
    "jupyter-server": "jupyter_server",
    "kaleido": "python-kaleido",
    "lmdb": "python-lmdb",
    "msgpack": "msgpack-python",
    "opencv-contrib-python": "opencv",
    "opencv-python": "opencv",
    "opencv-python-headless": "opencv",
    "prometheus-client": "prometheus_client",
    "psycopg2-binary": "psycopg2",
    "ruamel-yaml": "ruamel.yaml",
    "tables": "pytables",
    "torch": "pytorch",
    "typing-extensions": "typing_extensions",
    "tzdata": "python-tzdata",
    "xxhash": "python-xxhash",
}


def conda_names(overrides: Mapping[str, str]) -> dict[str, str]:
    """spiralkit's renames with the project's own on top, keyed by canonical PyPI name."""
    merged = dict(CONDA_NAMES)
    merged.update({canonicalize_name(pypi): conda for pypi, conda in overrides.items()})
    return merged


def lookup_file(names: Mapping[str, str]) -> Path:
    """Write ``names`` in conda-lock's lookup format and return the file.

    The file is named after its content: conda-lock caches a lookup per path, so a path must never
    be reused for different names.
    """
    table = {
        pypi: {"conda_name": conda, "conda_forge": conda, "pypi_name": pypi} for pypi, conda in sorted(names.items())
    }
    text = json.dumps(table, indent=1, sort_keys=True)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"spiralkit-conda-names-{digest}.json"
    if not path.is_file():
        partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    return path
