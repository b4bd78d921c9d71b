"""Build `Condition` values from YAML, with every problem located at file:line.

    cond = parse_condition(node, doc, ("segments", 0, "when"), timezone=zone)

`node` is the plain data the YAML reader (`fastagi.menus._yaml`) produced
for one condition; `source` is anything with `file` and `positions` (a
`YamlDocument` or a menu's `MenuSource`) or just a file name; `path` is the
key path of `node` in that file. `parse_condition` raises `MenuError` with
every problem found in the condition; `collect_condition` appends them to a
list instead, so a loader can report all the conditions of a file at once.

The vocabulary is fixed (see docs/segments.md): no expressions, no regular
expressions from config, nothing evaluated. Scalars arrive as text from the
YAML reader (`1`, `true`, `09:00` are kept as written), so numbers, booleans
and times are checked and converted here.

`fastagi.menus` is imported inside functions only: the menu package imports
this module for its `routes`, and a module-level import would make a cycle.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, tzinfo
from typing import TYPE_CHECKING, Protocol, cast

from fastagi.callers.conditions import (
    COMPARISON_OPERATORS,
    FIELD_OPERATORS,
    WEEKDAY_NAMES,
    AllOf,
    Always,
    Anonymous,
    AnyOf,
    Called,
    CompareOp,
    Condition,
    FieldCompare,
    FieldEmpty,
    FieldExists,
    FieldIn,
    HasOpenTicket,
    HasTag,
    InSegment,
    IsNew,
    Not,
    TimeOfDay,
    Value,
    Weekday,
)
from fastagi.callers.profile import PROFILE_FIELDS

if TYPE_CHECKING:
    from fastagi.menus._yaml import PathKey, Position
    from fastagi.menus.problems import Problem, Severity

__all__ = [
    "CONDITION_KINDS",
    "MAX_DAYS",
    "ROUTE_ONLY_KINDS",
    "SEGMENT_NAME_PATTERN",
    "ConditionSource",
    "collect_condition",
    "parse_condition",
]

#: Every key that starts a condition, in the order the docs list them.
CONDITION_KINDS = (
    "always",
    "all",
    "any",
    "not",
    "field",
    "has_tag",
    "has_open_ticket",
    "is_new",
    "anonymous",
    "called",
    "time_of_day",
    "weekday",
    "segment",
)
#: Condition kinds valid only in menu routes (they need the caller's segment).
ROUTE_ONLY_KINDS = frozenset({"segment"})
#: Longest `called` window, in days.
MAX_DAYS = 366
#: Segment names: like menu names, lowercase letters, digits, '_' and '-'.
SEGMENT_NAME_PATTERN = r"[a-z0-9_-]{1,64}"

_MAX_COUNT = 1_000_000
_MAX_DEPTH = 32
_MAX_TEXT = 200
_SEGMENT_NAME = re.compile(SEGMENT_NAME_PATTERN)
_FIELD_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,100}")
_STORED_FIELD_NAME = re.compile(r"[a-z0-9_]{1,40}")  # what the directory accepts (docs/redis.md)
_TIME = re.compile(r"([0-9]{1,2}):([0-9]{2})")
_INTEGER = re.compile(r"\+?[0-9]{1,9}")
_TRUE = frozenset({"true", "yes", "on"})
_FALSE = frozenset({"false", "no", "off"})
_DAY_ALIASES = {
    **{name: index for index, name in enumerate(WEEKDAY_NAMES)},
    **{
        name: index
        for index, name in enumerate(
            ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        )
    },
}


class ConditionSource(Protocol):
    """Where conditions were read from: a `YamlDocument` or a menu's `MenuSource`."""

    @property
    def file(self) -> str: ...

    @property
    def positions(self) -> Mapping[PathKey, Position]: ...


