"""The weekly retraining's report: this week's data against last week's (rows per table, drift per input column).

The two weeks' input is the example's own ingest output for two snapshots (tests/results_fixtures.py).
"""

from __future__ import annotations

import re
import struct
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from results_fixtures import make_run

from bench.example_runs import put
from spiralkit import aws
from spiralkit.cli import main
from spiralkit.results.drift import FOOTER, column_drift, row_count
from spiralkit.results.objects import Remote

LAST_WEEK, THIS_WEEK, BRANCH = (
    "20261123T041700Z-11111111-aaaa",
    "20261130T041700Z-11111111-bbbb",
    "20261201T090000Z-22222222-cccc",
)
FLOORS = {"roc_auc": 0.9}


def column(values: list[object]) -> pa.ChunkedArray:
    return pa.chunked_array([values])


def test_the_same_distribution_does_not_drift_and_a_shifted_one_does() -> None:
    numbers = [float(i % 50) for i in range(1000)]
    assert column_drift(column(numbers), column(list(reversed(numbers)))) == ("PSI", 0.0)
    measure, value = column_drift(column(numbers), column([x + 10 for x in numbers]))  # type: ignore[misc]
    assert measure == "PSI"
    assert value > 0.25
    measure, small = column_drift(column(numbers), column([x + 1 for x in numbers]))  # type: ignore[misc]
    assert 0 < small < value


def test_categories_and_few_valued_numbers_use_total_variation() -> None:
    before = column(["a"] * 50 + ["b"] * 50)
    assert column_drift(before, column(["a"] * 80 + ["b"] * 20)) == ("TV", pytest.approx(0.3))
    assert column_drift(before, column(["c"] * 10)) == ("TV", pytest.approx(1.0))  # nothing in common
    assert column_drift(column([0, 1] * 50), column([1] * 100)) == ("TV", pytest.approx(0.5))  # a label


def test_ids_and_empty_columns_have_no_drift() -> None:
    assert column_drift(column(list(range(100))), column(list(range(50, 170)))) is None
    assert column_drift(column([None, None]), column([1.0, 2.0])) is None


@pytest.fixture
def weeks(tmp_path: Path) -> Path:
    """Last week's scheduled run on all the cases; this week's on a snapshot that brought only the first 60."""
    make_run(tmp_path, "prod", LAST_WEEK, metrics={"roc_auc": 0.99}, thresholds=FLOORS, snapshot="2026-07-31")
    make_run(tmp_path, "prod", THIS_WEEK, metrics={"roc_auc": 0.85}, thresholds=FLOORS, snapshot="2025-03-01")
    return tmp_path / ".spiral"


def test_worse_data_fails_the_check_with_a_report_of_what_changed_since_last_week(
    weeks: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "weekly.html"
    headline = tmp_path / "summary.md"
    code = main(["report", "prod", "--check", "--folder", str(weeks), "-o", str(out), "--summary", str(headline)])
    assert code == 14  # BelowThreshold
    assert "roc_auc 0.85 < 0.9" in capsys.readouterr().err
    page = out.read_text()  # written before the check failed
    against = f"prod {LAST_WEEK[:15]}"
    assert re.search(r'roc_auc</div><div class="value">0\.85</div><div><span class="bad">▼ -0\.14', page)
    assert f"vs {against}" in page
    assert f"<h2>Data since {against}</h2>" in page
    cases = re.search(
        r"<td><code>data/raw/cases\.parquet</code></td><td>(\d+)</td><td>(\d+)</td><td>([^<]+)</td>", page
    )
    assert cases is not None
    assert cases.groups() == ("569", "60", "-509 (-89.5%)")
    drift = page[page.index("the largest drift first") :]
    found = re.findall(r"<td><code>(\w+)</code></td><td><code>data/raw/cases\.parquet</code></td><td>(PSI|TV)</td>"
                       r"<td>([\d.]+)</td>", drift)  # fmt: skip
    assert len(found) == 31  # the 30 measurements and the label; case_id is an id
    values = [float(value) for _, _, value in found]
    assert values == sorted(values, reverse=True)
    assert values[0] > 0.25
    assert ("label", "TV") in {(name, measure) for name, measure, _ in found}
    assert "case_id" not in {name for name, _, _ in found}
    assert "<tr class=changed><td><code>" + found[0][0] in drift  # a large move is highlighted

    summary = headline.read_text()  # the job summary says it too, before the job fails
    assert f"Against the previous prod run `{LAST_WEEK}`:" in summary
    assert "Rows: `data/raw/cases.parquet` 569 → 60, `data/features/train.parquet` 426 → 45" in summary
    moved = sum(1 for _, _, value in found if float(value) >= 0.1)
    assert f"Input drift, {moved} column(s) moved: `{found[0][0]}` {found[0][1]} {float(found[0][2]):.2f}, " in summary
    assert "Cost: $0.0" in summary


def test_last_weeks_run_passed_its_check(weeks: Path, tmp_path: Path) -> None:
    assert main(["report", f"prod/{LAST_WEEK}", "--check", "--folder", str(weeks), "-o", str(tmp_path / "r.html")]) == 0
    assert "Data since" not in (tmp_path / "r.html").read_text()  # no run before it to compare with


def test_a_branch_on_the_same_data_as_prod_says_so(weeks: Path, tmp_path: Path) -> None:
    make_run(weeks.parent, "test.feature", BRANCH, metrics={"roc_auc": 0.86}, C=0.5, snapshot="2025-03-01")
    out = tmp_path / "branch.html"
    assert main(["report", BRANCH, "--folder", str(weeks), "-o", str(out)]) == 0
    page = out.read_text()
    assert f"The input data is the same as in prod {THIS_WEEK[:15]}." in page
    assert "<td><code>data/raw/cases.parquet</code></td><td>60</td><td>60</td><td>same</td>" in page


@pytest.mark.parametrize("columns", [3, 3000], ids=["footer-in-one-read", "footer-longer-than-one-read"])
def test_row_counts_come_from_the_footer_alone(columns: int, tmp_path: Path, aws_env: str) -> None:
    sink = pa.BufferOutputStream()
    pq.write_table(pa.table({f"c{i}": list(range(1000)) for i in range(columns)}), sink)
    body = sink.getvalue().to_pybytes()
    footer = struct.unpack("<I", body[-8:-4])[0] + 8
    assert (footer > FOOTER) == (columns == 3000)
    out = {"path": "data/wide.parquet", **put(tmp_path / "dvc-storage", body)}
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="acme-churn")
    s3.put_object(Bucket="acme-churn", Key=f"dvc/files/md5/{out['md5'][:2]}/{out['md5'][2:]}", Body=body)
    ranges: list[str] = []
    seen = lambda request, **_: ranges.append(request.headers["Range"].decode())  # noqa: E731
    aws.session(None).events.register("before-send.s3", seen)
    for remote in (Remote("s3://acme-churn/dvc"), Remote(str(tmp_path / "dvc-storage"))):
        run = SimpleNamespace(archive=SimpleNamespace(remote=remote, cache=tmp_path / "cache"))
        assert row_count(run, out) == 1000  # type: ignore[arg-type]
    assert ranges == [f"bytes=-{FOOTER}"] + ([f"bytes=-{footer}"] if footer > FOOTER else [])
    assert not (tmp_path / "cache").exists()  # nothing was downloaded whole
