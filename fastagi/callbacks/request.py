"""A callback request as the planner and the store see it: plain, frozen values.

One request per number at a time. It holds the lost calls merged into it,
the attempts made (each with its outcome), the state of the one email, and
how it ended. The caller's contact details (email, language, name) are read
from the caller's profile whenever the request is loaded, so they are
current.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal, get_args

__all__ = [
    "ATTEMPT_OUTCOMES",
    "CLOSE_REASONS",
    "EMAIL_STATES",
    "AttemptOutcome",
    "AttemptRecord",
    "CallbackRequest",
    "CloseReason",
    "EmailState",
    "RequestStatus",
]

#: How one callback attempt ended.
AttemptOutcome = Literal["answered", "busy", "no_answer", "failed"]
ATTEMPT_OUTCOMES: Final[tuple[AttemptOutcome, ...]] = get_args(AttemptOutcome)

#: answered: a callback reached the client; reached: the client reached an
#: agent themselves the same day; emailed: attempts ran out and the letter
#: went out; gave_up: attempts ran out and no letter went (no address,
#: letters off, or it failed); cancelled: an admin cancelled it.
CloseReason = Literal["answered", "reached", "emailed", "gave_up", "cancelled"]
CLOSE_REASONS: Final[tuple[CloseReason, ...]] = get_args(CloseReason)

#: none: not tried; pending: to be sent (again, after a failure); sending:
#: handed to the mail server, result not recorded (a crash leaves it so: never
#: sent again); sent; failed: the server refused it for good; unknown: the
#: connection broke after the letter was handed over (it may have gone).
EmailState = Literal["none", "pending", "sending", "sent", "failed", "unknown"]
EMAIL_STATES: Final[tuple[EmailState, ...]] = get_args(EmailState)

RequestStatus = Literal["open", "closed"]


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One callback attempt: when it was placed, how it ended, its channel's uniqueid."""

    at: datetime
    outcome: AttemptOutcome
    uniqueid: str = ""

    @property
    def failed(self) -> bool:
        return self.outcome != "answered"


@dataclass(frozen=True, slots=True)
class CallbackRequest:
    """One number to call back.

    Times are aware datetimes (UTC as stored). `first_call` is the first lost
    call merged in (the one the first attempt is counted from), `last_call`
    the latest; `calls` how many were merged; `reasons` their distinct
    reasons in the order first seen. `granted_attempts` is set by an admin's
    retry: the planner allows at least that many attempts. `next_at` is when
    the scheduler looks at it next (or the end of a lease, `lease_until`).
    `email`, `language`, `first_name`, `last_name` come from the caller's
    profile.
    """

    id: int
    number: str
    status: RequestStatus
    first_call: datetime
    last_call: datetime
    calls: int = 1
    reasons: tuple[str, ...] = ()
    queue: str = ""
    uniqueids: tuple[str, ...] = ()
    attempts: tuple[AttemptRecord, ...] = ()
    granted_attempts: int = 0
    next_at: datetime | None = None
    lease_until: datetime | None = None
    email_state: EmailState = "none"
    email_tries: int = 0
    email_at: datetime | None = None
    closed_reason: CloseReason | None = None
    closed_at: datetime | None = None
    email: str | None = None
    language: str | None = None
    first_name: str | None = None
    last_name: str | None = None

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    @property
    def answered(self) -> bool:
        return any(not attempt.failed for attempt in self.attempts)

    @property
    def failed_attempts(self) -> int:
        return sum(1 for attempt in self.attempts if attempt.failed)
