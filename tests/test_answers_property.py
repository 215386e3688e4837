"""Random valid answers (hypothesis) render a project whose every file parses with its own parser back to them.

Valid means what copier.yml's validators accept; the strategies lean on the characters and words that broke
projects before: quotes, backslashes, braces, Markdown and shell marks, YAML's `on`/`null`/`yes` and numbers.
Rendering only: no task runs (no lock, no git), so an example takes about two seconds. Shrinking is off: it would
re-render hundreds of times; a failure prints the whole example and the seed that reproduces it.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import pytest
import yaml
from generated_files import assert_answers_arrived
from helpers import ROOT, render
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from test_answers import NAMES

pytestmark = pytest.mark.slow  # a minute: twelve renders, each file parsed

QUESTIONS = yaml.safe_load((ROOT / "copier.yml").read_text())
LOWER = string.ascii_lowercase
ALNUM = LOWER + string.digits
YAML_WORDS = ["on", "off", "yes", "no", "null", "true", "false", "nan", "inf", "1e3", "0x1f", "1_000", "012"]
NASTY = "\"\\'{}[]<>()*_`#&$%|~!:;=+-.,/?@^ "


def _joined(parts: st.SearchStrategy[str], separators: str, max_parts: int) -> st.SearchStrategy[str]:
    """Alphanumeric runs joined by single separators: the shape of AWS and GitHub names."""
    return st.builds(
        lambda first, rest: first + "".join(sep + part for sep, part in rest),
        parts,
        st.lists(st.tuples(st.sampled_from(separators), parts), max_size=max_parts - 1),
    )


def _free_text(min_size: int = 1) -> st.SearchStrategy[str]:
    """Printable text without surrounding spaces, drawn as such: a filter would throw most draws away."""
    unprintable = ["Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"]  # str.isprintable refuses these; NASTY has " "
    characters = st.one_of(st.sampled_from(NASTY), st.characters(codec="utf-8", exclude_categories=unprintable))
    return st.text(characters, min_size=min_size, max_size=160).map(str.strip).filter(lambda s: len(s) >= min_size)


def _project_name() -> st.SearchStrategy[str]:
    named = _joined(st.text(ALNUM, min_size=1, max_size=9), "-", 4).filter(lambda s: s[0] in LOWER)
    return st.one_of(named, st.sampled_from([w for w in YAML_WORDS if len(w) >= 3 and w[0] in LOWER])).filter(
        lambda s: 3 <= len(s) <= 40 and s[-1] in ALNUM and s not in NAMES.dependency_distributions
    )


def _package_name() -> st.SearchStrategy[str]:
    refused = {*NAMES.python_keywords, *NAMES.stdlib_modules, *NAMES.dependency_modules}
    return st.text(ALNUM + "_", min_size=1, max_size=30).filter(
        lambda s: s[0] not in string.digits and s not in refused
    )


def _email() -> st.SearchStrategy[str]:
    local = st.text(string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~-", min_size=1, max_size=20)
    domain = _joined(st.text(ALNUM, min_size=1, max_size=8), ".-", 4).filter(lambda s: "." in s)
    return st.builds(lambda a, b: f"{a}@{b}", local, domain)


def _bucket() -> st.SearchStrategy[str]:
    name = _joined(st.text(ALNUM, min_size=1, max_size=12), ".-", 5).filter(
        lambda s: (
            3 <= len(s) <= 63
            and not s.startswith(("xn--", "sthree-"))
            and not s.endswith(("-s3alias", "--ol-s3"))
            and not (s.count(".") == 3 and s.replace(".", "").isdigit())
        )
    )
    return st.one_of(st.just(""), name)


def _queue() -> st.SearchStrategy[str]:
    alphabet = string.ascii_letters + string.digits + "-_"
    named = st.text(alphabet, min_size=1, max_size=124).filter(lambda s: s[0] in string.ascii_letters + string.digits)
    return st.one_of(named, st.sampled_from(YAML_WORDS))


def _ecr() -> st.SearchStrategy[str]:
    component = _joined(st.text(ALNUM, min_size=1, max_size=8), "._-", 3)
    return st.one_of(_joined(component, "/", 3), st.sampled_from([w for w in YAML_WORDS if "_" not in w])).filter(
        lambda s: 2 <= len(s) <= 256
    )


def _github() -> st.SearchStrategy[str]:
    owner = _joined(st.text(string.ascii_letters + string.digits, min_size=1, max_size=10), "-", 3)
    name = st.text(string.ascii_letters + string.digits + "-_.", min_size=1, max_size=30).filter(
        lambda s: s not in {".", ".."}
    )
    return st.builds(lambda o, n: f"{o}/{n}", owner.filter(lambda s: len(s) <= 39), name)


def _reviewers() -> st.SearchStrategy[str]:
    user = _joined(st.text(string.ascii_letters + string.digits, min_size=1, max_size=8), "-", 2)
    team = st.builds(lambda org, slug: f"{org}/{slug}", user, user)
    return st.lists(st.one_of(user, team), max_size=3).map(" ".join)


ANSWERS = st.fixed_dictionaries(
    {
        "project_name": _project_name(),
        "package_name": _package_name(),
        "description": _free_text(),
        "author_name": _free_text(),
        "author_email": _email(),
        "python_version": st.sampled_from(QUESTIONS["python_version"]["choices"]),
        "license": st.sampled_from(list(QUESTIONS["license"]["choices"].values())),
        "aws_region": st.sampled_from(QUESTIONS["aws_regions"]["default"]),
        "s3_bucket": _bucket(),
        "batch_job_queue": _queue(),
        "ecr_repository": _ecr(),
        "lock_windows": st.booleans(),
        "github_repository": _github(),
        "production_reviewers": _reviewers(),
    }
)


@settings(
    max_examples=12,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(answers=ANSWERS)
def test_random_valid_answers_render_a_project_that_parses_back_to_them(
    tmp_path: Path, answers: dict[str, Any]
) -> None:
    dst = tmp_path / str(abs(hash(repr(answers)))) / "project"
    render(dst, answers, skip_tasks=True)
    assert_answers_arrived(dst, answers)
