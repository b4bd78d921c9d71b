"""Order and event windows, as pure functions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from fastagi.campaigns.model import MAX_PRIORITY, MIN_PRIORITY, NewEntry
from fastagi.campaigns.schedule import (
    ORDER_SPAN,
    day_number,
    dial_order,
    event_window,
    local_today,
    order_score,
    window_state,
)

EVENT = date(2026, 12, 10)


def test_event_window_is_two_days_either_side_inclusive() -> None:
    assert event_window(EVENT) == (date(2026, 12, 8), date(2026, 12, 12))
    states = {
        offset: window_state(EVENT, EVENT + timedelta(days=offset)) for offset in range(-3, 4)
    }
    assert states == {
        -3: "wait",
        -2: "due",
        -1: "due",
        0: "due",
        1: "due",
        2: "due",
        3: "expired",
    }
    assert window_state(None, EVENT) == "due"


def test_today_is_the_centres_calendar_day() -> None:
    moscow = ZoneInfo("Europe/Moscow")
    late_utc = datetime(2026, 12, 7, 21, 30, tzinfo=UTC)  # 00:30 on the 8th in Moscow
    assert local_today(late_utc, UTC) == date(2026, 12, 7)
    assert local_today(late_utc, moscow) == date(2026, 12, 8)
    assert local_today(datetime(2026, 12, 7, 21, 30), moscow) == date(2026, 12, 8)  # naive = UTC
    assert window_state(EVENT, local_today(late_utc, moscow)) == "due"


def test_day_number_is_readable_and_ordered() -> None:
    assert day_number(date(2026, 12, 3)) == 20261203
    assert day_number(date(2026, 12, 31)) < day_number(date(2027, 1, 1))


priorities = st.integers(MIN_PRIORITY, MAX_PRIORITY)
seqs = st.integers(1, ORDER_SPAN - 1)


@given(priorities, seqs, priorities, seqs)
def test_order_score_sorts_by_priority_then_sequence(p1: int, s1: int, p2: int, s2: int) -> None:
    a, b = order_score(p1, s1), order_score(p2, s2)
    assert (a < b) == ((-p1, s1) < (-p2, s2))
    assert a < 2**53 and float(a) == a  # exact as a Redis score


def test_dial_order_is_priority_high_to_low_then_file_order() -> None:
    entries = [
        NewEntry(line, f"+7916123456{line}", priority)
        for line, priority in [(2, 0), (3, 5), (4, 10), (5, 5), (6, -1), (7, 10)]
    ]
    assert [e.line for e in dial_order(entries)] == [4, 7, 3, 5, 2, 6]
