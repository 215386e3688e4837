"""``spiral run --on local``: side by side, warm-forked, and with the results ``dvc repro`` gives.

Each test builds a small DVC project (git, a local DVC remote, a package under src/) and runs it in
this process, the way the CLI does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from spiralkit import config
from spiralkit.batch import run as runs
from spiralkit.runs import environment, launch, local, preload, warm
from spiralkit.runs.stage import StageFailed

BIN = Path(sys.executable).parent

STEP = """\
import json, os, random, sys, threading, time
import numpy
from concurrent.futures import ThreadPoolExecutor
from demo import shared

name = sys.argv[1]
started = time.time()
seen = shared.VALUE
shared.VALUE = name  # a global another stage must never see
with ThreadPoolExecutor(4) as pool:  # a stage may start threads of its own
    squares = list(pool.map(lambda x: x * x, range(8)))
try:
    from threadpoolctl import threadpool_info
    blas = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
except ImportError:
    blas = []
time.sleep(float(os.environ.get("STEP_SLEEP", "0")))
if name == "fail":
    print("boom: this stage fails on purpose")
    sys.exit(3)
os.makedirs("out", exist_ok=True)
with open(f"out/{name}.json", "w") as out:
    json.dump({"seen": seen, "random": random.random(), "numpy": float(numpy.random.random()), "blas": blas,
               "squares": squares, "pid": os.getpid(), "started": started, "ended": time.time(),
               "stage": os.environ["DVC_STAGE"], "namespace": os.environ["SPIRAL_NAMESPACE"]}, out)
"""


def stage(name: str, cmd: str, deps: list[str], outs: list[str]) -> str:
    return f"  {name}:\n    cmd: {cmd}\n    deps: {json.dumps(deps)}\n    outs: {json.dumps(outs)}\n"


def make_project(root: Path, stages: str, preload_modules: list[str] | None = None) -> Path:
    (root / "src" / "demo").mkdir(parents=True)
    (root / "src" / "demo" / "__init__.py").write_text("")
    (root / "src" / "demo" / "shared.py").write_text('VALUE = "initial"\n')
    (root / "src" / "demo" / "step.py").write_text(STEP)
    (root / "src" / "demo" / "fixed.py").write_text(  # the same bytes on every run, as dvc repro's must be
        'import os, sys\nos.makedirs("out", exist_ok=True)\nopen(f"out/{sys.argv[1]}.json", "w").write("{}")\n'
    )
    local_table = f"[tool.spiral.local]\npreload = {json.dumps(preload_modules)}\n" if preload_modules else ""
    (root / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "0.1"\ndependencies = ["numpy"]\n'
        f'[tool.spiral]\nproject = "demo"\nregion = "eu-west-1"\n{local_table}'
    )
    (root / "dvc.yaml").write_text("stages:\n" + stages)
    (root / ".gitignore").write_text(".spiral/\n")
    for command in (
        ["git", "init", "-q"],
        [str(BIN / "dvc"), "init", "-q"],
        [str(BIN / "dvc"), "remote", "add", "-q", "-d", "local", str(root.parent / f"{root.name}-remote")],
        ["git", "add", "-A"],
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init"],
    ):
        subprocess.run(command, cwd=root, check=True, capture_output=True)
    return root


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stages find this interpreter as `python` and the demo package on the path, as in an activated venv."""
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("PYTHONPATH", "src")
    monkeypatch.setenv("SPIRAL_NAMESPACE", "user.test")


def spiral_run(root: Path, jobs: int = 2, warm: bool = True) -> list[str]:
    project = config.load(root)
    said: list[str] = []
    local.run(project, runs.plan_for(project, []), "user.test", echo=said.append, jobs=jobs, warm=warm)
    return said


def result(root: Path, name: str) -> dict[str, object]:
    return dict(json.loads((root / "out" / f"{name}.json").read_text()))


SIDE_BY_SIDE = (
    stage("a", "python -m demo.step a", ["src/demo/step.py"], ["out/a.json"])
    + stage("b", "python -m demo.step b", ["src/demo/step.py"], ["out/b.json"])
    + stage("after", "python -m demo.step after", ["out/a.json", "out/b.json"], ["out/after.json"])
    + stage("shell", "cat out/a.json out/b.json > out/both.txt", ["out/a.json", "out/b.json"], ["out/both.txt"])
)


