"""The `hold` action: music on hold for a bounded time, with an announcement between periods."""

from __future__ import annotations

import math

from fastagi.actions.subroutine import run_subroutine
from fastagi.agi import CallHangup
from fastagi.menus.action_nodes import HoldNode
from fastagi.menus.handlers import next_step, node_handler
from fastagi.menus.session import Session, Step

__all__ = ["hold_periods"]


def hold_periods(duration: float, every: float, announce: bool) -> list[int]:
    """Whole seconds of music per period: the announcement plays between periods."""
    if not announce:
        return [math.ceil(duration)]
    periods = []
    left = duration
    while left > 0:
        periods.append(math.ceil(min(every, left)))
        left -= every
    return periods


@node_handler(HoldNode)
async def run_hold(session: Session, node: HoldNode) -> Step:
    periods = hold_periods(node.duration, node.announce_every, node.announce is not None)
    for index, seconds in enumerate(periods):
        if index:
            await session.play(node.announce)
        result = await run_subroutine(session, "ivr-hold", (node.music_class, str(seconds)))
        if result.hung_up:
            raise CallHangup("the caller hung up on hold")
    return next_step(node.next)
