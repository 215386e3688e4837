"""Which stages of a plan the remote run-cache already has, so no job is submitted for them.

A stage's run-cache key is the hash of its command, its dependencies' hashes and its params (DVC's
``dvc.stage.cache``). Source files and params are hashed here, in the checkout; a dependency that an
upstream stage produces is known only through that stage's own run-cache entry, which lists its
outputs' hashes. So a stage is found cached only when every stage it depends on was found cached
too: a stage after one that must run cannot be known in advance, and is submitted.

Skipping is safe when a guess is wrong: a skipped stage that is not in fact cached is run by the
job of the stage that needs it (``dvc repro --pull`` reproduces upstream stages it cannot restore).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from spiralkit.batch.job import NAMESPACE_PARAM
from spiralkit.batch.plan import Plan
from spiralkit.errors import SpiralError


class RunCacheError(SpiralError):
    """The DVC remote, where the run-cache lives, is missing or misconfigured."""

    exit_code = 2


def cached(root: Path, plan: Plan, namespace: str, rerun: Iterable[str] = ()) -> list[str]:
    """The stages of ``plan`` (in plan order) whose run-cache entry and outputs are in the remote."""
    from dvc.repo import Repo

    rerun = set(rerun)
    found: list[str] = []
    outputs: dict[str, Any] = {}  # output path -> its entry in an upstream run-cache entry
    with contextlib.chdir(root), Repo(str(root)) as repo:
        runs, objects = remote(repo, "md5-dos2unix"), remote(repo, "md5")
        stages = {stage.addressing: stage for stage in repo.index.stages}
        for step in plan.stages:
            if step.name in rerun or any(up not in found for up in step.upstream):
                continue
            entry = _lookup(runs, _key(stages[step.name], outputs, namespace))
            if entry is None or not all(
                # DVC 3 objects say `hash: md5` (files/md5/ in the remote); older ones do not.
                (objects if out.get("hash") == "md5" else runs).exists(out["md5"])
                for out in entry.get("outs", [])
            ):
                continue
            found.append(step.name)
            outputs.update({out["path"]: out for out in entry.get("outs", [])})
    return found


def remote(repo: Any, hash_name: str) -> Any:
    """The default DVC remote's store for ``hash_name``: ``md5-dos2unix`` holds the run-cache."""
    from dvc.config import NoRemoteError, RemoteConfigError

    try:
        return repo.cloud.get_remote_odb(None, "spiral run", hash_name=hash_name)
    except (NoRemoteError, RemoteConfigError) as error:
        raise RunCacheError(
            f"{error}: Batch jobs share outputs through the DVC remote; point it at the bucket "
            "(`dvc remote add -d storage s3://<bucket>/dvc`)"
        ) from error


def _key(stage: Any, outputs: dict[str, Any], namespace: str) -> str | None:
    """``stage``'s run-cache key, its upstream outputs hashed as their run-cache entries say."""
    from dvc.dependency import ParamsDependency
    from dvc.stage.cache import _get_cache_hash
    from dvc.stage.serialize import to_single_stage_lockfile
    from dvc_data.hashfile.hash_info import HashInfo
    from dvc_data.hashfile.meta import Meta

    if stage.always_changed or not (stage.cmd and stage.deps and stage.outs):
        return None
    if any(out.persist or not out.is_in_repo for out in stage.outs):
        return None
    for dep in stage.deps:
        if isinstance(dep, ParamsDependency):
            dep.save()
            dep.hash_info = HashInfo(dep.hash_info.name, _with_namespace(dep.hash_info.value, namespace))
        elif dep.def_path in outputs:
            out = outputs[dep.def_path]
            dep.hash_info = HashInfo("md5", out["md5"])
            dep.meta = Meta(size=out.get("size"), nfiles=out.get("nfiles"))
        elif dep.protocol == "local" and dep.exists:
            dep.save()
        else:
            return None
    return str(_get_cache_hash(to_single_stage_lockfile(stage), key=True))


def _with_namespace(values: Any, namespace: str) -> Any:
    """Params values as the job will see them: ``publish.namespace`` set to the run's namespace."""
    if not isinstance(values, dict):
        return values
    section, _, key = NAMESPACE_PARAM.partition(".")
    values = dict(values)
    if NAMESPACE_PARAM in values:
        values[NAMESPACE_PARAM] = namespace
    elif isinstance(values.get(section), dict) and key in values[section]:
        values[section] = {**values[section], key: namespace}
    return values


def _lookup(odb: Any, key: str | None) -> dict[str, Any] | None:
    """The newest run-cache entry under ``key`` in the remote, as DVC would restore it."""
    import yaml

    if key is None:
        return None
    folder = odb.fs.join(odb.path, "runs", key[:2], key)
    try:
        entries = odb.fs.ls(folder, detail=True)
    except FileNotFoundError:
        return None
    if not entries:
        return None
    newest = max(entries, key=lambda info: str(info.get("LastModified") or info.get("mtime") or ""))
    return dict(yaml.safe_load(odb.fs.cat_file(newest["name"])))
