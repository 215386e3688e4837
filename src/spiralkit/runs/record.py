"""The layout of run records, and reading them back.

Under the store's root (``s3://<bucket>/spiral`` or ``.spiral/`` without a bucket)::

    runs/<namespace>/<run id>/run.json            what the run is: commit, environment, params, plan
    runs/<namespace>/<run id>/jobs.json           Batch only: each stage's job id
    runs/<namespace>/<run id>/claim-<n>.json      attempt n (2, 3, ...) claimed by one follower, before it
                                                  resubmits stages Spot had no capacity for (batch.fallback)
    runs/<namespace>/<run id>/jobs-<n>.json       attempt n's job ids, queues and the jobs they replace
    runs/<namespace>/<run id>/stages/<stage>.json each stage as it finished: its dvc.lock entry,
                                                  ran or reused, timings, resources
    runs/<namespace>/<run id>/dvc.lock            the run's complete dvc.lock, once every stage is in
    runs/<namespace>/<run id>/results.json        with it: the metrics and plots outputs and their hashes
    index/<namespace>/<key>.json                  the first result of a stage identity (see dvcstage)

Every file is written once. Run ids start with the UTC time, so the newest run sorts last.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from secrets import token_hex
from typing import Any
from urllib.parse import quote

from spiralkit.config import ProjectConfig
from spiralkit.errors import RecordError, UsageError
from spiralkit.runs import dvcstage
from spiralkit.runs.store import RecordExists, Store

LOCK_SCHEMA = "2.0"
READERS = 8  # stage records read at once: below botocore's 10 pooled connections


class RunNotFound(RecordError):
    """No record of the run asked for."""


@dataclass(frozen=True)
class StagePlan:
    """A stage as the run planned it: its name, the stages it reads from, its Batch settings."""

    name: str
    upstream: tuple[str, ...] = ()
    per_namespace: bool = False
    environment: bool = True
    resources: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunRecord:
    """What a run is, written before its first stage runs."""

    run_id: str
    namespace: str
    project: str
    commit: str
    on: str  # local | batch
    user: str
    origin: str  # laptop | workstation | ci | batch
    host: str
    started: str
    environment: str
    pipeline: str  # sha256 of dvc.yaml and params.yaml as committed: a job checks its copy against it
    params: Mapping[str, Any]
    overrides: Mapping[str, Any]
    forced: tuple[str, ...]
    stages: tuple[StagePlan, ...]
    reused: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # stage -> its stage record
    cost: Mapping[str, Any] = field(default_factory=dict)  # Batch: estimate, budget, --over-budget (spiralkit.cost)
    image: str = ""
    region: str = ""
    queue: str = ""
    jobs: Mapping[str, str] = field(default_factory=dict)  # Batch: stage -> newest job id (jobs*.json)
    attempt: int = 1  # Batch: the newest attempt recorded (1: jobs.json; n: jobs-<n>.json)
    fallbacks: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # stage -> its attempt, queue, reason
    # dvc.yaml's metrics and plots paths and top-level plot definitions, so results read without a checkout
    results: Mapping[str, Any] = field(default_factory=dict)

    def plan(self, name: str) -> StagePlan:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise RecordError(f"run {self.run_id} has no stage {name!r}; its stages: {', '.join(self.names())}")

    def names(self) -> list[str]:
        return [stage.name for stage in self.stages]

    def upstream_closure(self, name: str) -> list[str]:
        """Every stage ``name`` reads from, directly or not, in plan order."""
        wanted: set[str] = set()
        todo = list(self.plan(name).upstream)
        while todo:
            if (up := todo.pop()) not in wanted:
                wanted.add(up)
                todo.extend(self.plan(up).upstream)
        return [stage for stage in self.names() if stage in wanted]


def new_run_id(commit: str) -> str:
    """``20261201T101500Z-042-1a2b3c4d-9f3e``: the UTC time to the millisecond, so the newest run sorts
    last even when two start in the same second; the commit and 16 random bits make it unique."""
    now = time.time()
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    return f"{stamp}-{int(now * 1000) % 1000:03d}-{(commit or 'nocommit')[:8]}-{token_hex(2)}"


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def store_for(project: ProjectConfig) -> Store:
    """Records live beside the DVC remote: in the bucket, else in the project's git-ignored .spiral/."""
    if project.bucket:
        return Store(f"s3://{project.bucket}/spiral", project.region)
    return Store(str(project.root / ".spiral"))


_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


