"""How pytest-xdist shares the suite between cores: the longest work first, each answer set on its own.

xdist's ``--dist loadfile`` sends a module's tests to one worker, so its module-scoped fixtures (a rendered
project, a stack on moto) are built once, and by default hands out the modules with the most tests first.
Test counts say little here: one module renders four projects and runs each one's gates, another runs
a hundred checks in a second. So the modules measured to take a minute or more go first, longest first
(the rest keep their order), and test_render's answer sets are separate units, so two cores build two
projects at once. Measured per module (``pytest --durations``, each worker's timeline) in one whole run
with 3 workers on 2 cores; a module missing here is only scheduled later.
"""

from __future__ import annotations

import pytest

LONGEST_FIRST = [
    "test_runs_e2e.py",  # 258 s: three Batch runs played job by job
    "test_render.py",  # 64 to 134 s per answer set: a project environment, its hooks, tests and pipeline
    "test_batch_fallback.py",  # 77 s: a run moved from Spot to on-demand, played
    "test_first_command.py",  # 53 s: the README's install with the distribution's Python
    "test_release.py",  # 34 s: the hooks' and workflows' installs from the index
]
# Modules whose tests all hang off one parametrized module-scoped fixture: a unit per parameter.
BY_PARAMETER = {"test_render.py"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The modules of ``LONGEST_FIRST`` in its order, then the others as collected (every worker sorts alike)."""
    rank = {name: index for index, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """For ``--dist loadfile``: units in collection order (sorted above), test_render's one per answer set."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class LongestFirst(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            if module.rpartition("/")[2] in BY_PARAMETER and nodeid.endswith("]"):
                return f"{module}[{nodeid.rpartition('[')[2]}"
            return module

    config.option.loadscopereorder = False  # keep the collection's order
    return LongestFirst(config, log)
