"""Run one action's dialplan subroutine and read the status it left.

The contract with dialplan/ivr-actions.conf (docs/asterisk.md): each
subroutine clears `IVR_ACTION_STATUS`, stamps `IVR_ACTION_STARTED=${EPOCH}`,
runs its application, then sets `IVR_ACTION_STATUS` and returns. The server
reads everything in one GET FULL VARIABLE, allowed even after a hangup - a
caller who hangs up inside the application leaves the status empty, because
the priorities after it never run.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from fastagi.agi import CallHangup
from fastagi.menus.session import Finish, Goto, Session, Step
from fastagi.menus.target import Target

__all__ = ["MISSING", "ActionResult", "next_or_hang_up", "run_subroutine"]

STATUS_VARIABLE = "IVR_ACTION_STATUS"
STARTED_VARIABLE = "IVR_ACTION_STARTED"
_SEPARATOR = "|"
#: The status of a subroutine the dialplan does not have.
MISSING = "MISSING"
_NUMBER = re.compile(r"-?[0-9]{1,12}")


@dataclass(frozen=True)
class ActionResult:
    """What a subroutine left: its status, seconds spent, and extra variables asked for."""

    status: str
    seconds: int | None
    hung_up: bool
    variables: dict[str, str] = field(default_factory=dict)


def _seconds(started: str, ended: str) -> int | None:
    if not (_NUMBER.fullmatch(started) and _NUMBER.fullmatch(ended)):
        return None
    return max(int(ended) - int(started), 0)


async def run_subroutine(
    session: Session, context: str, args: Sequence[str], *, read: Sequence[str] = ()
) -> ActionResult:
    """GOSUB `context` s 1 with `args`; return the status and the variables in `read`.

    The caller hanging up during the subroutine is reported in the result
    (`hung_up`), not raised: the action records what happened first. A
    connection lost for good still raises CallHangup.
    """
    session.emit("action", {"subroutine": context, "args": ",".join(args)})
    hung_up = False
    try:
        reply = await session.call.gosub(context, "s", "1", *args)
    except CallHangup:
        hung_up = True
    else:
        if reply.result_int == -1:  # "Gosub label not found"
            session.log.error("dialplan has no subroutine %s,s,1 (see docs/asterisk.md)", context)
            session.emit("action_result", {"subroutine": context, "status": MISSING})
            return ActionResult(status=MISSING, seconds=None, hung_up=False)
    names = (STATUS_VARIABLE, STARTED_VARIABLE, "EPOCH", *read)
    expression = _SEPARATOR.join(f"${{{name}}}" for name in names)
    try:
        text = await session.call.get_full_variable(expression, after_hangup=True)
    except CallHangup:
        if not hung_up:
            raise
        text = None  # Asterisk already closed the AGI: nothing more to learn
    values = (text or "").split(_SEPARATOR)
    values += [""] * (len(names) - len(values))
    status, started, ended, *extra = values[: len(names)]
    if not hung_up and not status:
        hung_up = True  # the application returned -1: the channel is gone
    result = ActionResult(
        status=status.strip().upper(),
        seconds=_seconds(started.strip(), ended.strip()),
        hung_up=hung_up,
        variables=dict(zip(read, extra, strict=True)),
    )
    data = {"subroutine": context, "status": result.status or "HANGUP"}
    if result.seconds is not None:
        data["seconds"] = str(result.seconds)
    session.emit("action_result", data)
    return result


async def next_or_hang_up(session: Session, target: Target | None, reason: str) -> Step:
    """After an action that did its job (answered, message left): `target`, or hang up."""
    if target is not None:
        return Goto(target)
    await session.call.hangup()
    return Finish("hangup", reason)
