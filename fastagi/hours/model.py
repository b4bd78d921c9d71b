"""Business hours and holidays: the models of config/hours.yaml and their questions.

    hours = load_hours("config/hours.yaml")          # or MenuError, file:line
    status = hours.status("office", now)               # now: an aware datetime
    status.state, status.holiday, status.next_change   # "closed", None, 2026-03-02 09:00+03:00

A calendar has a time zone, weekly opening hours, holidays and special days.
For one local date the most specific entry decides: the entry covering fewer
days wins; on a tie a dated entry beats a yearly one, then a special day
beats a holiday, then the entry written first wins. With no entry, the
weekly hours of that weekday apply.

`fastagi.menus` is imported inside functions only: the menu package may
import this one for its `hours` node.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from itertools import pairwise
from typing import Annotated, Any, Final

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from fastagi.hours._text import (
    MINUTES_PER_DAY,
    WEEKDAYS,
    DaySpan,
    format_clock,
    parse_day_span,
    parse_interval,
    parse_weekdays,
)
from fastagi.hours._timeline import DayPlan, State, Timeline
from fastagi.timezones import zone_from_name

__all__ = [
    "CALENDAR_NAME_PATTERN",
    "Calendar",
    "CalendarIssue",
    "HoursConfig",
    "HoursStatus",
    "Interval",
    "SpecialDay",
    "State",
    "UnknownCalendar",
    "calendar_issues",
    "zone_from_name",
]

#: Calendar names: lowercase letters, digits, '_' and '-', at most 64.
CALENDAR_NAME_PATTERN: Final = r"^[a-z0-9_][a-z0-9_-]{0,63}$"
#: Set in the validation context by the file loader: it checks the things
#: that span several keys itself, to point at the exact line of each.
FROM_FILE: Final = "hours_from_file"
#: Calendar names as written in the file, for checking `default` when a
#: calendar itself is invalid.
CALENDAR_NAMES: Final = "hours_calendar_names"

_CLOSED_WORDS = frozenset({"closed"})
_ALL_DAY_WORDS = frozenset({"24h"})
_DAY = timedelta(days=1)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _zone_name(value: str) -> str:
    zone_from_name(value.strip())
    return value.strip()


def _weekday_key(value: str) -> str:
    parse_weekdays(value)
    return value


def _day_span_key(value: str) -> str:
    parse_day_span(value)
    return value


def _calendar_name(value: str) -> str:
    if not re.fullmatch(CALENDAR_NAME_PATTERN, value):
        raise ValueError(
            f"calendar name {value!r} may use only lowercase letters, digits, '_' and '-'"
            " (at most 64)"
        )
    return value


ZoneName = Annotated[str, AfterValidator(_zone_name)]
WeekdayKey = Annotated[str, AfterValidator(_weekday_key)]
DaySpanKey = Annotated[str, AfterValidator(_day_span_key)]
CalendarName = Annotated[str, AfterValidator(_calendar_name)]


class Interval(_Frozen):
    """Open from `start` to `end`, minutes after midnight; written `09:00-18:00`.

    `end` at or before `start` means the interval runs past midnight into
    the next day (`22:00-06:00`); `end` 1440 is 24:00.
    """

    start: int = Field(ge=0, lt=MINUTES_PER_DAY)
    end: int = Field(gt=0, le=MINUTES_PER_DAY)

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            if value.strip().lower() in _ALL_DAY_WORDS:
                return {"start": 0, "end": MINUTES_PER_DAY}
            start, end = parse_interval(value)
            return {"start": start, "end": end}
        if isinstance(value, Mapping | BaseModel):
            return value
        raise ValueError(f"opening hours are written like 09:00-18:00, got {value!r}")

    @model_validator(mode="after")
    def _not_empty(self) -> Interval:
        if self.start == self.end:
            raise ValueError(f"{self} starts and ends at the same time")
        return self

    @property
    def overnight(self) -> bool:
        """Whether the interval runs past midnight into the next day."""
        return self.end < self.start

    @property
    def stop(self) -> int:
        """The end in minutes after the start day's midnight (past 1440 when overnight)."""
        return self.end + MINUTES_PER_DAY if self.overnight else self.end

    def __str__(self) -> str:
        return f"{format_clock(self.start)}-{format_clock(self.end)}"