def test_warm_children_share_no_globals_random_state_or_thread_pools(
    tmp_path: Path, env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_project(tmp_path / "p", SIDE_BY_SIDE, ["numpy", "demo.shared"])
    monkeypatch.setenv("STEP_SLEEP", "0.5")
    said = spiral_run(root)
    a, b, after = (result(root, name) for name in ("a", "b", "after"))
    assert [a["seen"], b["seen"], after["seen"]] == ["initial"] * 3  # each set it; none saw another's
    assert len({a["pid"], b["pid"], after["pid"]}) == 3
    assert len({a["random"], b["random"], after["random"]}) == 3  # forked children do not repeat a sequence
    assert len({a["numpy"], b["numpy"], after["numpy"]}) == 3
    fresh = subprocess.run(
        [sys.executable, "-c", "import numpy, threadpoolctl; print(threadpoolctl.threadpool_info()[0]['num_threads'])"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert a["blas"] == [int(fresh.stdout)]  # the pool a fresh interpreter gets, not the parent's pinned 1
    assert a["squares"] == [x * x for x in range(8)]
    assert a["stage"] == "a"
    assert a["namespace"] == "user.test"
    assert float(a["started"]) < float(b["ended"])
    assert float(b["started"]) < float(a["ended"])
    board = capsys.readouterr().out
    assert "running  a " in board
    assert "a.log (warm)" in board
    assert "shell.log (subprocess)" in board
    assert any(line.startswith("Running stage 'a'") for line in said)


def test_the_warm_parent_forks_with_no_thread_and_runs_only_python_modules_warm(tmp_path: Path, env: None) -> None:
    parent = launch.WarmParent(["numpy"], tmp_path, os.environ)
    try:
        assert parent.modules == ["numpy"]
        assert parent.threads == 1  # numpy's BLAS pool was pinned while importing: no thread to fork with
    finally:
        parent.close()
    path = os.environ["PATH"]
    assert launch.python_module("python -m demo.step a --x=1", path) == ("demo.step", ["a", "--x=1"])
    assert launch.python_module("python -m demo.step a > log", path) is None
    assert launch.python_module("python demo/step.py", path) is None
    assert launch.python_module("python -m demo.step $HOME", path) is None
    assert launch.python_module("python -m demo.step", "/usr/bin:/bin") is None  # another python


def test_a_failed_stage_stops_what_depends_on_it_and_is_named_with_its_log(tmp_path: Path, env: None) -> None:
    stages = (
        stage("fail", "python -m demo.step fail", ["src/demo/step.py"], ["out/fail.json"])
        + stage("ok", "python -m demo.step ok", ["src/demo/step.py"], ["out/ok.json"])
        + stage("downstream", "python -m demo.step downstream", ["out/fail.json"], ["out/downstream.json"])
    )
    root = make_project(tmp_path / "p", stages, ["numpy"])
    with pytest.raises(StageFailed) as failed:
        spiral_run(root)
    message = str(failed.value)
    assert "stage fail failed" in message
    assert "boom: this stage fails on purpose" in message
    assert "fail.log" in message
    lock = (root / "dvc.lock").read_text()
    assert "ok:" in lock
    assert "downstream" not in lock
    assert "fail:" not in lock
    assert not (root / "out" / "downstream.json").exists()


@pytest.mark.slow
def test_the_lock_outputs_and_run_cache_are_dvc_repros_and_a_second_run_reruns_nothing(
    tmp_path: Path, env: None
) -> None:
    root = make_project(tmp_path / "p", SIDE_BY_SIDE.replace("demo.step", "demo.fixed"))
    spiral_run(root)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(root), str(clone)], check=True)
    subprocess.run([str(BIN / "dvc"), "repro", "-q"], cwd=clone, check=True)
    assert (root / "dvc.lock").read_bytes() == (clone / "dvc.lock").read_bytes()
    ignored = [sorted((copy / "out" / ".gitignore").read_text().splitlines()) for copy in (root, clone)]
    assert ignored[0] == ignored[1]  # the same entries; their order is the order stages finished in
    assert (root / "out" / "both.txt").exists()
    runs_here = sorted(p.relative_to(root) for p in (root / ".dvc" / "cache" / "runs").rglob("*") if p.is_file())
    runs_there = sorted(p.relative_to(clone) for p in (clone / ".dvc" / "cache" / "runs").rglob("*") if p.is_file())
    assert runs_here == runs_there
    assert len(runs_here) == 4
    status = subprocess.run([str(BIN / "dvc"), "status"], cwd=root, capture_output=True, text=True, check=True)
    assert "up to date" in status.stdout
    before = (root / "out" / "a.json").read_text()
    said = spiral_run(root, warm=False)
    assert sum("reusing the result" in line for line in said) == 4
    assert (root / "out" / "a.json").read_text() == before


def test_the_default_preload_is_what_the_package_imports_from_its_dependencies(tmp_path: Path) -> None:
    (tmp_path / "src" / "demo").mkdir(parents=True)
    (tmp_path / "src" / "demo" / "train.py").write_text(
        "import json\nimport numpy.linalg\nfrom yaml import safe_load\nfrom . import io\nfrom demo import shared\n"
    )
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "demo"\ndependencies = ["numpy>=2", "PyYAML"]\n'
        '[tool.spiral]\nproject = "demo"\nregion = "eu-west-1"\n'
    )
    # json is the standard library's, demo the project's own; yaml.safe_load is offered in case it is a module
    assert preload.modules(config.load(tmp_path)) == ["numpy.linalg", "yaml", "yaml.safe_load"]
    with (tmp_path / "pyproject.toml").open("a") as out:
        out.write(textwrap.dedent('[tool.spiral.local]\npreload = ["pandas"]\n'))
    assert preload.modules(config.load(tmp_path)) == ["pandas"]