def _quote(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _what(value: object) -> str:
    """A value's kind in an admin's words, for "must be X, got Y"."""
    if value is None:
        return "nothing"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list" if value else "an empty list"
    return _quote(value)


class _Parser:
    """One pass over a condition tree; problems are collected, not raised."""

    def __init__(
        self,
        source: ConditionSource | str,
        problems: list[Problem],
        *,
        timezone: tzinfo,
        allow_segment: bool,
    ) -> None:
        if isinstance(source, str):
            self.file: str = source
            self.positions: Mapping[PathKey, Position] = {}
        else:
            self.file = source.file
            self.positions = source.positions
        self.problems = problems
        self.zone = timezone
        self.allow_segment = allow_segment
        self.failed = False

    # -- problems ---------------------------------------------------------

    def problem(
        self,
        path: PathKey,
        message: str,
        hint: str = "",
        *,
        code: str = "invalid-condition",
        at_key: bool = False,
        severity: Severity = "error",
    ) -> None:
        from fastagi.menus.model import MenuSource

        source = MenuSource(file=self.file, positions=self.positions)
        self.problems.append(
            source.problem(path, message, hint=hint, severity=severity, code=code, at_key=at_key)
        )
        if severity == "error":
            self.failed = True

    # -- scalars ----------------------------------------------------------

    def text(self, value: object, path: PathKey, what: str) -> str | None:
        """A scalar as text: YAML gives text; Python callers may pass numbers."""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        if isinstance(value, str):
            if len(value) > _MAX_TEXT:
                self.problem(path, f"{what} is longer than {_MAX_TEXT} characters")
                return None
            return value
        self.problem(path, f"{what} must be a single value (text or a number), got {_what(value)}")
        return None

    def boolean(self, value: object, path: PathKey, key: str) -> bool | None:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        self.problem(path, f"{key} must be true or false, got {_what(value)}", code="not-a-bool")
        return None

    def integer(self, value: object, path: PathKey, key: str, low: int, high: int) -> int | None:
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
            number = int(value.strip())
        if number is None or not low <= number <= high:
            self.problem(
                path,
                f"{key} must be a whole number from {low} to {high}, got {_what(value)}",
                code="not-a-number",
            )
            return None
        return number

    # -- conditions -------------------------------------------------------

    def condition(self, node: object, path: PathKey, depth: int = 0) -> Condition | None:
        if depth > _MAX_DEPTH:
            self.problem(path, f"conditions are nested deeper than {_MAX_DEPTH} levels")
            return None
        if not isinstance(node, Mapping) or not node:
            hint = "for example {has_tag: vip} or {field: balance, lt: 0}"
            if isinstance(node, str) and node.strip() in CONDITION_KINDS:
                hint = f"write it as a mapping: {{{node.strip()}: ...}}"
            self.problem(
                path,
                f"a condition must be a mapping of one condition key, got {_what(node)}",
                hint,
                code="condition-shape",
            )
            return None
        keys = [str(k) for k in node]
        if "field" in keys:
            return self.field(node, path)
        known = [k for k in keys if k in CONDITION_KINDS]
        for key in keys:
            if key not in CONDITION_KINDS:
                self.unknown_key(key, path)
        if len(known) > 1:
            self.problem(
                path,
                "one condition per mapping, found " + " and ".join(known),
                "to require all of them write all: [{...}, {...}]; for either, any: [...]",
                code="condition-shape",
            )
            return None
        if not known or len(known) != len(keys):
            return None
        key = known[0]
        return self.kind(key, node[key], (*path, key), depth)

    def unknown_key(self, key: str, path: PathKey) -> None:
        from fastagi.menus._validation import did_you_mean

        if key in FIELD_OPERATORS:
            hint = f"an operator needs a field: write {{field: NAME, {key}: ...}}"
        else:
            kinds = [k for k in CONDITION_KINDS if self.allow_segment or k not in ROUTE_ONLY_KINDS]
            hint = did_you_mean(key, kinds) or "conditions: " + ", ".join(kinds)
        self.problem(
            (*path, key), f"unknown condition {key!r}", hint, code="unknown-key", at_key=True
        )

    def kind(self, key: str, value: object, path: PathKey, depth: int) -> Condition | None:
        if key in ("all", "any"):
            return self.group(key, value, path, depth)
        if key == "not":
            part = self.condition(value, path, depth + 1)
            return None if part is None else Not(part)
        if key == "always":
            flag = self.boolean(value, path, key)
            return None if flag is None else Always(flag)
        if key in ("has_open_ticket", "is_new", "anonymous"):
            flag = self.boolean(value, path, key)
            if flag is None:
                return None
            if key == "has_open_ticket":
                return HasOpenTicket(flag)
            return IsNew(flag) if key == "is_new" else Anonymous(flag)
        if key == "has_tag":
            return self.has_tag(value, path)
        if key == "called":
            return self.called(value, path)
        if key == "time_of_day":
            return self.time_of_day(value, path)
        if key == "weekday":
            return self.weekday(value, path)
        return self.segment(value, path)

    def group(self, key: str, value: object, path: PathKey, depth: int) -> Condition | None:
        if not isinstance(value, list | tuple) or not value:
            self.problem(
                path,
                f"{key} needs a list of conditions, got {_what(value)}",
                f"write {key}: [{{has_tag: vip}}, {{field: balance, lt: 0}}]",
                code="condition-shape",
            )
            return None
        parts = [self.condition(item, (*path, i), depth + 1) for i, item in enumerate(value)]
        if any(part is None for part in parts):
            return None
        done = tuple(part for part in parts if part is not None)
        return AllOf(done) if key == "all" else AnyOf(done)

    def has_tag(self, value: object, path: PathKey) -> Condition | None:
        if isinstance(value, list | tuple):
            self.problem(
                path,
                "has_tag takes one tag",
                "for several write any: [{has_tag: a}, {has_tag: b}] (or all: [...])",
            )
            return None
        text = self.text(value, path, "has_tag")
        if text is None:
            return None
        tag = text.strip()
        if not tag or "," in tag or len(tag) > 64:
            self.problem(
                path,
                f"has_tag must name one tag (no commas, at most 64 characters), got {_quote(text)}",
            )
            return None
        return HasTag(tag)

    def field(self, node: Mapping[object, object], path: PathKey) -> Condition | None:
        from fastagi.menus._validation import did_you_mean

        name_path = (*path, "field")
        raw_name = node.get("field")
        name = self.text(raw_name, name_path, "field") if raw_name is not None else None
        if raw_name is None:
            self.problem(name_path, "field needs the name of a profile field", code="missing-key")
        elif name is not None and not _FIELD_NAME.fullmatch(name):
            self.problem(
                name_path,
                f"field name {_quote(name)} may use only letters, digits, '_', '-', '.' and ':'"
                " (at most 100)",
            )
            name = None
        operators: list[str] = []
        for key in (str(k) for k in node if str(k) != "field"):
            if key in FIELD_OPERATORS:
                operators.append(key)
                continue
            hint = did_you_mean(key, FIELD_OPERATORS) or "operators: " + ", ".join(FIELD_OPERATORS)
            if key in CONDITION_KINDS:
                hint = f"{key!r} is a condition of its own: combine with all: [...] or any: [...]"
            self.problem((*path, key), f"unknown field operator {key!r}", hint, at_key=True)
        if not operators:
            if len(node) == 1:
                self.problem(
                    name_path,
                    "field needs one operator",
                    "one of: " + ", ".join(FIELD_OPERATORS),
                    code="missing-key",
                    at_key=True,
                )
            return None
        if len(operators) > 1:
            self.problem(
                path,
                "a field condition takes exactly one operator, found " + " and ".join(operators),
                "for a range write all: [{field: x, gte: 1}, {field: x, lt: 10}]",
                code="condition-shape",
            )
            return None
        if name is None or len(node) > 2:
            return None
        self.field_name_warning(name, name_path)
        op = operators[0]
        return self.operator(name, op, node[op], (*path, op))

    def field_name_warning(self, name: str, path: PathKey) -> None:
        from fastagi.menus._validation import did_you_mean

        if name in PROFILE_FIELDS:
            return
        if not _STORED_FIELD_NAME.fullmatch(name):
            self.problem(
                path,
                f"no caller can have a field named {name!r}",
                "the caller directory stores field names in lowercase letters, digits and '_'"
                " (at most 40)",
                code="unknown-field",
                severity="warning",
            )
            return
        hint = did_you_mean(name, PROFILE_FIELDS)
        if hint:
            self.problem(
                path,
                f"{name!r} is not a standard profile field (custom fields are fine)",
                hint,
                code="unknown-field",
                severity="warning",
            )

    def operator(self, name: str, op: str, value: object, path: PathKey) -> Condition | None:
        if op in ("exists", "empty"):
            flag = self.boolean(value, path, op)
            if flag is None:
                return None
            return FieldExists(name, flag) if op == "exists" else FieldEmpty(name, flag)
        if op in ("in", "not_in"):
            return self.field_in(name, op, value, path)
        if value is None:
            self.problem(
                path,
                f"{op} needs a value",
                "to test for a missing field write empty: true",
                code="missing-value",
            )
            return None
        if isinstance(value, list | tuple) and op in ("equals", "not_equals"):
            other = "in" if op == "equals" else "not_in"
            self.problem(path, f"{op} takes one value", f"for a list of values use {other}: [...]")
            return None
        text = self.text(value, path, op)
        if text is None:
            return None
        operand = Value.of(text)
        if op in COMPARISON_OPERATORS and operand.number is None:
            self.problem(
                path,
                f"{op} compares numbers, got {_quote(text)}",
                "write a plain number such as 0, -500 or 2.5; for text use equals or in",
                code="not-a-number",
            )
            return None
        if op in ("equals", "not_equals") and name == "tags":
            self.problem(
                path,
                "tags holds every tag of the caller, comma-separated",
                "to test one tag write {has_tag: NAME}",
                code="tags-field",
                severity="warning",
            )
        return FieldCompare(name, cast(CompareOp, op), operand)

    def field_in(self, name: str, op: str, value: object, path: PathKey) -> Condition | None:
        if not isinstance(value, list | tuple) or not value:
            single = "equals" if op == "in" else "not_equals"
            self.problem(
                path,
                f"{op} needs a list of values, got {_what(value)}",
                f"write {op}: [a, b]; for one value use {single}",
                code="condition-shape",
            )
            return None
        texts = [self.text(item, (*path, i), f"{op} item") for i, item in enumerate(value)]
        if any(t is None for t in texts):
            return None
        return FieldIn(name, tuple(Value.of(t) for t in texts if t is not None), op == "not_in")

    def called(self, value: object, path: PathKey) -> Condition | None:
        from fastagi.menus._validation import did_you_mean

        allowed = ("at_least", "at_most", "days")
        if not isinstance(value, Mapping):
            self.problem(
                path,
                f"called needs a mapping, got {_what(value)}",
                "write called: {at_least: 3, days: 7}",
                code="condition-shape",
            )
            return None
        ok = True
        for key in (str(k) for k in value):
            if key not in allowed:
                hint = did_you_mean(key, allowed) or "keys: at_least, at_most, days"
                self.problem((*path, key), f"unknown key {key!r}", hint, at_key=True)
                ok = False
        if "days" not in value:
            self.problem(path, "called needs days: the window in days", code="missing-key")
            return None
        days = self.integer(value["days"], (*path, "days"), "days", 1, MAX_DAYS)
        bounds: dict[str, int | None] = {}
        for key in ("at_least", "at_most"):
            if key in value:
                bounds[key] = self.integer(value[key], (*path, key), key, 0, _MAX_COUNT)
                ok = ok and bounds[key] is not None
        if not bounds:
            self.problem(
                path, "called needs at_least or at_most (or both)", code="missing-key", at_key=True
            )
            return None
        least, most = bounds.get("at_least"), bounds.get("at_most")
        if least is not None and most is not None and least > most:
            self.problem(path, f"at_least {least} is more than at_most {most}: never true")
            return None
        if days is None or not ok:
            return None
        return Called(days, least, most)

    def clock(self, value: object, path: PathKey, key: str) -> int | None:
        text = value.strip() if isinstance(value, str) else None
        match = _TIME.fullmatch(text) if text is not None else None
        if match is not None:
            hours, minutes = int(match.group(1)), int(match.group(2))
            midnight = key == "to" and hours == 24 and minutes == 0  # "24:00" ends a day
            if (hours < 24 and minutes < 60) or midnight:
                return hours * 60 + minutes
        self.problem(
            path,
            f"{key} must be a time of day HH:MM (24-hour clock), got {_what(value)}",
            'for example "09:00" or "18:30"' + ('; "24:00" is midnight' if key == "to" else ""),
            code="bad-time",
        )
        return None

    def time_of_day(self, value: object, path: PathKey) -> Condition | None:
        from fastagi.menus._validation import did_you_mean

        if not isinstance(value, Mapping):
            self.problem(
                path,
                f"time_of_day needs a mapping, got {_what(value)}",
                'write time_of_day: {from: "09:00", to: "18:00"}',
                code="condition-shape",
            )
            return None
        ok = True
        for key in (str(k) for k in value):
            if key not in ("from", "to"):
                hint = did_you_mean(key, ("from", "to")) or "keys: from, to"
                self.problem((*path, key), f"unknown key {key!r}", hint, at_key=True)
                ok = False
        ends: list[int | None] = []
        for key in ("from", "to"):
            if key not in value:
                self.problem(path, f"time_of_day needs {key}", code="missing-key", at_key=True)
                ends.append(None)
            else:
                ends.append(self.clock(value[key], (*path, key), key))
        start, end = ends
        if start is None or end is None or not ok:
            return None
        if start == end % (24 * 60):
            whole_day = start == 0 and end == 24 * 60
            self.problem(
                path,
                "00:00-24:00 is the whole day"
                if whole_day
                else "from and to are the same time: the window is empty",
                "for the whole day leave time_of_day out (or use always: true)",
                code="bad-time",
            )
            return None
        return TimeOfDay(start, end, self.zone)

    def weekday(self, value: object, path: PathKey) -> Condition | None:
        from fastagi.menus._validation import did_you_mean

        items: list[tuple[object, PathKey]]
        if isinstance(value, list | tuple) and value:
            items = [(item, (*path, i)) for i, item in enumerate(value)]
        elif isinstance(value, str) and value.strip():
            items = [(value, path)]
        else:
            self.problem(
                path,
                f"weekday needs a list of days, got {_what(value)}",
                "write weekday: [mon, tue, wed, thu, fri] or weekday: mon-fri",
                code="condition-shape",
            )
            return None
        days: set[int] = set()
        ok = True
        for item, item_path in items:
            text = item.strip().lower() if isinstance(item, str) else ""
            ends = text.split("-", 1) if text else [""]
            indexes = [_DAY_ALIASES.get(end.strip()) for end in ends]
            if any(index is None for index in indexes):
                bad = next(e.strip() for e, i in zip(ends, indexes, strict=True) if i is None)
                hint = did_you_mean(bad, frozenset(_DAY_ALIASES)) if bad else ""
                self.problem(
                    item_path,
                    f"unknown day {_what(item)}",
                    hint or "days: " + ", ".join(WEEKDAY_NAMES) + ", or a range such as mon-fri",
                    code="bad-weekday",
                )
                ok = False
                continue
            first, last = indexes[0], indexes[-1]
            assert first is not None and last is not None
            day = first
            days.add(day)
            while day != last:  # a range; fri-mon wraps over the weekend
                day = (day + 1) % 7
                days.add(day)
        if not ok:
            return None
        return Weekday(frozenset(days), self.zone)

    def segment(self, value: object, path: PathKey) -> Condition | None:
        if not self.allow_segment:
            self.problem(
                path,
                "segment is for menu routes, not for segment rules",
                "a rule cannot depend on the segment being chosen; rules are tried in order",
                code="segment-in-segments",
                at_key=True,
            )
            return None
        items = value if isinstance(value, list | tuple) else [value]
        names: list[str] = []
        for i, item in enumerate(items):
            item_path = (*path, i) if isinstance(value, list | tuple) else path
            if not isinstance(item, str) or not _SEGMENT_NAME.fullmatch(item.strip()):
                self.problem(
                    item_path,
                    f"segment must name a segment (lowercase letters, digits, '_', '-'),"
                    f" got {_what(item)}",
                )
                continue
            names.append(item.strip())
        if not names or len(names) != len(items):
            if not items:
                self.problem(path, "segment needs a name or a list of names")
            return None
        return InSegment(tuple(dict.fromkeys(names)))


def collect_condition(
    node: object,
    source: ConditionSource | str,
    path: PathKey,
    problems: list[Problem],
    *,
    timezone: tzinfo = UTC,
    allow_segment: bool = False,
) -> Condition | None:
    """Parse one condition, appending every problem (errors and warnings) to `problems`.

    Returns None when there was an error. `timezone` is the zone that
    `time_of_day` and `weekday` use; `allow_segment` admits `segment:` (menu routes).
    """
    parser = _Parser(source, problems, timezone=timezone, allow_segment=allow_segment)
    condition = parser.condition(node, path)
    return None if parser.failed else condition


def parse_condition(
    node: object,
    source: ConditionSource | str,
    path: PathKey = (),
    *,
    timezone: tzinfo = UTC,
    allow_segment: bool = False,
    warnings: list[Problem] | None = None,
) -> Condition:
    """Parse one condition; raise `MenuError` (file:line for each problem) when it is invalid.

    Warnings (a field name close to a standard one, ...) go to `warnings` when
    a list is given; with an error they are raised along with it.
    """
    from fastagi.menus.problems import MenuError

    problems: list[Problem] = []
    condition = collect_condition(
        node, source, path, problems, timezone=timezone, allow_segment=allow_segment
    )
    if condition is None:
        raise MenuError(problems)
    if warnings is not None:
        warnings.extend(problems)
    return condition
