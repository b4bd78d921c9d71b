"""The `queue` action: wait for an agent at most `max_wait` seconds, then branch on QUEUESTATUS."""

from __future__ import annotations

import math

from fastagi.actions.subroutine import MISSING, ActionResult, next_or_hang_up, run_subroutine
from fastagi.agi import CallHangup
from fastagi.menus.action_nodes import QueueNode
from fastagi.menus.handlers import next_step, node_handler
from fastagi.menus.outcome import QUEUE_ABANDON, QUEUE_TIMEOUT, REACHED_AGENT
from fastagi.menus.session import Goto, Session, Step

__all__ = ["QUEUE_OUTCOMES", "queue_outcome"]

#: How a queue visit ended, for events and history.
QUEUE_OUTCOMES = ("answered", "abandoned", "timeout", "unavailable")
_UNAVAILABLE = frozenset(
    {"FULL", "JOINEMPTY", "LEAVEEMPTY", "JOINUNAVAIL", "LEAVEUNAVAIL", "WITHDRAW", MISSING}
)
# Set by Asterisk on the caller's channel just before an agent is bridged
# (queues.conf setinterfacevar / setqueueentryvar): tells answered from abandoned.
_MEMBER = "MEMBERINTERFACE"
_HELD = "QEHOLDTIME"


def queue_outcome(result: ActionResult) -> str:
    """answered, abandoned, timeout or unavailable (an unknown status counts as unavailable)."""
    if result.variables.get(_MEMBER) or result.status == "CONTINUE":
        return "answered"
    if result.hung_up:
        return "abandoned"
    if result.status == "TIMEOUT":
        return "timeout"
    return "unavailable"


async def _announce(session: Session, node: QueueNode) -> None:
    """'You are caller number N; expected wait M minutes' from the queue's live figures."""
    queue = node.queue
    text = await session.call.get_full_variable(
        f"${{QUEUE_WAITING_COUNT({queue})}}|${{QUEUE_VARIABLES({queue})}}|${{QUEUEHOLDTIME}}"
    )
    parts = (text or "").split("|")
    waiting = parts[0]
    held = parts[2] if len(parts) > 2 else ""
    if waiting.isdigit():
        await session.play(node.position_prompt)
        await session.call.say_number(int(waiting) + 1)
    if held.isdigit() and int(held) > 0:
        await session.play(node.wait_prompt)
        await session.call.say_number(math.ceil(int(held) / 60))


@node_handler(QueueNode)
async def run_queue(session: Session, node: QueueNode) -> Step:
    priority = node.priority_for(session.context.segment)
    if node.announce_position:
        await _announce(session, node)
    session.emit("queue", {"queue": node.queue, "event": "join", "priority": str(priority)})
    result = await run_subroutine(
        session,
        "ivr-queue",
        (
            node.queue,
            node.music_class or "",
            str(priority),
            str(math.ceil(node.max_wait)),
            "c" if node.continue_after_agent else "",
        ),
        read=(_MEMBER, _HELD),
    )
    outcome = queue_outcome(result)
    held = result.variables.get(_HELD, "")
    wait = held if outcome == "answered" and held.isdigit() else str(result.seconds or 0)
    session.emit(
        "queue",
        {
            "queue": node.queue,
            "event": "leave",
            "outcome": outcome,
            "status": result.status or "HANGUP",
            "wait": wait,
            "priority": str(priority),
            "agent": result.variables.get(_MEMBER, ""),
        },
    )
    if outcome == "answered":
        session.mark(REACHED_AGENT)
    elif outcome == "timeout":
        session.mark(QUEUE_TIMEOUT)
    elif result.hung_up:
        session.mark(QUEUE_ABANDON)
    if result.hung_up:
        raise CallHangup(f"the caller hung up in queue {node.queue} ({outcome})")
    if outcome == "answered":
        return await next_or_hang_up(session, node.next, "answered")
    if outcome == "timeout":
        return Goto(node.on_timeout)
    if result.status not in _UNAVAILABLE:
        session.log.warning("unknown QUEUESTATUS %r: treated as unavailable", result.status)
    return next_step(node.on_unavailable or node.on_timeout)
