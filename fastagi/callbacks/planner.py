"""What to do next with a callback request: the contact centre's rules as one pure function.

    step = plan(request, rules, hours, now)
    match step:
        case Attempt(at=at) if at <= now: ...   # dial now (claim the request first)
        case Attempt(at=at): ...                # store.schedule(request.id, at)
        case Wait(until=until): ...             # store.schedule(request.id, until)
        case SendEmail(): ...                   # CallbackMailer.send(request.id)
        case Close(reason=reason): ...          # store.close(request.id, reason)

The rules (config/callbacks.yaml, business hours from config/hours.yaml):

* The first attempt is placed `first_attempt_after` after the client's
  (first) lost call, so it falls well within `first_attempt_within` of it.
  When the centre is closed at that moment (the call came after hours, or
  just before closing), the attempt waits for the next opening, plus a spread
  of up to `opening_spread` (fixed per request, so the morning's callbacks do
  not all start at 09:00:00), and "within the hour" counts from that opening.
* Later attempts come at least `min_gap` after the previous one, on a local
  day (in the calendar's time zone) with fewer than `attempts_per_day`
  attempts, in business hours - at the next opening (plus the spread) when
  the centre is closed then.
* An attempt the scheduler is late for is placed as soon as the rules allow
  from `now` (never twice a day, never outside hours).
* An answered attempt closes the request (`answered`). After
  `max_attempts` failed ones (or more, when an admin's retry granted them),
  one letter goes out if the caller's email is known and letters are on;
  then the request closes (`emailed`), or at once (`gave_up`) without one.

Nothing here reads a clock or Redis: the same request, rules and `now` give
the same step, and planning again before the planned moment gives the same
moment.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Final

from fastagi.callbacks.request import AttemptRecord, CallbackRequest, CloseReason
from fastagi.callbacks.rules import CallbackRules
from fastagi.hours import HoursConfig

__all__ = [
    "EMAIL_STALE_AFTER",
    "NEVER_OPEN_RECHECK",
    "Attempt",
    "Close",
    "SendEmail",
    "Step",
    "Wait",
    "opening_offset",
    "plan",
]

#: A letter left in `sending` this long is taken as a crashed send: never re-sent.
EMAIL_STALE_AFTER: Final = timedelta(minutes=15)
#: When the calendar never opens again (a broken calendar), look again after this.
NEVER_OPEN_RECHECK: Final = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Attempt:
    """Place attempt number `number` at `at` (UTC); it is due once `at <= now`.

    `deadline` is when it should have been placed by: the end of the first
    attempt's hour, and never later than the centre's closing that day (None
    when the centre does not close).
    """

    at: datetime
    number: int
    deadline: datetime | None = None

    def is_due(self, now: datetime) -> bool:
        return self.at <= now


@dataclass(frozen=True, slots=True)
class SendEmail:
    """Send the "you missed an important call" letter now."""


@dataclass(frozen=True, slots=True)
class Close:
    """Close the request, for `reason`."""

    reason: CloseReason


@dataclass(frozen=True, slots=True)
class Wait:
    """Nothing to do before `until` (UTC); `why` says what is awaited."""

    until: datetime
    why: str


Step = Attempt | SendEmail | Close | Wait


def plan(request: CallbackRequest, rules: CallbackRules, hours: HoursConfig, now: datetime) -> Step:
    """The next step for `request` at `now` (aware). Raises UnknownCalendar for a bad calendar."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    now = now.astimezone(UTC)
    if not request.is_open:
        return Close(request.closed_reason or "gave_up")
    if request.answered:
        return Close("answered")
    limit = max(rules.max_attempts, request.granted_attempts)
    if len(request.attempts) >= limit:
        return _after_last_attempt(request, rules, now)
    return _next_attempt(request, rules, hours, now)


