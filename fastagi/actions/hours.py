"""The `hours` action: open, closed or holiday, by the calendar in config/hours.yaml."""

from __future__ import annotations

from fastagi.menus.action_nodes import HoursNode
from fastagi.menus.handlers import node_handler
from fastagi.menus.outcome import AFTER_HOURS
from fastagi.menus.session import Goto, Session, Step

__all__: list[str] = []


@node_handler(HoursNode)
async def run_hours(session: Session, node: HoursNode) -> Step:
    hours = session.context.hours
    if hours is None:
        # No calendar loaded: an IVR that cannot tell the time stays open rather
        # than sending every caller to voicemail.
        session.log.warning("no business hours configured: treating the centre as open")
        state = "open"
    else:
        state = hours.state_at(node.calendar, session.context.now)
    session.emit("hours", {"calendar": node.calendar or "", "state": state})
    if state != "open":
        session.mark(AFTER_HOURS)
    if state == "holiday":
        return Goto(node.holiday or node.closed)
    return Goto(node.open if state == "open" else node.closed)
