"""Which calls are lost, and why: the decision that turns a call into a callback request.

    facts = CallFacts(number="+79161234567", outcome="caller_hangup", at=start,
                      queue_outcome="abandoned", uniqueid="1700000000.12")
    lost_reason(facts)              # "queue_abandon": what happened (for counting lost calls)
    callback_reason(facts, rules)   # the same, unless config/callbacks.yaml leaves it out

A call is lost when the caller did not reach an agent: they hung up in the
menu, left a queue, hit the queue's time limit, found the queue closed to
them, called after hours, or asked to be called back. Pure functions; the
server builds `CallFacts` from a call's events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

from fastagi.callbacks.rules import CallbackRules, LostReason
from fastagi.callers.phone import is_anonymous

__all__ = ["QUEUE_OUTCOMES", "CallFacts", "QueueOutcome", "callback_reason", "lost_reason"]

#: How the caller's (last) queue visit ended; the names of fastagi.actions.queue.
QueueOutcome = Literal["answered", "abandoned", "timeout", "unavailable"]
QUEUE_OUTCOMES: Final[tuple[str, ...]] = ("answered", "abandoned", "timeout", "unavailable")

#: Reasons a very short call does not count for (a misdial hung up in seconds).
_SHORT_CALL_REASONS: Final = frozenset({"ivr_hangup", "after_hours"})


@dataclass(frozen=True, slots=True)
class CallFacts:
    """What happened in one incoming call, as far as callbacks care.

    `number`: the caller ID as received (any written form; withheld ones are
    never called back). `outcome`: how the menu run ended (a
    `fastagi.menus.outcome.OutcomeKind`: caller_hangup, return, hangup,
    error, max_steps). `at`: when the call started (aware). `reached_agent`:
    an agent answered (in a queue, or a transfer that was answered).
    `queue_outcome`: how the last queue visit ended, None if the caller never
    queued; `queue` names that queue. `after_hours`: the call came while the
    centre was closed (or on holiday). `requested_callback`: the caller asked
    for a callback in the menu. `duration`: seconds from answer to hang-up,
    None when unknown (then no call counts as a misdial).
    """

    number: str | None
    outcome: str
    at: datetime
    uniqueid: str = ""
    reached_agent: bool = False
    queue_outcome: QueueOutcome | None = None
    queue: str = ""
    after_hours: bool = False
    requested_callback: bool = False
    duration: float | None = None


def lost_reason(facts: CallFacts) -> LostReason | None:
    """Why the call counts as lost, or None when it does not (or the number is withheld).

    In order: an agent answered -> not lost; the call came after hours ->
    `after_hours` (nobody could have answered, whatever the menu did next);
    the caller asked for a callback -> `requested`; the queue timed out ->
    `queue_timeout`; the caller left the queue -> `queue_abandon`; the queue
    was full or had no agents -> `queue_unavailable`; the caller hung up in
    the menu -> `ivr_hangup`. A call the menu handed back to the dialplan
    (`return`: a transfer, voicemail...) or ended itself (`hangup`, after
    self-service) is not lost as far as the IVR can tell.
    """
    reason = _reason(facts)
    if reason is None or facts.number is None or is_anonymous(facts.number):
        return None  # most calls are not lost: the number is looked at last
    return reason


def _reason(facts: CallFacts) -> LostReason | None:
    if facts.reached_agent or facts.queue_outcome == "answered":
        return None
    if facts.after_hours:
        return "after_hours"
    if facts.requested_callback:
        return "requested"
    if facts.queue_outcome == "timeout":
        return "queue_timeout"
    if facts.queue_outcome == "abandoned":
        return "queue_abandon"
    if facts.queue_outcome == "unavailable":
        return "queue_unavailable"
    if facts.outcome == "caller_hangup":
        return "ivr_hangup"
    return None


def callback_reason(facts: CallFacts, rules: CallbackRules) -> LostReason | None:
    """`lost_reason`, when the rules want a callback for it; else None.

    None when callbacks are off, the reason is not in `lost_calls`, or an IVR
    hang-up or after-hours call lasted less than `ignore_shorter_than`
    seconds (a misdial). A queue visit or a request always counts.
    """
    if not rules.enabled:
        return None
    reason = lost_reason(facts)
    if reason is None or reason not in rules.lost_calls:
        return None
    if (
        reason in _SHORT_CALL_REASONS
        and facts.duration is not None
        and facts.duration < rules.ignore_shorter_than
    ):
        return None
    return reason
