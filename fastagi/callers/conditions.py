"""Conditions over a caller profile and the call: parsed once, evaluated per call.

A `Condition` is a frozen value built by `parse_condition` (see
`fastagi.callers.condition_parser`) from a YAML mapping such as
`{has_tag: vip}` or `{field: balance, lt: 0}`. It evaluates against an
`EvalContext` (the caller's profile, the call's start time and, for menu
routes, the caller's segment) with no I/O and no `eval`: every condition is
one of the classes below.

`evaluate(ctx)` is the fast path (no text is built); `explain(ctx)` says in
words what was checked and what was found ("field balance=-500 < 0");
`reasons(ctx)` lists the facts that made a true condition true.

Values in profile hashes are text. A value operator compares numbers as
numbers when both sides are decimal numbers (`7`, `-500`, `2.50`), and text
otherwise, ignoring case and surrounding spaces. A field the caller does not
have (missing or blank) fails every value operator, `not_equals` and
`not_in` included: only `exists` and `empty` test for absence. So a stand-in
profile (Redis down) or an anonymous caller matches no value test.

This module does not import `fastagi.menus` so the menu package may import it.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import ClassVar, Literal

from fastagi.callers.profile import CallerProfile, folded_tags

__all__ = [
    "COMPARISON_OPERATORS",
    "FIELD_OPERATORS",
    "VALUE_OPERATORS",
    "WEEKDAY_NAMES",
    "AllOf",
    "Always",
    "Anonymous",
    "AnyOf",
    "Called",
    "Condition",
    "EvalContext",
    "FieldCompare",
    "FieldEmpty",
    "FieldExists",
    "FieldIn",
    "Flag",
    "HasOpenTicket",
    "HasTag",
    "InSegment",
    "IsNew",
    "Not",
    "TimeOfDay",
    "Value",
    "Weekday",
    "parse_number",
]

#: Operators that compare a field with a number: `{field: balance, lt: 0}`.
COMPARISON_OPERATORS = ("lt", "lte", "gt", "gte")
#: Operators that compare a field with one value or a list of values.
VALUE_OPERATORS = ("equals", "not_equals", "in", "not_in")
#: Every operator a `field:` condition may use (exactly one per condition).
FIELD_OPERATORS = (*VALUE_OPERATORS, *COMPARISON_OPERATORS, "exists", "empty")

#: Day names in Python's weekday order (Monday is 0).
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_MAX_NUMBER_CHARS = 40  # longer text is not treated as a number
_SHOW_CHARS = 40  # profile values longer than this are cut in explanations


def parse_number(text: str) -> Decimal | None:
    """`Decimal` for plain decimal text (`-500`, `2.5`, `+3`, `.5`), else None.

    No exponents, no `inf`/`nan`, no thousands separators, at most 40 characters:
    a profile value that merely contains digits is text.
    """
    text = text.strip()
    if len(text) > _MAX_NUMBER_CHARS or not _NUMBER.fullmatch(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        return None


@dataclass(frozen=True, slots=True)
class Value:
    """One comparable value: how it was written, as text to compare, as a number."""

    written: str
    text: str
    number: Decimal | None

    @classmethod
    def of(cls, written: str) -> Value:
        return cls(written, written.strip().casefold(), parse_number(written))

    def same_as(self, other: Value) -> bool:
        if self.number is not None and other.number is not None:
            return self.number == other.number
        return self.text == other.text

    def show(self) -> str:
        return _show(self.written)


def _show(text: str) -> str:
    """A profile or config value for an explanation: numbers bare, text quoted and cut."""
    stripped = text.strip()
    if parse_number(stripped) is not None:
        return stripped
    if len(stripped) > _SHOW_CHARS:
        return repr(stripped[:_SHOW_CHARS]) + "..."
    return repr(stripped)


class EvalContext:
    """What a condition is evaluated against.

    `now` is the call's start time; a naive datetime is taken as UTC. `segment`
    is the caller's segment, known when menu routes are evaluated (None while
    the segment itself is being chosen). Made for every call and read-only
    by use: a slotted class, not a frozen dataclass, which cost three times
    as much to make.
    """

    __slots__ = ("_local", "_tags", "now", "profile", "segment")

    def __init__(self, profile: CallerProfile, now: datetime, segment: str | None = None) -> None:
        if now.tzinfo is None or now.utcoffset() is None:
            now = now.replace(tzinfo=UTC)
        self.profile = profile
        self.now = now
        self.segment = segment
        self._tags: frozenset[str] | None = None
        self._local: dict[tzinfo, datetime] | None = None  # made when a time is asked for

    def __repr__(self) -> str:
        return f"EvalContext({self.profile!r}, {self.now!r}, {self.segment!r})"

    @property
    def tags(self) -> frozenset[str]:
        """The caller's tags, case-folded (computed once per context)."""
        tags = self._tags
        if tags is None:
            tags = self._tags = folded_tags(self.profile.fields.get("tags") or "")
        return tags

    def local(self, zone: tzinfo) -> datetime:
        """The call's start time as wall-clock time in `zone` (DST applied)."""
        if self._local is None:
            self._local = {}
        found = self._local.get(zone)
        if found is None:
            found = self._local[zone] = self.now.astimezone(zone)
        return found

    def field_value(self, name: str) -> str | None:
        """The profile field's text, or None when it is missing or blank."""
        value = self.profile.fields.get(name)
        if value is None or not value.strip():
            return None
        return value


