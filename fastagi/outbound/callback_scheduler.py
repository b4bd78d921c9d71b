"""The callback scheduler: turns lost calls into calls back, under the centre's rules.

Each `tick(now)` works the intake stream (new lost calls become requests or
join one), then every request that is due: the planner
(fastagi.callbacks.planner) says attempt, wait, email or close. An attempt
takes a lease on the request (two schedulers never dial one request), goes
out through the dialer in the background - the tick does not wait for a
call to end - and its outcome is recorded when the call is over.

Without a dialer (no manager interface configured, or it is down) attempts
are not placed and requests stay due: nothing is dropped, and the next
tick after the connection is back places them. Time comes from the caller
of `tick`, so tests move a clock instead of sleeping.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from fastagi.callbacks.mailer import CallbackMailer
from fastagi.callbacks.planner import Attempt, Close, SendEmail, Wait, plan
from fastagi.callbacks.request import CallbackRequest
from fastagi.callbacks.rules import CallbackRules
from fastagi.callbacks.smtp import MailError
from fastagi.callbacks.store import CallbackStore
from fastagi.events import CallEvent, EventSink
from fastagi.hours.model import HoursConfig
from fastagi.outbound.dialer import Dialer, DialResult
from fastagi.outbound.originate import OriginateRequest

__all__ = ["CallbackScheduler", "TickReport", "callback_call"]

log = logging.getLogger("fastagi.outbound")

#: How long a request is leased to the call placing it (a call rarely lasts longer).
LEASE: Final = timedelta(minutes=30)


def callback_call(request: CallbackRequest, rules: CallbackRules) -> OriginateRequest:
    """The Originate of one callback, as dialplan/ivr-outbound.conf expects it."""
    dial = rules.dial
    number = request.number
    variables = {
        "IVR_KIND": "callback",
        "IVR_ID": f"cb-{request.id}",
        "IVR_NUMBER": number,
        "IVR_DIAL": dial.channel.replace("{number}", number),
        "IVR_QUEUE": request.queue or dial.queue,
        "IVR_RING_TIMEOUT": str(round(dial.ring_timeout)),
    }
    caller_id = rules.caller_id or ""
    if dial.connect == "client_first":
        return OriginateRequest(
            channel=f"Local/{number}@ivr-out-client",
            context="ivr-out-queue",
            exten="s",
            caller_id=caller_id,
            timeout=dial.ring_timeout,
            variables=variables,
        )
    # agent first: the queue's agents ring first (up to the queue's own wait), then the client
    return OriginateRequest(
        channel=f"Local/{variables['IVR_QUEUE']}@ivr-out-agents",
        context="ivr-out-dial-client",
        exten="s",
        caller_id=caller_id,
        timeout=120 + dial.ring_timeout,
        variables=variables,
    )


@dataclass
class TickReport:
    """What one tick did, for logs and tests."""

    taken_in: int = 0
    dialled: list[int] = field(default_factory=list)
    emailed: list[int] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)
    waiting: int = 0


class CallbackScheduler:
    """Works the callback requests of one store; see the module docstring."""

    def __init__(
        self,
        store: CallbackStore,
        rules: CallbackRules,
        hours: HoursConfig,
        *,
        dialer: Dialer | None,
        mailer: CallbackMailer | None,
        consumer: str = "scheduler-1",
        clock: Callable[[], datetime],
        events: EventSink | None = None,
    ) -> None:
        self.store = store
        self.rules = rules
        self.hours = hours
        self.dialer = dialer
        self.mailer = mailer
        self.consumer = consumer
        self._clock = clock
        self._events = events
        self._calls: set[asyncio.Task[None]] = set()

    @property
    def calls_in_progress(self) -> int:
        return len(self._calls)

    async def tick(self, now: datetime | None = None, *, limit: int = 50) -> TickReport:
        """Take in new lost calls, then act on every request that is due at `now`."""
        now = now or self._clock()
        report = TickReport()
        report.taken_in = len(await self.store.intake(self.consumer, count=200))
        for request in await self.store.due(now, limit=limit):
            await self._act(request, now, report)
        return report

    async def _act(self, request: CallbackRequest, now: datetime, report: TickReport) -> None:
        step = plan(request, self.rules, self.hours, now)
        if isinstance(step, Attempt) and step.is_due(now):
            if self.dialer is None or not self.dialer.ami.connected:
                report.waiting += 1  # Asterisk out of reach: it stays due, nothing is lost
                return
            if await self.store.claim(request.id, now + LEASE, now=now):
                report.dialled.append(request.id)
                self._start_call(request, now)
        elif isinstance(step, Attempt | Wait):
            await self.store.schedule(
                request.id, step.at if isinstance(step, Attempt) else step.until
            )
        elif isinstance(step, SendEmail):
            await self._email(request, report)
        elif isinstance(step, Close):
            await self.store.close(request.id, step.reason)
            report.closed.append(request.id)

    def _start_call(self, request: CallbackRequest, now: datetime) -> None:
        task = asyncio.ensure_future(self._call(request, now))
        self._calls.add(task)
        task.add_done_callback(self._calls.discard)

    async def _call(self, request: CallbackRequest, started: datetime) -> None:
        assert self.dialer is not None
        try:
            result: DialResult = await self.dialer.dial(
                callback_call(request, self.rules), report_id=f"cb-{request.id}"
            )
        except Exception:  # the lease runs out and the request comes back: nothing lost
            log.exception("callback %s to %s could not be placed", request.id, request.number)
            return
        outcome = result.outcome
        log.info("callback %s to %s: %s", request.id, request.number, outcome)
        # due again at once (on the scheduler's clock), for the planner to say when
        attempt = await self.store.record_attempt(
            request.id, outcome, started, self._clock(), uniqueid=result.uniqueid
        )
        if self._events is not None:
            data = {"request": str(request.id), "number": request.number,
                    "outcome": outcome, "attempt": str(attempt)}  # fmt: skip
            self._events.emit(CallEvent(f"cb-{request.id}", "callback_attempt", data=data))

    async def _email(self, request: CallbackRequest, report: TickReport) -> None:
        if self.mailer is None:
            return
        try:
            sent = await self.mailer.send(request.id)
        except MailError as exc:
            log.warning("missed-call email for request %s not sent: %s", request.id, exc)
            return
        if sent == "sent":
            report.emailed.append(request.id)

    async def drain(self) -> None:
        """Wait for the calls in progress (at shutdown)."""
        if self._calls:
            await asyncio.gather(*self._calls, return_exceptions=True)
