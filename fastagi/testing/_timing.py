"""Asterisk's time specs, ``times,weekdays,mdays,months[,tz]`` (GotoIfTime, timed includes).

Each field is ``*`` or ``&``-separated items, an item a value or a ``start-end``
range that may wrap (``fri-mon``, ``22:00-06:00``). Times are ``HH:MM`` and the
end minute is included (``09:00-18:00`` matches 18:00:59 but not 18:01).
Weekdays and months are English three-letter names; days of the month 1-31.
The optional fifth field names the zone (an IANA name) the check is done in.
Malformed items are skipped, as Asterisk skips them with a warning.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["TimeSpec"]

_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_CLOCK = re.compile(r"\s*(\d{1,2}):(\d{1,2})")
_MINUTES_A_DAY = 24 * 60


def _lookup(text: str, names: tuple[str, ...] | None, size: int) -> int | None:
    text = text.strip().lower()
    if names is not None and text in names:
        return names.index(text)
    if names is None and text.isdigit() and 1 <= int(text) <= size:
        return int(text) - 1
    return None


def _range(field: str, names: tuple[str, ...] | None, size: int) -> frozenset[int]:
    """get_range: the set of 0-based positions an ``&`` list of items/ranges covers."""
    if not field.strip() or field.strip() == "*":
        return frozenset(range(size))
    chosen: set[int] = set()
    for item in field.split("&"):
        first, sep, last = item.partition("-")
        start = _lookup(first, names, size)
        end = _lookup(last, names, size) if sep else start
        if start is None or end is None:
            continue
        chosen.add(end)
        while start != end:
            chosen.add(start)
            start = (start + 1) % size
    return frozenset(chosen)


def _clock(text: str) -> int | None:
    match = _CLOCK.match(text)
    if match is None:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    return hour * 60 + minute if hour < 24 and minute < 60 else None


def _minutes(field: str) -> frozenset[int]:
    """get_timerange: the minutes of the day the field covers, the end minute included."""
    if not field.strip() or field.strip() == "*":
        return frozenset(range(_MINUTES_A_DAY))
    chosen: set[int] = set()
    for item in field.split("&"):
        first, sep, last = item.partition("-")
        start = _clock(first)
        end = _clock(last.lstrip(" \t")) if sep else start
        if start is None or end is None:
            continue
        chosen.add(end)
        while start != end:
            chosen.add(start)
            start = (start + 1) % _MINUTES_A_DAY
    return frozenset(chosen)


@dataclass(frozen=True)
class TimeSpec:
    """A parsed time spec; `matches` checks a moment against it."""

    minutes: frozenset[int]
    weekdays: frozenset[int]
    monthdays: frozenset[int]
    months: frozenset[int]
    zone: str | None = None

    @classmethod
    def parse(cls, spec: str) -> TimeSpec:
        """Parse ``times,weekdays,mdays,months[,tz]`` (old dialplans separate with ``|``)."""
        fields = re.split(r"[|,]", spec)
        zone = fields[4].strip() if len(fields) == 5 and fields[4].strip() else None
        fields += ["*"] * (4 - len(fields))
        return cls(
            minutes=_minutes(fields[0]),
            weekdays=_range(fields[1], _DAYS, 7),
            monthdays=_range(fields[2], None, 31),
            months=_range(fields[3], _MONTHS, 12),
            zone=zone,
        )

    def matches(self, moment: datetime) -> bool:
        """Whether ``moment`` (converted to the spec's zone, if any) falls in the spec."""
        if self.zone is not None:
            # an unknown zone name: Asterisk uses the system zone
            with contextlib.suppress(ZoneInfoNotFoundError, ValueError):
                moment = moment.astimezone(ZoneInfo(self.zone))
        weekday = (moment.weekday() + 1) % 7  # Sunday is 0, as in struct tm
        return (
            moment.month - 1 in self.months
            and moment.day - 1 in self.monthdays
            and weekday in self.weekdays
            and moment.hour * 60 + moment.minute in self.minutes
        )