class Condition(ABC):
    """A parsed condition. Subclasses are frozen dataclasses; all are hashable.

    `kind` is the YAML key that introduces it (`has_tag`, `field`, `any`, ...).
    """

    __slots__ = ()
    kind: ClassVar[str]

    @abstractmethod
    def evaluate(self, ctx: EvalContext) -> bool:
        """True when the condition holds for this caller and call."""

    @abstractmethod
    def explain(self, ctx: EvalContext) -> str:
        """What was checked and found, in words, true or not: "tag 'vip' present"."""

    @abstractmethod
    def describe(self) -> str:
        """The condition itself in words, without a caller: "tag 'vip'"."""

    def reasons(self, ctx: EvalContext) -> tuple[str, ...]:
        """The facts behind the result: for `all`, each part; for `any`, the true parts."""
        return (self.explain(ctx),)

    def children(self) -> tuple[Condition, ...]:
        return ()

    def walk(self) -> Iterator[Condition]:
        """This condition and every condition inside it, depth first."""
        yield self
        for child in self.children():
            yield from child.walk()

    def windows(self) -> frozenset[int]:
        """Every `days` window of a `called` condition inside this one."""
        return frozenset(c.days for c in self.walk() if isinstance(c, Called))

    def segments(self) -> frozenset[str]:
        """Every segment name a `segment` condition inside this one refers to."""
        return frozenset(name for c in self.walk() if isinstance(c, InSegment) for name in c.names)

    @property
    def is_always(self) -> bool:
        """True when the condition holds for every caller (rules after it are unreachable)."""
        return False

    def __str__(self) -> str:
        return self.describe()


@dataclass(frozen=True, slots=True)
class Always(Condition):
    """`always: true` holds for everyone; `always: false` for nobody (a switched-off rule)."""

    kind: ClassVar[str] = "always"
    value: bool = True

    def evaluate(self, ctx: EvalContext) -> bool:
        return self.value

    def explain(self, ctx: EvalContext) -> str:
        return self.describe()

    def describe(self) -> str:
        return "always" if self.value else "never (always: false)"

    @property
    def is_always(self) -> bool:
        return self.value


@dataclass(frozen=True, slots=True)
class AllOf(Condition):
    """`all: [...]`: every part holds."""

    kind: ClassVar[str] = "all"
    parts: tuple[Condition, ...]

    def evaluate(self, ctx: EvalContext) -> bool:
        for part in self.parts:  # noqa: SIM110 - no generator: evaluated on every call
            if not part.evaluate(ctx):
                return False
        return True

    def explain(self, ctx: EvalContext) -> str:
        return "all of [" + "; ".join(part.explain(ctx) for part in self.parts) + "]"

    def describe(self) -> str:
        return "all of [" + "; ".join(part.describe() for part in self.parts) + "]"

    def reasons(self, ctx: EvalContext) -> tuple[str, ...]:
        if not self.evaluate(ctx):
            return (self.explain(ctx),)
        return tuple(reason for part in self.parts for reason in part.reasons(ctx))

    def children(self) -> tuple[Condition, ...]:
        return self.parts

    @property
    def is_always(self) -> bool:
        return all(part.is_always for part in self.parts)


