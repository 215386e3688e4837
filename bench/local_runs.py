"""``spiral run --on local`` against ``dvc repro`` and Metaflow: independent stages, a no-op, size, memory.

Each case is a generated DVC project (bench.synthetic) under build/bench/local, run from scratch (outputs,
dvc.lock, cache and run records removed) by both, in turns. The size figure runs spiral on
SPIRAL_BENCH_STAGES (default 50,500) stages, and ``dvc repro`` only on the smaller: on 500 stages it
alone takes minutes (quadratic: it rewrites dvc.lock after every stage). The rendered example runs from
scratch in turns under ``dvc repro``, ``spiral run --on local`` and Metaflow (bench/metaflow_flow.py),
timed and with the peak memory of each one's whole process tree (bench/memory.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import memory, synthetic
from bench.figures import Context, Figure, Target
from bench.measure import in_turns, time_command

TITLE = "Local runs: spiral run --on local against dvc repro and Metaflow"
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


def timed(command: list[str], root: Path, scratch: bool) -> float:
    """Wall seconds of ``command`` in ``root``, from scratch (outputs, dvc.lock, cache, run records removed) or not."""
    if scratch:
        subprocess.run(["git", "clean", "-ffdxq", "-e", "!.dvc/config"], cwd=root, check=True)
        shutil.rmtree(root / ".dvc" / "cache", ignore_errors=True)
        shutil.rmtree(root.with_name(root.name + "-remote"), ignore_errors=True)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": "src"}
    return time_command(command, root, env)


SPIRAL = [str(BIN / "spiral"), "run", "--on", "local"]
REPRO = [str(BIN / "dvc"), "repro"]


def run(context: Context) -> list[Figure]:
    work = context.work / "local"
    runs = max(1, min(context.runs, 3))
    load = f"{os.getloadavg()[0]:.1f}"
    eight = project(work / "eight", independent(8))
    side = in_turns(
        {"repro": lambda: timed(REPRO, eight, True), "spiral": lambda: timed(SPIRAL, eight, True), "cores": cores},
        runs,
    )
    noop = in_turns({"repro": lambda: timed(REPRO, eight, False), "spiral": lambda: timed(SPIRAL, eight, False)}, 5)
    small, large = (int(n) for n in os.environ.get("SPIRAL_BENCH_STAGES", "50,500").split(","))
    sizes = {n: project(work / f"stages-{n}", synthetic.dvc_yaml(n)) for n in (small, large)}
    repro_small = Figure(f"dvc repro: {small} generated stages, first run", [timed(REPRO, sizes[small], True)])
    grown = {n: Figure(f"spiral run --on local: {n} generated stages, first run", [timed(SPIRAL, root, True)])
             for n, root in sizes.items()}  # fmt: skip
    repro_eight = Figure("dvc repro: 8 independent stages of 2 s CPU each, from scratch", side["repro"])
    repro_noop = Figure("dvc repro again, nothing changed (8 stages)", noop["repro"])
    figures = [
        repro_eight,
        Figure(
            "spiral run --on local: the same 8 stages (2 cores, --jobs 2, warm starts)",
            side["spiral"],
            baseline=repro_eight,
            target=_at_most(0.6, "dvc repro's time"),
        ),
        Figure(
            "cores this benchmark got: 2 s of CPU work, 1 loop's time per loop when 2 run at once",
            side["cores"],
            unit="cores",
            notes=[
                "Linux schedules by session here (`/proc/sys/kernel/sched_autogroup_enabled` is "
                f"{_autogroup()}): while other sessions keep both cores busy, a session gets its share of the "
                "machine however many processes it runs, so two stages at once cannot finish sooner than one "
                "after the other. The cores figure measures that share in each round: 2 means two loops ran "
                "as fast as one alone, 1 that running two at once gained nothing."
            ],
        ),
        repro_noop,
        Figure(
            "spiral run --on local again, nothing changed (8 stages)",
            noop["spiral"],
            baseline=repro_noop,
            target=_at_most(1, "dvc repro's time"),
        ),
        repro_small,
        grown[small],
        Figure(
            grown[large].name,
            grown[large].samples,
            baseline=grown[small],
            target=_at_most(12, f"the {small}-stage run's time"),
            notes=[
                f"{large / small:.0f}x the stages. Load average (1 min) when this section started: {load}, "
                f"when it ended: {os.getloadavg()[0]:.1f}; bytecode: {bytecode(Path(sys.prefix))}."
            ],
        ),
    ]
    if context.project is not None and context.project_venv is not None:
        figures += _example(context)
    return figures


def _example(context: Context) -> list[Figure]:
    """The rendered example from scratch, in turns: dvc repro, spiral run --on local, Metaflow's local run."""
    assert context.project is not None
    assert context.project_venv is not None
    root, venv = context.project.resolve(), context.project_venv.absolute()
    env = {**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}", "VIRTUAL_ENV": str(venv)}
    flow = [str(venv / "bin" / "python"), str(Path(__file__).with_name("metaflow_flow.py")), "--no-pylint"]

    def scratch(command: list[str]) -> tuple[float, float]:
        subprocess.run(["git", "clean", "-ffdxq", "--exclude=.venv"], cwd=root, check=True)
        subprocess.run(["git", "checkout", "-q", "--", "."], cwd=root, check=True)
        return memory.sampled(command, root, env)

    def metaflow() -> tuple[float, float]:
        with tempfile.TemporaryDirectory() as home:  # its datastore and config, fresh each time
            store = {"METAFLOW_HOME": home, "METAFLOW_DATASTORE_SYSROOT_LOCAL": home, "USERNAME": "bench"}
            env.update(store, SPIRAL_BENCH_PACKAGE=_package(root))
            try:
                return scratch([*flow, "--datastore=local", "--metadata=local", "run"])
            finally:
                for name in (*store, "SPIRAL_BENCH_PACKAGE"):
                    env.pop(name)

    load = f"{os.getloadavg()[0]:.1f}"
    results = in_turns(
        {
            "repro": lambda: scratch([str(venv / "bin" / "dvc"), "repro"]),
            "spiral": lambda: scratch([str(venv / "bin" / "spiral"), "run", "--on", "local"]),
            "metaflow": metaflow,
        },
        max(1, min(context.runs, 3)),
    )
    seconds = {name: [sample[0] for sample in samples] for name, samples in results.items()}
    peaks = {name: [sample[1] for sample in samples] for name, samples in results.items()}
    metaflow_run = Figure(
        "the example, Metaflow's local run of the same five steps (bench/metaflow_flow.py)", seconds["metaflow"]
    )
    repro_peak = Figure("the example: peak memory of dvc repro from scratch (sum of PSS)", peaks["repro"], unit="MB")
    return [
        Figure("the example, dvc repro from scratch", seconds["repro"]),
        metaflow_run,
        Figure(
            "the example, spiral run --on local from scratch",
            seconds["spiral"],
            baseline=metaflow_run,
            target=_at_most(0.5, "Metaflow's time"),
        ),
        repro_peak,
        Figure("the example: peak memory of Metaflow's run (sum of PSS)", peaks["metaflow"], unit="MB"),
        Figure(
            "the example: peak memory of spiral run --on local from scratch, warm starts (sum of PSS)",
            peaks["spiral"],
            unit="MB",
            baseline=repro_peak,
            target=_at_most(1.5, "dvc repro's"),
            notes=[
                "Memory: the peak over the run of the sum of PSS (/proc/PID/smaps_rollup) of the command's whole "
                f"process tree, sampled every {memory.EVERY * 1000:.0f} ms (bench/memory.py); a page a warm "
                "parent shares with its forked children counts once.",
                f"The example: load average (1 min) when it started: {load}, when it ended: "
                f"{os.getloadavg()[0]:.1f}; bytecode: {bytecode(venv)}.",
            ],
        ),
    ]


