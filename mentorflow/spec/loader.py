"""Read a spec file into plain data plus the line/column of every key and value (YAML 1.2 rules)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mentorflow.spec.report import JsonPath, Problem, format_path

# Bounds on what a spec may ask of the loader. PyYAML has none of its own: 426 bytes of nested
# aliases ("billion laughs") expand to 10^9 nodes, 500 levels of nesting overflow its recursive
# composer, and Python refuses to convert integers of more than 4,300 digits. A real spec has a
# few hundred nodes, nests about 7 levels deep and has no number longer than a seed.
MAX_FILE_BYTES = 1_000_000
MAX_NODES = 20_000  # after expanding aliases
MAX_DEPTH = 40
MAX_NUMBER_CHARS = 50


class SpecLimitError(Exception):
    """A spec that exceeds one of the loader's bounds; `mark` is where (0-based, as PyYAML's)."""

    def __init__(self, mark: Any, message: str) -> None:  # yaml's Mark, pure or C flavour
        super().__init__(message)
        self.mark = mark
        self.message = message


class _SpecLoader(yaml.SafeLoader):
    """YAML 1.2 core schema, as editors and check-jsonschema read it, composed within bounds.

    PyYAML follows YAML 1.1, where `no` is false, `18:00` is the number 1080 and 2027-02-01 a date;
    the schema (and everyone else) sees those as strings.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0  # nodes of the document with every alias expanded
        self._shape: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded size, height)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise SpecLimitError(event.start_mark, f"nested more than {MAX_DEPTH} levels deep")
        try:
            node = super().compose_node(parent, index)  # type: ignore[misc]
        finally:
            self._depth -= 1
        assert node is not None  # PyYAML returns None only at the end of the stream
        if isinstance(event, yaml.AliasEvent):
            self._count_alias(event, node)
        else:
            self._count_node(node)
        return node

    def _count_node(self, node: yaml.Node) -> None:
        children = _children(node)
        shapes = [self._shape[id(child)] for child in children]
        size = 1 + sum(size for size, _ in shapes)
        height = 1 + max((height for _, height in shapes), default=0)
        self._shape[id(node)] = (size, height)
        self._nodes += 1
        if isinstance(node, yaml.ScalarNode):
            _check_number(node)

    def _count_alias(self, event: yaml.AliasEvent, node: yaml.Node) -> None:
        shape = self._shape.get(id(node))
        if shape is None:  # the anchored node is still being composed: the alias is inside it
            raise SpecLimitError(event.start_mark, f"alias `*{event.anchor}` refers to itself")
        size, height = shape
        self._nodes += size
        if self._nodes > MAX_NODES:
            message = f"aliases expand the spec to more than {MAX_NODES} values"
            raise SpecLimitError(event.start_mark, message)
        if self._depth + height > MAX_DEPTH:
            message = f"alias `*{event.anchor}` nests the spec more than {MAX_DEPTH} levels deep"
            raise SpecLimitError(event.start_mark, message)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_number(node: yaml.ScalarNode) -> None:
    kind = node.tag.rsplit(":", 1)[-1]
    if kind in ("int", "float") and len(node.value) > MAX_NUMBER_CHARS:
        message = f"a number of {len(node.value)} characters; numbers here have at most"
        raise SpecLimitError(node.start_mark, f"{message} {MAX_NUMBER_CHARS}")
    if kind == "float" and node.value.lower().endswith("nan"):
        raise SpecLimitError(node.start_mark, "`.nan` is not a number a spec can use")


_SpecLoader.yaml_implicit_resolvers = {}
_RESOLVERS = [
    ("null", r"^(?:~|null|Null|NULL|)$", "~nN"),
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        "float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+0123456789.",
    ),
]
for _tag, _pattern, _first in _RESOLVERS:
    _SpecLoader.add_implicit_resolver(
        f"tag:yaml.org,2002:{_tag}",
        re.compile(_pattern),
        [*_first, ""] if _tag == "null" else list(_first),
    )


@dataclass(frozen=True)
class Mark:
    """A 1-based position in the file."""

    line: int
    col: int


@dataclass(frozen=True)
class _Place:
    value: Mark
    key: Mark | None
    is_container: bool


@dataclass(frozen=True)
class Document:
    """A parsed spec: its data and where each part of it stands in the file."""

    file: str
    data: Any
    sha256: str
    places: Mapping[JsonPath, _Place] = field(repr=False)

    def locate(self, path: JsonPath, at_key: bool = False) -> Mark:
        """Where an editor should point for `path` (the nearest existing parent if it is absent)."""
        while path and path not in self.places:
            path = path[:-1]
        place = self.places.get(path)
        if not path or place is None:
            return Mark(1, 1)
        if place.key is not None and (at_key or place.is_container):
            return place.key
        return place.value

    def problem(self, path: JsonPath, message: str, at_key: bool = False) -> Problem:
        mark = self.locate(path, at_key)
        return Problem(self.file, mark.line, mark.col, format_path(path), message)


