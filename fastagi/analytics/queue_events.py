"""Queue facts only Asterisk knows, joined to the calls by uniqueid.

The menus know how long a caller waited and whether an agent took the call;
how long they then talked is only in the queue's AMI events. Each
`AgentComplete` (app_queue: the agent and caller finished talking) becomes
an `agent` call event under the caller's uniqueid - the same channel that
ran the AGI - so the report's AHT and talk times join the call's own
events.
"""

from __future__ import annotations

from collections.abc import Callable

from fastagi.ami import AmiClient, AmiMessage
from fastagi.events import CallEvent, EventSink

__all__ = ["bridge_queue_events"]


def _agent_event(event: AmiMessage) -> CallEvent | None:
    uniqueid = event.get("Uniqueid") or ""
    if not uniqueid:
        return None
    return CallEvent(
        uniqueid,
        "agent",
        data={
            "queue": event.get("Queue") or "",
            "agent": event.get("MemberName") or event.get("Interface") or "",
            "talk": event.get("TalkTime") or "0",
            "hold": event.get("HoldTime") or "0",
            "reason": event.get("Reason") or "",
        },
    )


def bridge_queue_events(ami: AmiClient, sink: EventSink) -> Callable[[], None]:
    """Forward every AgentComplete to `sink` as an `agent` event; returns the unsubscriber."""

    def forward(event: AmiMessage) -> None:
        call_event = _agent_event(event)
        if call_event is not None:
            sink.emit(call_event)

    return ami.subscribe(forward, events=("AgentComplete",))