def _run_key(namespace: str, run_id: str, name: str) -> str:
    """Every record's key: a run id is one plain name, so no id reaches another run's or namespace's records."""
    if not _RUN_ID.match(run_id):
        raise UsageError(
            f"{run_id!r} is not a run id: use one that `spiral run` or `spiral runs` printed, "
            "like 20261201T101500Z-042-1a2b3c4d-9f3e"
        )
    return f"runs/{namespace}/{run_id}/{name}"


def stage_file(stage: str) -> str:
    return f"stages/{quote(stage, safe='@')}.json"


def _dump(data: Any) -> bytes:
    return (json.dumps(data, indent=1, default=list) + "\n").encode()


def _parse(store: Store, key: str, body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError as error:
        raise RecordError(f"{store.uri(key)} is not a complete record ({error})") from error


def save(store: Store, record: RunRecord) -> None:
    data = asdict(record)
    for name in ("jobs", "attempt", "fallbacks"):  # written later, in their own records
        data.pop(name)
    store.create(_run_key(record.namespace, record.run_id, "run.json"), _dump(data))


def save_jobs(store: Store, record: RunRecord, jobs: Mapping[str, str]) -> None:
    store.create(_run_key(record.namespace, record.run_id, "jobs.json"), _dump(dict(jobs)))


def load(store: Store, namespace: str, run_id: str | None = None) -> RunRecord:
    """The record of ``run_id`` in ``namespace``, or of the namespace's latest run."""
    if run_id is None:
        runs = store.folders(f"runs/{namespace}")
        if not runs:
            raise RunNotFound(f"no run in {namespace} yet, in {store.uri('runs/' + namespace)}")
        run_id = runs[-1]
    body = store.read(_run_key(namespace, run_id, "run.json"))
    if body is None:
        raise RunNotFound(f"no run {run_id!r} in {namespace}, in {store.uri('runs/' + namespace)}")
    data = _parse(store, _run_key(namespace, run_id, "run.json"), body)
    try:
        data["stages"] = tuple(StagePlan(**{**stage, "upstream": tuple(stage["upstream"])}) for stage in data["stages"])
        data["forced"] = tuple(data["forced"])
        jobs = store.read(_run_key(namespace, run_id, "jobs.json"))
        record = RunRecord(**data, jobs=json.loads(jobs) if jobs else {})
        if jobs:
            record = _with_attempts(store, record)
    except (KeyError, TypeError, ValueError) as error:
        raise RecordError(
            f"{store.uri(_run_key(namespace, run_id, 'run.json'))} is not a run record: {error}"
        ) from error
    if record.namespace != namespace or record.run_id != run_id:
        raise RecordError(f"{store.uri(_run_key(namespace, run_id, 'run.json'))} names another run")
    return record


def attempt_file(kind: str, attempt: int) -> str:
    """``claim-2.json`` / ``jobs-2.json``: attempt 1 is the submission itself (jobs.json)."""
    return f"{kind}-{attempt}.json"


def claim_attempt(store: Store, record: RunRecord, attempt: int, claim: Mapping[str, Any]) -> None:
    """Claim ``attempt``; :class:`RecordExists` when another follower claimed it first."""
    store.create(_run_key(record.namespace, record.run_id, attempt_file("claim", attempt)), _dump(dict(claim)))


def load_claim(store: Store, record: RunRecord, attempt: int) -> dict[str, Any] | None:
    key = _run_key(record.namespace, record.run_id, attempt_file("claim", attempt))
    body = store.read(key)
    return None if body is None else dict(_parse(store, key, body))


def save_attempt(store: Store, record: RunRecord, attempt: int, jobs: Mapping[str, Any]) -> None:
    """Attempt ``attempt``'s outcome: ``jobs``, ``queues``, ``replaced`` and ``reasons`` by stage, and ``error``."""
    store.create(_run_key(record.namespace, record.run_id, attempt_file("jobs", attempt)), _dump(dict(jobs)))


def _with_attempts(store: Store, record: RunRecord) -> RunRecord:
    """``record`` with the newest job of each stage: attempts 2, 3, ... until one has no jobs record."""
    jobs, fallbacks, attempt = dict(record.jobs), {}, 1
    while body := store.read(_run_key(record.namespace, record.run_id, attempt_file("jobs", attempt + 1))):
        attempt += 1
        data = _parse(store, _run_key(record.namespace, record.run_id, attempt_file("jobs", attempt)), body)
        for stage, job_id in data["jobs"].items():
            jobs[stage] = job_id
            fallbacks[stage] = {
                "attempt": attempt,
                "queue": data["queues"][stage],
                "replaced": data["replaced"][stage],
                "reason": data["reasons"][stage],
            }
    return replace(record, jobs=jobs, attempt=attempt, fallbacks=fallbacks)


def save_stage(store: Store, record: RunRecord, stage: Mapping[str, Any]) -> None:
    store.create(_run_key(record.namespace, record.run_id, stage_file(str(stage["stage"]))), _dump(dict(stage)))


def load_stage(store: Store, record: RunRecord, stage: str) -> dict[str, Any] | None:
    """The record of ``stage`` in this run: reused at planning, or written by the stage's job; None if neither."""
    if stage in record.reused:
        return dict(record.reused[stage])
    key = _run_key(record.namespace, record.run_id, stage_file(stage))
    body = store.read(key)
    if body is None:
        return None
    found = _parse(store, key, body)
    if not isinstance(found, dict) or found.get("stage") != stage or found.get("run_id") != record.run_id:
        raise RecordError(f"{store.uri(key)} is not stage {stage!r} of run {record.run_id}")
    return found


def recorded(store: Store, record: RunRecord) -> set[str]:
    """The stages of the run that have a record so far: one listing, no record read."""
    folder = _run_key(record.namespace, record.run_id, "")
    listed = {key.removeprefix(folder) for key in store.list(folder + "stages/")}
    return {name for name in record.names() if name in record.reused or stage_file(name) in listed}


def stages(store: Store, record: RunRecord) -> dict[str, dict[str, Any]]:
    """Every stage record of the run there is so far, in plan order."""
    have = recorded(store, record)
    done = [name for name in record.names() if name in have]
    with ThreadPoolExecutor(max_workers=READERS) as pool:
        loaded = pool.map(lambda name: load_stage(store, record, name), done)
        return {name: stage for name, stage in zip(done, loaded, strict=True) if stage is not None}


def lock_text(entries: Iterable[tuple[str, Mapping[str, Any]]]) -> str:
    """A dvc.lock holding ``entries`` (stage name, lock entry), byte for byte as DVC writes it."""
    return dvcstage.lock_text({"schema": LOCK_SCHEMA, "stages": dict(entries)})


def finish(store: Store, record: RunRecord, stage: str | None = None) -> bool:
    """Write the run's dvc.lock once every stage is recorded; True if this call wrote it.

    Called after ``stage`` is recorded; only a stage nothing depends on can be the run's last,
    so the others return at once without a request.
    """
    if stage is not None and any(stage in other.upstream for other in record.stages):
        return False
    if len(recorded(store, record)) < len(record.stages):
        return False
    done = stages(store, record)
    text = lock_text((name, done[name]["entry"]) for name in record.names())
    try:
        store.create(_run_key(record.namespace, record.run_id, "dvc.lock"), text.encode())
    except RecordExists:
        return False
    store.create(_run_key(record.namespace, record.run_id, "results.json"), _dump(results(record, done)))
    return True


def results(record: RunRecord, done: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The run's metrics and plots outputs (lock ``outs`` items plus their stage): a reader of the latest
    run's metrics needs this file and the objects, not the record and every stage."""
    kinds = {path: kind for kind in ("metrics", "plots") for path in record.results.get(kind, [])}
    found: dict[str, dict[str, Any]] = {"metrics": {}, "plots": {}}
    for name, stage in done.items():
        for out in stage["entry"].get("outs", []):
            if (kind := kinds.get(out["path"])) is not None:
                found[kind][out["path"]] = {**out, "stage": name}
    return found


def lock(store: Store, record: RunRecord) -> str:
    """The run's complete dvc.lock; refused while stages are missing."""
    body = store.read(_run_key(record.namespace, record.run_id, "dvc.lock"))
    if body is not None:
        return body.decode()
    missing = [name for name in record.names() if name not in stages(store, record)]
    raise RecordError(f"run {record.run_id} is not complete: no record of {', '.join(missing)}")


def index_lookup(store: Store, namespaces: Iterable[str], key: str) -> dict[str, Any] | None:
    """The first result recorded for stage identity ``key``, searching ``namespaces`` in order."""
    for namespace in namespaces:
        body = store.read(f"index/{namespace}/{key}.json")
        if body is not None:
            try:
                return dict(json.loads(body))
            except ValueError:
                continue  # a damaged index entry is a miss: the stage runs again
    return None


def index_add(store: Store, namespace: str, key: str, stage: Mapping[str, Any]) -> None:
    """Record ``stage`` as the result of ``key`` unless an earlier run got there first."""
    with contextlib.suppress(RecordExists):
        store.create(f"index/{namespace}/{key}.json", _dump(dict(stage)))
