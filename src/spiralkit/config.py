"""The project's ``[tool.spiral]`` settings, read once from pyproject.toml.

Sub-tables (``[tool.spiral.batch]``, ``[tool.spiral.workstation]``, ...) belong to the module that uses
them; this module only finds the project and checks the settings every command shares.
"""

from __future__ import annotations

import copy
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from spiralkit.errors import ConfigError

# AWS's own rules: regions look like ``us-east-1`` or ``ap-southeast-2``; bucket names are 3-63
# lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit.
REGION_RE = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class ProjectConfig:
    """Settings shared by every ``spiral`` command."""

    root: Path
    project: str
    region: str = ""  # empty only in a project without AWS (copier's `production` answered no)
    bucket: str = ""
    job_queue: str = ""
    ecr_repository: str = ""
    production_branch: str = "main"
    sections: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def section(self, name: str) -> Mapping[str, Any]:
        """Return ``[tool.spiral.<name>]``, empty when the project does not set it."""
        return self.sections.get(name, {})

    @property
    def publish_root(self) -> str:
        """Where published outputs go: the S3 bucket when configured, else ``published/`` here."""
        if self.bucket:
            return f"s3://{self.bucket}/published"
        return str(self.root / "published")


def find_root(start: Path | None = None) -> Path:
    """Walk up from ``start`` to the first directory whose pyproject.toml has ``[tool.spiral]``."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file() and "tool" in (data := _read(candidate)) and "spiral" in data["tool"]:
            return directory
    raise ConfigError(
        f"no pyproject.toml with a [tool.spiral] table in {here} or above: "
        "run spiral inside a project made by `copier copy`"
    )


def load(start: Path | None = None) -> ProjectConfig:
    """Find the project and return its checked settings."""
    root = find_root(start)
    path = root / "pyproject.toml"
    table = dict(_read(path)["tool"]["spiral"])
    sections = {key: table.pop(key) for key in list(table) if isinstance(table[key], dict)}
    known = {"project", "region", "bucket", "job_queue", "ecr_repository", "production_branch"}
    if unknown := sorted(set(table) - known):
        raise ConfigError(f"{path}: unknown key(s) in [tool.spiral]: {', '.join(unknown)}")
    if "project" not in table:
        raise ConfigError(f"{path}: [tool.spiral] needs `project`")
    if "region" not in table and (aws := sorted({"bucket", "job_queue", "ecr_repository"} & set(table))):
        raise ConfigError(f"{path}: [tool.spiral] sets {', '.join(aws)} but no `region`")
    config = ProjectConfig(root=root, sections=sections, **table)
    if "region" in table and not REGION_RE.match(config.region):
        raise ConfigError(f"{path}: region {config.region!r} is not an AWS region like 'eu-west-1'")
    if config.bucket and not BUCKET_RE.match(config.bucket):
        raise ConfigError(f"{path}: bucket {config.bucket!r} breaks S3's bucket naming rules")
    return config


def _read(path: Path) -> dict[str, Any]:
    """pyproject.toml parsed once per process and per content of the file.

    Stage code calls :func:`load` through ``publish`` and ``read_table`` as often as it likes, and a
    command passes its own loaded config down; neither parses the file twice while it is unchanged.
    """
    return copy.deepcopy(_parse(path, path.read_text(encoding="utf-8")))


@lru_cache(maxsize=8)
def _parse(path: Path, text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from error
