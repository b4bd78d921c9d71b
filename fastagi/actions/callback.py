"""The `callback` action: the caller asks to be called back instead of waiting.

1 keeps the number they call from, 2 lets them type another (checked against
`allowed`, then normalised by the directory). The request goes to the
callbacks stream (docs/redis.md) and the dialplan's `ivr-callback`
subroutine is told, so the PBX side can react too.
"""

from __future__ import annotations

import asyncio
import re

from fastagi.actions.subroutine import run_subroutine
from fastagi.menus.action_nodes import CallbackNode
from fastagi.menus.handlers import next_step, node_handler
from fastagi.menus.outcome import CALLBACK_REQUESTED
from fastagi.menus.session import Session, Step, seconds_to_ms

__all__ = ["CALLBACK_BUDGET"]

#: Filing the request: past this the caller is not kept waiting for Redis.
CALLBACK_BUDGET = 1.0
_KEEP, _OTHER = "1", "2"
_NUMBER_DIGITS = 16
_ENTRY_TIMEOUT = 10.0


async def _ask(session: Session, prompt: str, timeout: float, max_digits: int) -> str:
    result = await session.call.get_digits(
        await session.prompt(prompt), timeout_ms=seconds_to_ms(timeout), max_digits=max_digits
    )
    return result.digits


async def _number_to_call(session: Session, node: CallbackNode) -> str | None:
    own = session.context.profile.number
    choice = await _ask(session, node.offer_prompt, node.timeout, 1)
    session.emit("digits", {"digits": choice})
    if choice == _KEEP and own:
        return own
    if choice not in (_KEEP, _OTHER):
        return None
    entered = await _ask(session, node.enter_prompt, _ENTRY_TIMEOUT, _NUMBER_DIGITS)
    if not re.fullmatch(node.allowed, entered):
        session.emit("invalid", {"digits": entered, "reason": "callback number not allowed"})
        return None
    return entered


@node_handler(CallbackNode)
async def run_callback(session: Session, node: CallbackNode) -> Step:
    desk = session.context.callbacks
    if desk is None:
        session.log.warning("no caller directory: cannot take a callback request")
        return next_step(node.declined)
    number = await _number_to_call(session, node)
    if number is None:
        return next_step(node.declined)
    try:
        async with asyncio.timeout(CALLBACK_BUDGET):
            request_id = await desk.request_callback(
                number, node.queue, uniqueid=session.call.uniqueid, reason="requested"
            )
    except Exception as exc:  # Redis down or a number that is not one: offer the other way out
        session.log.warning("callback request not filed (%s: %s)", type(exc).__name__, exc)
        return next_step(node.declined)
    session.emit("callback", {"queue": node.queue, "number": number, "request": request_id})
    session.mark(CALLBACK_REQUESTED)
    await run_subroutine(session, "ivr-callback", (number.lstrip("+"), node.queue))
    await session.play(node.confirm_prompt)
    await session.call.say_digits(number.lstrip("+"))
    return next_step(node.next)
