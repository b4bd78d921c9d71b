"""The `transfer` action: Dial an extension, an external number or the caller's manager.

Whatever comes from outside the YAML - digits the caller typed, a manager
extension from the profile - must match the node's `allowed` pattern before
it reaches Dial, so a caller can never make the PBX dial a premium number or
inject Dial options.
"""

from __future__ import annotations

import re

from fastagi.actions.subroutine import next_or_hang_up, run_subroutine
from fastagi.agi import CallHangup
from fastagi.menus.action_nodes import TransferNode
from fastagi.menus.handlers import next_step, node_handler
from fastagi.menus.outcome import REACHED_AGENT
from fastagi.menus.session import Session, Step, seconds_to_ms

__all__ = ["TECHNOLOGY", "dial_string"]

#: Channel technology of the shipped pjsip.conf.
TECHNOLOGY = "PJSIP"
_EXTERNAL = re.compile(r"\+?[0-9]{3,20}")
_ENTRY_DIGITS = 16
_ENTRY_TIMEOUT = 10.0
_KNOWN = frozenset(
    {"ANSWER", "BUSY", "NOANSWER", "CANCEL", "CONGESTION", "CHANUNAVAIL", "DONTCALL",
     "TORTURE", "INVALIDARGS"}
)  # fmt: skip


def dial_string(node: TransferNode, value: str) -> str | None:
    """The Dial target for `value` (already rendered), or None when it is not allowed."""
    if node.number is not None:
        return f"{TECHNOLOGY}/{value}@{node.trunk}" if _EXTERNAL.fullmatch(value) else None
    return f"{TECHNOLOGY}/{value}" if re.fullmatch(node.allowed, value) else None


async def _value(session: Session, node: TransferNode) -> str:
    if node.entered is not None:
        result = await session.call.get_digits(
            await session.prompt(node.entered),
            timeout_ms=seconds_to_ms(_ENTRY_TIMEOUT),
            max_digits=_ENTRY_DIGITS,
        )
        session.emit("digits", {"digits": result.digits})
        return result.digits
    template = node.extension if node.extension is not None else node.number
    assert template is not None  # the model requires one of the three
    return session.text(template) if "{" in template else template


@node_handler(TransferNode)
async def run_transfer(session: Session, node: TransferNode) -> Step:
    value = await _value(session, node)
    target = dial_string(node, value)
    if target is None:
        session.emit("invalid", {"digits": value, "reason": "transfer target not allowed"})
        session.log.warning("transfer to %r refused: it does not match %s", value, node.allowed)
        return next_step(node.on_failure)
    await session.play(node.prompt)
    result = await run_subroutine(session, "ivr-transfer", (target, str(node.ring_timeout), ""))
    session.emit("transfer", {"target": target, "status": result.status or "HANGUP"})
    if result.status == "ANSWER":
        session.mark(REACHED_AGENT)
    if result.hung_up:
        raise CallHangup(f"the caller hung up during the transfer to {target}")
    if result.status == "ANSWER":
        return await next_or_hang_up(session, node.next, "transferred")
    if result.status not in _KNOWN:
        session.log.warning("unknown DIALSTATUS %r: treated as a failure", result.status)
    fallback = {"BUSY": node.on_busy, "NOANSWER": node.on_no_answer}.get(result.status)
    return next_step(fallback or node.on_failure)