@dataclass(frozen=True, slots=True)
class AnyOf(Condition):
    """`any: [...]`: at least one part holds."""

    kind: ClassVar[str] = "any"
    parts: tuple[Condition, ...]

    def evaluate(self, ctx: EvalContext) -> bool:
        for part in self.parts:  # noqa: SIM110 - no generator: evaluated on every call
            if part.evaluate(ctx):
                return True
        return False

    def explain(self, ctx: EvalContext) -> str:
        return "any of [" + "; ".join(part.explain(ctx) for part in self.parts) + "]"

    def describe(self) -> str:
        return "any of [" + "; ".join(part.describe() for part in self.parts) + "]"

    def reasons(self, ctx: EvalContext) -> tuple[str, ...]:
        true_parts = [part for part in self.parts if part.evaluate(ctx)]
        if not true_parts:
            return (self.explain(ctx),)
        return tuple(reason for part in true_parts for reason in part.reasons(ctx))

    def children(self) -> tuple[Condition, ...]:
        return self.parts

    @property
    def is_always(self) -> bool:
        return any(part.is_always for part in self.parts)


@dataclass(frozen=True, slots=True)
class Not(Condition):
    """`not: {...}`: the part does not hold."""

    kind: ClassVar[str] = "not"
    part: Condition

    def evaluate(self, ctx: EvalContext) -> bool:
        return not self.part.evaluate(ctx)

    def explain(self, ctx: EvalContext) -> str:
        # A leaf already states the fact ("tag 'vip' absent"); a group needs the word.
        inner = self.part.explain(ctx)
        return inner if not self.part.children() else f"not {inner}"

    def describe(self) -> str:
        return f"not ({self.part.describe()})"

    def children(self) -> tuple[Condition, ...]:
        return (self.part,)

    @property
    def is_always(self) -> bool:
        return isinstance(self.part, Always) and not self.part.value


CompareOp = Literal["lt", "lte", "gt", "gte", "equals", "not_equals"]

# operator -> (symbol when it holds, symbol when it does not)
_SYMBOLS: dict[str, tuple[str, str]] = {
    "equals": ("==", "!="),
    "not_equals": ("!=", "=="),
    "lt": ("<", ">="),
    "lte": ("<=", ">"),
    "gt": (">", "<="),
    "gte": (">=", "<"),
    "in": ("in", "not in"),
    "not_in": ("not in", "in"),
}


def _missing(name: str, wanted: str) -> str:
    return f"field {name} is missing (wanted {wanted})"


@dataclass(frozen=True, slots=True)
class FieldCompare(Condition):
    """`{field: NAME, equals|not_equals|lt|lte|gt|gte: VALUE}`.

    `lt`/`lte`/`gt`/`gte` need a number on both sides (the parser checks the
    operand; a profile value that is not a number makes them false).
    """

    kind: ClassVar[str] = "field"
    name: str
    op: CompareOp
    operand: Value

    def _holds(self, value: Value) -> bool | None:
        """The result, or None when a numeric comparison meets text."""
        if self.op == "equals":
            return value.same_as(self.operand)
        if self.op == "not_equals":
            return not value.same_as(self.operand)
        left, right = value.number, self.operand.number
        if left is None or right is None:
            return None
        if self.op == "lt":
            return left < right
        if self.op == "lte":
            return left <= right
        if self.op == "gt":
            return left > right
        return left >= right

    def evaluate(self, ctx: EvalContext) -> bool:
        raw = ctx.field_value(self.name)
        return raw is not None and bool(self._holds(Value.of(raw)))

    def explain(self, ctx: EvalContext) -> str:
        wanted = f"{_SYMBOLS[self.op][0]} {self.operand.show()}"
        raw = ctx.field_value(self.name)
        if raw is None:
            return _missing(self.name, wanted)
        value = Value.of(raw)
        holds = self._holds(value)
        if holds is None:
            return f"field {self.name}={value.show()} is not a number (wanted {wanted})"
        symbol = _SYMBOLS[self.op][0 if holds else 1]
        return f"field {self.name}={value.show()} {symbol} {self.operand.show()}"

    def describe(self) -> str:
        return f"field {self.name} {_SYMBOLS[self.op][0]} {self.operand.show()}"


@dataclass(frozen=True, slots=True)
class FieldIn(Condition):
    """`{field: NAME, in: [A, B]}` or `not_in: [A, B]`."""

    kind: ClassVar[str] = "field"
    name: str
    values: tuple[Value, ...]
    negate: bool = False

    @property
    def _op(self) -> str:
        return "not_in" if self.negate else "in"

    def _listed(self, value: Value) -> bool:
        return any(value.same_as(choice) for choice in self.values)

    def evaluate(self, ctx: EvalContext) -> bool:
        raw = ctx.field_value(self.name)
        return raw is not None and self._listed(Value.of(raw)) != self.negate

    def _choices(self) -> str:
        return "[" + ", ".join(v.show() for v in self.values) + "]"

    def explain(self, ctx: EvalContext) -> str:
        raw = ctx.field_value(self.name)
        if raw is None:
            return _missing(self.name, f"{_SYMBOLS[self._op][0]} {self._choices()}")
        value = Value.of(raw)
        listed = self._listed(value)
        return f"field {self.name}={value.show()} {'in' if listed else 'not in'} {self._choices()}"

    def describe(self) -> str:
        return f"field {self.name} {_SYMBOLS[self._op][0]} {self._choices()}"


