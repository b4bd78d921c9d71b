"""Turning a calendar's days into moments: the state at an instant and when it changes.

A day's plan says, in wall-clock minutes, when that local date is open, or
that it is a holiday. This module places those minutes on the real time
line of the calendar's zone:

* a wall time that does not exist (clocks jump forward over it) happens at
  the jump: an opening at 02:30 on the night 02:00 becomes 03:00 opens at 03:00;
* a wall time that happens twice (clocks go back) happens the first time;
* a holiday is the whole local date, 00:00 to 24:00: a shift running past
  midnight from the evening before stops when the holiday starts.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Literal

from fastagi.hours._text import MINUTES_PER_DAY

__all__ = ["DayPlan", "State", "Timeline"]

State = Literal["open", "closed", "holiday"]

_DAY = timedelta(days=1)
_SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class DayPlan:
    """What one local date looks like.

    `intervals` are (start, end) in minutes after that date's midnight; an
    end at or before the start runs into the next date. They are empty on a
    holiday. `holiday` is True on a holiday, with `name` its name (or None);
    on a special day `special` is True and `name` is the special day's name.
    """

    intervals: tuple[tuple[int, int], ...]
    holiday: bool = False
    special: bool = False
    name: str | None = None

    @property
    def all_day(self) -> bool:
        return self.intervals == ((0, MINUTES_PER_DAY),)


_Segment = tuple[datetime, datetime, State]


def _instant(zone: tzinfo, wall: datetime) -> datetime:
    """The first UTC instant whose wall time in `zone` is `wall` or later."""
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first  # exists; fold=0 is the first of two when clocks go back
    other = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    low, high = min(first, other), max(first, other)
    # In a gap: find the jump, to the second (transitions fall on whole seconds).
    while high - low > _SECOND:
        middle = low + (high - low) / 2
        middle = middle.replace(microsecond=0)
        if middle <= low:
            break
        if middle.astimezone(zone).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return high


class Timeline:
    """The states of one calendar on the real time line, for one query.

    `plan` gives the plan of a local date; `horizon` is the last local date
    worth searching for a change (after it nothing new can happen).
    """

    def __init__(
        self, zone: tzinfo, plan: Callable[[date], DayPlan], horizon: Callable[[date], date]
    ) -> None:
        self.zone = zone
        self.plan = plan
        self.horizon = horizon
        self._segments: dict[date, tuple[_Segment, ...]] = {}

    def local_date(self, at: datetime) -> date:
        return at.astimezone(self.zone).date()

    def midnight(self, day: date) -> datetime:
        return _instant(self.zone, datetime.combine(day, time()))

    def segments(self, day: date) -> tuple[_Segment, ...]:
        """The open and holiday spans that belong to local date `day`."""
        found = self._segments.get(day)
        if found is not None:
            return found
        plan = self.plan(day)
        wall = datetime.combine(day, time())
        out: list[_Segment] = []
        if plan.holiday:
            out.append((self.midnight(day), self.midnight(day + _DAY), "holiday"))
        else:
            next_is_holiday = self.plan(day + _DAY).holiday
            for start, end in plan.intervals:
                begin = wall + timedelta(minutes=start)
                if end <= start:  # runs past midnight
                    finish = wall + _DAY + timedelta(minutes=end)
                    if next_is_holiday:
                        finish = wall + _DAY
                else:
                    finish = wall + timedelta(minutes=end)
                first, last = _instant(self.zone, begin), _instant(self.zone, finish)
                if last > first:
                    out.append((first, last, "open"))
        found = tuple(out)
        self._segments[day] = found
        return found

    def state(self, at: datetime) -> State:
        """The state at instant `at` (aware)."""
        at = at.astimezone(UTC)  # compare instants, not wall times (PEP 495 folds)
        day = self.local_date(at)
        is_open = False
        for near in (day - _DAY, day, day + _DAY):
            for start, end, state in self.segments(near):
                if start <= at < end:
                    if state == "holiday":
                        return "holiday"
                    is_open = True
        return "open" if is_open else "closed"

    def next_change(self, at: datetime, state: State) -> tuple[datetime, State] | None:
        """The first instant after `at` whose state differs from `state`, and that state."""
        at = at.astimezone(UTC)
        day = self.local_date(at) - _DAY
        last = self.horizon(day)
        pending: list[datetime] = []
        while day <= last:
            for start, end, _ in self.segments(day):
                heapq.heappush(pending, start)
                heapq.heappush(pending, end)
            # Spans of later dates start at or after the next midnight.
            known_until = self.midnight(day + _DAY)
            while pending and pending[0] < known_until:
                moment = heapq.heappop(pending)
                if moment <= at:
                    continue
                now = self.state(moment)
                if now != state:
                    return moment.astimezone(self.zone), now
            day += _DAY
        return None
