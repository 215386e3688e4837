"""Stages the remote run-cache already has are not submitted; the namespace is part of publish's key."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from batch_fixtures import push_image

from spiralkit import cli, config
from spiralkit.batch import run as runs

pytest_plugins = ["test_batch_submit"]  # the `toy` fixture: pipeline, stack and image on moto

ALL = ["prepare", "fit@small", "fit@large", "score@small-test", "score@large-test", "report"]


def cached(namespace: str, force: list[str] | None = None) -> tuple[list[str], list[str]]:
    prepared = runs.prepare(config.load(), [], namespace, force=force or [])
    return sorted(prepared.cached), prepared.plan.names()


def test_nothing_is_cached_before_a_run(toy: Path) -> None:
    assert cached("user.tester") == ([], runs.plan_for(config.load(), []).names())


@pytest.mark.slow
def test_after_a_pushed_run_only_what_changed_is_submitted(toy: Path, capfd: pytest.CaptureFixture[str]) -> None:
    # One run for all cases: `spiral run --on local` runs each stage as its job would, pushing to S3.
    assert cli.main(["run", "--on", "local", "--namespace", "user.tester"]) == 0
    assert capfd.readouterr().out.count("Running stage") == len(ALL)
    assert cli.main(["run", "--on", "local", "--namespace", "user.tester", "--force", "prepare", "prepare"]) == 0
    forced = capfd.readouterr().out
    assert "dvc repro --force --single-item prepare" in forced
    assert forced.count("Running stage 'prepare'") == 1  # up to date, yet rerun on purpose
    subprocess.run(["git", "commit", "-qam", "ran as user.tester"], check=True)
    push_image(toy)

    assert cached("user.tester") == (sorted(ALL), [])

    done, to_submit = cached("user.other")  # the namespace is a param of report only
    assert to_submit == ["report"]
    assert done == sorted(set(ALL) - {"report"})

    done, to_submit = cached("user.tester", force=["fit@small"])
    assert sorted(to_submit) == ["fit@small", "report", "score@small-test"]
    assert done == ["fit@large", "prepare", "score@large-test"]

    dvc_yaml = toy / "dvc.yaml"  # a changed first stage: nothing after it can be known
    dvc_yaml.write_text(dvc_yaml.read_text().replace("echo raw > raw.txt", "echo new > raw.txt"))
    subprocess.run(["git", "commit", "-qam", "new raw data"], check=True)
    push_image(toy)
    done, to_submit = cached("user.tester")
    assert done == []
    assert len(to_submit) == len(ALL)


def test_forcing_a_stage_outside_the_run_is_refused(toy: Path) -> None:
    with pytest.raises(runs.PreflightError, match="--force nope: not a stage of this run"):
        runs.prepare(config.load(), [], "user.tester", force=["nope"])
