"""The `conference` action: a ConfBridge room, e.g. a three-way call with the caller's manager."""

from __future__ import annotations

import re

from fastagi.actions.subroutine import next_or_hang_up, run_subroutine
from fastagi.agi import CallHangup
from fastagi.menus.action_nodes import ConferenceNode
from fastagi.menus.handlers import next_step, node_handler
from fastagi.menus.session import Session, Step

__all__: list[str] = []

_ROOM = re.compile(r"[A-Za-z0-9_.-]{1,80}")


@node_handler(ConferenceNode)
async def run_conference(session: Session, node: ConferenceNode) -> Step:
    room = node.room.replace("{uniqueid}", session.call.uniqueid.replace(".", "-"))
    if "{" in room:
        room = session.text(room)
    invite = ""
    if node.invite is not None:
        invite = session.text(node.invite) if "{" in node.invite else node.invite
        if not re.fullmatch(node.allowed, invite):
            session.log.warning("conference: not inviting %r (does not match %s)", invite,
                                node.allowed)  # fmt: skip
            invite = ""
    if not _ROOM.fullmatch(room):
        session.log.warning("conference: bad room name %r", room)
        return next_step(node.next)
    result = await run_subroutine(
        session, "ivr-conference", (room, node.bridge_profile, node.user_profile, invite)
    )
    session.emit(
        "conference", {"room": room, "invite": invite, "status": result.status or "HANGUP"}
    )
    if result.hung_up:
        raise CallHangup(f"the caller left conference {room}")
    return await next_or_hang_up(session, node.next, "conference")