def test_the_default_preload_takes_what_spiralkit_helpers_import_when_called(tmp_path: Path) -> None:
    (tmp_path / "src" / "demo").mkdir(parents=True)
    (tmp_path / "src" / "demo" / "features.py").write_text("from spiralkit.tables import read_table\n")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "demo"\n[tool.spiral]\nproject = "demo"\n')
    found = preload.modules(config.load(tmp_path))
    assert "spiralkit.tables" in found
    assert "pyarrow.dataset" in found  # imported inside read_table's helpers, so that the CLI stays quick
    check = "import sys; from pathlib import Path; from spiralkit import config; from spiralkit.runs import preload\n"
    check += f"preload.modules(config.load(Path({str(tmp_path)!r}))); print('pyarrow' in sys.modules)"
    alone = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True)
    assert alone.stdout.strip() == "False"  # working the list out imports none of it here


def test_the_warm_parent_skips_a_from_import_name_that_is_no_module_without_a_word(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert warm.preload(["json.dumps", "spiral_no_such_module"]) == []
    said = capsys.readouterr().err
    assert "spiral_no_such_module" in said
    assert "json.dumps" not in said


def test_the_environment_id_is_remembered_until_a_directory_on_the_path_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    monkeypatch.setattr(environment, "installed", lambda: f"python:test:{len(calls.append(1) or calls)}")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    on_path = tmp_path / "lib" / "site-packages"
    on_path.mkdir(parents=True)
    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    monkeypatch.setattr(sys, "path", [str(on_path), str(tmp_path.parent)])  # the second is no install directory
    assert environment.installed_cached() == environment.installed_cached() == "python:test:1"
    (on_path / "new-1.0.dist-info").mkdir()  # an install: the directory's mtime moves
    os.utime(on_path, ns=(1, 1))
    assert environment.installed_cached() == "python:test:2"


@pytest.mark.slow
def test_a_long_pipeline_reads_its_stages_once_and_its_lock_is_still_dvc_repros(
    tmp_path: Path, env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stages looked up through ``repo.stage.collect`` re-read dvc.yaml and the whole dvc.lock, once per stage:
    quadratic on hundreds of stages. Here dvc.lock is also written after every stage, read only once."""
    from dvc.repo.stage import StageLoad
    from dvc.utils import serialize

    count = 8
    stages = "".join(
        stage(
            f"s{i}", f"echo {i} > out/{i}.txt", [f"out/{i - 1}.txt"] if i else ["src/demo/fixed.py"], [f"out/{i}.txt"]
        )
        for i in range(count)
    )
    root = make_project(tmp_path / "p", stages)
    (root / "out").mkdir()
    collected: list[str] = []
    parsed: list[str] = []
    real_collect, real_parse = StageLoad.collect, serialize.parse_yaml_for_update
    monkeypatch.setattr(
        StageLoad, "collect", lambda self, *a, **k: collected.append(a[0]) or real_collect(self, *a, **k)
    )
    monkeypatch.setattr(serialize, "parse_yaml_for_update", lambda *a: parsed.append(a[1]) or real_parse(*a))
    monkeypatch.setattr(local, "LOCK_EVERY", 0.0)
    monkeypatch.setattr(local, "LOCK_SHARE", 0)
    spiral_run(root, warm=False)
    assert collected == []
    assert len(parsed) <= 1  # dvc.lock read once (never, when the first write made it)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(root), str(clone)], check=True)
    (clone / "out").mkdir()
    subprocess.run([str(BIN / "dvc"), "repro", "-q"], cwd=clone, check=True)
    assert (root / "dvc.lock").read_bytes() == (clone / "dvc.lock").read_bytes()
    written = (root / "dvc.lock").stat().st_mtime_ns
    said = spiral_run(root)
    assert sum("reusing the result" in line for line in said) == count
    assert (root / "dvc.lock").stat().st_mtime_ns == written  # nothing changed: not rewritten, as dvc repro


def test_the_warm_parent_preloads_without_threadpoolctl_and_leaves_the_pool_sizes_as_they_were(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = warm.importlib.util.find_spec
    monkeypatch.setattr(
        warm.importlib.util, "find_spec", lambda name, *a: None if name == "threadpoolctl" else real(name, *a)
    )
    for name in warm.POOL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert warm.preload(["json"]) == ["json"]
    assert not set(warm.POOL_VARIABLES) & set(os.environ)
