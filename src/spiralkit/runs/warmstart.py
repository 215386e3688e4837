"""The warm parent of a local run (:mod:`spiralkit.runs.warm`): started lazily, or at once on a first run.

A run that reuses every stage starts none, and does not even work out what to preload. When some
stage is sure to run (it has no dvc.lock entry yet, as in a first run), it starts at once, in a thread
of its own, so its imports (seconds, for scikit-learn, pyarrow and skops) overlap DVC's work instead of
following it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Collection, Iterator
from concurrent.futures import Future

from spiralkit.config import ProjectConfig
from spiralkit.errors import SpiralError
from spiralkit.runs import dvcstage, launch, preload


class LazyWarm:
    """The warm parent, started by :meth:`get` when the first stage needs it, or by :meth:`start_soon` at once."""

    def __init__(self, project: ProjectConfig) -> None:
        self.project = project
        self._parent: Future[launch.WarmParent] | None = None

    def start_soon(self) -> None:
        self._parent = Future()
        threading.Thread(target=self._resolve, args=(self._parent,), name="spiral-warm-start", daemon=True).start()

    def get(self) -> launch.WarmParent:
        if self._parent is None:
            self._parent = Future()
            self._resolve(self._parent)
        return self._parent.result()

    def ready(self) -> launch.WarmParent | None:
        """The parent once it has started (without waiting for it), else None."""
        parent = self._parent
        return parent.result() if parent is not None and parent.done() and parent.exception() is None else None

    def _resolve(self, parent: Future[launch.WarmParent]) -> None:
        """Start the parent into ``parent``: its result, or the error a stage that needs it will raise."""
        try:
            parent.set_result(self._start())
        except Exception as error:
            parent.set_exception(error)

    def _start(self) -> launch.WarmParent:
        env = dvcstage.stage_env(self.project.root)
        try:
            return launch.WarmParent(preload.modules(self.project), self.project.root, env)
        except OSError as error:
            raise SpiralError(f"could not start the warm parent for `python -m` stages: {error}") from error

    def close(self) -> None:
        if self._parent is not None and self._parent.exception() is None:  # waits for one still starting
            self._parent.result().close()


@contextlib.contextmanager
def warm_parent(project: ProjectConfig, names: Collection[str] | None = None) -> Iterator[LazyWarm]:
    """The warm parent for a run of the stages ``names`` (default: all of dvc.yaml's, before DVC plans the run):
    started at once when one of them has no dvc.lock entry (a first run), so that its imports overlap DVC's
    work, else when a stage first needs it."""
    lazy = LazyWarm(project)
    wanted = set(names) if names is not None else dvcstage.pipeline_stages(project.root)
    if not dvcstage.locked_stages(project.root) >= wanted:
        lazy.start_soon()
    try:
        yield lazy
    finally:
        lazy.close()
