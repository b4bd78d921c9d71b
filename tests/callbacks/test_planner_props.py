"""Properties of the planner: a request is driven through its whole life on random calendars.

A simulated scheduler acts exactly when the planner says; each attempt gets a
random outcome. Whatever the calendar (time zones with DST, holidays, split
days), the rules and the outcomes:

* never two attempts on one local day (never more than `attempts_per_day`);
* never more than `max_attempts` attempts, never closer than `min_gap`;
* never an attempt outside business hours;
* the first attempt is within `first_attempt_within` of the call, or of an
  opening the centre reached after the call;
* planning again before the planned moment gives the same moment;
* the letter is asked for once, only after the last failed attempt, and only
  when the caller's email is known; the request then closes for the right reason.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from fastagi.callbacks import (
    Attempt,
    AttemptRecord,
    CallbackRequest,
    CallbackRules,
    Close,
    SendEmail,
    Wait,
    plan,
)
from fastagi.hours import HoursConfig
from fastagi.hours._text import WEEKDAYS

ZONES = ["UTC", "Europe/Moscow", "Europe/Berlin", "America/New_York"]
FIRST_DAY = datetime(2026, 1, 1, tzinfo=UTC)
OUTCOMES = ["busy", "no_answer", "failed", "answered"]


def clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@st.composite
def day_hours(draw: st.DrawFn) -> list[str]:
    """Up to three intervals on half hours, short ones often (shorter than the spread)."""
    starts = sorted(draw(st.sets(st.integers(0, 47), max_size=3)))
    out = []
    for index, start in enumerate(starts):
        limit = starts[index + 1] if index + 1 < len(starts) else 48
        length = draw(st.sampled_from([1, 2, 3, 6, 18, 48]))
        out.append(f"{clock(start * 30)}-{clock(min(start + length, limit) * 30)}")
    return out


@st.composite
def calendars(draw: st.DrawFn) -> HoursConfig:
    week = {day: draw(day_hours()) for day in WEEKDAYS}
    assume(any(week.values()))  # a calendar that never opens is tested on its own
    holidays: dict[str, str] = {}
    for _ in range(draw(st.integers(0, 3))):
        start = (FIRST_DAY + timedelta(days=draw(st.integers(0, 90)))).date()
        end = start + timedelta(days=draw(st.integers(0, 3)))
        holidays[f"{start.isoformat()}..{end.isoformat()}"] = "Holiday"
    raw: dict[str, Any] = {
        "default": "c",
        "calendars": {
            "c": {"timezone": draw(st.sampled_from(ZONES)), "week": week, "holidays": holidays}
        },
    }
    try:
        return HoursConfig.model_validate(raw)
    except ValidationError:
        assume(False)
        raise


@st.composite
def callback_rules(draw: st.DrawFn) -> CallbackRules:
    within = draw(st.sampled_from([600, 1800, 3600, 7200, 10800]))
    below = st.one_of(
        st.sampled_from([0, within // 4, within // 2, within - 1]), st.integers(0, within - 1)
    )
    return CallbackRules(
        first_attempt_within=within,
        first_attempt_after=draw(below),
        opening_spread=draw(below),
        attempts_per_day=draw(st.integers(1, 3)),
        max_attempts=draw(st.integers(1, 4)),
        min_gap=draw(st.sampled_from([0, 1800, 4 * 3600, 6 * 3600])),
    )


calls = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2026, 3, 31), timezones=st.just(UTC)
)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def was_closed_between(hours: HoursConfig, start: datetime, end: datetime) -> bool:
    """Whether the centre was not open at some moment in [start, end)."""
    status = hours.status(None, start)
    if not status.is_open:
        return True
    return status.next_change is not None and status.next_change.astimezone(UTC) < end


@SETTINGS
@given(
    hours=calendars(),
    rules=callback_rules(),
    call=calls,
    email=st.sampled_from([None, "client@example.com"]),
    data=st.data(),
)
def test_a_request_lives_by_the_rules(
    hours: HoursConfig,
    rules: CallbackRules,
    call: datetime,
    email: str | None,
    data: st.DataObject,
) -> None:
    request = CallbackRequest(
        id=data.draw(st.integers(1, 10**6)),
        number="+79161234567",
        status="open",
        first_call=call,
        last_call=call,
        email=email,
    )
    now = call
    letters = 0
    closed: Close | None = None
    for _ in range(40):
        step = plan(request, rules, hours, now)
        if isinstance(step, Attempt):
            assert step.at >= now  # the scheduler is never late here
            # Planning again at any moment before it gives the same attempt.
            between = now + (step.at - now) * data.draw(st.floats(0, 1))
            assert plan(request, rules, hours, between) == step
            assert hours.status(None, step.at).is_open
            assert step.number == len(request.attempts) + 1
            now = step.at
            outcome = data.draw(st.sampled_from(OUTCOMES))
            attempt = AttemptRecord(step.at, outcome)  # type: ignore[arg-type]
            request = replace(request, attempts=(*request.attempts, attempt))
        elif isinstance(step, SendEmail):
            assert email is not None and letters == 0
            assert len(request.attempts) == rules.max_attempts
            assert not request.answered
            letters += 1
            request = replace(request, email_state="sent")
        elif isinstance(step, Wait):
            assert step.until > now
            now = step.until
        else:
            closed = step
            break
    assert closed is not None, "the request never closed"

    attempts = request.attempts
    assert len(attempts) <= rules.max_attempts
    zone = hours.calendar(None).zone
    per_day = Counter(a.at.astimezone(zone).date() for a in attempts)
    assert max(per_day.values(), default=0) <= rules.attempts_per_day
    for before, after in pairwise(attempts):
        assert after.at - before.at >= timedelta(seconds=rules.min_gap)
    if attempts:
        first = attempts[0].at
        within = timedelta(seconds=rules.first_attempt_within)
        assert first - call <= within or was_closed_between(hours, max(call, first - within), first)
    if request.answered:
        assert attempts[-1].outcome == "answered" and closed == Close("answered")
        assert letters == 0
    elif email is not None:
        assert len(attempts) == rules.max_attempts
        assert letters == 1 and closed == Close("emailed")
    else:
        assert len(attempts) == rules.max_attempts
        assert letters == 0 and closed == Close("gave_up")


def test_a_calendar_that_never_opens_makes_the_request_wait() -> None:
    never = HoursConfig.model_validate(
        {"default": "c", "calendars": {"c": {"timezone": "UTC", "week": {}}}}
    )
    now = datetime(2026, 3, 2, 10, tzinfo=UTC)
    request = CallbackRequest(1, "+79161234567", "open", now, now)
    step = plan(request, CallbackRules(), never, now)
    assert isinstance(step, Wait) and step.until > now
