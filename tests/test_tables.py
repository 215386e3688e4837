"""read_table / write_table on local paths and on S3 (a moto server): round trips, projection, filters,
partitions, and one clear error naming the URI for every kind of bad input."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from spiralkit import aws, storage
from spiralkit.errors import SpiralError
from spiralkit.tables import TableError, read_frame, read_table, write_table

CASES = pa.table(
    {
        "case_id": pa.array(range(6), pa.int64()),
        "age": pa.array([15, 34, 51, 18, 77, 42], pa.int64()),
        "region": ["north", "south", "north", "east", "south", "north"],
        "score": [0.1, 0.9, 0.4, 0.7, 0.2, 0.6],
        "label": pa.array([0, 1, 0, 1, 0, 1], pa.int8()),
    }
)


@pytest.fixture
def bucket(aws_env: str) -> str:
    aws.client("s3").create_bucket(Bucket="tables-test")
    return "s3://tables-test"


@pytest.fixture(params=["local", "s3"])
def root(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every round-trip test runs on a local folder and on S3."""
    return request.getfixturevalue("bucket") if request.param == "s3" else str(tmp_path)


def test_a_table_round_trips_with_its_types_and_order(root: str) -> None:
    write_table(CASES, f"{root}/raw/cases.parquet")
    assert read_table(f"{root}/raw/cases.parquet").equals(CASES)


def test_columns_reads_only_those_columns_in_the_order_asked(root: str) -> None:
    write_table(CASES, f"{root}/cases.parquet")
    table = read_table(f"{root}/cases.parquet", columns=["label", "age"])
    assert table.column_names == ["label", "age"]
    assert table["age"].to_pylist() == CASES["age"].to_pylist()


@pytest.mark.parametrize(
    "row_filter",
    [[("age", ">=", 18), ("region", "==", "north")], (ds.field("age") >= 18) & (ds.field("region") == "north")],
    ids=["tuples", "expression"],
)
def test_filter_keeps_only_matching_rows(root: str, row_filter: object) -> None:
    write_table(CASES, f"{root}/cases.parquet")
    table = read_table(f"{root}/cases.parquet", columns=["case_id"], filter=row_filter)
    assert table["case_id"].to_pylist() == [2, 5]


def test_partitioned_dataset_round_trips_and_filters_on_the_partition(root: str) -> None:
    write_table(CASES, f"{root}/by_region", partition_by=["region"])
    assert read_table(f"{root}/by_region").sort_by("case_id").equals(CASES)
    south = read_table(f"{root}/by_region", columns=["case_id"], filter=[("region", "=", "south")])
    assert sorted(south["case_id"].to_pylist()) == [1, 4]


def test_partition_columns_keep_their_types(tmp_path: Path) -> None:
    """Folder names are text (`day=2024-01-02`); the written schema says what they were."""
    days = pa.table({"day": pa.array([date(2024, 1, 1), date(2024, 1, 2)]), "urgent": [True, False], "n": [1, 2]})
    write_table(days, tmp_path / "days", partition_by=["day", "urgent"])
    assert read_table(tmp_path / "days").sort_by("n").equals(days)
    later = read_table(tmp_path / "days", columns=["n"], filter=[("day", ">", date(2024, 1, 1))])
    assert later["n"].to_pylist() == [2]


def test_a_partitioned_write_replaces_its_partitions_and_keeps_the_others(tmp_path: Path) -> None:
    write_table(CASES, tmp_path / "by_region", partition_by=["region"])
    write_table(CASES.filter(pa.compute.equal(CASES["case_id"], 0)), tmp_path / "by_region", partition_by=["region"])
    assert sorted(p.name for p in (tmp_path / "by_region").iterdir()) == ["region=east", "region=north", "region=south"]
    north = read_table(tmp_path / "by_region", columns=["case_id"], filter=[("region", "=", "north")])
    assert north["case_id"].to_pylist() == [0]
    assert len(read_table(tmp_path / "by_region", filter=[("region", "=", "south")])) == 2


def test_partitions_on_s3_leave_no_empty_folder_objects(bucket: str) -> None:
    write_table(CASES, f"{bucket}/by_region", partition_by="region")
    keys = [item["Key"] for item in aws.client("s3").list_objects_v2(Bucket="tables-test")["Contents"]]
    assert len(keys) == 3
    assert all(key.startswith("by_region/region=") and key.endswith(".parquet") for key in keys), keys


def test_the_same_table_always_gives_the_same_bytes(tmp_path: Path) -> None:
    """DVC hashes outputs: a rerun that changed nothing must not make the next stage rerun."""
    write_table(CASES, tmp_path / "a.parquet")
    write_table(CASES, tmp_path / "b.parquet")
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()


@pytest.mark.parametrize(("compression", "codec"), [(None, "UNCOMPRESSED"), ("zstd", "ZSTD")])
def test_files_are_uncompressed_unless_asked(tmp_path: Path, compression: str | None, codec: str) -> None:
    path = tmp_path / "cases.parquet"
    write_table(CASES, path, **({"compression": compression} if compression else {}))  # type: ignore[arg-type]
    assert pq.ParquetFile(path).metadata.row_group(0).column(0).compression == codec


