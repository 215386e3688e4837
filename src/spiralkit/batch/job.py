"""``spiral job STAGE --namespace NS``: what one Batch job runs, in the image at the run's commit.

1. set ``publish.namespace`` in params.yaml to NS (when the project has that parameter), so the
   namespace is part of the publishing stage's run-cache identity: promoting a commit to ``prod``
   reruns publish for prod instead of restoring a test run's result;
2. ``dvc repro --pull STAGE``: upstream stages come back from the remote run-cache ("Stage ... is
   cached - skipping run"), only STAGE runs;
3. ``dvc push --run-cache``: STAGE's outputs and run-cache entry go to the remote for the jobs
   after it;
4. push the run-cache entry's ``cache: false`` outputs (metrics, plots) too: DVC commits them into
   the run-cache but ``dvc push`` leaves them out, and without them no other host could restore
   the stage, so it would rerun everywhere.

``spiral run --on local`` runs the same steps, stage by stage, in the working tree.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from spiralkit import config, namespace
from spiralkit.errors import SpiralError

NAMESPACE_PARAM = "publish.namespace"  # the params.yaml key that carries the run's namespace


class StageFailed(SpiralError):
    """The stage's own command failed: its output above says why."""

    exit_code = 7


def steps(stage: str, force: bool = False) -> list[list[str]]:
    """The DVC commands of one job, in order.

    ``force`` reruns the stage even if the run-cache has it (new source data behind the same
    inputs): upstream stages are restored first, then only this stage is forced.
    """
    dvc = [sys.executable, "-m", "dvc"]
    forced = [[*dvc, "repro", "--force", "--single-item", stage]] if force else []
    return [[*dvc, "repro", "--pull", stage], *forced, [*dvc, "push", "--run-cache"]]


def set_namespace(root: Path, name: str) -> bool:
    """Write ``name`` into params.yaml's ``publish.namespace``, keeping comments; False if absent."""
    from dvc.utils.serialize import modify_yaml

    params = root / "params.yaml"
    if not params.is_file():
        return False
    section_name, _, key = NAMESPACE_PARAM.partition(".")
    with modify_yaml(str(params)) as data:
        section = data.get(section_name) if isinstance(data, dict) else None
        if not isinstance(section, dict) or key not in section:
            return False
        section[key] = name
    return True


def run_stage(stage: str, requested: str, force: bool = False, echo: Callable[[str], None] = print) -> None:
    """Run one stage as a Batch job does, in the project around the current directory."""
    project = config.load()
    name = namespace.resolve(project, requested)
    if set_namespace(project.root, name):
        echo(f"spiral job: publish.namespace = {name}")
    if not (project.root / ".git").exists():
        # The image holds the project's files without .git: DVC then runs without git.
        _call(
            [sys.executable, "-m", "dvc", "config", "--local", "core.no_scm", "true"],
            project.root,
            echo,
        )
    for command in steps(stage, force):
        _call(command, project.root, echo)
    echo(f"spiral job: pushed {push_uncached_outputs(project.root, stage)} run-cache object(s)")


def push_uncached_outputs(root: Path, stage: str) -> int:
    """Push every object of ``stage``'s current run-cache entry, ``cache: false`` outputs included."""
    from dvc.repo import Repo
    from dvc.stage.cache import _can_hash, _get_cache_hash, _get_stage_hash
    from dvc.stage.serialize import to_single_stage_lockfile

    pushed = 0
    with contextlib.chdir(root), Repo(str(root)) as repo:
        for found in repo.stage.collect(stage):
            if not _can_hash(found):
                continue
            entry = (_get_stage_hash(found), _get_cache_hash(to_single_stage_lockfile(found)))
            for objects in repo.stage_cache.get_used_objs([entry]).values():
                result = repo.cloud.push(objects)
                if result.failed:
                    raise StageFailed(f"could not push {len(result.failed)} object(s) of {stage}")
                pushed += len(result.transferred)
    return pushed


def _call(command: list[str], cwd: Path, echo: Callable[[str], None]) -> None:
    echo("spiral job: $ " + " ".join(["dvc", *command[3:]]))
    if subprocess.run(command, cwd=cwd, check=False).returncode:
        raise StageFailed(f"`{' '.join(['dvc', *command[3:]])}` failed in {cwd}")