@dataclass(frozen=True, slots=True)
class FieldExists(Condition):
    """`{field: NAME, exists: true}`: the profile hash has the field (even blank)."""

    kind: ClassVar[str] = "field"
    name: str
    value: bool = True

    def evaluate(self, ctx: EvalContext) -> bool:
        return (self.name in ctx.profile.fields) == self.value

    def explain(self, ctx: EvalContext) -> str:
        present = self.name in ctx.profile.fields
        return f"field {self.name} {'exists' if present else 'does not exist'}"

    def describe(self) -> str:
        return f"field {self.name} {'exists' if self.value else 'does not exist'}"


@dataclass(frozen=True, slots=True)
class FieldEmpty(Condition):
    """`{field: NAME, empty: true}`: the field is missing or blank."""

    kind: ClassVar[str] = "field"
    name: str
    value: bool = True

    def evaluate(self, ctx: EvalContext) -> bool:
        return (ctx.field_value(self.name) is None) == self.value

    def explain(self, ctx: EvalContext) -> str:
        raw = ctx.field_value(self.name)
        if raw is None:
            return f"field {self.name} is empty"
        return f"field {self.name}={_show(raw)} is not empty"

    def describe(self) -> str:
        return f"field {self.name} is {'empty' if self.value else 'not empty'}"


@dataclass(frozen=True, slots=True)
class HasTag(Condition):
    """`{has_tag: vip}`: the caller's tags include this one (case ignored)."""

    kind: ClassVar[str] = "has_tag"
    tag: str
    folded: str = field(init=False, repr=False, compare=False)  # the tag as compared

    def __post_init__(self) -> None:
        object.__setattr__(self, "folded", self.tag.casefold())

    def evaluate(self, ctx: EvalContext) -> bool:
        return self.folded in ctx.tags

    def explain(self, ctx: EvalContext) -> str:
        return f"tag {self.tag!r} {'present' if self.evaluate(ctx) else 'absent'}"

    def describe(self) -> str:
        return f"tag {self.tag!r}"


@dataclass(frozen=True, slots=True)
class Flag(Condition):
    """A yes/no fact about the caller: `{KIND: true}` or `{KIND: false}`."""

    kind: ClassVar[str] = ""
    _texts: ClassVar[tuple[str, str]] = ("", "")  # (when the caller has it, when not)
    value: bool = True

    @abstractmethod
    def actual(self, ctx: EvalContext) -> bool:
        """Whether the caller has the fact (the condition compares it with `value`)."""

    def evaluate(self, ctx: EvalContext) -> bool:
        return self.actual(ctx) == self.value

    def explain(self, ctx: EvalContext) -> str:
        return self._texts[0 if self.actual(ctx) else 1]

    def describe(self) -> str:
        return f"{self.kind}: {'true' if self.value else 'false'}"


@dataclass(frozen=True, slots=True)
class HasOpenTicket(Flag):
    """`{has_open_ticket: true}`: the profile counts at least one open ticket."""

    kind: ClassVar[str] = "has_open_ticket"
    _texts: ClassVar[tuple[str, str]] = ("has an open ticket", "no open tickets")

    def actual(self, ctx: EvalContext) -> bool:
        return ctx.profile.open_tickets > 0

    def explain(self, ctx: EvalContext) -> str:
        count = ctx.profile.open_tickets
        if count == 0:
            return "no open tickets"
        return f"{count} open ticket{'s' if count != 1 else ''}"


@dataclass(frozen=True, slots=True)
class IsNew(Flag):
    """`{is_new: true}`: this call created the caller's profile."""

    kind: ClassVar[str] = "is_new"
    _texts: ClassVar[tuple[str, str]] = ("caller is new (first call)", "caller is not new")

    def actual(self, ctx: EvalContext) -> bool:
        return ctx.profile.is_new


@dataclass(frozen=True, slots=True)
class Anonymous(Flag):
    """`{anonymous: true}`: the caller ID is withheld or unknown."""

    kind: ClassVar[str] = "anonymous"
    _texts: ClassVar[tuple[str, str]] = ("caller ID withheld", "caller ID known")

    def actual(self, ctx: EvalContext) -> bool:
        return ctx.profile.anonymous