def _mark(node: yaml.Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


def _scalar(node: yaml.ScalarNode) -> Any:
    kind, text = node.tag.rsplit(":", 1)[-1], node.value
    if kind == "null":
        return None
    if kind == "bool":
        return text.lower() == "true"
    if kind == "int":
        return int(text, 0) if text[:2] in ("0o", "0x") else int(text)
    if kind == "float":
        lowered = text.lower().lstrip("+")
        return float(lowered.replace(".inf", "inf").replace(".nan", "nan"))
    return text


class _Builder:
    """Turns the node tree into plain data, recording places and duplicate keys."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.places: dict[JsonPath, _Place] = {}
        self.problems: list[Problem] = []

    def build(self, node: yaml.Node, path: JsonPath, key: Mark | None) -> Any:
        container = isinstance(node, yaml.MappingNode | yaml.SequenceNode)
        self.places[path] = _Place(_mark(node), key, container)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i), None) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        return _scalar(node)

    def _mapping(self, node: yaml.MappingNode, path: JsonPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_seen: dict[str, Mark] = {}
        for key_node, value_node in node.value:
            name, key_mark = str(key_node.value), _mark(key_node)
            if name in first_seen:
                self._duplicate((*path, name), key_mark, first_seen[name])
                continue
            first_seen[name] = key_mark
            result[name] = self.build(value_node, (*path, name), key_mark)
        return result

    def _duplicate(self, path: JsonPath, mark: Mark, first: Mark) -> None:
        message = f"duplicate key `{path[-1]}` (first at line {first.line}); the first one is used"
        self.problems.append(Problem(self.file, mark.line, mark.col, format_path(path), message))


# PyYAML's words for the two mistakes people make most, and what to tell them instead.
_TAB = "a tab character: YAML indents with spaces only; replace the tab with spaces"
_INDENT = (
    "this line's indentation does not fit the lines above; keys of one mapping start in the"
    " same column"
)
_PLAIN_WORDS = {
    "found character '\\t' that cannot start any token": _TAB,
    "mapping values are not allowed here": _INDENT + " (or quote a value that contains `: `)",
    "expected <block end>, but found": _INDENT,
    "could not find expected ':'": _INDENT + " (or a key lacks its `:`)",
}


def _syntax_problem(file: str, error: yaml.YAMLError) -> Problem:
    mark = getattr(error, "problem_mark", None)
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    what = getattr(error, "problem", None) or "the file cannot be read as YAML"
    context = getattr(error, "context", None)
    detail = what + (f" ({context})" if context else "")
    plain = next((words for start, words in _PLAIN_WORDS.items() if what.startswith(start)), None)
    if plain is None:
        return Problem(file, line, col, "$", f"YAML syntax error: {detail}")
    return Problem(file, line, col, "$", f"YAML syntax error: {plain} [{detail}]")


def _read_text(path: Path, file: str) -> tuple[bytes | None, Problem | None]:
    def problem(message: str) -> tuple[None, Problem]:
        return None, Problem(file, 1, 1, "$", message)

    if not path.exists():
        return problem("no such file")
    if path.is_dir():
        return problem("this is a folder, not a spec file")
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return problem(f"the file is larger than {MAX_FILE_BYTES // 1_000_000} MB")
        raw = path.read_bytes()
        raw.decode("utf-8-sig")
    except OSError as error:
        return problem(f"cannot read the file ({error.strerror})")
    except UnicodeDecodeError:
        return problem("the file is not UTF-8 text")
    return raw, None


def _top_level_problem(file: str, node: yaml.Node | None) -> Problem | None:
    if node is None:
        return Problem(
            file, 1, 1, "$", "the file is empty; a program spec starts with `version: 1`"
        )
    if isinstance(node, yaml.MappingNode):
        return None
    kind = "a list" if isinstance(node, yaml.SequenceNode) else "a single value"
    message = f"the top level must be a mapping of keys (version, program, ...), not {kind}"
    mark = _mark(node)
    return Problem(file, mark.line, mark.col, "$", message)


def read_document(path: Path) -> tuple[Document | None, list[Problem]]:
    """The parsed document, or None and the problems that stopped reading it (never raises)."""
    file = str(path)
    raw, problem = _read_text(path, file)
    if raw is None:
        return None, [problem] if problem else []
    try:
        node = yaml.compose(raw.decode("utf-8-sig"), Loader=_SpecLoader)
    except SpecLimitError as error:
        line, col = error.mark.line + 1, error.mark.column + 1
        return None, [Problem(file, line, col, "$", error.message)]
    except yaml.YAMLError as error:
        return None, [_syntax_problem(file, error)]
    top = _top_level_problem(file, node)
    if top is not None or node is None:
        return None, [top] if top else []
    builder = _Builder(file)
    data = builder.build(node, (), None)
    sha = hashlib.sha256(raw).hexdigest()
    return Document(file, data, sha, builder.places), builder.problems
