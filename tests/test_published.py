"""publish / read_published: each namespace gets its own folder, locally or in the project's bucket."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from spiralkit import aws, namespace
from spiralkit.errors import NamespaceError
from spiralkit.published import publish, read_published

PREDICTIONS = pa.table({"case_id": [1, 2, 3], "flagged": [True, False, True]})


def _project(root: Path, monkeypatch: pytest.MonkeyPatch, bucket: str = "") -> Path:
    """A project folder whose user is Ana, outside CI, as on a laptop."""
    root.mkdir(exist_ok=True)
    (root / "pyproject.toml").write_text(
        f'[tool.spiral]\nproject = "churn"\nregion = "us-east-1"\nbucket = "{bucket}"\n', encoding="utf-8"
    )
    monkeypatch.chdir(root)
    monkeypatch.setenv("SPIRAL_USER", "ana")
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    return root


def test_a_laptop_publishes_in_its_user_namespace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path / "churn", monkeypatch)
    uri = publish(PREDICTIONS, "predictions.parquet")
    assert uri == str(root / "published" / "user.ana" / "predictions.parquet")
    assert read_published("predictions.parquet").equals(PREDICTIONS)
    assert read_published("predictions.parquet", "user.ana", columns=["case_id"]).column_names == ["case_id"]


def test_prod_is_refused_outside_ci_before_anything_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path / "churn", monkeypatch)
    with pytest.raises(NamespaceError, match="only CI on the production branch"):
        publish(PREDICTIONS, "predictions.parquet", namespace="prod")
    assert not (root / "published").exists()


def test_ci_on_a_branch_publishes_to_the_bucket_and_anyone_reads_it(
    aws_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    aws.client("s3").create_bucket(Bucket="churn-data")
    _project(tmp_path / "churn", monkeypatch, bucket="churn-data")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_REF_NAME", "feature/x")
    branch = namespace.branch_name("feature/x")
    assert branch.startswith("feature-x-")
    assert publish(PREDICTIONS, "scores", partition_by=["flagged"]) == f"s3://churn-data/published/test.{branch}/scores"
    monkeypatch.delenv("GITHUB_ACTIONS")
    flagged = read_published("scores", f"test.{branch}", filter=[("flagged", "=", True)])
    assert sorted(flagged["case_id"].to_pylist()) == [1, 3]


@pytest.mark.parametrize(
    "name",
    ["../prod/predictions.parquet", "a/../../prod/p", "/etc/p", "", "a//b", "./p", "a\\..\\p", "scores/..", ".."],
)
def test_a_name_that_leaves_the_namespace_folder_is_refused(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path / "churn", monkeypatch)
    with pytest.raises(NamespaceError, match=r"published name .* is not valid"):
        publish(PREDICTIONS, name)
    with pytest.raises(NamespaceError, match="not valid"):
        read_published(name, "prod")
    assert not (root / "published").exists()


def test_plain_nested_names_are_published(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path / "churn", monkeypatch)
    assert publish(PREDICTIONS, "scores/2026-12.parquet") == str(
        root / "published" / "user.ana" / "scores/2026-12.parquet"
    )
