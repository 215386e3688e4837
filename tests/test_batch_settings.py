"""Batch settings that no instance can satisfy are refused on the laptop, naming the stage and the key.

Batch itself accepts them: a job asking for NaN vCPUs, a petabyte or 16 GPUs waits RUNNABLE for ever.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from batch_fixtures import DVC_YAML, PYPROJECT, make_pipeline
from faults_plugin import FaultCase

from spiralkit import config
from spiralkit.batch import plan as plans
from spiralkit.batch import run
from spiralkit.batch.settings import BatchSettings, BatchSettingsError, parse

# Each as YAML would write it in dvc.yaml's meta.batch, and what the refusal must say.
BAD_META = {
    "vcpus-nan": ("{vcpus: .nan}", "vcpus must be a finite number, not nan"),
    "vcpus-inf": ("{vcpus: .inf}", "vcpus must be a finite number, not inf"),
    "vcpus-minus-inf": ("{vcpus: -.inf}", "vcpus must be a finite number, not -inf"),
    "vcpus-text": ("{vcpus: four}", "vcpus must be a number, not 'four'"),
    "vcpus-null": ("{vcpus: null}", "vcpus must be a number, not None"),
    "vcpus-huge": ("{vcpus: 4096}", "vcpus must be at least 0.25 and at most 192 (the largest instance types"),
    "memory-float": ("{memory: 16384.5}", "memory must be a whole number, not 16384.5"),
    "memory-nan": ("{memory: .nan}", "memory must be a whole number, not nan"),
    "memory-petabyte": ("{memory: 1073741824}", "memory must be at least 4 and at most 4194304 MiB (4 TiB"),
    "gpus-sixteen": ("{gpus: 16}", "gpus must be at least 0 and at most 8 (the most GPUs one instance type has)"),
    "gpus-list": ("{gpus: [1, 2]}", r"gpus must be a whole number, not [1, 2]"),
    "timeout-inf": ("{timeout: .inf}", "timeout must be a whole number, not inf"),
}


@pytest.mark.faults
@pytest.mark.parametrize("case", BAD_META)
def test_meta_batch_is_refused_with_the_stage_and_the_key_named(case: str, fault: FaultCase) -> None:
    text, message = BAD_META[case]
    fault.inject(f"dvc.yaml meta.batch: {text}", f"refused: {message}")
    with pytest.raises(BatchSettingsError) as caught:
        parse(yaml.safe_load(text), BatchSettings(), "dvc.yaml stage 'train' meta.batch")
    fault.saw(f"refused: {caught.value}")
    assert str(caught.value).startswith("dvc.yaml stage 'train' meta.batch: ")
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("vcpus = nan", "vcpus must be a finite number, not nan"),
        ("vcpus = inf", "vcpus must be a finite number, not inf"),
        ("memory = 5_000_000", "memory must be at least 4 and at most 4194304 MiB"),
        ("gpus = 9", "gpus must be at least 0 and at most 8"),
        ('memory = "16G"', "memory must be a whole number, not '16G'"),
    ],
)
def test_tool_spiral_batch_is_refused_naming_pyproject(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "pyproject.toml").write_text(
        PYPROJECT.split("[tool.spiral.batch]")[0] + f"[tool.spiral.batch]\n{text}\n"
    )
    with pytest.raises(BatchSettingsError, match=rf"^\[tool\.spiral\.batch\] in pyproject\.toml: {message}"):
        run.defaults(config.load(tmp_path))


def test_a_nan_in_dvc_yaml_is_refused_before_anything_is_planned(tmp_path: Path) -> None:
    """End to end through DVC's own reading of dvc.yaml: YAML's ``.nan`` arrives as a float NaN."""
    root = make_pipeline(tmp_path / "nan", DVC_YAML.replace("meta: {owner: someone}", "meta: {batch: {vcpus: .nan}}"))
    with pytest.raises(BatchSettingsError, match=r"stage 'report' meta\.batch: vcpus must be a finite number"):
        plans.from_dvc(root, [], BatchSettings())


@pytest.mark.parametrize(
    "block",
    [{"vcpus": 192, "memory": 4 * 1024 * 1024, "gpus": 8}, {"vcpus": 0.25, "memory": 4, "gpus": 0}],
    ids=["largest", "smallest"],
)
def test_the_limits_themselves_are_accepted(block: dict[str, float]) -> None:
    assert parse(block, BatchSettings(), "test") == BatchSettings(**block)  # type: ignore[arg-type]
