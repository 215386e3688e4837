"""The one place spiralkit uses DVC's internals: stage keys, dvc.lock entries, and objects by hash.

**A stage's identity** is DVC's run-cache key (its command, its dependencies' hashes and its params,
``dvc.stage.cache``), plus the environment that runs it, plus the namespace for a stage whose result
belongs to one namespace (``meta: {spiral: {per_namespace: true}}``, e.g. a stage that publishes).
A stage whose result does not depend on the packages opts out of the environment with
``meta: {spiral: {environment: false}}``.

**Objects move by hash, and are checked.** A stage's outputs go to the DVC remote under their md5
(``files/md5/ab/cdef...``, DVC's own layout, so ``dvc pull`` finds them too), and a job restores
exactly the hashes its upstream stages recorded in this run: nothing is chosen among run-cache
entries, and every byte downloaded is hashed again before it is used, so an object replaced in the
remote is refused rather than run.

**Running a stage without ``dvc repro``** (the last section): DVC's own ``Stage`` calls, in the order
``dvc repro --single-item --force`` makes them (``Stage.run``: remove the outputs, run the command,
``save`` with the run-cache, ``commit``), with the command itself left to the caller so stages can run
side by side; dvc.lock is written with DVC's own YAML writer, many entries at once. These are DVC
internals (``dvc.stage``, ``dvc.stage.run``, ``dvc.utils.serialize``), tested with DVC 3.67.1.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from spiralkit.errors import IntegrityError, SpiralError, UsageError

_CHUNK = 1 << 20


class PipelineError(UsageError):
    """DVC refuses the pipeline (an unknown stage, a dvc.yaml it cannot read)."""


class ObjectError(IntegrityError):
    """An output's object is missing from the DVC remote, or its bytes do not match its hash."""


