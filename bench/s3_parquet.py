"""Reading the same Parquet table from S3 (a moto server here), against one sequential boto3 get_object."""

from __future__ import annotations

from collections.abc import Callable

import boto3

from bench import data, moto_server
from bench.figures import Context, Figure, Target
from bench.measure import Sample, in_turns, probe, seconds

TITLE = "Parquet from S3 (a moto server on this machine)"
BUCKET = "spiralkit-bench"


def run(context: Context) -> list[Figure]:
    path = data.parquet(context.work, context.size_mb)
    tenth = data.tenth_of_the_columns(path)
    key, uri = path.name, f"s3://{BUCKET}/{path.name}"
    with moto_server.running(context.work / "moto") as server:
        s3 = boto3.client(
            "s3",
            endpoint_url=server.url,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )
        s3.create_bucket(Bucket=BUCKET)
        s3.upload_file(str(path), BUCKET, key)
        gets: dict[str, int] = {}

        def counted(name: str, operation: str, *args: str) -> Callable[[], Sample]:
            def measure() -> Sample:
                before = server.requests("GET", f"/{BUCKET}/{key}")
                sample = probe(operation, *args, env=server.env)
                gets[name] = server.requests("GET", f"/{BUCKET}/{key}") - before
                return sample

            return measure

        runs = in_turns(
            {
                "boto3": counted("boto3", "s3_get_object", BUCKET, key),
                "all": counted("all", "read_table", uri),
                "tenth": counted("tenth", "read_table", uri, *tenth),
                "range": counted("range", "s3_get_range", BUCKET, key),
            },
            context.runs,
        )
    size = f"{path.stat().st_size / 1e6:,.0f} MB"
    download = Figure(f"boto3: one get_object of the {size} object, read into memory", seconds(runs["boto3"]))
    return [
        download,
        Figure(
            "read_table from s3://, all 50 columns",
            seconds(runs["all"]),
            baseline=download,
            target=Target.ratio_at_least(1, "at least as fast as boto3"),
            notes=[f"read_table made {gets['all']} GET requests: the footer, then the column chunks in ranges."],
        ),
        Figure(
            f"read_table from s3://, a tenth of the columns ({len(tenth)} of 50)",
            seconds(runs["tenth"]),
            baseline=download,
            notes=[f"read_table of a tenth of the columns made {gets['tenth']} GET requests."],
        ),
        Figure(
            "moto: one ranged GET of the object's last 64 KiB",
            seconds(runs["range"]),
            notes=[
                "moto reads the whole object for every ranged GET and then slices it, so on moto a range costs "
                "about what the whole object does; S3 charges a range by its length."
            ],
        ),
    ]