@dataclass(frozen=True, slots=True)
class Called(Condition):
    """`{called: {at_least: 3, days: 7}}`: calls in the last `days` days, this one included.

    The count comes from `CallerProfile.calls_in_last[days]`; when it was not
    counted (anonymous caller, Redis down) the condition is false.
    """

    kind: ClassVar[str] = "called"
    days: int
    at_least: int | None = None
    at_most: int | None = None

    def _bounds(self) -> str:
        parts = []
        if self.at_least is not None:
            parts.append(f"at least {self.at_least}")
        if self.at_most is not None:
            parts.append(f"at most {self.at_most}")
        return " and ".join(parts)

    def _window(self) -> str:
        return "the last day" if self.days == 1 else f"the last {self.days} days"

    def evaluate(self, ctx: EvalContext) -> bool:
        count = ctx.profile.calls_in_last.get(self.days)
        if count is None:
            return False
        if self.at_least is not None and count < self.at_least:
            return False
        return self.at_most is None or count <= self.at_most

    def explain(self, ctx: EvalContext) -> str:
        count = ctx.profile.calls_in_last.get(self.days)
        if count is None:
            return f"calls in {self._window()} not known (wanted {self._bounds()})"
        verdict = "" if self.evaluate(ctx) else "not "
        calls = f"{count} call{'s' if count != 1 else ''}"
        return f"{calls} in {self._window()}, {verdict}{self._bounds()}"

    def describe(self) -> str:
        return f"called {self._bounds()} times in {self._window()}"


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _zone_name(zone: tzinfo) -> str:
    return str(zone)


@dataclass(frozen=True, slots=True)
class TimeOfDay(Condition):
    """`{time_of_day: {from: "09:00", to: "18:00"}}` in the rules' time zone.

    `start` and `end` are minutes after midnight; `start` is included, `end`
    is not. When `start` > `end` the window wraps midnight (22:00-06:00).
    """

    kind: ClassVar[str] = "time_of_day"
    start: int
    end: int
    zone: tzinfo = UTC

    def _inside(self, minute: int) -> bool:
        if self.start < self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end

    def _minute(self, ctx: EvalContext) -> int:
        local = ctx.local(self.zone)
        return local.hour * 60 + local.minute

    def evaluate(self, ctx: EvalContext) -> bool:
        return self._inside(self._minute(ctx))

    def explain(self, ctx: EvalContext) -> str:
        minute = self._minute(ctx)
        where = "within" if self._inside(minute) else "outside"
        return f"local time {_clock(minute)} ({_zone_name(self.zone)}) {where} {self._span()}"

    def _span(self) -> str:
        return f"{_clock(self.start)}-{_clock(self.end)}"

    def describe(self) -> str:
        return f"time of day {self._span()} ({_zone_name(self.zone)})"


@dataclass(frozen=True, slots=True)
class Weekday(Condition):
    """`{weekday: [mon, tue, wed, thu, fri]}` in the rules' time zone (0 is Monday)."""

    kind: ClassVar[str] = "weekday"
    days: frozenset[int]
    zone: tzinfo = UTC

    def evaluate(self, ctx: EvalContext) -> bool:
        return ctx.local(self.zone).weekday() in self.days

    def _names(self) -> str:
        return "[" + ", ".join(WEEKDAY_NAMES[d] for d in sorted(self.days)) + "]"

    def explain(self, ctx: EvalContext) -> str:
        day = ctx.local(self.zone).weekday()
        verdict = "in" if day in self.days else "not in"
        return f"local day {WEEKDAY_NAMES[day]} ({_zone_name(self.zone)}) {verdict} {self._names()}"

    def describe(self) -> str:
        return f"weekday in {self._names()} ({_zone_name(self.zone)})"


@dataclass(frozen=True, slots=True)
class InSegment(Condition):
    """`{segment: vip}` or `{segment: [vip, debtor]}`: only in menu routes."""

    kind: ClassVar[str] = "segment"
    names: tuple[str, ...]

    def evaluate(self, ctx: EvalContext) -> bool:
        return ctx.segment is not None and ctx.segment in self.names

    def _names(self) -> str:
        return repr(self.names[0]) if len(self.names) == 1 else "[" + ", ".join(self.names) + "]"

    def explain(self, ctx: EvalContext) -> str:
        if ctx.segment is None:
            return f"segment not known (wanted {self._names()})"
        verdict = "is" if self.evaluate(ctx) else "is not"
        if len(self.names) > 1:
            verdict += " in"
        return f"segment {ctx.segment!r} {verdict} {self._names()}"

    def describe(self) -> str:
        return f"segment {'in ' if len(self.names) > 1 else ''}{self._names()}"
