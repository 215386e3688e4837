"""Read every file of a rendered project with its own format's parser, and check that each answer reached it intact.

A file that fails to parse, or parses to something other than the answer the user typed, is a broken project:
tests/test_answers.py (examples) and tests/test_answers_property.py (random valid answers) both end here.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from configobj import ConfigObj
from dockerfile_parse import DockerfileParser
from markdown_it import MarkdownIt


class _AnyTagLoader(yaml.SafeLoader):
    """YAML with any tag (CloudFormation's `!Ref`, `!Sub`...) read as the plain node under it."""


def _untagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)  # type: ignore[arg-type]


_AnyTagLoader.add_multi_constructor("!", _untagged)


def _markdown_text(token: Any) -> str:
    """The text a reader sees in an inline token: markup (emphasis, code, a link, html) drops its characters."""
    return "".join(
        child.content if child.type == "text" else " " if child.type == "softbreak" else ""
        for child in token.children or []
    )


def _docker_words(dockerfile: DockerfileParser) -> list[tuple[str, str]]:
    """The ``key="value"`` pairs of the first LABEL, unquoted as Docker does: in double quotes a backslash escapes
    only ``"``, ``$`` and itself (moby's shell lexer, processDoubleQuote), and an unescaped ``$`` expands."""
    label = next(item["value"] for item in dockerfile.structure if item["instruction"] == "LABEL")
    pairs = re.findall(r'([\w.-]+)="((?:[^"\\]|\\.)*)"', label)
    for _, value in pairs:
        assert not re.search(r"(?<!\\)(?:\\\\)*\$(?!\{LOCK_HASH\})", value), f"unescaped $ in {value!r}"
    return [(key, re.sub(r'\\(["$\\])', r"\1", value)) for key, value in pairs]


def parse_all(project: Path) -> dict[str, Any]:
    """Every generated file parsed with its own parser, keyed by its path; raises on the first that does not parse."""
    parsed: dict[str, Any] = {}
    markdown = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    for path in sorted(p for p in project.rglob("*") if p.is_file() and ".git" not in p.parts):
        name = path.relative_to(project).as_posix()
        text = path.read_text()
        if path.suffix == ".toml":
            parsed[name] = tomllib.loads(text)
        elif path.suffix in {".yaml", ".yml"}:
            parsed[name] = yaml.load(text, Loader=_AnyTagLoader)  # a SafeLoader subclass: no code runs
        elif path.suffix in {".json", ".ipynb"}:
            parsed[name] = json.loads(text)
        elif path.suffix == ".py":
            parsed[name] = ast.parse(text, filename=name)
        elif path.suffix == ".sh":
            subprocess.run(["bash", "-n", str(path)], check=True, capture_output=True)
            parsed[name] = text
        elif path.suffix == ".md":
            parsed[name] = markdown.parse(text)
        elif path.name == "Dockerfile":
            parsed[name] = DockerfileParser(str(path))
        elif name == ".dvc/config":
            parsed[name] = ConfigObj(text.splitlines(), list_values=False, raise_errors=True)
        else:
            parsed[name] = text
    return parsed


def assert_answers_arrived(project: Path, answers: Mapping[str, Any]) -> None:
    """Each answer reads back, in every file that holds it, as exactly what was typed."""
    files = parse_all(project)
    recorded = files[".copier-answers.yml"]
    for question, answer in answers.items():
        assert recorded[question] == answer, question

    pyproject = files["pyproject.toml"]
    assert pyproject["project"]["name"] == answers["project_name"]
    assert pyproject["project"]["description"] == answers["description"]
    assert pyproject["project"]["authors"] == [{"name": answers["author_name"], "email": answers["author_email"]}]
    spiral = pyproject["tool"]["spiral"]
    assert spiral["project"] == answers["project_name"]

    package = answers["package_name"]
    docstring = ast.get_docstring(files[f"src/{package}/__init__.py"], clean=False) or ""
    assert docstring.split() == answers["description"].split()

    readme = files["README.md"]
    assert readme[0].type == "heading_open"
    assert readme[1].content == answers["project_name"]
    assert readme[3].type == "paragraph_open"
    assert _markdown_text(readme[4]) == answers["description"]
    problem = files["docs/spiral/01-problem.md"]
    assert any(f"({answers['description']})" in _markdown_text(token) for token in problem if token.type == "inline")

    stages = files["dvc.yaml"]["stages"]
    assert stages["train"]["cmd"] == f"python -m {package}.train"
    assert f"src/{package}/io.py" in stages["ingest"]["deps"]

    copyright_line = {"MIT": "\n", "BSD-3-Clause": "\n", "Proprietary": ". All rights reserved.\n"}
    if answers["license"] in copyright_line:
        assert f"Copyright (c) {answers['author_name']}{copyright_line[answers['license']]}" in files["LICENSE"]

    if answers.get("production", True) is False:
        assert spiral == {"project": answers["project_name"]}  # no AWS key, no [tool.spiral.*] table
        for operations in ("Dockerfile", ".dockerignore", "infra", ".devcontainer", ".github/workflows/deploy.yml"):
            assert not (project / operations).exists(), operations
        return
    assert (spiral["bucket"], spiral["job_queue"], spiral["ecr_repository"]) == (
        answers["s3_bucket"],
        answers["batch_job_queue"],
        answers["ecr_repository"],
    )
    labels = dict(_docker_words(files["Dockerfile"]))
    assert labels["org.opencontainers.image.description"] == answers["description"]
    assert labels["org.opencontainers.image.title"] == answers["project_name"]

    deploy = files[".github/workflows/deploy.yml"]
    assert deploy["env"]["ECR_REPOSITORY"] == answers["ecr_repository"]
    assert deploy["env"]["ROLE_PREFIX"] == f"role/{answers['project_name']}-ci"
    stack = files["infra/stack.yaml"]["Parameters"]
    assert {key: stack[key]["Default"] for key in ("Project", "BucketName", "JobQueueName", "EcrRepositoryName")} == {
        "Project": answers["project_name"],
        "BucketName": answers["s3_bucket"],
        "JobQueueName": answers["batch_job_queue"],
        "EcrRepositoryName": answers["ecr_repository"],
    }
    assert stack["GitHubRepository"]["Default"] == answers["github_repository"]
    assert files[".devcontainer/devcontainer.json"]["name"] == f"{answers['project_name']} workstation"
