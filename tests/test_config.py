"""[tool.spiral] is found from any folder of a project, and bad settings are refused with the file named."""

from __future__ import annotations

from pathlib import Path

import pytest

from spiralkit import config
from spiralkit.errors import ConfigError

GOOD = """
[project]
name = "churn-model"

[tool.spiral]
project = "churn-model"
region = "eu-west-1"
bucket = "acme-churn"
job_queue = "churn-queue"

[tool.spiral.batch]
vcpus = 2
"""


def write(root: Path, text: str) -> Path:
    (root / "pyproject.toml").write_text(text)
    return root


def test_load_from_a_subfolder(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    (tmp_path / "src" / "pkg").mkdir(parents=True)
    project = config.load(tmp_path / "src" / "pkg")
    assert project.root == tmp_path.resolve()
    assert project.region == "eu-west-1"
    assert project.section("batch") == {"vcpus": 2}
    assert project.section("workstation") == {}
    assert project.publish_root == "s3://acme-churn/published"


def test_without_a_bucket_outputs_stay_local(tmp_path: Path) -> None:
    write(tmp_path, GOOD.replace('bucket = "acme-churn"', 'bucket = ""'))
    assert config.load(tmp_path).publish_root == str(tmp_path.resolve() / "published")


def test_a_project_without_aws_needs_only_its_name(tmp_path: Path) -> None:
    """What copier writes when `production` is answered no: no region, no bucket, outputs here."""
    write(tmp_path, '[tool.spiral]\nproject = "case-triage"\n')
    project = config.load(tmp_path)
    assert (project.project, project.region, project.bucket) == ("case-triage", "", "")
    assert project.publish_root == str(tmp_path.resolve() / "published")


def test_a_pyproject_without_tool_spiral_is_not_a_project(tmp_path: Path) -> None:
    write(tmp_path, "[project]\nname = 'other'\n")
    with pytest.raises(ConfigError, match=r"no pyproject.toml with a \[tool.spiral\] table"):
        config.load(tmp_path)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (('region = "eu-west-1"', 'region = "europe"'), "not an AWS region"),
        (('bucket = "acme-churn"', 'bucket = "Acme_Churn"'), "bucket naming rules"),
        (('job_queue = "churn-queue"', 'job_que = "x"'), "unknown key"),
        (('region = "eu-west-1"', ""), "sets bucket, job_queue but no `region`"),
        (('project = "churn-model"', ""), "needs `project`"),
        (("[tool.spiral]", "[tool.spiral"), "not valid TOML"),
    ],
    ids=["bad-region", "bad-bucket", "typo-in-key", "missing-region", "missing-project", "broken-toml"],
)
def test_bad_settings_are_refused_naming_the_file(tmp_path: Path, edit: tuple[str, str], message: str) -> None:
    write(tmp_path, GOOD.replace(*edit))
    with pytest.raises(ConfigError, match=message) as refused:
        config.load(tmp_path)
    assert "pyproject.toml" in str(refused.value) or "no pyproject.toml" in str(refused.value)


def test_the_file_is_parsed_once_until_it_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Stage code calls publish/read_table (each loads the config) in loops: one parse per content."""
    write(tmp_path, GOOD.replace("churn-queue", "parsed-once-queue"))
    parses: list[str] = []
    real = config.tomllib.loads
    monkeypatch.setattr(config.tomllib, "loads", lambda text: parses.append(text) or real(text))
    first = config.load(tmp_path)
    assert config.load(tmp_path) == first
    assert len(parses) == 1
    first.section("batch")["vcpus"] = 64  # type: ignore[index]  # a caller that mutates its copy
    assert config.load(tmp_path).section("batch") == {"vcpus": 2}
    write(tmp_path, GOOD.replace("churn-queue", "parsed-twice-queue"))
    assert config.load(tmp_path).job_queue == "parsed-twice-queue"
    assert len(parses) == 2


def test_an_unknown_region_is_refused_before_any_aws_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """config checks a region's form; the one place clients are made checks it against AWS's list."""
    from spiralkit import aws
    from spiralkit.errors import AwsConfigError

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with pytest.raises(AwsConfigError, match="unknown AWS region 'eu-nowhere-9'"):
        aws.session("eu-nowhere-9")
    assert aws.session("eu-west-1").region_name == "eu-west-1"
