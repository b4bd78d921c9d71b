"""What a call's menus know about the caller: profile, segment, template variables.

The server fills a `CallContext` from the caller directory before the menu
plays; the engine reads it for `routes`, `{caller.*}` prompts, the caller's
language and the ticket nodes. Without one (tests, `ivr simulate` with no
Redis) every call is an unknown caller in segment "default".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from fastagi.callers.profile import CallerProfile
from fastagi.callers.tickets import Ticket

__all__ = ["BusinessHours", "CallContext", "CallbackDesk", "TicketDesk"]


class TicketDesk(Protocol):
    """The ticket operations menu nodes use (CallerDirectory provides them)."""

    async def latest_open_ticket(self, number: str) -> Ticket | None: ...

    async def open_ticket(self, number: str, subject: str, *, agent: str = "") -> Ticket: ...


class CallbackDesk(Protocol):
    """Where a caller's callback request is filed (CallerDirectory provides it)."""

    async def request_callback(
        self, number: str, queue: str, *, uniqueid: str, reason: str
    ) -> str: ...


class BusinessHours(Protocol):
    """Opening hours (config/hours.yaml): "open", "closed" or "holiday" at a moment."""

    def state_at(self, calendar: str | None, at: datetime) -> str: ...


@dataclass(frozen=True)
class CallContext:
    """The caller as the menus see them; `variables` feed `{caller.*}` and `{segment}`."""

    profile: CallerProfile = field(default_factory=lambda: CallerProfile(number=""))
    segment: str = "default"
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    variables: Mapping[str, str] = field(default_factory=dict)
    #: The caller's own language: the channel starts in it, whatever the menu says.
    language: str | None = None
    tickets: TicketDesk | None = None
    callbacks: CallbackDesk | None = None
    hours: BusinessHours | None = None