def test_pandas_in_and_out(tmp_path: Path) -> None:
    write_table(CASES.to_pandas(), tmp_path / "cases.parquet")
    frame = read_frame(tmp_path / "cases.parquet", columns=["case_id", "score"], filter=[("label", "=", 1)])
    assert frame["case_id"].tolist() == [1, 3, 5]
    assert frame["score"].tolist() == [0.9, 0.7, 0.6]


def test_the_s3_specific_endpoint_variable_wins(bucket: str, aws_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", aws_env)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens on the discard port
    write_table(CASES, f"{bucket}/cases.parquet")
    assert read_table(f"{bucket}/cases.parquet").num_rows == len(CASES)


def test_region_comes_from_the_project_then_from_aws_settings(
    aws_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    project.mkdir()
    elsewhere.mkdir()
    (project / "pyproject.toml").write_text('[tool.spiral]\nproject = "p"\nregion = "eu-west-1"\n')
    monkeypatch.chdir(project)
    assert storage.s3_filesystem().region == "eu-west-1"
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    monkeypatch.setenv("AWS_REGION", "ap-south-1")
    aws.session.cache_clear()
    assert storage.s3_filesystem().region == "ap-south-1"


def test_no_credentials_is_one_clear_error(aws_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    aws.session.cache_clear()
    with pytest.raises(SpiralError, match="no AWS credentials"):
        read_table("s3://tables-test/cases.parquet")


def _text_file(path: Path) -> str:
    path.write_text("case_id,age\n1,2\n")
    return str(path)


def _empty_folder(path: Path) -> str:
    path.mkdir()
    return str(path)


@pytest.mark.parametrize(
    ("read", "message"),
    [
        (lambda p: read_table(p / "nope.parquet"), r"nope\.parquet: no such file or folder"),
        (lambda p: read_table(p / "c.parquet", columns=["lable"]), r"no column 'lable' \(did you mean 'label'\?\)"),
        (lambda p: read_table(p / "c.parquet", columns=["x", "y"]), r"no column 'x', 'y'; the table has: case_id, age"),
        (lambda p: read_table(p / "c.parquet", filter=[("agee", ">", 1)]), r"no filter field 'agee' \(did you mean"),
        (lambda p: read_table(p / "c.parquet", filter=ds.field("zzz") > 1), r"c\.parquet: no filter field 'zzz'"),
        (lambda p: read_table(p / "c.parquet", filter=[("region", ">", 3)]), "does not fit the column types"),
        (lambda p: read_table(p / "c.parquet", filter=[("age", ">")]), r"filter \[\('age', '>'\)\] is not valid"),
        (lambda p: read_table(_text_file(p / "c.csv")), r"c\.csv: not a Parquet file"),
        (lambda p: read_table(_empty_folder(p / "empty")), "empty: a folder with no Parquet files in it"),
        (lambda p: read_table("gs://bucket/c.parquet"), "only local paths and s3:// URIs are supported, not gs://"),
        (lambda p: read_table("s3://"), "name a bucket and a key"),
        (lambda p: write_table(CASES, p / "d", partition_by=["regoin"]), r"no partition column 'regoin'"),
        (lambda p: write_table(CASES, p / "d.parquet", compression="rar"), "compression 'rar' is not one of"),  # type: ignore[arg-type]
        (lambda p: write_table(42, p / "d.parquet"), "cannot write a int as a table"),
    ],
    ids=[
        "missing-file",
        "unknown-column",
        "unknown-columns",
        "unknown-filter-field",
        "unknown-expression-field",
        "filter-type",
        "filter-shape",
        "not-parquet",
        "empty-folder",
        "other-scheme",
        "no-bucket-in-uri",
        "unknown-partition-column",
        "unknown-compression",
        "not-a-table",
    ],
)
def test_bad_local_input_is_one_clear_error_naming_the_uri(tmp_path: Path, read: object, message: str) -> None:
    write_table(CASES, tmp_path / "c.parquet")
    with pytest.raises(TableError, match=message):
        read(tmp_path)  # type: ignore[operator]
    assert not (tmp_path / "d").exists()
    assert not (tmp_path / "d.parquet").exists()


def test_a_missing_bucket_is_named_before_anything_is_written(bucket: str) -> None:
    with pytest.raises(TableError, match=r"s3://no-such-bucket/c\.parquet: bucket 'no-such-bucket' does not exist"):
        read_table("s3://no-such-bucket/c.parquet")
    with pytest.raises(TableError, match="bucket 'no-such-bucket' does not exist"):
        write_table(CASES, "s3://no-such-bucket/c.parquet")
    with pytest.raises(TableError, match="bucket 'no-such-bucket' does not exist"):
        write_table(CASES, "s3://no-such-bucket/d", partition_by=["region"])
    assert [b["Name"] for b in aws.client("s3").list_buckets()["Buckets"]] == ["tables-test"]


def test_a_missing_key_names_the_uri(bucket: str) -> None:
    with pytest.raises(TableError, match=r"s3://tables-test/raw/missing\.parquet: no such file or folder"):
        read_table(f"{bucket}/raw/missing.parquet")
