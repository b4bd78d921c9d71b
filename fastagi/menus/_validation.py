"""Turn pydantic validation errors into Problems with file:line and plain words.

pydantic reports a `loc` path (`('nodes', 'welcome', 'menu', 'options', '1')`,
with the union tag `menu` in it); this module maps it onto the YAML key
positions, drops the tag, and rewrites the message: unknown keys get a
"did you mean", unknown node types list the known ones.
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from fastagi.menus._yaml import PathKey, YamlDocument
from fastagi.menus.problems import Problem, render_key_path

__all__ = ["did_you_mean", "validation_problems"]

_KEY = "[key]"


def did_you_mean(word: str, choices: Sequence[str] | set[str] | frozenset[str]) -> str:
    """`did you mean 'sales'?` for the closest choice, or '' when none is close."""
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else ""


def _strip(tp: Any) -> Any:
    while True:
        if get_origin(tp) is Annotated:
            tp = get_args(tp)[0]
            continue
        if get_origin(tp) in (Union, types.UnionType):
            members = [m for m in get_args(tp) if m is not type(None)]
            if len(members) == 1:
                tp = members[0]
                continue
        return tp


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _tag_of(model: type[BaseModel]) -> str | None:
    field = model.model_fields.get("type")
    if field is None or get_origin(field.annotation) is not Literal:
        return None
    args = get_args(field.annotation)
    return args[0] if len(args) == 1 and isinstance(args[0], str) else None


def _model_at(root: Any, loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The model that validates the value at `loc` (None when it is not a model)."""
    tp = root
    for part in loc:
        tp = _strip(tp)
        if part == _KEY:
            return None
        if _is_model(tp):
            field = tp.model_fields.get(part) if isinstance(part, str) else None
            if field is None:
                return None
            tp = field.annotation
            continue
        origin = get_origin(tp)
        if origin in (dict, Mapping):
            tp = get_args(tp)[1]
            continue
        if origin in (list, tuple, Sequence):
            tp = get_args(tp)[0]
            continue
        if origin in (Union, types.UnionType):
            tagged = [m for m in get_args(tp) if _is_model(m) and _tag_of(m) == part]
            if not tagged:
                return None
            tp = tagged[0]
            continue
        return None
    tp = _strip(tp)
    return tp if _is_model(tp) else None


def _walk(
    doc: YamlDocument, loc: Sequence[str | int]
) -> tuple[PathKey, list[str | int], bool, bool]:
    """(deepest path found in the file, path to show, whether it is a key, found all)."""
    found: PathKey = ()
    shown: list[str | int] = []
    at_key = False
    complete = True
    for part in loc:
        if part == _KEY:
            at_key = True
            continue
        candidate = (*found, part)
        if complete and candidate in doc.positions:
            found = candidate
            shown.append(part)
            continue
        type_value = doc.positions.get((*found, "type"))
        if complete and type_value is not None and type_value.scalar == part:
            continue  # the discriminator tag pydantic puts in loc
        complete = False
        shown.append(part)
    return found, shown, at_key, complete


def _locate(doc: YamlDocument, path: PathKey, at_key: bool) -> tuple[int | None, int | None]:
    position = doc.positions.get(path)
    if position is None:
        return None, None
    if at_key and position.key_line is not None:
        return position.key_line, position.key_column
    return position.line, position.column


def _plain(message: str) -> str:
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            return message[len(prefix) :]
    message = message.replace("Input should be", "must be")
    message = message.replace("Field required", "required")
    return message[:1].lower() + message[1:]


def _expected_tags(ctx: Mapping[str, Any] | None) -> list[str]:
    return re.findall(r"'([^']*)'", str((ctx or {}).get("expected_tags", "")))


def _one(err: Mapping[str, Any], doc: YamlDocument, root: Any) -> Problem:
    loc: tuple[str | int, ...] = tuple(err["loc"])
    kind: str = err["type"]
    found, shown, at_key, complete = _walk(doc, loc)
    hint = ""
    code = "invalid-value"
    if kind == "missing":
        name = shown[-1] if shown else ""
        shown = shown[:-1]
        message = f"missing required key {name!r}"
        line, column = _locate(doc, found, at_key=True)
        code = "missing-key"
    elif kind == "extra_forbidden":
        name = str(shown[-1]) if shown else ""
        shown = shown[:-1]
        message = f"unknown key {name!r}"
        model = _model_at(root, loc[:-1])
        if model is not None:
            allowed = [n for n in model.model_fields if n != "type"]
            hint = did_you_mean(name, allowed) or "allowed keys: " + ", ".join(allowed)
        line, column = _locate(doc, found, at_key=True)
        code = "unknown-key"
    elif kind in ("union_tag_invalid", "union_tag_not_found"):
        tags = _expected_tags(err.get("ctx"))
        tag_path = (*found, "type")
        if kind == "union_tag_invalid" and tag_path in doc.positions:
            given = str(doc.positions[tag_path].scalar)
            message = f"unknown node type {given!r}"
            hint = did_you_mean(given, tags) or "node types: " + ", ".join(tags)
            line, column = _locate(doc, tag_path, at_key=False)
            shown = [*shown, "type"]
        else:
            message = "a node needs a 'type'"
            hint = "one of: " + ", ".join(tags) if tags else ""
            line, column = _locate(doc, found, at_key=True)
        code = "node-type"
    else:
        message = _plain(str(err["msg"]))
        value = err.get("input")
        if kind != "value_error" and isinstance(value, str | int | float) and complete:
            message += f", got {value!r}"
        line, column = _locate(doc, found, at_key=at_key or not complete)
    return Problem(
        file=doc.file,
        line=line,
        column=column,
        key_path=render_key_path(shown),
        message=message,
        hint=hint,
        code=code,
    )


def validation_problems(exc: ValidationError, doc: YamlDocument, root: Any) -> list[Problem]:
    """One Problem per pydantic error, located in `doc`; `root` is the validated type."""
    problems: list[Problem] = []
    errors = exc.errors(include_url=False)
    locs = [tuple(err["loc"]) for err in errors]
    for err in errors:
        loc = tuple(err["loc"])
        if err["type"] == "too_short" and any(o[: len(loc)] == loc and o != loc for o in locs):
            continue  # "too few items" only because an item itself was invalid
        problem = _one(err, doc, root)
        if problem not in problems:
            problems.append(problem)
    return problems
