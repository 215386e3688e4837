"""``spiral report`` on records made by the run-record functions, and the page opened in headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from results_fixtures import make_run

from bench import example_runs
from spiralkit import aws
from spiralkit.cli import main
from spiralkit.results import graph
from spiralkit.results.client import Runs

PROD_OLD, PROD, BRANCH = (
    "20261120T080000Z-00000000-aaaa",
    "20261127T080000Z-11111111-aaaa",
    "20261201T090000Z-22222222-bbbb",
)
PROBLEM = "# 1. The problem\n\n*Spiral 1 answers...*\n\n**The decision.** Which cases to review `first`.\n"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    make_run(tmp_path, "prod", PROD_OLD, metrics={"roc_auc": 0.8, "log_loss": 0.5}, C=2.0)
    make_run(tmp_path, "prod", PROD, metrics={"roc_auc": 0.9, "log_loss": 0.4}, C=1.0)
    make_run(tmp_path, "test.feature", BRANCH, metrics={"roc_auc": 0.95, "log_loss": 0.45}, C=0.5, rows=500)
    return tmp_path / ".spiral"


def report(folder: Path, out: Path, *args: str) -> tuple[int, str]:
    code = main(["report", *args, "--folder", str(folder), "-o", str(out)])
    return code, out.read_text(encoding="utf-8") if out.is_file() else ""


def test_the_report_compares_with_the_latest_prod_run(folder: Path, tmp_path: Path) -> None:
    start = time.perf_counter()
    code, page = report(folder, tmp_path / "r.html", BRANCH)
    seconds = time.perf_counter() - start
    assert code == 0
    assert seconds < 10  # the bench measures the 2 s target on an idle machine; this machine is shared
    assert len(page.encode()) < 5_000_000
    assert f"run {BRANCH}" in page
    # roc_auc up is good, log_loss up is bad; both against prod's newest run, not the older one
    assert re.search(r'roc_auc</div><div class="value">0\.95</div><div><span class="good">▲ \+0\.05 \(\+5\.6%\)', page)
    assert re.search(r'log_loss</div><div class="value">0\.45</div><div><span class="bad">▲ \+0\.05 \(\+12\.5%\)', page)
    assert f"vs prod {PROD[:15]}" in page
    assert "<tr class=changed><td><code>train.C</code></td><td>0.5</td><td>1.0</td></tr>" in page
    assert page.count("<svg") == 3  # two plots and the pipeline
    assert "ROC curve" in page
    assert "Confusion matrix" in page
    for stage in ("ingest", "features", "train", "evaluate", "publish"):
        assert f"<title>{stage}: ran · " in page
    assert "2 vCPU · 2 GB" in page  # train's resources
    assert "conda-lock:aaaa (the same as prod&#x27;s)" in page
    cost = r"<td>cost</td><td><span class=mono>\$0\.\d{4} \(from the stage records&#x27; times; estimated -"
    assert re.search(cost, page)


def test_a_prod_run_is_compared_with_the_prod_run_before_it(folder: Path, tmp_path: Path) -> None:
    code, page = report(folder, tmp_path / "r.html", "prod")
    assert code == 0
    assert f"run {PROD}" in page
    assert f"vs prod {PROD_OLD[:15]}" in page
    assert "<tr class=changed><td><code>train.C</code></td><td>1.0</td><td>2.0</td></tr>" in page


def test_the_problem_comes_from_the_checkout(tmp_path: Path) -> None:
    from spiralkit.results import report as reports

    (tmp_path / "docs" / "spiral").mkdir(parents=True)
    (tmp_path / "docs" / "spiral" / "01-problem.md").write_text(PROBLEM)
    make_run(tmp_path, "prod", PROD, metrics={"roc_auc": 0.9})
    run = Runs("prod", folder=tmp_path / ".spiral").latest()
    page = reports.html(run, None, reports.problem_of(tmp_path))
    assert "<p><b>The decision.</b> Which cases to review <code>first</code>.</p>" in page
    assert "Spiral 1 answers" not in page
    assert "No complete prod run to compare with yet." in page


def test_fail_below_writes_the_report_then_fails(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, page = report(folder, tmp_path / "ok.html", BRANCH, "--fail-below", "roc_auc=0.9")
    assert code == 0
    code, page = report(folder, tmp_path / "low.html", BRANCH, "--fail-below", "roc_auc=0.96", "--fail-below", "f1=0.5")
    assert code == 14
    assert f"run {BRANCH}" in page
    err = capsys.readouterr().err
    assert "roc_auc 0.95 < 0.96" in err
    assert "f1 is not among the run's metrics (roc_auc, log_loss)" in err
    assert main(["report", "--fail-below", "roc_auc", "--folder", str(folder)]) == 2


def test_check_applies_the_floors_the_run_recorded_in_its_params(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_run(tmp_path, "prod", PROD, metrics={"roc_auc": 0.9}, thresholds={"roc_auc": 0.85})
    make_run(tmp_path, "prod", BRANCH, metrics={"roc_auc": 0.8}, thresholds={"roc_auc": 0.85})
    folder = tmp_path / ".spiral"
    assert report(folder, tmp_path / "a.html", f"prod/{PROD}", "--check")[0] == 0
    assert report(folder, tmp_path / "b.html", "prod", "--check")[0] == 14  # this week's model got worse
    assert "roc_auc 0.8 < 0.85" in capsys.readouterr().err
    assert report(folder, tmp_path / "c.html", "prod")[0] == 0  # floors apply when asked for


def test_summary_appends_the_headline_for_the_job_summary(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "step-summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert report(folder, tmp_path / "r.html", BRANCH, "--summary")[0] == 0
    text = summary.read_text()
    assert text.startswith("earlier step\n### churn-model: test.feature run")
    assert f"Against prod `{PROD}`:" in text
    assert "| roc_auc | 0.95 | 0.9 | +0.05 (+5.6%) |" in text
    assert "Params that differ: `train.C` 1.0 → 0.5." in text
    assert f"Report: {tmp_path / 'r.html'}" in text
    monkeypatch.delenv("GITHUB_STEP_SUMMARY")
    assert report(folder, tmp_path / "r.html", BRANCH, "--summary")[0] == 2


def test_the_pipeline_is_drawn_in_topological_layers(folder: Path) -> None:
    stages = Runs("prod", folder=folder).latest().stages
    assert graph.layers(stages) == {"ingest": 0, "features": 1, "train": 2, "evaluate": 3, "publish": 3}
    svg = graph.svg(stages)
    assert svg.count('<g class="stage">') == 5
    assert svg.count("marker-end") == 6  # one arrow per upstream link


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BROWSER_OWN = re.compile(
    r"^https?://([a-z0-9.-]+\.)?(google\.com|googleapis\.com|gvt1\.com)/"
)  # Chromium's own background calls


def browse(page: Path, screenshot: Path) -> tuple[str, list[str]]:
    """Open ``page`` in headless Chromium with no name resolving; its log and the URLs the page asked for."""
    netlog = screenshot.with_suffix(".netlog.json")
    done = subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--host-resolver-rules=MAP * ~NOTFOUND",  # every host name fails to resolve: nothing leaves
            f"--log-net-log={netlog}",  # ...and every request the page makes is logged
            "--enable-logging=stderr",
            "--v=0",  # console messages appear as INFO:CONSOLE lines
            "--window-size=1200,2400",
            f"--screenshot={screenshot}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    log = done.stdout + done.stderr
    assert done.returncode == 0, log
    urls = set(re.findall(r'"url":"(https?://[^"]+)"', netlog.read_text()))
    return log, sorted(url for url in urls if not BROWSER_OWN.match(url))


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium here: `apt-get install chromium` (Debian)")
def test_the_report_opens_offline_in_a_browser_without_errors(folder: Path, tmp_path: Path) -> None:
    code, page = report(folder, tmp_path / "report.html", BRANCH)
    assert code == 0
    # Nothing to fetch: no http(s) URL in any src or href, no script, no stylesheet link.
    assert re.findall(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page) == []
    assert "<script" not in page
    assert "<link" not in page
    log, requested = browse(tmp_path / "report.html", tmp_path / "report.png")
    assert requested == []
    assert ":CONSOLE" not in log, log
    assert "Uncaught" not in log, log
    assert (tmp_path / "report.png").stat().st_size > 50_000  # a page drawn, not a blank one

    # The same checks catch a page that fetches something and fails in its console.
    control = tmp_path / "control.html"
    control.write_text('<img src="http://example.com/x.png"><script>console.error("boom"); nothing()</script>')
    log, requested = browse(control, tmp_path / "control.png")
    assert requested == ["http://example.com/x.png"]
    assert "Uncaught ReferenceError" in log
    assert '"boom"' in log


def test_publish_puts_the_report_and_an_index_in_the_bucket(
    folder: Path, aws_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    example_runs.upload(folder.parent, "acme-churn")
    out = tmp_path / "r.html"
    assert main(["report", BRANCH, "--bucket", "acme-churn", "--publish", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"published s3://acme-churn/reports/test.feature/{BRANCH}.html" in printed
    s3 = aws.client("s3")
    body = s3.get_object(Bucket="acme-churn", Key=f"reports/test.feature/{BRANCH}.html")
    assert body["ContentType"] == "text/html; charset=utf-8"
    assert body["Body"].read().decode() == out.read_text()
    index = s3.get_object(Bucket="acme-churn", Key="reports/test.feature/index.html")["Body"].read().decode()
    assert f'<a href="{BRANCH}.html">{BRANCH}</a>' in index
    assert "0.95 <span class=same>+0.05 (+5.6%)</span>" in index  # roc_auc against prod's latest
    assert f"changes against prod {PROD}" in index

    # A prod run's own index: the latest prod run has no delta against itself, the older one has.
    assert main(["report", "prod", "--bucket", "acme-churn", "--publish", "-o", str(out)]) == 0
    index = s3.get_object(Bucket="acme-churn", Key="reports/prod/index.html")["Body"].read().decode()
    assert index.index(PROD) < index.index(PROD_OLD)  # newest first
    assert f'<a href="{PROD}.html">' in index
    assert f'<a href="{PROD_OLD}.html">' not in index  # no report published for it
    assert "0.8 <span class=same>-0.1 (-11.1%)</span>" in index
    assert "0.9 <span class=same></span>" in index
