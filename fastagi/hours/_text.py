"""Reading the small texts of config/hours.yaml: times, intervals, weekdays, dates.

Every function here raises ValueError with a message an admin can act on;
the models turn it into a file:line problem. Nothing here knows about YAML.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

__all__ = [
    "MINUTES_PER_DAY",
    "WEEKDAYS",
    "DaySpan",
    "format_clock",
    "parse_clock",
    "parse_day_span",
    "parse_interval",
    "parse_weekdays",
]

MINUTES_PER_DAY = 24 * 60

#: Weekday keys in `date.weekday()` order (Monday is 0).
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")
_INTERVAL = re.compile(r"\s*([^\s-]+)\s*-\s*([^\s-]+)\s*")
_DATED = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_YEARLY = re.compile(r"(\d{1,2})-(\d{1,2})")
_LEAP_YEAR = 2000  # any leap year: yearly dates are checked and measured in it


def _did_you_mean(word: str, choices: tuple[str, ...]) -> str:
    from fastagi.menus._validation import did_you_mean

    return did_you_mean(word, choices)


def format_clock(minutes: int) -> str:
    """`540` -> `09:00`; `1440` -> `24:00`."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_clock(text: str) -> int:
    """Minutes after midnight of `HH:MM` (00:00 to 24:00; `9:30` is accepted)."""
    match = _CLOCK.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a time of day: write it as HH:MM, e.g. 09:00")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes > 59:
        raise ValueError(f"{text!r} is not a time of day: minutes go from 00 to 59")
    if hours > 24 or (hours == 24 and minutes):
        raise ValueError(f"{text!r} is not a time of day: hours go from 00 to 23 (and 24:00)")
    return hours * 60 + minutes


def parse_interval(text: str) -> tuple[int, int]:
    """`09:00-18:00` -> (540, 1080), in minutes after midnight.

    An end earlier than the start means the interval runs past midnight into
    the next day (`22:00-06:00`). `24:00` may only end an interval; an
    interval may not start and end at the same time.
    """
    match = _INTERVAL.fullmatch(text)
    if match is None:
        raise ValueError(
            f"{text!r} is not an interval: write start and end as HH:MM-HH:MM, e.g. 09:00-18:00"
        )
    try:
        start, end = parse_clock(match.group(1)), parse_clock(match.group(2))
    except ValueError as exc:
        raise ValueError(f"{text!r}: {exc}") from None
    if start == MINUTES_PER_DAY:
        raise ValueError(f"{text!r}: 24:00 can only end an interval; start the day at 00:00")
    if start == end:
        raise ValueError(
            f"{text!r} starts and ends at the same time; for the whole day write 00:00-24:00"
        )
    if end == 0:
        raise ValueError(f"{text!r}: an interval that ends at midnight ends at 24:00")
    return start, end


def _weekday(text: str) -> int:
    name = text.strip().lower()
    if name in WEEKDAYS:
        return WEEKDAYS.index(name)
    if name in _FULL_NAMES:
        return _FULL_NAMES.index(name)
    hint = _did_you_mean(name, WEEKDAYS + _FULL_NAMES)
    raise ValueError(
        f"unknown day {text.strip()!r}; "
        + (hint or "days are mon, tue, wed, thu, fri, sat, sun, or a range such as mon-fri")
    )


def parse_weekdays(text: str) -> tuple[int, ...]:
    """`mon` -> (0,); `mon-fri` -> (0, 1, 2, 3, 4); `fri-mon` wraps to (4, 5, 6, 0)."""
    parts = text.split("-")
    if len(parts) == 1:
        return (_weekday(parts[0]),)
    if len(parts) != 2:
        raise ValueError(f"{text!r} is not a day or a range of days such as mon-fri")
    first, last = _weekday(parts[0]), _weekday(parts[1])
    if first == last:
        return (first,)
    count = (last - first) % 7 + 1
    return tuple((first + step) % 7 for step in range(count))


@dataclass(frozen=True)
class DaySpan:
    """One date or a range of dates, either on the calendar or every year.

    A dated span has `first` and `last` as `date`s. A yearly span has them
    as (month, day) and may wrap over the new year (`12-31..01-08`); a yearly
    29 February counts in leap years only.
    """

    yearly: bool
    first: tuple[int, int, int]  # (year, month, day); year 0 when yearly
    last: tuple[int, int, int]

    @property
    def days(self) -> int:
        """How many days the span covers (in a leap year, for yearly spans)."""
        if not self.yearly:
            return (date(*self.last) - date(*self.first)).days + 1
        first = date(_LEAP_YEAR, *self.first[1:])
        last = date(_LEAP_YEAR, *self.last[1:])
        return (last - first).days % 366 + 1

    @property
    def last_date(self) -> date | None:
        """The last day of a dated span (None for a yearly one)."""
        return None if self.yearly else date(*self.last)

    @property
    def touches_february_29(self) -> bool:
        """A yearly span that covers 29 February (it happens once in four years)."""
        return self.yearly and self.covers(date(_LEAP_YEAR, 2, 29))

    def covers(self, day: date) -> bool:
        if not self.yearly:
            return date(*self.first) <= day <= date(*self.last)
        here = (day.month, day.day)
        first, last = self.first[1:], self.last[1:]
        if first <= last:
            return first <= here <= last
        return here >= first or here <= last


def _one_date(text: str) -> tuple[bool, tuple[int, int, int]]:
    text = text.strip()
    dated = _DATED.fullmatch(text)
    if dated is not None:
        year, month, day = (int(g) for g in dated.groups())
        try:
            date(year, month, day)
        except ValueError:
            raise ValueError(f"{text!r} is not a date (YYYY-MM-DD)") from None
        return False, (year, month, day)
    yearly = _YEARLY.fullmatch(text)
    if yearly is not None:
        month, day = (int(g) for g in yearly.groups())
        try:
            date(_LEAP_YEAR, month, day)
        except ValueError:
            raise ValueError(
                f"{text!r} is not a date: a yearly date is MM-DD, month first (01-07 is 7 January)"
            ) from None
        return True, (0, month, day)
    raise ValueError(
        f"{text!r} is not a date: write YYYY-MM-DD for one day, MM-DD for every year,"
        " or a range such as 01-01..01-08"
    )


def parse_day_span(text: str) -> DaySpan:
    """`2026-02-23`, `01-07` (every year), `01-01..01-08`, `2026-12-31..2027-01-08`."""
    parts = text.split("..")
    if len(parts) > 2:
        raise ValueError(f"{text!r}: a range has one '..' between its first and last day")
    first_yearly, first = _one_date(parts[0])
    if len(parts) == 1:
        return DaySpan(first_yearly, first, first)
    last_yearly, last = _one_date(parts[1])
    if first_yearly != last_yearly:
        raise ValueError(
            f"{text!r} mixes a yearly date and a full date: write 01-01..01-08 (every year)"
            " or 2026-12-31..2027-01-08 (once)"
        )
    if not first_yearly and last < first:
        raise ValueError(f"{text!r} ends before it starts")
    return DaySpan(first_yearly, first, last)
