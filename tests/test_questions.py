"""copier.yml's questions: good answers are taken, bad ones are refused with a message and nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from copier import run_copy
from helpers import ROOT

QUESTIONS = yaml.safe_load((ROOT / "copier.yml").read_text())
ASKED = {name: spec for name, spec in QUESTIONS.items() if not name.startswith("_") and spec.get("when") is not False}


def copy(dst: Path, **data: str) -> None:
    run_copy(
        str(ROOT),
        dst,
        data=data,
        defaults=True,
        unsafe=True,
        vcs_ref="HEAD",
        quiet=True,
        pretend=True,
    )


def test_every_question_has_a_type_and_help() -> None:
    for name, spec in ASKED.items():
        assert spec.get("type"), name
        assert spec.get("help"), name


def test_the_names_other_work_relies_on_are_asked() -> None:
    assert {
        "project_name",
        "package_name",
        "description",
        "author_name",
        "author_email",
        "python_version",
        "license",
        "aws_region",
        "s3_bucket",
        "batch_job_queue",
        "ecr_repository",
    } <= set(ASKED)


@pytest.mark.parametrize(
    ("question", "answer", "message"),
    [
        pytest.param(
            "project_name",
            "Churn_Model",
            "lowercase letters, digits and single hyphens",
            id="project-uppercase",
        ),
        pytest.param("project_name", "9lives", "starting with a letter", id="project-digit-first"),
        pytest.param("package_name", "1model", "Python identifier", id="package-digit-first"),
        pytest.param("package_name", "churn-model", "Python identifier", id="package-hyphen"),
        pytest.param("package_name", "class", "not be a Python keyword", id="package-keyword"),
        pytest.param("description", "  ", "must not be empty", id="description-blank"),
        pytest.param("author_name", "", "must not be empty", id="author-empty"),
        pytest.param("author_email", "ana.example.com", "name@example.com", id="email-no-at"),
        pytest.param("python_version", "3.9", "not in", id="python-too-old"),
        pytest.param("license", "GPL-3.0", "not in", id="license-unknown"),
        pytest.param("aws_region", "us-est-1", "AWS region such as us-east-1", id="region-typo"),
        pytest.param("aws_region", "EU-WEST-1", "AWS region such as us-east-1", id="region-uppercase"),
        pytest.param("s3_bucket", "My_Bucket", "S3 bucket naming rules", id="bucket-uppercase"),
        pytest.param("s3_bucket", "ab", "3-63", id="bucket-too-short"),
        pytest.param("s3_bucket", "192.168.10.12", "IP address", id="bucket-ip"),
        pytest.param("s3_bucket", "data..lake", "S3 bucket naming rules", id="bucket-double-dot"),
        pytest.param("s3_bucket", "xn--bucket", "S3 bucket naming rules", id="bucket-reserved-prefix"),
        pytest.param("batch_job_queue", "my queue", "letters, digits, '-' and '_'", id="queue-space"),
        pytest.param("ecr_repository", "Churn", "lowercase letters", id="ecr-uppercase"),
    ],
)
def test_a_bad_answer_is_refused_and_nothing_is_written(
    tmp_path: Path, question: str, answer: str, message: str
) -> None:
    dst = tmp_path / "churn-model"
    with pytest.raises(ValueError, match=question) as refused:
        run_copy(
            str(ROOT),
            dst,
            data={question: answer},
            defaults=True,
            unsafe=True,
            vcs_ref="HEAD",
            quiet=True,
        )
    assert message in str(refused.value)
    assert not dst.exists()


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("project_name", "fraud-detector-2"),
        ("package_name", "_private_models"),
        ("aws_region", "eu-central-2"),
        ("s3_bucket", "acme-ml.data-2026"),
        ("batch_job_queue", "Spot_Queue-1"),
        ("ecr_repository", "team/churn.model"),
    ],
)
def test_a_valid_answer_is_taken(tmp_path: Path, question: str, answer: str) -> None:
    copy(tmp_path / "churn-model", **{question: answer})


def test_defaults_derive_from_earlier_answers(tmp_path: Path) -> None:
    dst = tmp_path / "out"
    run_copy(
        str(ROOT),
        dst,
        data={"project_name": "fraud-radar"},
        defaults=True,
        unsafe=True,
        vcs_ref="HEAD",
        quiet=True,
        skip_tasks=True,
    )
    answers = yaml.safe_load((dst / ".copier-answers.yml").read_text())
    assert answers["package_name"] == "fraud_radar"
    assert answers["batch_job_queue"] == "fraud-radar-queue"
    assert answers["ecr_repository"] == "fraud-radar"
    assert (dst / "src" / "fraud_radar" / "train.py").is_file()