def _day_items(value: Any) -> Any:
    """`closed`, nothing, one interval or a list of them -> a list."""
    if value is None:
        return []
    if isinstance(value, str):
        if value.strip().lower() in _CLOSED_WORDS:
            return []
        return [value]
    if isinstance(value, list | tuple):
        return value
    raise ValueError(
        "opening hours are an interval such as 09:00-18:00, a list of them, or closed;"
        f" got {value!r}"
    )


def _no_overlaps(value: tuple[Interval, ...]) -> tuple[Interval, ...]:
    ordered = tuple(sorted(value, key=lambda interval: interval.start))
    for before, after in pairwise(ordered):
        if before.stop > after.start:
            raise ValueError(f"{before} and {after} overlap; join them or move one")
    return ordered


#: The intervals of one day, sorted; written as one interval, a list, or `closed`.
DayHours = Annotated[
    tuple[Interval, ...], BeforeValidator(_day_items), AfterValidator(_no_overlaps)
]


class SpecialDay(_Frozen):
    """A date with its own hours, e.g. a short day before a holiday.

    Written as the hours alone (`2026-12-30: 09:00-17:00`, `closed`) or as
    `{hours: ..., name: ...}`.
    """

    hours: DayHours = Field(description="The hours of that day (closed: none).")
    name: str | None = Field(default=None, description="What the day is (free text).")

    @model_validator(mode="before")
    @classmethod
    def _from_hours(cls, value: Any) -> Any:
        if isinstance(value, Mapping | BaseModel):
            return value
        return {"hours": value}


def _holidays(value: Any) -> Any:
    if isinstance(value, list | tuple):
        raise ValueError(
            "holidays is a mapping of date: name, e.g. '01-07: Christmas'"
            " (leave the name empty for none), not a list"
        )
    return value


