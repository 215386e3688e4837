"""Local runs and their records, on a small shell pipeline with a local DVC remote: fast, no AWS.

What is checked: a record per run and per stage, written once; reuse only of the same identity
(a new environment or a new param reruns); a forced stage runs once; replaced objects in the
remote are refused; `spiral pull` checks out exactly a recorded run; directories hand off too.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest

from spiralkit import config
from spiralkit.batch import run as batch_run
from spiralkit.errors import UsageError
from spiralkit.runs import dvcstage, local, pull
from spiralkit.runs import record as records
from spiralkit.runs.store import RecordError, RecordExists, Store

PYPROJECT = '[project]\nname = "toy"\nversion = "0"\n\n[tool.spiral]\nproject = "toy"\nregion = "us-east-1"\n'
DVC_YAML = """\
stages:
  make:
    cmd: mkdir -p parts && echo "size ${size}" > parts/a.txt && echo b > parts/b.txt
    params: [size]
    outs: [parts]
  count:
    cmd: cat parts/*.txt | wc -l > count.txt && echo $RANDOM >> noise.txt && cp noise.txt seen.txt
    deps: [parts]
    outs: [count.txt, seen.txt]
  publish:
    cmd: echo "$SPIRAL_NAMESPACE" > where.txt
    deps: [count.txt]
    outs: [where.txt]
    meta:
      spiral: {per_namespace: true}
"""


@pytest.fixture
def toy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "toy"
    root.mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "dvc.yaml").write_text(DVC_YAML)
    (root / "params.yaml").write_text("size: 1\n")
    (root / ".gitignore").write_text("/dvc-storage/\n/.spiral/\nnoise.txt\n")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["dvc", "init", "-q"], cwd=root, check=True)
    subprocess.run(["dvc", "remote", "add", "-q", "-d", "storage", "dvc-storage"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "commit", "-qm", "toy"], cwd=root, check=True)
    monkeypatch.chdir(root)
    monkeypatch.setenv("SPIRAL_USER", "ana")
    monkeypatch.setenv("SPIRAL_ENVIRONMENT", "env-1")
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    return root


def start(root: Path, namespace: str = "user.ana", forced: tuple[str, ...] = ()) -> records.RunRecord:
    project = config.load(root)
    plan = batch_run.plan_for(project, [], forced)
    return local.run(project, plan, namespace, forced, echo=lambda _: None)


def statuses(root: Path, record: records.RunRecord) -> dict[str, str]:
    done = records.stages(records.store_for(config.load(root)), record)
    return {name: stage["status"] for name, stage in done.items()}


def test_a_second_run_reuses_every_stage_and_records_where_from(toy: Path) -> None:
    first = start(toy)
    assert statuses(toy, first) == {"make": "ran", "count": "ran", "publish": "ran"}
    second = start(toy)
    assert statuses(toy, second) == {"make": "reused", "count": "reused", "publish": "reused"}
    stage = records.load_stage(records.store_for(config.load(toy)), second, "count")
    assert stage is not None
    assert stage["from_run"] == first.run_id
    store = records.store_for(config.load(toy))
    assert records.lock(store, second) == records.lock(store, first) == (toy / "dvc.lock").read_text()
    latest = records.load(store, "user.ana")
    assert latest.run_id == second.run_id
    assert latest.user == "ana"
    assert latest.origin == "laptop"
    assert latest.commit == subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()


def test_a_new_environment_or_param_reruns_and_namespaces_keep_per_namespace_stages(
    toy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    start(toy)
    monkeypatch.setenv("SPIRAL_ENVIRONMENT", "env-2")  # a newer scikit-learn, say
    assert set(statuses(toy, start(toy)).values()) == {"ran"}
    (toy / "params.yaml").write_text("size: 2\n")
    assert statuses(toy, start(toy))["make"] == "ran"
    other = start(toy, "user.bob")  # bob reuses ana's? no: a namespace reuses its own and prod's only
    assert statuses(toy, other) == {"make": "ran", "count": "ran", "publish": "ran"}
    assert (toy / "where.txt").read_text().strip() == "user.bob"


def test_a_forced_stage_runs_exactly_once_and_its_downstream_sees_its_output(toy: Path) -> None:
    start(toy)
    before = (toy / "noise.txt").read_text().count("\n")
    record = start(toy, forced=("count",))
    assert (toy / "noise.txt").read_text().count("\n") == before + 1
    assert statuses(toy, record) == {"make": "reused", "count": "ran", "publish": "reused"}  # same count.txt
    entry = records.load_stage(records.store_for(config.load(toy)), record, "count")
    assert entry is not None
    seen = next(out for out in entry["entry"]["outs"] if out["path"] == "seen.txt")
    assert seen["md5"] == dvcstage.md5_file(toy / "seen.txt")


def test_pull_checks_out_a_recorded_run_and_refuses_a_replaced_object(toy: Path, tmp_path: Path) -> None:
    record = start(toy)
    fresh = tmp_path / "fresh"
    subprocess.run(["git", "clone", "-q", str(toy), str(fresh)], check=True)
    (fresh / ".dvc" / "config.local").write_text(f"['remote \"storage\"']\n    url = {toy / 'dvc-storage'}\n")
    store = records.store_for(config.load(toy))
    paths = pull.pull(fresh, store, record, write_lock=True)
    assert sorted(paths) == ["count.txt", "parts", "seen.txt", "where.txt"]
    assert (fresh / "parts" / "a.txt").read_text() == "size 1\n"
    status = subprocess.run(["dvc", "status"], cwd=fresh, capture_output=True, text=True, check=True)
    assert "up to date" in status.stdout

    lock = json.loads(json.dumps(records.load_stage(store, record, "count")))
    count = next(out for out in lock["entry"]["outs"] if out["path"] == "count.txt")
    stored = toy / "dvc-storage" / "files" / "md5" / count["md5"][:2] / count["md5"][2:]
    stored.chmod(0o644)
    stored.write_text("999\n")  # someone replaced the object behind the hash
    (fresh / "count.txt").unlink()
    with pytest.raises(dvcstage.ObjectError, match="was replaced after it was pushed; refusing to use it"):
        pull.pull(fresh, store, record)
    assert not (fresh / "count.txt").exists()  # nothing half-placed


def test_records_are_written_once_and_a_damaged_one_is_named(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "records"))
    store.create("runs/user.ana/r1/run.json", b"{}")
    with pytest.raises(RecordExists, match="written once"):
        store.create("runs/user.ana/r1/run.json", b"{ }")
    assert store.read("runs/user.ana/r1/run.json") == b"{}"
    store.create("runs/user.ana/r2/run.json", b'{"run_id": "r2", "namesp')
    with pytest.raises(RecordError, match=r"r2/run.json is not a complete record"):
        records.load(store, "user.ana", "r2")
    with pytest.raises(records.RunNotFound, match=r"no run 'r3' in user\.ana"):
        records.load(store, "user.ana", "r3")
    for forged in ("../../prod/r1", "r1/../r2", ".hidden", "", "r1\\x"):  # never another run's records
        with pytest.raises(UsageError, match="is not a run id"):
            records.load(store, "user.ana", forged)


def test_git_status_is_clean_but_for_dvc_lock_after_a_local_run(toy: Path) -> None:
    subprocess.run(["dvc", "repro", "-q"], cwd=toy, check=True)
    subprocess.run(["git", "add", "-A"], cwd=toy, check=True)
    subprocess.run(["git", "commit", "-qm", "lock"], cwd=toy, check=True)
    start(toy)
    changed = subprocess.run(["git", "status", "--porcelain"], cwd=toy, capture_output=True, text=True).stdout
    assert changed.split() in ([], ["M", "dvc.lock"])  # dvc.lock, as `dvc repro` would; nothing else
    assert "params.yaml" not in changed
    assert textwrap.dedent(changed).count("\n") <= 1


def test_prod_replaces_an_object_planted_under_a_hash_it_makes(toy: Path, tmp_path: Path) -> None:
    """Anyone may add to the content-addressed remote; prod's own push overwrites, and reads verify."""
    user = start(toy)
    store = records.store_for(config.load(toy))
    count = next(
        out for out in records.load_stage(store, user, "count")["entry"]["outs"]  # type: ignore[index]
        if out["path"] == "count.txt"
    )  # fmt: skip
    stored = toy / "dvc-storage" / "files" / "md5" / count["md5"][:2] / count["md5"][2:]
    stored.chmod(0o644)
    stored.write_text("planted\n")
    prod = start(toy, "prod")
    assert set(statuses(toy, prod).values()) == {"ran"}  # prod trusts no user's results
    assert stored.read_text() == (toy / "count.txt").read_text()
    fresh = tmp_path / "fresh"
    subprocess.run(["git", "clone", "-q", str(toy), str(fresh)], check=True)
    (fresh / ".dvc" / "config.local").write_text(f"['remote \"storage\"']\n    url = {toy / 'dvc-storage'}\n")
    assert "count.txt" in pull.pull(fresh, store, prod)
