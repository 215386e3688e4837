"""The warm parent of a local run (:mod:`spiralkit.runs.warm`): started lazily, or at once on a first run.

A run that reuses every stage starts none, and does not even work out what to preload. When some
stage is sure to run (it has no dvc.lock entry yet, as in a first run), it starts at once, in a thread
of its own, so its imports (seconds, for scikit-learn, pyarrow and skops) overlap DVC's work instead of
following it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence

from spiralkit.config import ProjectConfig
from spiralkit.errors import SpiralError
from spiralkit.runs import dvcstage, launch, preload


class LazyWarm:
    """The warm parent, started by :meth:`get` when the first stage needs it, or by :meth:`start_soon` at once."""

    def __init__(self, project: ProjectConfig) -> None:
        self.project = project
        self.parent: launch.WarmParent | None = None
        self.starting: threading.Thread | None = None
        self.started: launch.WarmParent | SpiralError | None = None

    def start_soon(self) -> None:
        def start() -> None:
            try:
                self.started = self._start()
            except SpiralError as error:
                self.started = error

        self.starting = threading.Thread(target=start, name="spiral-warm-start", daemon=True)
        self.starting.start()

    def get(self) -> launch.WarmParent:
        if self.parent is None:
            if self.starting is not None:
                self.starting.join()
                self.starting, started = None, self.started
                if isinstance(started, SpiralError):
                    raise started
                self.parent = started
            if self.parent is None:
                self.parent = self._start()
        return self.parent

    def _start(self) -> launch.WarmParent:
        env = dvcstage.stage_env(self.project.root)
        try:
            return launch.WarmParent(preload.modules(self.project), self.project.root, env)
        except OSError as error:
            raise SpiralError(f"could not start the warm parent for `python -m` stages: {error}") from error

    def close(self) -> None:
        if self.starting is not None:
            self.starting.join()
            self.parent = self.parent or (self.started if isinstance(self.started, launch.WarmParent) else None)
        if self.parent is not None:
            self.parent.close()


@contextlib.contextmanager
def warm_parent(project: ProjectConfig) -> Iterator[LazyWarm]:
    """The warm parent for a run of the whole pipeline, before it is even planned: started at once when a stage
    of dvc.yaml has no dvc.lock entry (a first run), so that its imports overlap DVC's planning."""
    with _lazy(project, not dvcstage.locked_stages(project.root) >= dvcstage.pipeline_stages(project.root)) as lazy:
        yield lazy


@contextlib.contextmanager
def for_plan(project: ProjectConfig, warm: bool, names: Sequence[str]) -> Iterator[LazyWarm | None]:
    """The warm parent for this run (None when warm starts are off), started with DVC's stage environment:
    at once when one of the stages ``names`` has no dvc.lock entry, else when a stage first needs it."""
    if not warm:
        yield None
        return
    with _lazy(project, not dvcstage.locked_stages(project.root) >= set(names)) as lazy:
        yield lazy


@contextlib.contextmanager
def _lazy(project: ProjectConfig, at_once: bool) -> Iterator[LazyWarm]:
    lazy = LazyWarm(project)
    if at_once:
        lazy.start_soon()
    try:
        yield lazy
    finally:
        lazy.close()