def _at_most(times: float, baseline: str) -> Target:
    """At most ``times`` the baseline's median: a ratio (baseline over figure) of at least 1 / ``times``."""
    return Target(
        f"at most {times:g}x {baseline}",
        lambda figure: figure.ratio is not None and figure.ratio * times >= 1,
    )


def cores() -> float:
    """How many cores two CPU-bound processes get together, relative to one alone (2.0 on an idle 2-core machine)."""
    loop = [sys.executable, "-c", "import time\nend = time.process_time() + 1\nwhile time.process_time() < end: pass"]
    alone = time_command(loop, Path.cwd())
    start = time.perf_counter()
    both = [subprocess.Popen(loop) for _ in range(2)]
    if any(process.wait() for process in both):
        raise RuntimeError("a CPU loop failed")
    return round(2 * alone / (time.perf_counter() - start), 2)


def _autogroup() -> str:
    setting = Path("/proc/sys/kernel/sched_autogroup_enabled")
    return setting.read_text().strip() if setting.exists() else "absent"


def bytecode(venv: Path) -> str:
    """Whether ``venv``'s installed modules have compiled bytecode for its Python, and PYTHONDONTWRITEBYTECODE."""
    sources = [path for path in venv.glob("lib/python3*/site-packages/*/*.py")]
    cached = sum(any(path.parent.glob(f"__pycache__/{path.stem}.*.pyc")) for path in sources)
    share = f"{cached / len(sources):.0%}" if sources else "no modules"
    writes = "set" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "not set"
    return f"{share} of the modules in {venv.name}'s site-packages have a .pyc; PYTHONDONTWRITEBYTECODE {writes}"


def _package(root: Path) -> str:
    """The example's package name, from its answers file."""
    answers = (root / ".copier-answers.yml").read_text(encoding="utf-8")
    return next(
        line.split(":", 1)[1].strip().strip("'\"") for line in answers.splitlines() if line.startswith("package_name:")
    )
