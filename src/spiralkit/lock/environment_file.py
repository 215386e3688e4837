"""environment.yml, read node by node so that every complaint can name its line.

conda-lock loads the file with ``yaml.safe_load`` and trusts its shape: a float where a package spec
belongs, or a misspelt ``platform:`` key, would surface later as a traceback or as a lock for the
wrong platforms. This reader checks the shape first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from spiralkit.lock.errors import LockSourceError

# The keys conda and conda-lock read from an environment file.
KNOWN_KEYS = {
    "name", "prefix", "channels", "platforms", "dependencies", "variables",
    "category", "pip-repositories", "allow-pypi-requests",
}  # fmt: skip
STR = "tag:yaml.org,2002:str"


@dataclass(frozen=True)
class Entry:
    """A string in the file, its ``file:line`` and the raw line (selectors live in comments)."""

    value: str
    where: str
    line: str


@dataclass
class Environment:
    platforms: list[Entry] = field(default_factory=list)
    conda: list[Entry] = field(default_factory=list)
    pip: list[Entry] = field(default_factory=list)


class _Reader:
    def __init__(self, path: Path) -> None:
        self.name = path.name
        self.text = path.read_text(encoding="utf-8")
        self.lines = self.text.splitlines()

    def fail(self, node: Node | None, message: str) -> Exception:
        line = node.start_mark.line + 1 if node is not None else 1
        return LockSourceError(f"{self.name}:{line}: {message}")

    def entry(self, node: Node, what: str) -> Entry:
        if not isinstance(node, ScalarNode) or node.tag != STR or not node.value.strip():
            raise self.fail(node, f"expected {what}, found {_show(node)}")
        line = self.lines[node.start_mark.line] if node.start_mark.line < len(self.lines) else ""
        return Entry(node.value.strip(), f"{self.name}:{node.start_mark.line + 1}", line)

    def sequence(self, node: Node, key: str) -> list[Node]:
        if not isinstance(node, SequenceNode):
            raise self.fail(node, f"`{key}:` must be a list (one `- item` per line)")
        return list(node.value)


def read_environment(path: Path) -> Environment:
    """Parse ``path`` and return its platforms and its conda and pip entries, each with its line."""
    if not path.is_file():
        raise LockSourceError(f"{path.name} not found in {path.parent}: it declares channels, platforms and python")
    reader = _Reader(path)
    try:
        root = yaml.compose(reader.text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 1
        raise LockSourceError(f"{path.name}:{line}: not valid YAML: {error.problem}") from error
    if not isinstance(root, MappingNode):
        raise reader.fail(root, "expected a mapping with `channels:`, `platforms:` and `dependencies:`")
    environment = Environment()
    for key_node, value in root.value:
        key = reader.entry(key_node, "a key").value
        if key not in KNOWN_KEYS:
            raise reader.fail(key_node, f"unknown key {key!r}; known keys: {', '.join(sorted(KNOWN_KEYS))}")
        if key in {"channels", "platforms"}:
            entries = [reader.entry(n, f"a {key[:-1]} name") for n in reader.sequence(value, key)]
            if key == "platforms":
                environment.platforms = entries
        elif key == "dependencies":
            _dependencies(reader, reader.sequence(value, key), environment)
    return environment


def _dependencies(reader: _Reader, nodes: list[Node], environment: Environment) -> None:
    for node in nodes:
        if not isinstance(node, MappingNode):
            environment.conda.append(reader.entry(node, "a package spec such as `python=3.12`"))
            continue
        keys = [k.value for k, _ in node.value]
        if keys != ["pip"]:
            raise reader.fail(node, f"expected a package spec or `- pip: [...]`, found keys {keys}")
        pip = node.value[0][1]
        environment.pip += [reader.entry(n, "a pip requirement") for n in reader.sequence(pip, "pip")]


def _show(node: Node) -> str:
    if isinstance(node, ScalarNode):
        return f"{node.value!r}" + ("" if node.tag == STR else f" (a {node.tag.rsplit(':', 1)[-1]})")
    return "a list" if isinstance(node, SequenceNode) else "a mapping"
