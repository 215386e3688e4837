"""The Client API: any run's numbers and outputs back in one line of Python, with no checkout.

    from spiralkit import Runs
    prod = Runs("prod", bucket="acme-churn").latest()      # or Runs("prod") inside the project
    prod.metrics["roc_auc"], prod.params["train"]["C"]
    cases = prod.read_table("data/raw/cases.parquet")      # fetched by its recorded md5, checked

Everything is read from the run records (:mod:`spiralkit.runs.record`) and the DVC remote, lazily and
once: ``Runs("prod").latest().metrics`` lists the namespace's runs, reads the newest complete run's
``results.json`` and the metrics objects (three requests for one metrics file).
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from spiralkit import config
from spiralkit.config import ProjectConfig
from spiralkit.errors import RecordError
from spiralkit.results.objects import Remote, default_cache
from spiralkit.runs import record as records
from spiralkit.runs.dvcstage import ObjectError
from spiralkit.runs.store import Store

if TYPE_CHECKING:
    import pyarrow as pa

_ID_TIME = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class Archive:
    """Where runs are: their records, the DVC remote holding their outputs, and a local cache of objects."""

    store: Store
    remote: Remote
    cache: Path = field(default_factory=default_cache)

    @classmethod
    def of(
        cls,
        project: ProjectConfig | str | Path | None = None,
        *,
        bucket: str | None = None,
        folder: str | Path | None = None,
        remote: str | None = None,
        region: str | None = None,
        cache: str | Path | None = None,
    ) -> Archive:
        """From a bucket (``s3://<bucket>/spiral``, remote ``s3://<bucket>/dvc``), a records folder (a
        project's ``.spiral/``, remote its ``dvc-storage/`` beside it), or a project (default: this one)."""
        if bucket:
            store, default_remote = Store(f"s3://{bucket}/spiral", region), f"s3://{bucket}/dvc"
        elif folder:
            store, default_remote = Store(str(folder)), str(Path(folder).parent / "dvc-storage")
        else:
            if not isinstance(project, ProjectConfig):
                project = config.load(Path(project) if project else None)
            store, region = records.store_for(project), region or project.region
            default_remote = f"s3://{project.bucket}/dvc" if project.bucket else str(project.root / "dvc-storage")
        return cls(store, Remote(remote or default_remote, region), Path(cache) if cache else default_cache())


class Runs:
    """The runs of one namespace (``prod``, ``test.<branch>``, ``user.<name>``), newest first."""

    def __init__(
        self,
        namespace: str,
        *,
        project: ProjectConfig | str | Path | None = None,
        bucket: str | None = None,
        folder: str | Path | None = None,
        remote: str | None = None,
        region: str | None = None,
        cache: str | Path | None = None,
        archive: Archive | None = None,
    ) -> None:
        self.namespace = namespace
        self.archive = archive or Archive.of(
            project, bucket=bucket, folder=folder, remote=remote, region=region, cache=cache
        )

    def __repr__(self) -> str:
        return f"Runs({self.namespace!r}, {self.archive.store.uri('runs/' + self.namespace)!r})"

    def ids(self) -> builtins.list[str]:
        """Every run id of the namespace, oldest first (one request)."""
        return self.archive.store.folders(f"runs/{self.namespace}")

    def list(self, since: str | dt.date | dt.timedelta | None = None) -> builtins.list[Run]:
        """The namespace's runs, newest first; ``since`` a date, a time, an ISO string or a timedelta ago."""
        start = _id_time(since) if since is not None else ""
        return [Run(self.archive, self.namespace, run_id) for run_id in reversed(self.ids()) if run_id >= start]

    def get(self, run_id: str) -> Run:
        """Run ``run_id`` of this namespace; :class:`~spiralkit.runs.record.RunNotFound` if there is none."""
        found = Run(self.archive, self.namespace, run_id)
        found.record  # noqa: B018 - read now, so a wrong id fails here and not at first use
        return found

    def latest(self, complete: bool = True) -> Run:
        """The newest run (by default the newest whose every stage is recorded, as its results are)."""
        for run in self.list():
            if not complete or run.complete:
                return run
        what = "complete run" if complete else "run"
        raise records.RunNotFound(f"no {what} in {self.namespace} yet, in {self.archive.store.uri('runs/')}")

    def history(self, metric: str, since: str | dt.date | dt.timedelta | None = None) -> builtins.list[tuple[Run, Any]]:
        """``metric`` across the namespace's complete runs, oldest first: one line for a chart of prod over time."""
        return [(run, run.metrics.get(metric)) for run in reversed(self.list(since)) if run.complete]


@dataclass(frozen=True)
class Stage:
    """One stage of a run as its record says: ran or reused (and from which run), timing, resources, data."""

    name: str
    status: str  # ran | reused | not recorded
    upstream: tuple[str, ...]
    resources: Mapping[str, Any]
    seconds: float | None = None
    started: str = ""
    from_run: str = ""
    inputs: tuple[Mapping[str, Any], ...] = ()  # dvc.lock deps: path, md5, size
    outputs: tuple[Mapping[str, Any], ...] = ()  # dvc.lock outs


class Run:
    """One run: its record, stages, metrics and outputs, each read on first use and kept."""

    def __init__(self, archive: Archive, namespace: str, run_id: str) -> None:
        self.archive, self.namespace, self.id = archive, namespace, run_id

    def __repr__(self) -> str:
        return f"Run({self.namespace!r}, {self.id!r})"

    @property
    def started(self) -> dt.datetime:
        """When the run started (UTC), read from its id."""
        return dt.datetime.strptime(self.id[:16], _ID_TIME).replace(tzinfo=dt.UTC)

    @cached_property
    def record(self) -> records.RunRecord:
        return records.load(self.archive.store, self.namespace, self.id)

    @property
    def params(self) -> Mapping[str, Any]:
        return self.record.params

    @property
    def commit(self) -> str:
        return self.record.commit

    @property
    def environment(self) -> str:
        """The environment's id: the conda lock's content hash, or the Python and packages a local run used."""
        return self.record.environment

    @cached_property
    def _stage_records(self) -> dict[str, dict[str, Any]]:
        return records.stages(self.archive.store, self.record)

    @property
    def stages(self) -> dict[str, Stage]:
        """Every planned stage, in plan order, as recorded (``not recorded`` while its job has not finished)."""
        found = {}
        for plan in self.record.stages:
            stage = self._stage_records.get(plan.name, {})
            entry = stage.get("entry", {})
            found[plan.name] = Stage(
                name=plan.name,
                status=stage.get("status", "not recorded"),
                upstream=plan.upstream,
                resources=stage.get("resources", plan.resources),
                seconds=stage.get("seconds"),
                started=stage.get("started", ""),
                from_run=stage.get("from_run", ""),
                inputs=tuple(entry.get("deps", [])),
                outputs=tuple(entry.get("outs", [])),
            )
        return found

    @cached_property
    def _results(self) -> dict[str, Any] | None:
        body = self.archive.store.read(f"runs/{self.namespace}/{self.id}/results.json")
        return dict(json.loads(body)) if body is not None else None

    @property
    def complete(self) -> bool:
        """Whether every stage is recorded (the run's dvc.lock and results.json are written then)."""
        return self._results is not None

    @cached_property
    def lock(self) -> dict[str, Any]:
        """The run's complete dvc.lock, parsed; :class:`RecordError` while stages are missing."""
        return dict(yaml.safe_load(records.lock(self.archive.store, self.record)))

    @property
    def outputs(self) -> dict[str, dict[str, Any]]:
        """Every output recorded so far, by path: its dvc.lock ``outs`` item plus the stage that wrote it."""
        return {
            out["path"]: {**out, "stage": name}
            for name, stage in self._stage_records.items()
            for out in stage["entry"].get("outs", [])
        }

    def _declared(self, kind: str) -> dict[str, dict[str, Any]]:
        results = self._results or records.results(self.record, self._stage_records)
        return dict(results.get(kind, {}))

    @cached_property
    def metrics(self) -> dict[str, Any]:
        """Every metric of the run's metrics files, nested keys joined by ``.`` (``path:key`` when files clash)."""
        found: dict[str, Any] = {}
        files = {path: flatten(self.read_data(out)) for path, out in self._declared("metrics").items()}
        for path, values in files.items():
            for name, value in values.items():
                clash = any(name in other for other_path, other in files.items() if other_path != path)
                found[f"{path}:{name}" if clash else name] = value
        return found

    @property
    def plots(self) -> dict[str, dict[str, Any]]:
        """The run's plots outputs by path (their lock items); their data: :meth:`read_data`."""
        return self._declared("plots")

    def read_data(self, output: str | Mapping[str, Any]) -> Any:
        """A JSON, YAML or TOML output, parsed (metrics and plots files are)."""
        out = self._out(output) if isinstance(output, str) else output
        body, path = self.archive.remote.read(out), str(out["path"])
        try:
            if path.endswith((".yaml", ".yml")):
                return yaml.safe_load(body)
            if path.endswith(".toml"):
                return tomllib.loads(body.decode())
            return json.loads(body)
        except ValueError as error:
            raise ObjectError(f"{path} of run {self.id} is not JSON, YAML or TOML: {error}") from error

    def path(self, output: str) -> Path:
        """A local copy of ``output`` (a file or a directory), fetched by its recorded md5 and checked."""
        return self.archive.remote.fetch(self._out(output), self.archive.cache)

    def read_table(self, output: str, **options: Any) -> pa.Table:
        """Parquet ``output`` as an Arrow table (``columns=``, ``filter=`` as :func:`spiralkit.tables.read_table`)."""
        from spiralkit.tables import read_table

        return read_table(str(self.path(output)), **options)

    def _out(self, output: str) -> dict[str, Any]:
        outputs = (self._results or {}).get("metrics", {}) | (self._results or {}).get("plots", {})
        if output not in outputs:
            outputs = self.outputs
        if output not in outputs:
            raise RecordError(
                f"run {self.id} recorded no output {output!r}; its outputs: {', '.join(sorted(outputs)) or 'none yet'}"
            )
        return dict(outputs[output])


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """``{"train": {"C": 1}}`` -> ``{"train.C": 1}``: params and metrics by dotted names (a non-mapping has none)."""
    if not isinstance(data, Mapping):
        return {}
    found: dict[str, Any] = {}
    for key, value in data.items():
        found.update(flatten(value, f"{prefix}{key}.") if isinstance(value, Mapping) else {f"{prefix}{key}": value})
    return found


def _id_time(since: str | dt.date | dt.timedelta) -> str:
    """The run-id prefix of a moment: run ids start with their UTC start time."""
    if isinstance(since, dt.timedelta):
        since = dt.datetime.now(dt.UTC) - since
    elif isinstance(since, str):
        since = dt.datetime.fromisoformat(since)
    if not isinstance(since, dt.datetime):
        since = dt.datetime.combine(since, dt.time(), dt.UTC)
    if since.tzinfo is not None:
        since = since.astimezone(dt.UTC)
    return since.strftime(_ID_TIME)