def _holiday_name(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    raise ValueError(f"a holiday's name must be text, got {value!r}")


@dataclass(frozen=True)
class _Entry:
    """A holiday or special day, ready for lookups."""

    span: DaySpan
    special: bool
    order: int
    name: str | None
    hours: tuple[tuple[int, int], ...]

    @property
    def rank(self) -> tuple[int, int, int, int]:
        """Smaller wins: fewer days, dated, special day, written first."""
        return (self.span.days, int(self.span.yearly), int(not self.special), self.order)


@dataclass(frozen=True)
class CalendarIssue:
    """Something wrong across several keys of a calendar.

    `path` is relative to the calendar (`('week', 'mon')`); `other` is a
    second key it clashes with, when there is one.
    """

    path: tuple[str | int, ...]
    message: str
    other: tuple[str | int, ...] | None = None


class Calendar(_Frozen):
    """One calendar: a time zone, weekly hours, holidays and special days."""

    timezone: ZoneName = Field(description="IANA time zone, e.g. Europe/Moscow.")
    description: str = Field(default="", description="What this calendar is for (free text).")
    week: Mapping[WeekdayKey, DayHours] = Field(
        default_factory=dict,
        description="Weekday or range of weekdays (mon, mon-fri) -> opening hours."
        " A weekday not given is closed.",
    )
    holidays: Annotated[
        Mapping[DaySpanKey, Annotated[str | None, BeforeValidator(_holiday_name)]],
        BeforeValidator(_holidays),
    ] = Field(
        default_factory=dict,
        description="Date (2026-02-23), yearly date (01-07) or range (01-01..01-08) -> name.",
    )
    special_days: Mapping[DaySpanKey, SpecialDay] = Field(
        default_factory=dict, description="Date, yearly date or range -> that day's own hours."
    )

    _weekly: tuple[tuple[tuple[int, int], ...], ...] = PrivateAttr(default=())
    _entries: tuple[_Entry, ...] = PrivateAttr(default=())
    _last_dated: date | None = PrivateAttr(default=None)
    _february_29: bool = PrivateAttr(default=False)

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> Calendar:
        if (info.context or {}).get(FROM_FILE):
            return self  # the loader reports these with their own lines
        issues = calendar_issues(self)
        if issues:
            raise ValueError("; ".join(issue.message for issue in issues))
        return self

    def model_post_init(self, context: Any, /) -> None:
        weekly: list[list[tuple[int, int]]] = [[] for _ in WEEKDAYS]
        for key, intervals in self.week.items():
            for weekday in parse_weekdays(key):
                weekly[weekday].extend((i.start, i.end) for i in intervals)
        self._weekly = tuple(tuple(sorted(day)) for day in weekly)
        entries: list[_Entry] = []
        for key, name in self.holidays.items():
            entries.append(_Entry(parse_day_span(key), False, len(entries), name, ()))
        for key, special in self.special_days.items():
            hours = tuple((i.start, i.end) for i in special.hours)
            entries.append(_Entry(parse_day_span(key), True, len(entries), special.name, hours))
        self._entries = tuple(sorted(entries, key=lambda entry: entry.rank))
        dated = [e.span.last_date for e in entries if e.span.last_date is not None]
        self._last_dated = max(dated) if dated else None
        self._february_29 = any(e.span.touches_february_29 for e in entries)

    @property
    def zone(self) -> tzinfo:
        return zone_from_name(self.timezone)

    def weekly_hours(self, weekday: int) -> tuple[tuple[int, int], ...]:
        """(start, end) minutes of a weekday (0 = Monday) from `week`, sorted."""
        return self._weekly[weekday]

    def day_plan(self, day: date) -> DayPlan:
        """What local date `day` looks like: its hours, or that it is a holiday."""
        for entry in self._entries:  # sorted: the first that covers `day` wins
            if entry.span.covers(day):
                if entry.special:
                    return DayPlan(entry.hours, special=True, name=entry.name)
                return DayPlan((), holiday=True, name=entry.name)
        return DayPlan(self._weekly[day.weekday()])

    @property
    def is_constant(self) -> bool:
        """Always open or always closed: no holidays, no special days, same every day."""
        if self._entries:
            return False
        days = set(self._weekly)
        return len(days) == 1 and days.pop() in ((), ((0, MINUTES_PER_DAY),))

    def search_horizon(self, start: date) -> date:
        """The last date worth searching for a change from `start`."""
        base = max(start, self._last_dated or start)
        years = 8 if self._february_29 else 1  # 29 February can be eight years away
        try:
            return base + timedelta(days=366 * years + 8)
        except OverflowError:
            return date.max - _DAY

    def timeline(self) -> Timeline:
        return Timeline(self.zone, self.day_plan, self.search_horizon)


def calendar_issues(calendar: Calendar) -> list[CalendarIssue]:
    """Problems across keys: a weekday given twice, a night running into the next day's hours."""
    issues: list[CalendarIssue] = []
    owner: dict[int, str] = {}
    for key in calendar.week:
        for weekday in parse_weekdays(key):
            if weekday in owner:
                issues.append(
                    CalendarIssue(
                        ("week", key),
                        f"{WEEKDAYS[weekday]} is given twice: in {owner[weekday]!r} and {key!r}",
                        ("week", owner[weekday]),
                    )
                )
            else:
                owner[weekday] = key
    reported: set[tuple[str, str]] = set()
    for weekday, key in sorted(owner.items()):
        following = (weekday + 1) % 7
        next_key = owner.get(following)
        if next_key is None or (key, next_key) in reported:
            continue
        for night in calendar.week[key]:
            if not night.overnight:
                continue
            clash = [i for i in calendar.week[next_key] if i.start < night.end]
            if clash:
                reported.add((key, next_key))
                issues.append(
                    CalendarIssue(
                        ("week", key),
                        f"{WEEKDAYS[weekday]} {night} runs past midnight into"
                        f" {WEEKDAYS[following]} {clash[0]}",
                        ("week", next_key),
                    )
                )
    return issues


class UnknownCalendar(LookupError):
    """`status` was asked about a calendar the file does not define."""


@dataclass(frozen=True)
class HoursStatus:
    """Where a calendar stands at one moment.

    `state` is "open", "closed" or "holiday". `holiday` is the holiday's
    name on a holiday (None when it has none, or on other days); `special_day`
    the name of the special day whose hours apply to that date. `next_change`
    is the next moment the state changes, with `next_state` the state it
    becomes (both None when it never changes); times are in the calendar's zone.
    Python adds and subtracts aware datetimes on the wall clock: near a DST
    change, convert to UTC before stepping (`next_change.astimezone(UTC)`).
    """

    calendar: str
    at: datetime
    state: State
    holiday: str | None = None
    special_day: str | None = None
    next_change: datetime | None = None
    next_state: State | None = None

    @property
    def is_open(self) -> bool:
        return self.state == "open"


def _some_calendars(value: Mapping[str, Calendar]) -> Mapping[str, Calendar]:
    if not value:
        raise ValueError(
            "no calendars: define at least one, e.g. office: {timezone: UTC, week: ...}"
        )
    return value


class HoursConfig(_Frozen):
    """Every calendar of config/hours.yaml and which one is the default."""

    calendars: Annotated[Mapping[CalendarName, Calendar], AfterValidator(_some_calendars)] = Field(
        description="Calendar name -> calendar."
    )
    default: CalendarName = Field(description="The calendar used when none is named.")

    @field_validator("default")
    @classmethod
    def _known_default(cls, value: str, info: ValidationInfo) -> str:
        calendars = info.data.get("calendars")
        names: list[str] | None = None
        if isinstance(calendars, Mapping):
            names = [str(name) for name in calendars]
        elif info.context is not None and info.context.get(CALENDAR_NAMES) is not None:
            names = list(info.context[CALENDAR_NAMES])
        if names is not None and value not in names:
            raise ValueError(_unknown_calendar(value, names))
        return value

    @property
    def calendar_names(self) -> tuple[str, ...]:
        return tuple(self.calendars)

    def calendar(self, name: str | None = None) -> Calendar:
        """The calendar called `name` (None: the default); UnknownCalendar if none is."""
        found = self.calendars.get(self.default if name is None else name)
        if found is None:
            raise UnknownCalendar(_unknown_calendar(str(name), list(self.calendars)))
        return found

    def status(self, calendar_name: str | None, at: datetime) -> HoursStatus:
        """Open, closed or holiday at `at` (aware), and when that changes next.

        `calendar_name` None means the default calendar.
        """
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError("at must be an aware datetime (with a time zone)")
        name = self.default if calendar_name is None else calendar_name
        calendar = self.calendar(name)
        zone = calendar.zone
        local = at.astimezone(zone)
        plan = calendar.day_plan(local.date())
        timeline = calendar.timeline()
        state = timeline.state(at)
        change = None if calendar.is_constant else timeline.next_change(at, state)
        return HoursStatus(
            calendar=name,
            at=local,
            state=state,
            holiday=plan.name if state == "holiday" else None,
            special_day=plan.name if plan.special else None,
            next_change=None if change is None else change[0],
            next_state=None if change is None else change[1],
        )

    def next_open(self, calendar_name: str | None, at: datetime) -> datetime | None:
        """When the calendar next opens after `at` (`at` itself if open); None if never."""
        status = self.status(calendar_name, at)
        if status.is_open:
            return status.at
        calendar = self.calendar(status.calendar)
        timeline = calendar.timeline()
        last = calendar.search_horizon(status.at.date())
        moment, state = status.next_change, status.next_state
        while moment is not None and state is not None:
            if state == "open":
                return moment
            if moment.date() > last:
                break
            found = timeline.next_change(moment, state)
            moment, state = (None, None) if found is None else found
        return None


def _unknown_calendar(name: str, names: list[str]) -> str:
    from fastagi.menus._validation import did_you_mean

    hint = did_you_mean(name, names) or (
        "calendars: " + ", ".join(names) if names else "no calendars are defined"
    )
    return f"unknown calendar {name!r}; {hint}"