def _after_last_attempt(request: CallbackRequest, rules: CallbackRules, now: datetime) -> Step:
    state = request.email_state
    if state == "sent":
        return Close("emailed")
    if state in ("failed", "unknown"):
        return Close("gave_up")
    if state == "sending":
        # Another worker may be talking to the mail server right now; once
        # that is surely over, the send crashed and is not repeated.
        started = request.email_at or now
        stale = started.astimezone(UTC) + EMAIL_STALE_AFTER
        return Wait(stale, "the letter is being sent") if now < stale else Close("gave_up")
    if not rules.email.enabled or not request.email:
        return Close("gave_up")
    if state == "pending" and request.email_tries >= rules.email.max_tries:
        return Close("gave_up")
    if state == "pending" and request.email_tries and request.email_at is not None:
        retry = request.email_at.astimezone(UTC) + timedelta(seconds=rules.email.retry_every)
        if now < retry:
            return Wait(retry, "the mail server failed; trying again")
    return SendEmail()


def opening_offset(request_id: int, attempt: int, spread: int) -> timedelta:
    """The spread after an opening for one attempt: stable, in [0, spread) seconds."""
    if spread <= 0:
        return timedelta(0)
    seed = zlib.crc32(f"{request_id}:{attempt}".encode())
    return timedelta(seconds=seed % spread)


def _next_attempt(
    request: CallbackRequest, rules: CallbackRules, hours: HoursConfig, now: datetime
) -> Step:
    calendar = rules.calendar
    zone = hours.calendar(calendar).zone
    number = len(request.attempts) + 1
    spread = opening_offset(request.id, number, rules.opening_spread)
    deadline: datetime | None = None
    if not request.attempts:
        call = request.first_call.astimezone(UTC)
        placed = _place(
            hours, calendar, call + timedelta(seconds=rules.first_attempt_after), spread
        )
        if placed is None:
            return Wait(now + NEVER_OPEN_RECHECK, "the calendar never opens")
        at, opening = placed
        counted_from = call if opening is None else opening
        deadline = counted_from + timedelta(seconds=rules.first_attempt_within)
    else:
        last = max(attempt.at.astimezone(UTC) for attempt in request.attempts)
        earliest = _day_with_room(
            request.attempts,
            last + timedelta(seconds=rules.min_gap),
            zone,
            rules.attempts_per_day,
        )
        placed = _place(hours, calendar, earliest, spread)
        if placed is None:
            return Wait(now + NEVER_OPEN_RECHECK, "the calendar never opens")
        at = placed[0]
    if at < now:
        # Late (the scheduler was away): as soon as the rules allow from now.
        # `now` is past every earlier limit, so only the hours can move it.
        placed = _place(hours, calendar, now, timedelta(0))
        if placed is None:
            return Wait(now + NEVER_OPEN_RECHECK, "the calendar never opens")
        at = placed[0]
    closing = hours.status(calendar, at).next_change
    if closing is not None:
        closing = closing.astimezone(UTC)
        deadline = closing if deadline is None else min(deadline, closing)
    return Attempt(at=at, number=number, deadline=deadline)


def _place(
    hours: HoursConfig, calendar: str | None, moment: datetime, spread: timedelta
) -> tuple[datetime, datetime | None] | None:
    """(when, the opening waited for) for the first open moment from `moment`.

    `moment` itself when the centre is open then (no opening waited for);
    else the next opening plus `spread`, or the opening itself when the
    centre is closed again by then. None when it never opens.
    """
    if hours.status(calendar, moment).is_open:
        return moment, None
    opening = hours.next_open(calendar, moment)
    if opening is None:
        return None
    opening = opening.astimezone(UTC)
    spread_to = opening + spread
    if spread and hours.status(calendar, spread_to).is_open:
        return spread_to, opening
    return opening, opening


def _local_day(moment: datetime, zone: tzinfo) -> date:
    return moment.astimezone(zone).date()


def _day_with_room(
    attempts: tuple[AttemptRecord, ...], moment: datetime, zone: tzinfo, per_day: int
) -> datetime:
    """`moment`, or the start of the first later local day with fewer than `per_day` attempts."""
    days: dict[date, int] = {}
    for attempt in attempts:
        day = _local_day(attempt.at, zone)
        days[day] = days.get(day, 0) + 1
    while days.get(_local_day(moment, zone), 0) >= per_day:
        following = _local_day(moment, zone) + timedelta(days=1)
        # A midnight skipped by a DST change reads as the first moment of that day.
        midnight = datetime.combine(following, time(0), tzinfo=zone).astimezone(UTC)
        moment = max(midnight, moment + timedelta(minutes=1))  # always forward
    return moment
