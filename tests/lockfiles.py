"""Projects and lock files for the `spiral lock` tests, made by copier and conda-lock, not by hand.

A real solve needs conda-forge, which this machine cannot reach; so a lock fixture is built from
conda-lock's own models (one plausible package per requested dependency) with the content hash that
conda-lock's own functions compute, and written by conda-lock's own writer.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from conda_lock.content_hash import compute_content_hashes
from conda_lock.lockfile import write_conda_lock_file
from conda_lock.lockfile.v2prelim.models import HashModel, LockedDependency, Lockfile, LockMeta
from conda_lock.src_parser import make_lock_spec
from conda_lock.virtual_package import default_virtual_package_repodata
from helpers import render

from spiralkit.lock import sources
from spiralkit.lock.spec import requested

# A stand-in for `micromamba create --dry-run --json`: it "solves" each requested spec to one
# package with no dependencies. It lets conda-lock's own `lock` command run end to end, offline.
STUB_MICROMAMBA = """\
import hashlib, json, os, re, sys
args = sys.argv[1:]
if args == ["--version"]:
    print("2.5.0")
    sys.exit(0)
if os.environ.get("STUB_SOLVER_FAILS"):
    print(json.dumps({"success": False, "message": "nothing provides requested pandas >=99"}))
    sys.exit(1)
subdir = os.environ["CONDA_SUBDIR"]
channels = [args[i + 1] for i, arg in enumerate(args) if arg in ("--channel", "-c")]
values = {i + 1 for i, arg in enumerate(args) if arg in ("--prefix", "-p", "--channel", "-c")}
specs = [arg for i, arg in enumerate(args) if i > 0 and i not in values and arg[:1] != "-"]
channel = next(c for c in channels if not c.startswith("file:"))
base = channel if "://" in channel else "https://conda.anaconda.org/" + channel
records = []
for spec in specs:
    name = re.split(r"[ =<>!~\\[]", spec, maxsplit=1)[0]
    version = "3.12.7" if name == "python" else "1.0.0"
    fn = f"{name}-{version}-0.conda"
    digest = hashlib.sha256(f"{subdir}/{fn}".encode()).hexdigest()
    records.append({"name": name, "version": version, "build": "0", "build_number": 0,
        "channel": f"{base}/{subdir}", "subdir": subdir, "fn": fn,
        "url": f"{base}/{subdir}/{fn}", "md5": digest[:32], "sha256": digest, "depends": []})
print(json.dumps({"success": True, "actions": {"FETCH": records, "LINK": records}}))
"""


def stub_solver(bin_dir: Path, python: str) -> Path:
    """Write the stand-in micromamba into ``bin_dir`` and return it."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    path = bin_dir / "micromamba"
    path.write_text(f"#!{python}\n{STUB_MICROMAMBA}")
    path.chmod(0o755)
    return path


@contextlib.contextmanager
def channel_mirror(root: Path, channel: str = "conda-forge") -> Iterator[str]:
    """A local HTTP server that answers for ``channel``, as a mirror would: yields its alias URL.

    `spiral lock` asks the channel before solving; pointing MAMBA_CHANNEL_ALIAS here makes the
    channel reachable, so that a test gets past that question and on to conda-lock.
    """
    noarch = root / channel / "noarch"
    noarch.mkdir(parents=True, exist_ok=True)
    (noarch / "repodata.json").write_text('{"info": {"subdir": "noarch"}, "packages": {}}')

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def lockable(scratch: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make `spiral lock` work here: the stand-in micromamba on PATH, a mirror for conda-forge."""
    stub_solver(scratch / "bin", sys.executable)
    monkeypatch.setenv("PATH", f"{scratch / 'bin'}{os.pathsep}{os.environ['PATH']}")
    with channel_mirror(scratch / "mirror") as alias:
        monkeypatch.setenv("MAMBA_CHANNEL_ALIAS", alias)
        yield


@functools.cache
def _rendered(answers: tuple[tuple[str, Any], ...]) -> Path:
    cache = Path(tempfile.mkdtemp(prefix="spiralkit-lock-tests-"))
    return render(cache / "churn-model", dict(answers), skip_tasks=True)


def template_project(dst: Path, answers: Mapping[str, Any] | None = None) -> Path:
    """A copy of the template rendered with ``answers`` (tasks skipped: no git, no lock)."""
    shutil.copytree(_rendered(tuple(sorted((answers or {}).items()))), dst)
    return dst


def minimal_project(root: Path, platforms: tuple[str, ...] = ("linux-64", "osx-arm64")) -> Path:
    """Sources with conda packages only: the stub solver cannot answer conda-lock's pip solve."""
    root.mkdir(parents=True, exist_ok=True)
    listed = "".join(f"  - {platform}\n" for platform in platforms)
    (root / "environment.yml").write_text(
        f"channels:\n  - conda-forge\nplatforms:\n{listed}dependencies:\n  - python=3.12\n  - pip\n"
    )
    (root / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "0.1.0"\n'
        'dependencies = [\n  "pandas>=2.1",\n  "pyyaml>=6",\n]\n\n'
        '[project.optional-dependencies]\ndev = ["pytest>=8"]\n\n'
        '[tool.spiral]\nproject = "demo"\nregion = "us-east-1"\n'
    )
    return root


def edit(root: Path, file: str, old: str, new: str) -> None:
    """Replace the first ``old`` in ``root/file`` by ``new``, as a user editing the file would."""
    text = (root / file).read_text()
    assert old in text, f"{old!r} not in {file}"
    (root / file).write_text(text.replace(old, new, 1))


def write_lock(root: Path, *, record_requested: bool = True) -> Path:
    """``root/conda-lock.yml`` for the sources in ``root``, as a solve could have written it."""
    lookup = sources.read(root).lookup  # the PyPI -> conda names that `spiral lock` hands conda-lock
    files = [root / "environment.yml", root / "pyproject.toml"]
    spec = make_lock_spec(src_files=files, mapping_url=str(lookup))
    packages = [
        _package(dep.name, dep.manager, dep.category, platform)
        for platform, dependencies in spec.dependencies.items()
        for dep in dependencies
    ]
    metadata = LockMeta(
        content_hash=compute_content_hashes(spec, default_virtual_package_repodata()),
        channels=spec.channels,
        platforms=spec.platforms,
        sources=[path.name for path in files],
        custom_metadata=requested(spec) if record_requested else None,
    )
    path = root / "conda-lock.yml"
    write_conda_lock_file(Lockfile(package=packages, metadata=metadata), path, metadata_choices=None)
    return path


def _package(name: str, manager: str, category: str, platform: str) -> LockedDependency:
    version = "3.12.7" if name == "python" else "1.0.0"
    if manager == "conda":
        url = f"https://conda.anaconda.org/conda-forge/{platform}/{name}-{version}-h0_0.conda"
    else:
        url = f"https://files.pythonhosted.org/packages/py3/{name}-{version}-py3-none-any.whl"
    digest = hashlib.sha256(url.encode()).hexdigest()
    return LockedDependency(
        name=name,
        version=version,
        manager=manager,
        platform=platform,
        dependencies={},
        url=url,
        hash=HashModel(md5=digest[:32] if manager == "conda" else None, sha256=digest),
        categories={category},
    )
