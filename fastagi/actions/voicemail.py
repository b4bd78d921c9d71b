"""The `voicemail` action: leave a message in a department's or a manager's mailbox."""

from __future__ import annotations

import re

from fastagi.actions.subroutine import next_or_hang_up, run_subroutine
from fastagi.agi import CallHangup
from fastagi.menus.action_nodes import VoicemailNode
from fastagi.menus.handlers import next_step, node_handler
from fastagi.menus.session import Session, Step

__all__ = ["GREETING_OPTIONS"]

#: VoiceMail() options per `greeting`: u unavailable, b busy, s skip the greeting.
GREETING_OPTIONS = {"unavailable": "u", "busy": "b", "none": "s"}
_MAILBOX = re.compile(r"[0-9A-Za-z_.-]{1,40}@[0-9A-Za-z_.-]{1,40}")


@node_handler(VoicemailNode)
async def run_voicemail(session: Session, node: VoicemailNode) -> Step:
    mailbox = session.text(node.mailbox) if "{" in node.mailbox else node.mailbox
    if not _MAILBOX.fullmatch(mailbox):
        session.log.warning("voicemail: %r is not a mailbox@context", mailbox)
        return next_step(node.on_failure)
    result = await run_subroutine(
        session, "ivr-voicemail", (mailbox, GREETING_OPTIONS[node.greeting])
    )
    session.emit("voicemail", {"mailbox": mailbox, "status": result.status or "HANGUP"})
    if result.hung_up:
        # Hanging up after the beep is how callers end a message: it is kept.
        raise CallHangup(f"the caller hung up in voicemail {mailbox}")
    if result.status in ("SUCCESS", "USEREXIT"):
        return await next_or_hang_up(session, node.next, "voicemail")
    return next_step(node.on_failure)
