"""The `record` action: MixMonitor on or off, per segment, one file per call by date."""

from __future__ import annotations

import time

from fastagi.actions.subroutine import run_subroutine
from fastagi.agi import CallHangup
from fastagi.menus.action_nodes import RecordNode
from fastagi.menus.handlers import next_step, node_handler
from fastagi.menus.session import Session, Step

__all__ = ["recording_name"]

RECORDING_VARIABLE = "IVR_RECORDING"


def recording_name(folder: str, uniqueid: str, at: float) -> str:
    """`folder/YYYY/MM/DD/YYYYmmdd-HHMMSS-uniqueid.wav` in UTC (the uniqueid keeps it unique)."""
    moment = time.gmtime(at)
    day = time.strftime("%Y/%m/%d", moment)
    stamp = time.strftime("%Y%m%d-%H%M%S", moment)
    return f"{folder}/{day}/{stamp}-{uniqueid}.wav"


@node_handler(RecordNode)
async def run_record(session: Session, node: RecordNode) -> Step:
    if node.segments and session.context.segment not in node.segments:
        return next_step(node.next)
    if node.action == "stop":
        result = await run_subroutine(session, "ivr-record", ("off", "", ""))
        session.emit("record", {"action": "stop", "status": result.status or "HANGUP"})
    else:
        name = recording_name(node.folder, session.call.uniqueid, session.context.now.timestamp())
        result = await run_subroutine(session, "ivr-record", ("on", name, node.options))
        session.emit("record", {"action": "start", "file": name, "status": result.status})
        if result.status == "RECORDING":
            await session.set_variable(RECORDING_VARIABLE, name)
    if result.hung_up:
        raise CallHangup("the caller hung up while recording was switched")
    return next_step(node.next)
