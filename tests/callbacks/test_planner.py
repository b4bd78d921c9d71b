"""The planner on the shipped `office` calendar (Moscow: Mon-Fri 09-18, Sat 10-14, holidays).

2026-03-02 is a Monday. Times are written in Moscow time (UTC+3).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

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
from fastagi.callbacks.planner import EMAIL_STALE_AFTER
from fastagi.hours import HoursConfig

MSK = ZoneInfo("Europe/Moscow")
RULES = CallbackRules()


def msk(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=MSK)


def request(call: datetime, *attempts: tuple[datetime, str], **changes: object) -> CallbackRequest:
    made = CallbackRequest(
        id=7,
        number="+79161234567",
        status="open",
        first_call=call.astimezone(UTC),
        last_call=call.astimezone(UTC),
        attempts=tuple(AttemptRecord(at.astimezone(UTC), outcome) for at, outcome in attempts),  # type: ignore[arg-type]
    )
    return replace(made, **changes)  # type: ignore[arg-type]


def attempt(step: object) -> Attempt:
    assert isinstance(step, Attempt), step
    return step


def test_a_call_at_ten_is_called_back_by_eleven(office_hours: HoursConfig) -> None:
    step = attempt(plan(request(msk(2, 10)), RULES, office_hours, msk(2, 10, 1)))
    assert step.at == msk(2, 10, 5)  # first_attempt_after: 5 minutes to call again themselves
    assert step.deadline == msk(2, 11)
    assert step.number == 1
    assert not step.is_due(msk(2, 10, 1)) and step.is_due(msk(2, 10, 5))


def test_a_call_at_eight_pm_is_called_back_after_the_next_opening(
    office_hours: HoursConfig,
) -> None:
    step = attempt(plan(request(msk(2, 20)), RULES, office_hours, msk(2, 20, 1)))
    assert msk(3, 9) <= step.at < msk(3, 9, 15)  # spread over opening_spread
    assert step.deadline == msk(3, 10)  # "within the hour" counts from the opening


def test_a_call_just_before_closing_waits_for_the_next_opening(office_hours: HoursConfig) -> None:
    step = attempt(plan(request(msk(2, 17, 58)), RULES, office_hours, msk(2, 17, 58)))
    assert msk(3, 9) <= step.at < msk(3, 9, 15)


def test_a_call_late_in_the_day_is_placed_before_closing(office_hours: HoursConfig) -> None:
    step = attempt(plan(request(msk(2, 17, 40)), RULES, office_hours, msk(2, 17, 40)))
    assert step.at == msk(2, 17, 45)
    assert step.deadline == msk(2, 18)  # never later than the closing


def test_spreading_is_stable_and_differs_between_requests(office_hours: HoursConfig) -> None:
    times = set()
    for request_id in range(1, 30):
        late = replace(request(msk(2, 20)), id=request_id)
        first = attempt(plan(late, RULES, office_hours, msk(2, 20, 1))).at
        assert attempt(plan(late, RULES, office_hours, msk(3, 8))).at == first
        times.add(first)
    assert len(times) > 10


def test_after_a_failed_attempt_the_next_is_tomorrow_within_hours(
    office_hours: HoursConfig,
) -> None:
    failed = request(msk(2, 10), (msk(2, 10, 5), "no_answer"))
    step = attempt(plan(failed, RULES, office_hours, msk(2, 10, 6)))
    assert msk(3, 9) <= step.at < msk(3, 9, 15)
    assert step.number == 2
    assert step.deadline == msk(3, 18)  # the end of that working day


def test_a_friday_failure_is_retried_on_saturday_then_monday(office_hours: HoursConfig) -> None:
    friday = request(msk(6, 17), (msk(6, 17, 5), "busy"))
    saturday = attempt(plan(friday, RULES, office_hours, msk(6, 17, 6))).at
    assert msk(7, 10) <= saturday < msk(7, 10, 15)
    twice = replace(friday, attempts=(*friday.attempts, AttemptRecord(saturday, "no_answer")))
    monday = attempt(plan(twice, RULES, office_hours, saturday)).at
    assert msk(9, 9) <= monday < msk(9, 9, 15)  # Sunday is closed (and 8 March a holiday)


def test_holidays_are_skipped(office_hours: HoursConfig) -> None:
    # 30 April 2026 is a short day (to 17:00); 1 May is a holiday; 2 May a Saturday.
    step = attempt(plan(request(msk(30, 17, 30, month=4)), RULES, office_hours, msk(30, 18, 0, 4)))
    assert msk(2, 10, 0, month=5) <= step.at < msk(2, 10, 15, month=5)


def test_two_attempts_a_day_keep_the_minimum_gap(office_hours: HoursConfig) -> None:
    rules = CallbackRules(attempts_per_day=2, min_gap=4 * 3600)
    one = request(msk(2, 10), (msk(2, 10, 5), "busy"))
    assert attempt(plan(one, rules, office_hours, msk(2, 10, 6))).at == msk(2, 14, 5)
    two = replace(one, attempts=(*one.attempts, AttemptRecord(msk(2, 14, 5), "busy")))
    assert attempt(plan(two, rules, office_hours, msk(2, 14, 6))).at >= msk(3, 9)


def test_a_late_scheduler_places_the_attempt_now_or_at_the_opening(
    office_hours: HoursConfig,
) -> None:
    fresh = request(msk(2, 10))
    assert attempt(plan(fresh, RULES, office_hours, msk(2, 12))).at == msk(2, 12)
    # Down all evening: the attempt waits for the opening (no spread when late).
    assert attempt(plan(fresh, RULES, office_hours, msk(2, 19))).at == msk(3, 9)


def test_the_third_failure_with_an_email_sends_one_letter(office_hours: HoursConfig) -> None:
    three = request(
        msk(2, 10),
        (msk(2, 10, 5), "no_answer"),
        (msk(3, 9, 5), "busy"),
        (msk(4, 9, 5), "failed"),
        email="client@example.com",
    )
    assert plan(three, RULES, office_hours, msk(4, 9, 6)) == SendEmail()
    sent = replace(three, email_state="sent")
    assert plan(sent, RULES, office_hours, msk(4, 9, 7)) == Close("emailed")


def test_the_third_failure_without_an_email_gives_up(office_hours: HoursConfig) -> None:
    three = request(
        msk(2, 10), (msk(2, 10, 5), "no_answer"), (msk(3, 9, 5), "busy"), (msk(4, 9, 5), "busy")
    )
    assert plan(three, RULES, office_hours, msk(4, 9, 6)) == Close("gave_up")
    letters_off = CallbackRules(email={"enabled": False})
    with_email = replace(three, email="client@example.com")
    assert plan(with_email, letters_off, office_hours, msk(4, 9, 6)) == Close("gave_up")


def test_an_answered_attempt_closes_the_request(office_hours: HoursConfig) -> None:
    answered = request(msk(2, 10), (msk(2, 10, 5), "busy"), (msk(3, 9, 5), "answered"))
    assert plan(answered, RULES, office_hours, msk(3, 9, 6)) == Close("answered")


def test_a_closed_request_stays_closed(office_hours: HoursConfig) -> None:
    closed = request(msk(2, 10), status="closed", closed_reason="reached")
    assert plan(closed, RULES, office_hours, msk(2, 11)) == Close("reached")


def test_a_letter_in_flight_is_waited_for_then_never_resent(office_hours: HoursConfig) -> None:
    three = request(
        msk(2, 10),
        (msk(2, 10, 5), "busy"),
        (msk(3, 9, 5), "busy"),
        (msk(4, 9, 5), "busy"),
        email="client@example.com",
        email_state="sending",
        email_at=msk(4, 9, 6),
    )
    waiting = plan(three, RULES, office_hours, msk(4, 9, 7))
    assert waiting == Wait(msk(4, 9, 6) + EMAIL_STALE_AFTER, "the letter is being sent")
    assert plan(three, RULES, office_hours, msk(4, 9, 6) + EMAIL_STALE_AFTER) == Close("gave_up")
    for state in ("unknown", "failed"):
        final = replace(three, email_state=state)
        assert plan(final, RULES, office_hours, msk(4, 10)) == Close("gave_up")


def test_a_failed_send_is_retried_later_a_limited_number_of_times(
    office_hours: HoursConfig,
) -> None:
    pending = request(
        msk(2, 10),
        (msk(2, 10, 5), "busy"),
        (msk(3, 9, 5), "busy"),
        (msk(4, 9, 5), "busy"),
        email="client@example.com",
        email_state="pending",
        email_tries=1,
        email_at=msk(4, 9, 6),
    )
    retry_at = msk(4, 9, 6) + timedelta(seconds=RULES.email.retry_every)
    assert plan(pending, RULES, office_hours, msk(4, 9, 7)) == Wait(
        retry_at, "the mail server failed; trying again"
    )
    assert plan(pending, RULES, office_hours, retry_at) == SendEmail()
    worn_out = replace(pending, email_tries=RULES.email.max_tries)
    assert plan(worn_out, RULES, office_hours, retry_at) == Close("gave_up")


def test_an_admin_retry_grants_one_more_attempt(office_hours: HoursConfig) -> None:
    three = request(
        msk(2, 10),
        (msk(2, 10, 5), "busy"),
        (msk(3, 9, 5), "busy"),
        (msk(4, 9, 5), "busy"),
        granted_attempts=4,
        email="client@example.com",
        email_state="sent",
    )
    step = attempt(plan(three, RULES, office_hours, msk(4, 12)))
    assert step.number == 4 and step.at >= msk(5, 9)  # still one a day
    four = replace(three, attempts=(*three.attempts, AttemptRecord(step.at, "busy")))
    assert plan(four, RULES, office_hours, step.at) == Close("emailed")  # not a second letter


def test_attempts_are_counted_in_the_calendar_zone(office_hours: HoursConfig) -> None:
    # 23:30 UTC on Monday is 02:30 on Tuesday in Moscow: a failure at Tuesday 09:05
    # MSK makes Tuesday full, so the next attempt is Wednesday.
    rules = CallbackRules(calendar="support_24x7", min_gap=0)
    failed = request(msk(3, 2, 30), (msk(3, 9, 5), "busy"))
    step = attempt(plan(failed, rules, office_hours, msk(3, 9, 6)))
    assert step.at == msk(4, 0, 0)


def test_now_must_be_aware(office_hours: HoursConfig) -> None:
    with pytest.raises(ValueError, match="aware"):
        plan(request(msk(2, 10)), RULES, office_hours, datetime(2026, 3, 2, 10))
