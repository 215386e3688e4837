"""The Client API on records made by the run-record functions: a folder, and the same runs in S3 on moto."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from results_fixtures import make_run

from spiralkit import Runs, aws
from spiralkit.errors import RecordError
from spiralkit.runs.dvcstage import ObjectError
from spiralkit.runs.record import RunNotFound

OLD, NEW, PARTIAL = "20261120T080000Z-11111111-aaaa", "20261127T080000Z-22222222-bbbb", "20261201T080000Z-33333333-cccc"


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    make_run(tmp_path, "prod", OLD, metrics={"roc_auc": 0.91, "recall": 0.8}, C=1.0, rows=500)
    make_run(tmp_path, "prod", NEW, metrics={"roc_auc": 0.95, "recall": 0.9}, C=0.5, rows=569)
    make_run(tmp_path, "prod", PARTIAL, metrics={"roc_auc": 0.5, "recall": 0.1}, complete=False)
    return tmp_path


def runs(archive: Path, namespace: str = "prod") -> Runs:
    return Runs(namespace, folder=archive / ".spiral", cache=archive / "cache")


def test_latest_is_the_newest_complete_run_and_reads_its_metrics_params_stages_and_lock(archive: Path) -> None:
    prod = runs(archive)
    latest = prod.latest()
    assert latest.id == NEW
    assert latest.metrics == {"roc_auc": 0.95, "recall": 0.9}
    assert latest.params["train"]["C"] == 0.5
    assert latest.environment == "conda-lock:aaaa"
    stages = latest.stages
    assert list(stages) == ["ingest", "features", "train", "evaluate", "publish"]
    assert stages["train"].status == "ran"
    assert stages["train"].resources["vcpus"] == 2
    assert stages["evaluate"].upstream == ("features", "train")
    assert [out["path"] for out in stages["features"].outputs] == [
        "data/features/train.parquet",
        "data/features/test.parquet",
    ]
    assert list(latest.lock["stages"]) == list(stages)
    assert prod.latest(complete=False).id == PARTIAL


def test_an_incomplete_run_shows_what_is_recorded_and_refuses_its_lock(archive: Path) -> None:
    partial = runs(archive).get(PARTIAL)
    assert not partial.complete
    assert partial.metrics == {"roc_auc": 0.5, "recall": 0.1}  # evaluate is recorded, publish is not
    assert partial.stages["publish"].status == "not recorded"
    with pytest.raises(RecordError, match="not complete: no record of publish"):
        partial.lock  # noqa: B018


def test_list_since_and_history(archive: Path) -> None:
    prod = runs(archive)
    assert [run.id for run in prod.list()] == [PARTIAL, NEW, OLD]
    assert [run.id for run in prod.list(since="2026-11-25")] == [PARTIAL, NEW]
    assert [(run.id, value) for run, value in prod.history("roc_auc")] == [(OLD, 0.91), (NEW, 0.95)]
    assert runs(archive, "test.nothing").list() == []
    with pytest.raises(RunNotFound, match=r"no complete run in test\.nothing"):
        runs(archive, "test.nothing").latest()
    with pytest.raises(RunNotFound, match="no run '2026' in prod"):
        prod.get("2026")


def test_outputs_are_fetched_by_hash_and_checked(archive: Path) -> None:
    latest = runs(archive).latest()
    assert latest.read_table("data/raw/cases.parquet").num_rows == 569
    assert runs(archive).get(OLD).read_table("data/raw/cases.parquet", columns=["label"]).num_rows == 500
    path = latest.path("models/model.skops")
    assert path.read_bytes() == b"model C=0.5"
    assert path.is_relative_to(archive / "cache")
    with pytest.raises(RecordError, match=r"no output 'models/other\.pkl'; its outputs: data/features"):
        latest.path("models/other.pkl")

    # The remote's object replaced after the run recorded it: refused, not handed out.
    md5 = latest.outputs["data/features/test.parquet"]["md5"]
    (archive / "dvc-storage" / "files" / "md5" / md5[:2] / md5[2:]).write_bytes(b"tampered")
    with pytest.raises(ObjectError, match="replaced after its run recorded it"):
        latest.path("data/features/test.parquet")
    assert not list((archive / "cache").rglob(md5[2:]))


def test_importing_spiralkit_does_not_import_the_client() -> None:
    code = "import sys, spiralkit; print('boto3' in sys.modules, 'spiralkit.results.client' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split() == [
        "False",
        "False",
    ]


# In a fresh Python session, in a folder that is no project: requests counted by botocore's own events.
CLIENT = """
import json, sys, time
from spiralkit import Runs, aws
requests = []
aws.session(None).events.register("before-send.s3", lambda request, **_: requests.append(request.url))
start, cpu = time.perf_counter(), time.process_time()
metrics = Runs("prod", bucket=sys.argv[1]).latest().metrics
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
print(json.dumps({"metrics": metrics, "requests": requests, "seconds": seconds, "cpu": cpu}))
"""


def test_latest_prod_metrics_from_s3_in_three_requests_without_a_checkout(
    archive: Path, aws_env: str, tmp_path: Path
) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="acme-churn")
    for folder, prefix in ((archive / ".spiral", "spiral"), (archive / "dvc-storage", "dvc")):
        for path in folder.rglob("*"):
            if path.is_file():
                s3.put_object(Bucket="acme-churn", Key=f"{prefix}/{path.relative_to(folder)}", Body=path.read_bytes())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def client() -> dict[str, Any]:
        command = [sys.executable, "-c", CLIENT, "acme-churn"]
        return dict(json.loads(subprocess.run(command, cwd=elsewhere, capture_output=True, check=True).stdout))

    found = client()
    assert found["metrics"] == {"roc_auc": 0.95, "recall": 0.9}
    assert len(found["requests"]) == 4, found["requests"]  # the newest run is not complete: one GET more

    listed = s3.list_objects_v2(Bucket="acme-churn", Prefix=f"spiral/runs/prod/{PARTIAL}/")["Contents"]
    s3.delete_objects(Bucket="acme-churn", Delete={"Objects": [{"Key": item["Key"]} for item in listed]})
    tries = [client() for _ in range(3)]  # best of three: five people share this machine's two cores
    assert all(found["metrics"] == {"roc_auc": 0.95, "recall": 0.9} for found in tries)
    assert [len(found["requests"]) for found in tries] == [3, 3, 3], tries[0]["requests"]
    fastest = min(found["seconds"] for found in tries)
    if os.getloadavg()[0] > (os.cpu_count() or 1):  # other work holds the cores: wall time measures it, not us
        assert min(found["cpu"] for found in tries) < 0.5, tries
    else:
        assert fastest < 0.5, tries
