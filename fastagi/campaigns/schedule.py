"""When and in which order entries are called: pure functions, no I/O.

Order: a higher `priority` first; among equal priorities, the order rows
were loaded in (file order). `order_score` folds both into one number, the
score of the pending sorted set, so Redis keeps the order itself.

Event calls: an entry with an `event_date` is called only from
`EVENT_DAYS_BEFORE` days before the event to `EVENT_DAYS_AFTER` days after
it, both days included, by the calendar of the centre's time zone. Before
that it waits; after it, it expires without a call.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Final, Literal

from fastagi.campaigns.model import MAX_PRIORITY, MIN_PRIORITY, NewEntry

__all__ = [
    "EVENT_DAYS_AFTER",
    "EVENT_DAYS_BEFORE",
    "ORDER_SPAN",
    "WindowState",
    "day_number",
    "dial_order",
    "event_window",
    "local_today",
    "order_score",
    "window_state",
]

EVENT_DAYS_BEFORE: Final = 2
EVENT_DAYS_AFTER: Final = 2

#: Entry ids stay below this, so a priority step always outweighs file order.
ORDER_SPAN: Final = 10**10

WindowState = Literal["wait", "due", "expired"]


def local_today(now: datetime, zone: tzinfo) -> date:
    """The calendar day `now` falls on in `zone` (a naive `now` is taken as UTC)."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return now.astimezone(zone).date()


def event_window(
    event_date: date, *, before: int = EVENT_DAYS_BEFORE, after: int = EVENT_DAYS_AFTER
) -> tuple[date, date]:
    """The first and the last day on which an event's entry may be called."""
    return event_date - timedelta(days=before), event_date + timedelta(days=after)


def window_state(event_date: date | None, today: date) -> WindowState:
    """`wait` before the event window opens, `due` inside it, `expired` after it.

    An entry without an event date is always due.
    """
    if event_date is None:
        return "due"
    first, last = event_window(event_date)
    if today < first:
        return "wait"
    return "due" if today <= last else "expired"


def day_number(day: date) -> int:
    """`date(2026, 12, 3)` -> `20261203`: a day as a sorted-set score people can read."""
    return day.year * 10000 + day.month * 100 + day.day


def order_score(priority: int, seq: int) -> int:
    """The pending score of an entry: lower is called first.

    `seq` is the entry's load order (its id). Exact as a Redis score: the
    largest value is below 2**53.
    """
    if not MIN_PRIORITY <= priority <= MAX_PRIORITY:
        raise ValueError(f"priority {priority} is outside {MIN_PRIORITY}..{MAX_PRIORITY}")
    if not 0 < seq < ORDER_SPAN:
        raise ValueError(f"entry sequence {seq} is outside 1..{ORDER_SPAN - 1}")
    return (MAX_PRIORITY - priority) * ORDER_SPAN + seq


def dial_order(entries: Iterable[NewEntry]) -> list[NewEntry]:
    """Entries in the order they are called: priority high to low, then file order."""
    return sorted(entries, key=lambda entry: (-entry.priority, entry.line))
