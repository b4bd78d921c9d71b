"""What the callback rules would do with one lost call: `ivr simulate --callbacks`.

The call's lost-call entry is filed under a scratch key prefix (never the
real intake, so a simulation never makes anyone's phone ring), then the
callback scheduler runs over the next days on a moved clock against the
emulator's AMI peer, whose far end answers each attempt as the admin said
(`no_answer,no_answer,answer`). The letter is rendered, not sent. The
scratch keys are deleted afterwards.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Final

from fastagi.ami import AmiClient
from fastagi.callbacks.mailer import CallbackMailer
from fastagi.callbacks.rules import CallbackRules
from fastagi.callbacks.store import CallbackStore
from fastagi.hours.model import HoursConfig
from fastagi.outbound.callback_scheduler import CallbackScheduler
from fastagi.outbound.dialer import Dialer
from fastagi.outbound.pacing import CallPacer
from fastagi.testing import AmiPeer

__all__ = ["OUTCOMES", "rehearse_callbacks"]

OUTCOMES: Final = ("answer", "busy", "no_answer", "congestion", "failed")
STEP: Final = timedelta(minutes=5)


class _KeptLetters:
    """A mail transport that keeps the letters instead of sending them."""

    def __init__(self) -> None:
        self.letters: list[EmailMessage] = []

    async def deliver(self, message: EmailMessage) -> None:
        self.letters.append(message)


#: The client's DIALSTATUS the agent-first dialplan reports, per far-end behaviour.
_DIALSTATUS: Final = {
    "answer": "ANSWER",
    "busy": "BUSY",
    "no_answer": "NOANSWER",
    "congestion": "CONGESTION",
    "failed": "CHANUNAVAIL",
}


async def _report_client(peer: AmiPeer, count: int, outcome: str) -> None:
    """Play [ivr-out-dial-client]: once the agent's call is up, report the client's leg."""
    originate = await peer.wait_for_action("Originate", count=count, timeout=3600)
    report_id = next(
        (v.split("=", 1)[1] for v in originate.get_all("Variable") if v.startswith("IVR_ID=")), ""
    )
    await asyncio.sleep(0.01)
    peer.emit_event(
        "UserEvent",
        {"UserEvent": "IvrOutbound", "Id": report_id, "DialStatus": _DIALSTATUS[outcome]},
    )


async def rehearse_callbacks(
    store: CallbackStore,
    rules: CallbackRules,
    hours: HoursConfig,
    number: str,
    outcomes: Sequence[str],
    start: datetime,
    *,
    days: int = 5,
) -> list[str]:
    """Run the scheduler from `start` for `days`; one line per thing that happened."""
    zone = hours.calendar(rules.calendar).zone
    peer = AmiPeer(username="ivr", secret="rehearsal", time_scale=0.0001)
    host, port = await peer.start()
    ami = AmiClient(host, port, "ivr", "rehearsal", ping_interval=0)
    kept = _KeptLetters()
    lines: list[str] = []
    moment = start
    try:
        await ami.start(timeout=5)
        scheduler = CallbackScheduler(
            store, rules, hours, dialer=Dialer(ami, CallPacer(1, 1000.0), answer_grace=5),
            mailer=CallbackMailer(store, rules, zone=zone, transport=kept),
            consumer="ivr-simulate", clock=lambda: moment,
        )  # fmt: skip
        agent_first = rules.dial.connect == "agent_first"
        while moment < start + timedelta(days=days):
            attempt = len(peer.originated)
            outcome = outcomes[min(attempt, len(outcomes) - 1)]
            reporting = None
            if agent_first:  # an agent answers; the dialplan reports the client's DIALSTATUS
                peer.script(rules.dial.queue, "answer", talk=600.0)
                reporting = asyncio.ensure_future(_report_client(peer, attempt + 1, outcome))
            else:
                peer.script(number, outcome, ring=20.0, talk=60.0)  # type: ignore[arg-type]
            report = await scheduler.tick(moment)
            await scheduler.drain()
            if reporting is not None:
                reporting.cancel()
                await asyncio.gather(reporting, return_exceptions=True)
            when = moment.astimezone(zone).strftime("%a %d %b %H:%M")
            requests = await store.list_requests()
            if report.dialled and requests and requests[0].attempts:
                recorded = requests[0].attempts[-1].outcome  # what the scheduler wrote down
                lines.append(f"{when}  attempt {attempt + 1}: {recorded}")
            if report.emailed:
                letter = kept.letters[-1]
                lines.append(f"{when}  letter to {letter['To']}: {letter['Subject']} (not sent)")
            requests = await store.list_requests()  # after the letter, too
            if requests and not requests[0].is_open:
                lines.append(f"{when}  request closed: {requests[0].closed_reason}")
                break
            moment += STEP
        else:
            if await store.list_requests():
                lines.append(f"still open after {days} days")
        if not lines:
            lines.append("no callback: the rules do not call this call back")
    finally:
        await ami.close()
        await peer.stop()
    return lines