def identity(dvc_key: str, environment: str | None, namespace: str | None) -> str:
    """The spiral key of a stage result: DVC's key, the environment (unless opted out), the namespace
    (for per-namespace stages)."""
    text = json.dumps({"dvc": dvc_key, "environment": environment, "namespace": namespace}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def md5_file(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def opened(root: Path) -> Iterator[Any]:
    """DVC's ``Repo`` for ``root``, opened from the root so stage names resolve as ``dvc repro``'s.

    Inside another ``opened(root)``, the same ``Repo``: DVC then reads the pipeline once (its index and
    graph take a quarter of a second for a small one) for planning a run and for running it.
    """
    from dvc.repo import Repo

    key = Path(root).resolve()
    with contextlib.chdir(root):
        if key in _OPENED:
            yield _OPENED[key]
            return
        with Repo(str(root)) as repo:
            _OPENED[key] = repo
            try:
                yield repo
            finally:
                del _OPENED[key]


_OPENED: dict[Path, Any] = {}


def repro_order(repo: Any, targets: Sequence[str]) -> tuple[list[Any], Any]:
    """The stages ``dvc repro targets`` would consider, in its order, and DVC's graph of them."""
    from dvc.exceptions import DvcException
    from dvc.repo.reproduce import collect_stages, get_active_graph, plan_repro

    try:
        graph = get_active_graph(repo.index.graph)
        selected = collect_stages(repo, targets) if targets else None
        return list(plan_repro(graph, selected)), graph
    except DvcException as error:
        raise PipelineError(str(error)) from error


def stage_env(root: Path) -> dict[str, str]:
    """The environment DVC gives a stage's command, for the project at ``root``."""
    from dvc.utils import fix_env

    return {**fix_env(None), "DVC_ROOT": str(root)}


def lock_text(data: Mapping[str, Any]) -> str:
    """``data`` as DVC writes dvc.lock, byte for byte."""
    from dvc.utils.serialize import dumps_yaml

    return str(dumps_yaml(dict(data)))


def stage_meta(repo: Any, name: str) -> dict[str, Any]:
    """The ``meta.spiral`` block of stage ``name`` (empty if absent)."""
    meta = _stage(repo, name).meta or {}
    spiral = meta.get("spiral", {}) if isinstance(meta, Mapping) else {}
    return dict(spiral) if isinstance(spiral, Mapping) else {}


def dvc_key(
    repo: Any, name: str, upstream: Mapping[str, Mapping[str, Any]], overrides: Mapping[str, Any]
) -> str | None:
    """DVC's run-cache key of stage ``name``, or None for a stage DVC never caches.

    ``upstream`` maps output paths to their dvc.lock entries (as this run's upstream stages recorded
    them); every other dependency is hashed as it is on disk. ``overrides`` are ``section.key`` params
    as the run sets them.
    """
    from dvc.dependency import ParamsDependency
    from dvc.stage.cache import _get_cache_hash
    from dvc.stage.serialize import to_single_stage_lockfile
    from dvc_data.hashfile.hash_info import HashInfo
    from dvc_data.hashfile.meta import Meta

    stage = _stage(repo, name)
    if stage.always_changed or not (stage.cmd and stage.deps and stage.outs):
        return None
    if any(out.persist or not out.is_in_repo or out.protocol != "local" for out in stage.outs):
        return None
    for dep in stage.deps:
        if isinstance(dep, ParamsDependency):
            dep.save()
            dep.hash_info = HashInfo(dep.hash_info.name, _overridden(dep.hash_info.value, overrides))
        elif dep.def_path in upstream:
            out = upstream[dep.def_path]
            dep.hash_info = HashInfo("md5", out["md5"])
            dep.meta = Meta(size=out.get("size"), nfiles=out.get("nfiles"))
        elif dep.protocol == "local" and dep.exists:
            dep.save()
        else:
            return None
    return str(_get_cache_hash(to_single_stage_lockfile(stage), key=True))


def _stage(repo: Any, name: str) -> Any:
    """Stage ``name`` (as the plan names it: DVC's ``addressing``) from the pipeline ``repo`` read when opened.

    ``repo.stage.collect(name)`` reads dvc.yaml and the whole dvc.lock again on every call: once per stage,
    that made a pipeline's run grow with the square of its stages (50 stages: 72 s of a 96 s run in
    collect). The stages of ``repo.index`` are read once per opened repo; any other target DVC resolves.
    """
    from dvc.exceptions import DvcException

    stages = _STAGES.get(repo)
    if stages is None:
        stages = _STAGES[repo] = {stage.addressing: stage for stage in repo.index.stages}
    if name in stages:
        return stages[name]
    try:
        (stage,) = repo.stage.collect(name)
    except (DvcException, ValueError) as error:
        raise SpiralError(f"no single stage {name!r} in this pipeline: {error}") from error
    return stage


_STAGES: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


def _overridden(values: Any, overrides: Mapping[str, Any]) -> Any:
    """Params values as a run sees them: each ``a.b.c`` override set inside whichever listed param holds it."""
    if not isinstance(values, dict) or not overrides:
        return values
    result = json.loads(json.dumps(values))
    for dotted, value in overrides.items():
        for listed in list(result):
            if dotted == listed:
                result[listed] = value
            elif dotted.startswith(listed + ".") and isinstance(result[listed], dict):
                set_dotted(result[listed], dotted[len(listed) + 1 :], value)
    return result


def set_dotted(node: dict[str, Any], dotted: str, value: Any) -> None:
    """``node["a"]["b"] = value`` for ``dotted`` ``"a.b"``, making the parents it lacks."""
    *parents, last = dotted.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value


def apply_overrides(root: Path, overrides: Mapping[str, Any]) -> None:
    """Set ``section.key`` params in ``root``'s params.yaml (a job's own copy of the commit)."""
    from dvc.utils.serialize import modify_yaml

    if not overrides:
        return
    with modify_yaml(str(root / "params.yaml")) as data:
        for dotted, value in overrides.items():
            set_dotted(data, dotted, value)


def locked_stages(root: Path) -> set[str]:
    """The names of the stages ``root/dvc.lock`` has an entry for (none when it is missing or unreadable)."""
    return _stage_names(root / "dvc.lock")


def pipeline_stages(root: Path) -> set[str]:
    """The names of the stages ``root/dvc.yaml`` declares, as written (a ``foreach`` stage's unexpanded)."""
    return _stage_names(root / "dvc.yaml")


_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's: a 500-stage lock in milliseconds


def _stage_names(path: Path) -> set[str]:
    """The keys of ``stages`` in a YAML file, read quickly: for a guess, not for DVC's own reading."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_FAST_LOADER) if path.is_file() else None
    except (OSError, yaml.YAMLError):
        return set()
    stages = data.get("stages") if isinstance(data, dict) else None
    return set(stages) if isinstance(stages, dict) else set()


def lock_entry(root: Path, name: str) -> dict[str, Any]:
    """Stage ``name``'s entry in ``root/dvc.lock``, as the last ``dvc repro`` of it wrote it."""
    path = root / "dvc.lock"
    stages = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("stages", {}) if path.is_file() else {}
    if name not in stages:
        raise SpiralError(f"dvc.lock has no entry for stage {name!r} after it ran")
    return dict(stages[name])


def remote(repo: Any) -> Any:
    """The default DVC remote's object store (``files/md5``)."""
    from dvc.config import NoRemoteError, RemoteConfigError

    try:
        return repo.cloud.get_remote_odb(None, "spiral", hash_name="md5")
    except (NoRemoteError, RemoteConfigError) as error:
        raise ObjectError(
            f"{error}: runs hand their outputs on through the DVC remote; set one "
            "(`dvc remote add -d storage s3://<bucket>/dvc`)"
        ) from error


def in_remote(repo: Any, outs: list[Mapping[str, Any]]) -> bool:
    """Whether the remote holds the top object of every output in ``outs`` (one request each)."""
    odb = remote(repo)
    return all(odb.fs.exists(odb.oid_to_path(object_id(out))) for out in outs)


def push(repo: Any, root: Path, out: Mapping[str, Any], overwrite: bool = False) -> int:
    """Upload the objects of output ``out`` (a dvc.lock ``outs`` item) from the workspace; returns how many.

    With ``overwrite`` (prod's runs), objects already in the remote are uploaded again, so an object
    someone else planted under a hash prod is about to make is replaced by prod's own bytes.
    """
    odb = remote(repo)
    oid = object_id(out)
    local = root / str(out["path"])
    if not oid.endswith(".dir"):
        return _upload(odb, local, oid, overwrite)
    manifest = Path(repo.cache.local.oid_to_path(oid))
    if not manifest.is_file():
        raise ObjectError(
            f"{out['path']}: directory listing {oid} is not in the local DVC cache; give it `cache: true`"
        )
    count = 0
    for item in json.loads(manifest.read_bytes()):
        count += _upload(odb, local / item["relpath"], item["md5"], overwrite)
    return count + _upload(odb, manifest, oid, overwrite)


def fetch(repo: Any, root: Path, out: Mapping[str, Any], cache: bool = False) -> None:
    """Put output ``out`` in the workspace from the remote, unless it is there with the right hash.

    Every downloaded byte is hashed before it is moved into place. With ``cache``, the objects go
    into the local DVC cache too, as ``dvc pull`` leaves them, so ``dvc status`` and ``dvc checkout``
    know them.
    """
    oid = object_id(out)
    local = root / str(out["path"])
    if not oid.endswith(".dir"):
        if not (local.is_file() and md5_file(local) == oid):
            _download(remote(repo), oid, local, str(out["path"]))
        if cache:
            _to_cache(repo, local, oid)
        return
    odb = remote(repo)
    with tempfile.TemporaryDirectory(dir=root) as scratch:
        listing = Path(scratch) / "listing"
        _download(odb, oid, listing, str(out["path"]))
        items = json.loads(listing.read_bytes())
        staged = Path(scratch) / "tree"
        for item in items:
            _download(odb, item["md5"], staged / item["relpath"], f"{out['path']}/{item['relpath']}")
        if cache:
            _to_cache(repo, listing, oid)
            for item in items:
                _to_cache(repo, staged / item["relpath"], item["md5"])
        if local.exists():
            shutil.rmtree(local) if local.is_dir() else local.unlink()
        local.parent.mkdir(parents=True, exist_ok=True)
        staged.mkdir(exist_ok=True)
        os.replace(staged, local)


def _to_cache(repo: Any, local: Path, oid: str) -> None:
    target = Path(repo.cache.local.oid_to_path(oid))
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(local, target)


def object_key(oid: str) -> str:
    """Where object ``oid`` lives under a DVC 3 remote's root (``files/md5/ab/cdef...``), as DVC lays it out."""
    return f"files/md5/{oid[:2]}/{oid[2:]}"


def object_id(out: Mapping[str, Any]) -> str:
    """The md5 of output ``out`` (a dvc.lock ``outs`` item); ``.dir`` ends a directory's listing."""
    if out.get("hash") != "md5" or not out.get("md5"):
        raise ObjectError(f"{out.get('path')}: no DVC 3 md5 in its lock entry; run `dvc repro` with DVC 3 first")
    return str(out["md5"])


def _upload(odb: Any, local: Path, oid: str, overwrite: bool = False) -> int:
    path = odb.oid_to_path(oid)
    if not overwrite and odb.fs.exists(path):
        return 0
    odb.fs.makedirs(odb.fs.parent(path), exist_ok=True)
    odb.fs.put_file(str(local), path)
    return 1


def _download(odb: Any, oid: str, local: Path, label: str) -> None:
    local.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=local.parent, prefix=".spiral-")
    os.close(handle)
    try:
        try:
            odb.fs.get_file(odb.oid_to_path(oid), temporary)
        except FileNotFoundError as error:
            raise ObjectError(
                f"{label}: object {oid} is not in the DVC remote (was its stage's job pushed?)"
            ) from error
        expected = oid.removesuffix(".dir")
        if (found := md5_file(Path(temporary))) != expected:
            raise ObjectError(
                f"{label}: the remote's object {oid} has md5 {found}: it was replaced after it was pushed; "
                "refusing to use it (rerun the stage that produced it with --force)"
            )
        os.replace(temporary, local)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


# -- Running a stage without `dvc repro` (DVC internals; tested with DVC 3.67.1) ------------------------


@dataclass
class Prepared:
    """A stage ready to run: its outputs removed, its commands as DVC would run them."""

    name: str
    commands: list[str]
    cwd: str
    env: dict[str, str]
    shell: str | None  # DVC runs each command with ``$SHELL -c`` (``/bin/sh`` when unset)
    stage: Any


def prepare(repo: Any, name: str, env: Mapping[str, str]) -> Prepared:
    """What ``Stage.run`` does before the command: outputs removed (persistent ones kept, as DVC does)."""
    from dvc.stage.run import _enforce_cmd_list, get_executable, prepare_kwargs

    stage = _stage(repo, name)
    with repo.lock:  # held as `dvc repro` holds it, except while the command runs
        stage.remove_outs(ignore_remove=False, force=False)
    kwargs = prepare_kwargs(stage, run_env=dict(env))
    return Prepared(name, list(_enforce_cmd_list(stage.cmd)), kwargs["cwd"], kwargs["env"], get_executable(), stage)


def shell_command(prepared: Prepared, command: str) -> list[str]:
    """``command`` as DVC starts it: ``$SHELL --noprofile --norc -c command`` for bash, and so on."""
    from dvc.stage.run import _make_cmd

    return list(_make_cmd(prepared.shell, command))


def commit(prepared: Prepared) -> dict[str, Any]:
    """What ``Stage.run`` does after the command: hash deps and outs, save the run-cache entry, move the
    outputs into the cache; returns the stage's dvc.lock entry as ``dvc repro`` writes it."""
    from dvc.stage.serialize import to_single_stage_lockfile

    stage = prepared.stage
    no_cache_outs = any(not out.use_cache for out in stage.outs if not (out.is_metric or out.is_plot))
    with stage.repo.lock:
        stage.save(allow_missing=False, run_cache=not no_cache_outs)
        stage.commit(allow_missing=False)
    return dict(json.loads(json.dumps(to_single_stage_lockfile(stage))))


def dump_lock(root: Path, entries: Mapping[str, Mapping[str, Any]], order: list[str]) -> None:
    """Put ``entries`` into ``root/dvc.lock`` in one write (see :class:`LockFile`)."""
    LockFile(root, order).write(entries)


class LockFile:
    """``root/dvc.lock`` for a run that writes it many times: read once, as DVC's ``modify_yaml`` reads it,
    then each write merges the new entries and dumps the whole file with DVC's own YAML writer (so the bytes
    are ``dvc repro``'s), stages in pipeline ``order``, the others kept after them.

    Reading the growing file again before each write would cost time in proportion to the stages already
    written: with hundreds of stages, a quadratic run. A write that would change nothing is skipped, so a run
    that reuses every stage leaves dvc.lock (and its time stamp) alone, as ``dvc repro`` does.
    """

    def __init__(self, root: Path, order: list[str]) -> None:
        self.path = root / "dvc.lock"
        self.rank = {name: index for index, name in enumerate(order)}
        self.data: dict[str, Any] | None = None

    def write(self, entries: Mapping[str, Mapping[str, Any]]) -> None:
        from dvc.utils.serialize import dump_yaml, parse_yaml_for_update

        if not entries:
            return
        if self.data is None:
            text = self.path.read_text(encoding="utf-8") if self.path.is_file() else ""
            if text and self._holds(text, entries):
                return
            self.data = parse_yaml_for_update(text, str(self.path)) if text else {}
        data = self.data
        before = dict(data.get("stages", {}))
        merged = {**before, **entries}
        stages = {name: merged[name] for name in self._in_order(merged)}
        if data and list(stages) == list(before) and all(stages[name] == before[name] for name in stages):
            return
        if not data:
            data.update({"schema": "2.0"})
        data["stages"] = stages
        dump_yaml(str(self.path), data)

    def _holds(self, text: str, entries: Mapping[str, Mapping[str, Any]]) -> bool:
        """Whether dvc.lock as ``text`` already holds ``entries``, in order: read with libyaml, 20 times faster than
        the round-trip reading a write needs, which a run that reuses every stage then never pays."""
        try:
            stages = dict(yaml.load(text, Loader=_FAST_LOADER).get("stages") or {})
        except (yaml.YAMLError, AttributeError, TypeError, ValueError):
            return False
        return self._in_order(stages) == list(stages) and all(stages.get(n) == e for n, e in entries.items())

    def _in_order(self, names: Iterable[str]) -> list[str]:
        """``names`` in pipeline order, stages the pipeline no longer has kept after the others."""
        return sorted(names, key=lambda name: self.rank.get(name, len(self.rank)))
