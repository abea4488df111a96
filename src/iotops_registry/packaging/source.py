"""Documents with positions: YAML (and JSON) parsed into plain values plus the line of every path.

Every validation error names a line, so parsing keeps PyYAML's node marks: each value's
path (``connections[2].from.arm``) maps to the 1-based line it starts on. Duplicate mapping
keys, which PyYAML silently overwrites, are recorded too: the runtime would see only the
last one, and a graph author almost never means that.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..errors import InvalidArtifact, Problem

__all__ = ["Document", "child", "load_json", "load_yaml"]


def child(path: str, key: str | int) -> str:
    """``path`` + one step: ``a.b`` for keys, ``a[0]`` for indexes."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


@dataclass
class Document:
    """A parsed file: ``value``, the line of each path, and duplicate keys (path, line)."""

    file: str
    value: Any
    lines: dict[str, int] = field(default_factory=dict)
    duplicates: list[tuple[str, int]] = field(default_factory=list)

    def line(self, path: str) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        while True:
            if path in self.lines:
                return self.lines[path]
            if not path:
                return None
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""

    def problem(self, path: str, message: str, fix: str = "", *, warning: bool = False) -> Problem:
        return Problem(
            self.file, path, message, fix, self.line(path), "warning" if warning else "error"
        )


class _Builder:
    def __init__(self, doc: Document, loader: yaml.SafeLoader) -> None:
        self.doc = doc
        self.loader = loader

    def build(self, node: Node, path: str) -> Any:
        self.doc.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, MappingNode):
            self.loader.flatten_mapping(node)  # YAML merge keys (<<)
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.loader.construct_object(key_node, deep=True)
                if not isinstance(key, str | int | float | bool) and key is not None:
                    key = str(key)
                path_of = child(path, str(key))
                if key in result:
                    self.doc.duplicates.append((path_of, key_node.start_mark.line + 1))
                self.doc.lines[path_of] = key_node.start_mark.line + 1
                result[key] = self.build(value_node, path_of)
            return result
        if isinstance(node, SequenceNode):
            return [self.build(item, child(path, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, ScalarNode)
        return self.loader.construct_object(node, deep=True)


def _compose(text: str, doc: Document) -> Any:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        return _Builder(doc, loader).build(node, "")
    finally:
        loader.dispose()


def load_yaml(text: str, file: str) -> Document:
    """Parse one YAML document; a syntax error raises :class:`InvalidArtifact` with its line."""
    doc = Document(file, None)
    try:
        doc.value = _compose(text, doc)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        raise InvalidArtifact(
            [Problem(file, "", f"not valid YAML: {what}", "fix the YAML syntax", line)]
        ) from None
    except yaml.YAMLError as exc:
        raise InvalidArtifact([Problem(file, "", f"not valid YAML: {exc}", "")]) from None
    return doc


def load_json(text: str, file: str) -> Document:
    """Parse JSON strictly; lines come from reading it again as YAML (JSON is YAML), when that
    works — a document PyYAML cannot read keeps its value and loses only the lines."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidArtifact(
            [Problem(file, "", f"not valid JSON: {exc.msg}", "fix the JSON syntax", exc.lineno)]
        ) from None
    doc = Document(file, value)
    positions = Document(file, None)
    try:
        _compose(text, positions)
    except yaml.YAMLError:
        return doc
    doc.lines, doc.duplicates = positions.lines, positions.duplicates
    return doc
