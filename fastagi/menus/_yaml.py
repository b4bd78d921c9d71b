"""Safe YAML reading for menu and scenario files, keeping where each value was.

The file is composed into PyYAML's node graph with the safe loader, checked
against limits (size, aliases, nesting, expanded size - a "billion laughs"
file is refused before anything is built from it), then constructed into
plain dicts, lists and strings. Every position is recorded by key path so
later stages can report `file:line:column` for any value.

Plain scalars are kept as strings (`1`, `yes`, `2.5`, `010`), never turned
into ints, booleans or YAML 1.1 octals: the models coerce what must be a
number, and option digits, results and variable values stay exactly as
written. Only `null` (`~`, empty) is resolved.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import yaml
from yaml.composer import ComposerError
from yaml.error import Mark
from yaml.events import AliasEvent, Event
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from fastagi.menus.problems import MenuError, Problem, render_key_path

__all__ = [
    "MAX_ALIASES",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_NODES",
    "PathKey",
    "Position",
    "YamlDocument",
    "locate",
    "nearest_position",
    "parse_yaml",
    "read_yaml",
]

MAX_FILE_BYTES = 1 << 20  #: files above 1 MiB are refused unread
MAX_ALIASES = 100  #: `*alias` uses per file
MAX_DEPTH = 40  #: nesting of mappings/sequences, aliases expanded
MAX_NODES = 50_000  #: values in the document once aliases are expanded

PathKey = tuple[str | int, ...]

_YAML = "tag:yaml.org,2002:"
_STR = _YAML + "str"
_MERGE = _YAML + "merge"
# Implicitly resolved plain scalars that are kept as the text written.
_KEEP_AS_TEXT = frozenset(
    _YAML + name for name in ("bool", "int", "float", "timestamp", "value", "merge")
)


@dataclass(frozen=True)
class Position:
    """Where a value is in its file (1-based), and its key when it has one."""

    line: int
    column: int
    key_line: int | None = None
    key_column: int | None = None
    scalar: str | None = None


@dataclass(frozen=True)
class YamlDocument:
    """A parsed file: plain data, the position of every key path, and a digest."""

    file: str
    data: object
    positions: Mapping[PathKey, Position]
    digest: str


def nearest_position(
    positions: Mapping[PathKey, Position], path: PathKey
) -> tuple[PathKey, Position | None]:
    """The longest prefix of `path` that has a position, and that position."""
    for end in range(len(path), -1, -1):
        found = positions.get(path[:end])
        if found is not None:
            return path[:end], found
    return (), None


def locate(
    positions: Mapping[PathKey, Position], path: PathKey, *, at_key: bool = False
) -> tuple[int | None, int | None]:
    """(line, column) of `path`, or of its nearest parent that has a position.

    The key's own position is given when `at_key` is set, or when only a
    parent was found (pointing at the parent's key reads better than at its
    whole value).
    """
    found, position = nearest_position(positions, path)
    if position is None:
        return None, None
    if (at_key or found != path) and position.key_line is not None:
        return position.key_line, position.key_column
    return position.line, position.column


class _LimitError(ComposerError):
    """A safety limit was hit (aliases, nesting, expanded size): not a typo."""


class _LimitedLoader(yaml.SafeLoader):
    """SafeLoader that counts aliases and nesting while composing."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._aliases = 0
        self._depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        event: Event = self.peek_event()  # type: ignore[no-untyped-call]
        mark = cast(Mark, event.start_mark)
        if isinstance(event, AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise _LimitError(None, None, f"more than {MAX_ALIASES} aliases (*name)", mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _LimitError(None, None, f"nested deeper than {MAX_DEPTH} levels", mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _mark_error(message: str, node: Node) -> ComposerError:
    return _LimitError(None, None, message, node.start_mark)


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _check_expansion(root: Node) -> None:
    """Refuse recursive aliases, alias bombs and deep nesting via aliases."""
    sizes: dict[int, tuple[int, int]] = {}  # id -> (expanded size, height)
    on_path: set[int] = set()

    def visit(node: Node, depth: int) -> tuple[int, int]:
        key = id(node)
        if key in on_path:
            raise _mark_error("an alias refers to a value that contains it", node)
        known = sizes.get(key)
        if known is None:
            if depth > MAX_DEPTH:
                raise _mark_error(f"nested deeper than {MAX_DEPTH} levels", node)
            on_path.add(key)
            size, height = 1, 0
            for child in _children(node):
                child_size, child_height = visit(child, depth + 1)
                size += child_size
                height = max(height, child_height + 1)
                if size > MAX_NODES:
                    raise _mark_error(
                        f"the document expands to more than {MAX_NODES} values "
                        "through aliases (an alias bomb?)",
                        node,
                    )
            on_path.discard(key)
            known = sizes[key] = (size, height)
        if depth + known[1] > MAX_DEPTH:
            raise _mark_error(f"nested deeper than {MAX_DEPTH} levels", node)
        return known

    visit(root, 0)


def _keep_plain_scalars_as_text(root: Node) -> None:
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, ScalarNode):
            if node.style is None and node.tag in _KEEP_AS_TEXT:
                node.tag = _STR
        elif isinstance(node, MappingNode):
            for key, value in node.value:
                if isinstance(key, ScalarNode) and key.tag not in (_STR, _MERGE):
                    key.tag = _STR  # every key in our formats is a name: `1:` means "1"
                stack.extend((key, value))
        else:
            stack.extend(_children(node))


def _position(node: Node, key: Node | None = None) -> Position:
    return Position(
        line=node.start_mark.line + 1,
        column=node.start_mark.column + 1,
        key_line=None if key is None else key.start_mark.line + 1,
        key_column=None if key is None else key.start_mark.column + 1,
        scalar=node.value if isinstance(node, ScalarNode) else None,
    )


def _index(root: Node, file: str) -> tuple[dict[PathKey, Position], list[Problem]]:
    """Positions by key path; duplicate keys (which YAML silently drops) as problems."""
    positions: dict[PathKey, Position] = {(): _position(root)}
    problems: list[Problem] = []
    # (path, node, weak): values merged in with `<<` never override written ones.
    stack: list[tuple[PathKey, Node, bool]] = [((), root, False)]
    while stack:
        path, node, weak = stack.pop()
        if isinstance(node, SequenceNode):
            for index, item in enumerate(node.value):
                item_path = (*path, index)
                if weak:
                    positions.setdefault(item_path, _position(item))
                else:
                    positions[item_path] = _position(item)
                stack.append((item_path, item, weak))
        elif isinstance(node, MappingNode):
            first_seen: dict[str, Node] = {}
            for key, value in node.value:
                if not isinstance(key, ScalarNode):
                    continue  # complex keys are rejected by the models
                if key.tag == _MERGE:
                    merged = value.value if isinstance(value, SequenceNode) else [value]
                    stack.extend((path, m, True) for m in merged)
                    continue
                name = str(key.value)
                child = (*path, name)
                if name in first_seen and not weak:
                    problems.append(
                        Problem(
                            file=file,
                            line=key.start_mark.line + 1,
                            column=key.start_mark.column + 1,
                            key_path=render_key_path(child),
                            message=f"duplicate key {name!r}",
                            hint=(
                                f"first given on line {first_seen[name].start_mark.line + 1};"
                                " YAML would silently keep only the last one"
                            ),
                            code="duplicate-key",
                        )
                    )
                first_seen[name] = key
                if weak:
                    positions.setdefault(child, _position(value, key))
                else:
                    positions[child] = _position(value, key)
                stack.append((child, value, weak))
    return positions, problems


def _syntax_problem(file: str, exc: yaml.YAMLError, text: str) -> Problem:
    line: int | None = None
    column: int | None = None
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        if mark is not None:
            line, column = mark.line + 1, mark.column + 1
        parts = [exc.context or "", exc.problem or ""]
        message = " ".join(p for p in parts if p) or "invalid YAML"
    elif isinstance(exc, yaml.reader.ReaderError):
        position = int(exc.position)
        line = text.count("\n", 0, position) + 1
        column = position - (text.rfind("\n", 0, position) + 1) + 1
        message = f"character {exc.character!r} is not allowed in YAML ({exc.reason})"
    else:
        message = str(exc)
    if isinstance(exc, _LimitError):
        return Problem(file, line, column, "", message, "", "error", "yaml-limit")
    return Problem(
        file=file,
        line=line,
        column=column,
        key_path="",
        message=f"YAML: {message}",
        hint="check indentation, quoting and the ':' after each key around here",
        code="yaml-syntax",
    )


def parse_yaml(raw: bytes, file: str, *, typed_scalars: bool = False) -> YamlDocument:
    """Parse one YAML document safely; raise `MenuError` with file:line on any problem.

    Plain scalars stay text (`1`, `yes`, `12:30` as written) unless
    `typed_scalars` (settings files, where `port: 4573` is a number).
    """
    if len(raw) > MAX_FILE_BYTES:
        raise MenuError([_too_big(file, len(raw))])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise MenuError(
            [
                Problem(
                    file,
                    line,
                    None,
                    "",
                    "file is not UTF-8 text",
                    "save it as UTF-8",
                    code="encoding",
                )
            ]
        ) from None
    try:
        # The reader checks characters as the loader is built: a control
        # character raises here, and must become a file:line problem too.
        loader = _LimitedLoader(text)
    except yaml.YAMLError as exc:
        raise MenuError([_syntax_problem(file, exc, text)]) from None
    try:
        root = loader.get_single_node()
        if root is None:
            raise MenuError([Problem(file, 1, 1, "", "the file is empty", code="empty")])
        _check_expansion(root)
        if not typed_scalars:
            _keep_plain_scalars_as_text(root)
        positions, duplicates = _index(root, file)
        if duplicates:
            raise MenuError(duplicates)
        data = loader.construct_document(root)
    except yaml.YAMLError as exc:
        raise MenuError([_syntax_problem(file, exc, text)]) from None
    except RecursionError:
        raise MenuError(
            [Problem(file, None, None, "", "the document is nested too deeply")]
        ) from None
    finally:
        loader.dispose()
    digest = hashlib.sha256(raw).hexdigest()
    return YamlDocument(file=file, data=data, positions=positions, digest=digest)


def _too_big(file: str, size: int) -> Problem:
    return Problem(
        file=file,
        line=None,
        column=None,
        key_path="",
        message=f"file is {size} bytes; the limit is {MAX_FILE_BYTES} bytes (1 MiB)",
        hint="split it into several menu files",
        code="too-big",
    )


def read_yaml(
    path: Path, display: str | None = None, *, typed_scalars: bool = False
) -> YamlDocument:
    """Read and parse `path` (at most 1 MiB); `display` is the name used in problems."""
    file = display if display is not None else str(path)
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_FILE_BYTES + 1)
            if len(raw) > MAX_FILE_BYTES:
                size = path.stat().st_size
                raise MenuError([_too_big(file, size)])
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise MenuError(
            [Problem(file, None, None, "", f"cannot read the file: {reason}")]
        ) from None
    return parse_yaml(raw, file, typed_scalars=typed_scalars)
