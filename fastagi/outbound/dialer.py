"""Placing one outbound call through AMI and following it to its end.

    dialer = Dialer(ami, CallPacer(5, 1.0))
    result = await dialer.dial(OriginateRequest(...), report_id="cb-17")

`dial` takes a line from the pacer, subscribes to the call's events before
the Originate goes out (so none is missed), and holds the line until the
call ends: an outbound call counts against `max_concurrent` while the
client and the agent talk. The result says how the call went:

- `outcome` from OriginateResponse (client first: the client answered, was
  busy, did not answer; or the call failed);
- with `report_id`, the dialplan's `UserEvent(IvrOutbound, Id: <report_id>,
  ...)` lines (dialplan/ivr-outbound.conf) refine it: agent-first calls
  report the client's DIALSTATUS, campaign calls the menu's IVR_RESULT.

When the OriginateResponse does not come in time (the AMI connection was
down when it was sent), the dialer asks CoreShowChannels whether the call
is up; if it is gone too, the call's own record in Redis (`results`,
fastagi.outbound.results: written by the dialplan over FastAGI when the
client answered) says whether it was answered; without one it is `failed`.
An answered call with no Hangup yet is looked for on the channel list every
`hangup_check` seconds: gone means its Hangup was sent while the AMI
connection was down, and the line is freed (an agent-first call's client
status then comes from its own record). A call Asterisk cannot be asked
about ends after `max_call` seconds, so no line is held forever.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Final

from fastagi.ami import AmiClient, AmiError, AmiMessage
from fastagi.outbound.originate import (
    ATTEMPT_VARIABLE,
    DialOutcome,
    OriginateRequest,
    dial_outcome,
    dialstatus_outcome,
)
from fastagi.outbound.pacing import CallPacer

if TYPE_CHECKING:
    from fastagi.outbound.results import OutboundResults, RecordedResult

__all__ = ["DialResult", "Dialer"]

log = logging.getLogger("fastagi.outbound")

#: The dialplan's report of an outbound call (dialplan/ivr-outbound.conf).
REPORT_EVENT: Final = "IvrOutbound"


@dataclass
class DialResult:
    """How one outbound call went."""

    outcome: DialOutcome
    reason: str = ""  # OriginateResponse Reason, or why it failed
    uniqueid: str = ""
    #: Fields of the dialplan's IvrOutbound report, e.g. {"Result": "confirmed"}.
    report: dict[str, str] = field(default_factory=dict)
    answered_at: float | None = None
    ended_at: float | None = None


class _CallWatch:
    """Collects the events of one call: its OriginateResponse, reports and Hangup."""

    def __init__(self, action_id: str, channel_id: str, report_id: str | None) -> None:
        loop = asyncio.get_running_loop()
        self.answered: asyncio.Future[AmiMessage] = loop.create_future()
        self.ended = asyncio.Event()
        self.report: dict[str, str] = {}
        self._action_id = action_id
        self._channel_id = channel_id
        self._report_id = report_id

    def on_event(self, event: AmiMessage) -> None:
        name = event.name.lower()
        if name == "originateresponse" and event.action_id == self._action_id:
            if not self.answered.done():
                self.answered.set_result(event)
        elif name == "hangup" and event.get("Uniqueid") == self._channel_id:
            self.ended.set()
        elif name == "userevent" and self._is_report(event):
            self.report.update((k, v) for k, v in event.items() if k not in _ENVELOPE)

    def _is_report(self, event: AmiMessage) -> bool:
        return (
            self._report_id is not None
            and event.get("UserEvent") == REPORT_EVENT
            and event.get("Id") == self._report_id
        )


#: Keys every event carries: not part of a dialplan report.
_ENVELOPE: Final = frozenset({"Event", "Privilege", "UserEvent", "Id", "ActionID"})


class Dialer:
    """Places outbound calls over one AMI connection, within the pacer's limits."""

    def __init__(
        self,
        ami: AmiClient,
        pacer: CallPacer,
        *,
        answer_grace: float = 15.0,
        max_call: float = 4 * 3600.0,
        clock: Callable[[], float] = time.time,
        results: OutboundResults | None = None,
        hangup_check: float = 60.0,
    ) -> None:
        self.ami = ami
        self.pacer = pacer
        self.answer_grace = answer_grace
        self.max_call = max_call
        #: How often an answered call with no Hangup yet is looked for on the channel
        #: list: a Hangup sent while AMI was down is never seen otherwise.
        self.hangup_check = hangup_check
        self._clock = clock
        #: The calls' own records, read when AMI lost a call's events (None: not used).
        self.results = results

    async def _channel_state(self, channel_id: str) -> str | None:
        """ChannelStateDesc of the call's channel from CoreShowChannels; None if it is
        gone. Raises AmiError when Asterisk cannot be asked."""
        _, channels = await self.ami.action_list("CoreShowChannels")
        for channel in channels:
            if channel.get("Uniqueid") == channel_id:
                return channel.get("ChannelStateDesc")
        return None

    async def _is_up(self, channel_id: str) -> bool:
        try:
            return await self._channel_state(channel_id) == "Up"
        except AmiError as exc:
            log.warning("CoreShowChannels failed: %s", exc)
            return False

    async def _wait_for_end(self, watch: _CallWatch, channel_id: str) -> bool:
        """Until the call's Hangup, or its channel is gone (the Hangup was missed: True),
        or `max_call` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_call
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                log.warning("outbound call %s: no Hangup after %.0f s", channel_id,
                            self.max_call)  # fmt: skip
                return False
            try:
                async with asyncio.timeout(min(self.hangup_check, remaining)):
                    await watch.ended.wait()
                return False
            except TimeoutError:
                pass
            try:
                gone = await self._channel_state(channel_id) is None
            except AmiError:
                continue  # cannot tell now: ask again next time
            if gone and not watch.ended.is_set():
                log.info("outbound call %s ended while its Hangup was not seen", channel_id)
                return True

    async def _lost_call(self, request: OriginateRequest, report_id: str | None) -> DialResult:
        """No OriginateResponse and no channel: the call's own record decides, else failed."""
        recorded = await self._record(request, report_id)
        if recorded is None:
            log.warning("no OriginateResponse for %s: counted as failed", request.channel)
            return DialResult("failed", reason="no OriginateResponse")
        log.info("no OriginateResponse for %s, but the call recorded %s", request.channel,
                 recorded.status)  # fmt: skip
        now = self._clock()
        outcome = recorded.outcome
        return DialResult(
            outcome,
            reason=f"recorded {recorded.status}",
            uniqueid=request.channel_id,
            answered_at=now if outcome == "answered" else None,
            ended_at=now,
        )

    async def _record(
        self, request: OriginateRequest, report_id: str | None
    ) -> RecordedResult | None:
        """This attempt's own record of its result (None: none, or not used)."""
        if self.results is None or report_id is None:
            return None
        return await self.results.read(report_id, request.channel_id)

    async def dial(self, request: OriginateRequest, *, report_id: str | None = None) -> DialResult:
        """Place the call and wait until it ends; never raises for telephony trouble."""
        async with self.pacer.slot():
            return await self._dial(request, report_id)

    async def _dial(self, request: OriginateRequest, report_id: str | None) -> DialResult:
        if report_id is not None:  # names this attempt in the call's own record
            variables = {**request.variables, ATTEMPT_VARIABLE: request.channel_id}
            request = replace(request, variables=variables)
        action_id = self.ami.new_action_id()
        watch = _CallWatch(action_id, request.channel_id, report_id)
        unsubscribe = self.ami.subscribe(
            watch.on_event, events=("OriginateResponse", "Hangup", "UserEvent")
        )
        try:
            try:
                await self.ami.action("Originate", request.fields(), action_id=action_id)
            except AmiError as exc:
                log.warning("Originate to %s refused: %s", request.channel, exc)
                return DialResult("failed", reason=str(exc))
            try:
                async with asyncio.timeout(request.timeout + self.answer_grace):
                    response = await watch.answered
                outcome = dial_outcome(response.get("Reason"), response.get("Response"))
            except TimeoutError:
                # The result may have come while the AMI connection was down: ask
                # Asterisk whether the call is up before calling it a failure.
                if not await self._is_up(request.channel_id):
                    return await self._lost_call(request, report_id)
                log.info("OriginateResponse for %s missed, but the call is up", request.channel)
                response = AmiMessage((("Reason", "4"), ("Uniqueid", request.channel_id)))
                outcome = "answered"
            result = DialResult(
                outcome,
                reason=response.get("Reason") or "",
                uniqueid=response.get("Uniqueid") or request.channel_id,
            )
            if outcome != "answered":
                result.ended_at = self._clock()
                return result
            result.answered_at = self._clock()
            missed = await self._wait_for_end(watch, request.channel_id)
            result.ended_at = self._clock()
            if missed and "DialStatus" not in watch.report:
                # Its report went with the Hangup: the call's own record has the status.
                recorded = await self._record(request, report_id)
                if recorded is not None:
                    watch.report["DialStatus"] = recorded.status
            result.report = dict(watch.report)
            status = watch.report.get("DialStatus")
            if status is not None:  # agent first: the client's own leg decides
                result.outcome = dialstatus_outcome(status)
            return result
        finally:
            unsubscribe()
