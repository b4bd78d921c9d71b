"""Properties of `status` over random calendars and moments.

* the state holds from a moment until `next_change`, and `next_change` brings
  a different state (the one it names), in zones with and without DST;
* without DST, `status` agrees with a minute-by-minute reading of the rules
  written here from docs (a day's intervals, nights running into the next
  day, holidays closing the whole date).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from fastagi.hours import HoursConfig
from fastagi.hours._text import WEEKDAYS

ZONES = ["UTC", "Europe/Moscow", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"]
FIRST_DAY = date(2026, 1, 1)


def clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@st.composite
def day_hours(draw: st.DrawFn) -> list[str]:
    """Non-overlapping intervals on half hours, the last one perhaps past midnight."""
    marks = sorted(draw(st.sets(st.integers(0, 48), max_size=6)))
    pairs = list(zip(marks[::2], marks[1::2], strict=False))
    out = [f"{clock(a * 30)}-{clock(b * 30)}" for a, b in pairs if a != b]
    if draw(st.booleans()) and (not pairs or pairs[-1][1] < 47):
        start = (pairs[-1][1] if pairs else 0) + draw(st.integers(1, 4))
        start = min(start, 47)
        end = draw(st.integers(1, 12))
        if end < start:
            out.append(f"{clock(start * 30)}-{clock(end * 30)}")
    return out


def span_text(first: int, length: int) -> str:
    start = FIRST_DAY + timedelta(days=first)
    if length == 1:
        return start.isoformat()
    return f"{start.isoformat()}..{(start + timedelta(days=length - 1)).isoformat()}"


@st.composite
def calendars(draw: st.DrawFn, zones: list[str]) -> HoursConfig:
    week = {day: draw(day_hours()) for day in WEEKDAYS if draw(st.booleans())}
    holidays: dict[str, str | None] = {}
    for _ in range(draw(st.integers(0, 4))):
        text = span_text(draw(st.integers(0, 60)), draw(st.integers(1, 4)))
        holidays[text] = draw(st.sampled_from([None, "Holiday"]))
    if draw(st.booleans()):
        holidays[f"{draw(st.integers(1, 12)):02d}-{draw(st.integers(1, 28)):02d}"] = "Yearly"
    special: dict[str, Any] = {}
    for _ in range(draw(st.integers(0, 3))):
        text = span_text(draw(st.integers(0, 60)), draw(st.integers(1, 3)))
        special[text] = {"hours": draw(day_hours()), "name": "Special"}
    raw = {
        "default": "c",
        "calendars": {
            "c": {
                "timezone": draw(st.sampled_from(zones)),
                "week": week,
                "holidays": holidays,
                "special_days": special,
            }
        },
    }
    try:
        return HoursConfig.model_validate(raw)
    except ValidationError:
        assume(False)
        raise


moments = st.datetimes(
    min_value=datetime(2025, 12, 20), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)
)
# DST days in the zones above, to land near the jumps often.
dst_days = st.sampled_from(
    [
        datetime(2026, 3, 8, tzinfo=UTC),  # New York
        datetime(2026, 3, 29, tzinfo=UTC),  # Berlin
        datetime(2026, 4, 5, tzinfo=UTC),  # Lord Howe (30 minutes)
        datetime(2026, 10, 4, tzinfo=UTC),
        datetime(2026, 10, 25, tzinfo=UTC),
        datetime(2026, 11, 1, tzinfo=UTC),
    ]
)
near_dst = st.builds(
    lambda day, offset: day + timedelta(minutes=offset), dst_days, st.integers(-1440, 2880)
)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(config=calendars(ZONES), at=st.one_of(moments, near_dst), fraction=st.floats(0, 1))
def test_state_holds_until_next_change(config: HoursConfig, at: datetime, fraction: float) -> None:
    status = config.status("c", at)
    change = status.next_change
    if change is None:
        assert status.next_state is None
        later = at + timedelta(days=400 * fraction)
        assert config.status("c", later).state == status.state
        return
    assert change > at
    change = change.astimezone(UTC)  # aware arithmetic is on the wall clock: step in UTC
    after = config.status("c", change)
    assert after.state == status.next_state != status.state
    just_before = change - timedelta(microseconds=1)
    assert config.status("c", just_before).state == status.state
    between = at + (change - at) * fraction
    if between < change:
        assert config.status("c", between).state == status.state


@SETTINGS
@given(config=calendars(ZONES), at=st.one_of(moments, near_dst))
def test_next_open_is_open_and_nothing_opens_before(config: HoursConfig, at: datetime) -> None:
    opens = config.next_open("c", at)
    status = config.status("c", at)
    if opens is None:
        assert status.state != "open"
        return
    assert opens >= at
    assert config.status("c", opens).state == "open"
    moment, state = status.at, status.state
    while state != "open":  # walk the changes: none before `opens` is an opening
        step = config.status("c", moment)
        assert step.next_change is not None and step.next_state is not None
        moment, state = step.next_change, step.next_state
    assert moment.astimezone(UTC) == opens.astimezone(UTC)


def reference_state(config: HoursConfig, at: datetime) -> str:
    """The rules read minute by minute (for a zone with a fixed offset)."""
    calendar = config.calendar("c")
    local = at.astimezone(ZoneInfo(calendar.timezone) if calendar.timezone != "UTC" else UTC)
    today = local.date()
    minute = local.hour * 60 + local.minute
    plan = calendar.day_plan(today)
    if plan.holiday:
        return "holiday"
    for start, end in plan.intervals:
        stop = end if end > start else 24 * 60
        if start <= minute < stop:
            return "open"
    yesterday = calendar.day_plan(today - timedelta(days=1))
    if not yesterday.holiday:
        for start, end in yesterday.intervals:
            if end <= start and minute < end:
                return "open"
    return "closed"


@SETTINGS
@given(
    config=calendars(["UTC", "Europe/Moscow"]),
    at=moments.map(lambda m: m.replace(second=0, microsecond=0)),
)
def test_status_matches_the_rules_read_minute_by_minute(config: HoursConfig, at: datetime) -> None:
    assert config.status("c", at).state == reference_state(config, at)
