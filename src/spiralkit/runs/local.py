"""``spiral run --on local``: the pipeline here, independent stages side by side, recorded like a Batch run.

Each stage goes through the steps of :mod:`spiralkit.runs.stage`, as in a Batch job: reused by identity
when an earlier run (here, or prod's) made it, else run as ``dvc repro --single-item --force`` would
run it. Up to ``jobs`` commands run at once; ``python -m pkg.mod`` commands are forked from a warm
parent (:mod:`spiralkit.runs.warm`). All DVC work stays in this process's main thread, between
commands. dvc.lock is written once per batch of finished stages (at most about once a second, and at
the end), not after every stage: a pipeline of hundreds of stages then costs linear time, not quadratic.
A failed stage stops the stages that depend on it; the others finish, then the run fails naming it.

The environment is this interpreter's installed packages (or ``SPIRAL_ENVIRONMENT``, which the
project's images set to the lock they installed).
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from spiralkit.batch.plan import Plan
from spiralkit.config import ProjectConfig
from spiralkit.errors import StageFailed
from spiralkit.runs import begin, board, dvcstage, environment, last_run, launch, warmstart
from spiralkit.runs import record as records
from spiralkit.runs.stage import StageRun, Started
from spiralkit.runs.stage import begin as begin_stage
from spiralkit.runs.stage import finish as finish_stage

LOCK_EVERY = 1.0  # seconds between dvc.lock writes while stages finish, at least
LOCK_SHARE = 10  # and at least this many times as long as the last write took


def run(
    project: ProjectConfig,
    plan: Plan,
    namespace: str,
    forced: Sequence[str] = (),
    echo: Callable[[str], None] = print,
    jobs: int | None = None,
    warm: bool | warmstart.LazyWarm = True,
) -> records.RunRecord:
    """Run ``plan`` in the working tree, in ``namespace``, ``jobs`` commands at once; returns the record.

    ``warm``: whether ``python -m`` stages start from a warm parent, or the one ``warmstart.warm_parent`` gave.
    """
    if isinstance(warm, warmstart.LazyWarm) or not warm:
        given: contextlib.AbstractContextManager[warmstart.LazyWarm | None] = contextlib.nullcontext(warm or None)
    else:  # first, so that the warm parent's imports (when it starts at once) overlap everything below
        given = warmstart.warm_parent(project, [stage.name for stage in plan.stages])
    with given as parent:
        record = begin.create(
            project,
            plan,
            namespace=namespace,
            on="local",
            commit=_commit(project),
            environment_id=os.environ.get("SPIRAL_ENVIRONMENT") or environment.installed_cached(),
            overrides={},
            forced=forced,
        )
        store = records.store_for(project)
        records.save(store, record)
        last_run.remember(project.root, record)
        logs = project.root / ".spiral" / "logs" / record.run_id
        logs.mkdir(parents=True, exist_ok=True)
        display = board.Board(record.names(), logs)
        echo(f"run {record.run_id} in {namespace}: {len(record.stages)} stage(s), logs in {logs}")
        stage_run = StageRun(project.root, store, record, display.echo(echo))
        with dvcstage.opened(project.root) as repo:
            failed = Scheduler(stage_run, repo, display, parent, jobs or os.cpu_count() or 1).run()
    if failed:
        raise StageFailed(
            "\n".join(f"stage {name} failed in run {record.run_id}; the end of {display.log(name)}:\n"
                      f"{board.tail(display.log(name))}" for name in failed)
        )  # fmt: skip
    records.finish(store, record)
    echo(f"run {record.run_id} done: `spiral status {record.run_id}` shows it")
    return record


class Scheduler:
    """Starts each stage once everything it reads from is done, ``jobs`` at a time."""

    def __init__(
        self, run: StageRun, repo: Any, display: board.Board, warm: warmstart.LazyWarm | None, jobs: int
    ) -> None:
        self.stage_run, self.repo, self.display, self.warm, self.jobs = run, repo, display, warm, max(1, jobs)
        self.plan = {stage.name: stage for stage in run.record.stages}
        self.results: dict[str, dict[str, Any]] = {}
        self.running: dict[str, tuple[Started, launch.Command]] = {}
        self.failed: list[str] = []
        self.unwritten: dict[str, dict[str, Any]] = {}
        self.written, self.write_took = time.monotonic(), 0.0
        self.lock = dvcstage.LockFile(run.root, run.record.names())

    def run(self) -> list[str]:
        """Run every stage; returns the names of the stages that failed."""
        waiting = list(self.plan)
        with _woken_by_children(self.warm) as wait:
            try:
                while waiting or self.running:
                    waiting = self._start_ready(waiting)
                    self._collect()
                    self._write_lock(force=False)  # and at the end, below
                    self.display.draw()
                    if self.running:
                        wait()
            finally:
                for _, command in self.running.values():
                    command.kill()
                self._write_lock(force=True)
        return self.failed

    def _start_ready(self, waiting: list[str]) -> list[str]:
        still = []
        for name in waiting:
            upstream = self.plan[name].upstream
            if any(up in self.failed or self.display.rows[up].state == "skipped" for up in upstream):
                self.display.set(name, "skipped")
            elif len(self.running) >= self.jobs or any(up not in self.results for up in upstream):
                still.append(name)
            else:
                self._start(name)
        return still

    def _start(self, name: str) -> None:
        begun = begin_stage(self.stage_run, self.repo, name, self.results)
        if not isinstance(begun, Started):
            self._done(name, begun, "reused")
            return
        log = self.display.log(name)
        command = launch.start(begun.prepared, log, self.warm.get() if self.warm else None)
        self.running[name] = (begun, command)
        self.display.set(name, "running", command.how)

    def _collect(self) -> None:
        for name, (begun, command) in list(self.running.items()):
            if (code := command.poll()) is None:
                continue
            del self.running[name]
            if code:
                self.failed.append(name)
                self.display.set(name, "failed")
                continue
            self._done(name, finish_stage(self.stage_run, begun, True), "done")

    def _done(self, name: str, result: dict[str, Any], state: str) -> None:
        self.results[name] = result
        self.unwritten[name] = result["entry"]
        self.display.set(name, state)

    def _write_lock(self, force: bool) -> None:
        """One dvc.lock write for every stage finished since the last.

        A write dumps the whole file, so its cost grows with the stages written: writes are spaced by at
        least LOCK_EVERY seconds and by LOCK_SHARE times the last write's duration, so writing dvc.lock
        never takes more than about a tenth of the run, however many stages the pipeline has.
        """
        now = time.monotonic()
        if self.unwritten and (force or now - self.written >= max(LOCK_EVERY, LOCK_SHARE * self.write_took)):
            self.lock.write(self.unwritten)
            self.unwritten = {}
            self.written = time.monotonic()
            self.write_took = self.written - now


@contextlib.contextmanager
def _woken_by_children(lazy: warmstart.LazyWarm | None) -> Iterator[Callable[[], None]]:
    """A ``wait()`` that returns when a child process ends, the warm parent reports, or 0.25 s pass."""
    selector = selectors.DefaultSelector()
    warm: launch.WarmParent | None = None
    wake_read = wake_write = -1
    previous: Any = None
    if threading.current_thread() is threading.main_thread():
        wake_read, wake_write = os.pipe()
        os.set_blocking(wake_write, False)
        os.set_blocking(wake_read, False)
        previous = signal.signal(signal.SIGCHLD, lambda *_: None)
        old_fd = signal.set_wakeup_fd(wake_write)
        selector.register(wake_read, selectors.EVENT_READ, "child")

    def wait() -> None:
        nonlocal warm
        if warm is None and lazy is not None and (warm := lazy.ready()) is not None:
            selector.register(warm.fileno(), selectors.EVENT_READ, "warm")
        for key, _ in selector.select(timeout=0.25 if wake_read >= 0 or warm else 0.02):
            if key.data == "warm" and warm is not None:
                warm.collect()
            else:
                with contextlib.suppress(BlockingIOError):
                    os.read(wake_read, 512)

    try:
        yield wait
    finally:
        if wake_read >= 0:
            signal.set_wakeup_fd(old_fd)
            signal.signal(signal.SIGCHLD, previous)
            os.close(wake_read)
            os.close(wake_write)
        selector.close()


def _commit(project: ProjectConfig) -> str:
    """HEAD, marked ``-dirty`` when the user's files differ from it (the run used those changes)."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=project.root, capture_output=True, text=True, check=False)
        return done.stdout if done.returncode == 0 else ""

    head = git("rev-parse", "HEAD").strip()
    changed = [line[3:] for line in git("status", "--porcelain", "--untracked-files=no").splitlines()]
    # DVC itself writes dvc.lock and the .gitignore files next to outputs; anything else is the user's.
    own = [path for path in changed if path != "dvc.lock" and Path(path).name != ".gitignore"]
    return head + ("-dirty" if head and own else "")
