"""The plan comes from DVC's own reading of dvc.yaml; meta.batch is checked before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from batch_fixtures import DVC_YAML, make_pipeline

from bench import synthetic
from spiralkit.batch import plan as plans
from spiralkit.batch.settings import BatchSettings, BatchSettingsError, parse

DEFAULTS = BatchSettings(vcpus=1, memory=2048, retries=2, timeout=1800)


@pytest.fixture
def toy(tmp_path: Path) -> Path:
    return make_pipeline(tmp_path / "toy")


def test_foreach_and_matrix_stages_are_expanded_in_dependency_order(toy: Path) -> None:
    plan = plans.from_dvc(toy, [], DEFAULTS)
    assert sorted(plan.names()) == [
        "fit@large", "fit@small", "prepare", "report",
        "score@large-test", "score@small-test",
    ]  # fmt: skip
    seen: set[str] = set()
    for stage in plan.stages:
        assert set(stage.upstream) <= seen, f"{stage.name} planned before its upstream"
        seen.add(stage.name)
    upstream = {stage.name: stage.upstream for stage in plan.stages}
    assert upstream["prepare"] == ()
    assert upstream["fit@small"] == ("prepare",)
    assert upstream["score@large-test"] == ("fit@large",)
    assert upstream["report"] == ("score@large-test", "score@small-test")


def test_edges_equal_dvcs_own_graph(toy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dvc.repo import Repo

    monkeypatch.chdir(toy)
    with Repo(str(toy)) as repo:
        graph = repo.index.graph
        expected = {(a.addressing, b.addressing) for a, b in graph.edges}
    plan = plans.from_dvc(toy, [], DEFAULTS)
    assert {(s.name, up) for s in plan.stages for up in s.upstream} == expected


def test_a_target_brings_only_its_upstream(toy: Path) -> None:
    assert plans.from_dvc(toy, ["fit@small"], DEFAULTS).names() == ["prepare", "fit@small"]
    assert sorted(plans.from_dvc(toy, ["fit"], DEFAULTS).names()) == [
        "fit@large", "fit@small", "prepare"
    ]  # fmt: skip


def test_meta_batch_overrides_the_project_defaults(toy: Path) -> None:
    settings = {s.name: s.settings for s in plans.from_dvc(toy, [], DEFAULTS).stages}
    assert settings["prepare"] == DEFAULTS
    assert settings["report"] == DEFAULTS  # meta without a batch block
    assert settings["fit@large"] == BatchSettings(vcpus=4, memory=8192, gpus=1, retries=3, timeout=7200)


def test_an_unknown_stage_is_refused(toy: Path) -> None:
    with pytest.raises(plans.PlanError, match=r"nope.*dvc stage list"):
        plans.from_dvc(toy, ["nope"], DEFAULTS)


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"memroy": 10}, r"unknown key\(s\) memroy; known keys: vcpus, memory"),
        ({"memory": -1}, r"memory must be at least 4 and at most 4194304 MiB .*, not -1"),
        ({"memory": "4G"}, r"memory must be a whole number, not '4G'"),
        ({"vcpus": True}, r"vcpus must be a number"),
        ({"timeout": 10}, r"timeout must be at least 60"),
        ({"retries": 12}, r"retries must be at least 0 and at most 9"),
        ([1, 2], r"must be a mapping"),
    ],
    ids=[
        "typo",
        "negative-memory",
        "memory-text",
        "vcpus-bool",
        "short-timeout",
        "many-retries",
        "list",
    ],
)
def test_malformed_meta_batch_is_refused_with_the_stage_named(tmp_path: Path, block: object, message: str) -> None:
    dvc_yaml = DVC_YAML.replace("meta: {owner: someone}", f"meta: {{batch: {block!r}}}")
    root = make_pipeline(tmp_path / "bad", dvc_yaml)
    with pytest.raises(BatchSettingsError, match=message) as caught:
        plans.from_dvc(root, [], DEFAULTS)
    assert "stage 'report' meta.batch" in str(caught.value)


def test_resource_requirements_say_what_batch_expects() -> None:
    settings = parse({"vcpus": 0.5, "memory": 1024, "gpus": 2}, DEFAULTS, "test")
    assert settings.resource_requirements() == [
        {"type": "VCPU", "value": "0.5"},
        {"type": "MEMORY", "value": "1024"},
        {"type": "GPU", "value": "2"},
    ]


def test_waves_group_stages_whose_upstream_is_done() -> None:
    plan = synthetic.plan(60, width=20)
    waves = plan.waves()
    assert [len(wave) for wave in waves] == [20, 20, 20]
    assert all(len(s.upstream) == 2 for s in waves[1])


def test_without_drops_done_stages_and_their_edges() -> None:
    plan = synthetic.plan(40, width=20).without(["stage-0000"])
    assert "stage-0000" not in plan.names()
    assert all("stage-0000" not in s.upstream for s in plan.stages)


def test_a_generated_dvc_yaml_plans_like_the_synthetic_plan(tmp_path: Path) -> None:
    root = make_pipeline(tmp_path / "big", synthetic.dvc_yaml(60, width=20))
    from_dvc = plans.from_dvc(root, [], DEFAULTS)
    assert {(s.name, s.upstream) for s in from_dvc.stages} == {
        (s.name, s.upstream) for s in synthetic.plan(60, width=20, settings=DEFAULTS).stages
    }
