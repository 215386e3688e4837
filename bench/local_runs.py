"""``spiral run --on local`` against ``dvc repro``: independent stages, a no-op run, pipeline size, memory.

Each case is a generated DVC project (bench.synthetic) under build/bench/local, run from scratch (outputs,
dvc.lock, cache and run records removed) by both, in turns. Set SPIRAL_BENCH_STAGES=50,500 for the
size figure (default 20,100: ``dvc repro`` of 500 stages alone takes minutes).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench import synthetic
from bench.figures import Context, Figure, Target
from bench.measure import in_turns

TITLE = "Local runs: spiral run --on local against dvc repro"
BIN = Path(sys.executable).parent
WORK = """\
import sys, time
end = time.process_time() + 2.0  # 2 s of CPU work, not a sleep: the cores are what is shared
while time.process_time() < end:
    pass
open(f"out/{int(sys.argv[1]):04d}.txt", "w").write(sys.argv[1])
"""


def project(root: Path, dvc_yaml: str) -> Path:
    shutil.rmtree(root, ignore_errors=True)
    (root / "src").mkdir(parents=True)
    (root / "src" / "work.py").write_text(WORK)
    (root / "out").mkdir()
    (root / "out" / ".keep").touch()
    (root / "dvc.yaml").write_text(dvc_yaml)
    (root / "params.yaml").write_text("seed: 1\n")
    (root / ".gitignore").write_text(".spiral/\n")
    (root / "pyproject.toml").write_text('[tool.spiral]\nproject = "bench"\nregion = "eu-west-1"\n')
    for command in (
        ["git", "init", "-q"],
        [str(BIN / "dvc"), "init", "-q"],
        [str(BIN / "dvc"), "remote", "add", "-q", "-d", "local", str(root.with_name(root.name + "-remote"))],
        ["git", "add", "-A"],
        ["git", "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "bench"],
    ):
        subprocess.run(command, cwd=root, check=True, capture_output=True)
    return root


def independent(count: int) -> str:
    """``count`` stages of 2 s of CPU work each, none depending on another."""
    lines = ["stages:"]
    for i in range(count):
        lines += [
            f"  work-{i}:",
            f"    cmd: python -m work {i}",
            "    deps: [src/work.py]",
            f"    outs: [out/{i:04d}.txt]",
        ]
    return "\n".join(lines) + "\n"


def timed(command: list[str], root: Path, scratch: bool) -> tuple[float, float]:
    """Wall seconds and the peak RSS (MB) of the largest process of ``command`` in ``root``."""
    if scratch:
        subprocess.run(["git", "clean", "-ffdxq", "-e", "!.dvc/config"], cwd=root, check=True)
        shutil.rmtree(root / ".dvc" / "cache", ignore_errors=True)
        shutil.rmtree(root.with_name(root.name + "-remote"), ignore_errors=True)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": "src"}
    return measured(command, root, env)


def measured(command: list[str], root: Path, env: dict[str, str]) -> tuple[float, float]:
    """Run ``command`` under a fresh wrapper process, so the peak RSS is this command's tree's alone."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", PEAK, *command], cwd=root, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)} failed in {root}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return elapsed, int(done.stdout.strip().splitlines()[-1]) / 1024


PEAK = (
    "import resource, subprocess, sys; done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(done.returncode)"
)
SPIRAL = [str(BIN / "spiral"), "run", "--on", "local"]
REPRO = [str(BIN / "dvc"), "repro"]


def run(context: Context) -> list[Figure]:
    work = context.work / "local"
    runs = max(1, min(context.runs, 3))
    eight = project(work / "eight", independent(8))
    side = in_turns(
        {
            "repro": lambda: timed(REPRO, eight, scratch=True)[0],
            "spiral": lambda: timed(SPIRAL, eight, scratch=True)[0],
        },
        runs,
    )
    noop = in_turns(
        {"repro": lambda: timed(REPRO, eight, False)[0], "spiral": lambda: timed(SPIRAL, eight, False)[0]}, runs
    )
    small, large = (int(n) for n in os.environ.get("SPIRAL_BENCH_STAGES", "20,100").split(","))
    sizes = {n: project(work / f"stages-{n}", synthetic.dvc_yaml(n)) for n in (small, large)}
    grown = {n: [timed(SPIRAL, root, scratch=True)[0]] for n, root in sizes.items()}
    repro_small = [timed(REPRO, sizes[small], scratch=True)[0]]
    figures = [
        Figure("dvc repro: 8 independent stages of 2 s CPU each, from scratch", side["repro"]),
        Figure(
            "spiral run --on local: the same 8 stages (2 cores, --jobs 2, warm starts)",
            side["spiral"],
            target=Target.median_at_most(0.6 * _median(side["repro"])),
        ),
        Figure("dvc repro again, nothing changed (8 stages)", noop["repro"]),
        Figure(
            "spiral run --on local again, nothing changed (8 stages)",
            noop["spiral"],
            target=Target.median_at_most(_median(noop["repro"])),
        ),
        Figure(f"dvc repro: {small} generated stages, first run", repro_small),
        Figure(f"spiral run --on local: {small} generated stages, first run", grown[small]),
        Figure(
            f"spiral run --on local: {large} generated stages, first run",
            grown[large],
            target=Target.median_at_most(large / small * 1.2 * grown[small][0]),
            notes=[f"{large / small:.0f}x the stages; the target allows {large / small * 1.2:.0f}x the time"],
        ),
    ]
    if context.project is not None and context.project_venv is not None:
        figures += _example(context)
    return figures


def _example(context: Context) -> list[Figure]:
    """The rendered example from scratch: peak memory and wall time of a warm run against dvc repro's."""
    assert context.project is not None
    assert context.project_venv is not None
    root, venv = context.project, context.project_venv
    env = {**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}", "VIRTUAL_ENV": str(venv)}

    def scratch(command: list[str]) -> tuple[float, float]:
        subprocess.run(["git", "clean", "-ffdxq", "--exclude=.venv"], cwd=root, check=True)
        subprocess.run(["git", "checkout", "-q", "--", "."], cwd=root, check=True)
        return measured(command, root, env)

    results = in_turns(
        {
            "repro": lambda: scratch([str(venv / "bin" / "dvc"), "repro"]),
            "spiral": lambda: scratch([str(venv / "bin" / "spiral"), "run", "--on", "local"]),
        },
        max(1, min(context.runs, 3)),
    )
    repro, spiral = ([sample[0] for sample in results[k]] for k in ("repro", "spiral"))
    return [
        Figure("the example, dvc repro from scratch", repro),
        Figure("the example, spiral run --on local from scratch", spiral),
        Figure(
            "the example: peak RSS of the largest process, spiral run (MB)",
            [sample[1] for sample in results["spiral"]],
            unit="MB",
            target=Target.median_at_most(1.5 * max(sample[1] for sample in results["repro"]), "MB"),
            notes=[f"dvc repro: {max(sample[1] for sample in results['repro']):.0f} MB (ru_maxrss of children)"],
        ),
    ]


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]
