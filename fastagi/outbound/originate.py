"""AMI Originate for outbound calls: the request's fields, and what the answer means.

An outbound call is one `Originate` with `Async: true`: Asterisk answers at
once ("successfully queued") and reports the result later in an
`OriginateResponse` event whose `Reason` is the last control frame the
dialled channel sent (include/asterisk/frame.h: 1 hangup, 3 ringing, 4
answer, 5 busy, 8 congestion; 0 when no channel could be made). The
request names its channel's unique id (`ChannelId`), so its event is
recognised by `Uniqueid` whatever ActionID the client used.

The dialplan side is dialplan/ivr-outbound.conf: the called party is
reached through a Local channel into one of its contexts, and the other leg
(a queue, an agent, a message) runs from `Context`/`Exten` once it answers.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

__all__ = [
    "ATTEMPT_VARIABLE",
    "DialOutcome",
    "OriginateRequest",
    "dial_outcome",
    "dialstatus_outcome",
]

DialOutcome = Literal["answered", "busy", "no_answer", "failed"]

#: The Originate variable naming the attempt (its ChannelId), for the call's own
#: record of its result (fastagi.outbound.results); the dialer sets it.
ATTEMPT_VARIABLE: Final = "IVR_ATTEMPT"

#: OriginateResponse Reason (AST_CONTROL_* of the dialled channel) -> outcome.
_REASONS: Final[Mapping[str, DialOutcome]] = {
    "4": "answered",
    "5": "busy",
    "3": "no_answer",  # it rang until the timeout
    "1": "no_answer",  # hung up before answering (declined)
    "2": "no_answer",
    "8": "failed",  # congestion: the network refused
    "0": "failed",  # no channel at all (bad trunk, bad number)
}

#: What a field value may hold: the dial string and variables come from config
#: and E.164 numbers, never from a caller - still, nothing that could break a line.
_SAFE = re.compile(r"[^\r\n]{0,512}")


@dataclass(frozen=True)
class OriginateRequest:
    """One outbound call: dial `channel`, then on answer run `context`/`exten`
    (or `application` with `data`, e.g. Wait while a Page plays)."""

    channel: str
    context: str = ""
    exten: str = ""
    priority: str = "1"
    application: str = ""
    data: str = ""
    caller_id: str = ""
    timeout: float = 30.0
    variables: Mapping[str, str] = field(default_factory=dict)
    account: str = ""
    channel_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def __post_init__(self) -> None:
        if bool(self.application) == bool(self.context and self.exten):
            raise ValueError("an Originate runs either context and exten, or an application")

    def fields(self) -> dict[str, str | list[str]]:
        """The Originate action's fields (Async: the result comes as an event)."""
        values: dict[str, str | list[str]] = {"Channel": self.channel}
        if self.application:
            values.update(Application=self.application, Data=self.data)
        else:
            values.update(Context=self.context, Exten=self.exten, Priority=self.priority)
        values.update(
            Timeout=str(round(self.timeout * 1000)), Async="true", ChannelId=self.channel_id
        )
        if self.caller_id:
            values["CallerID"] = self.caller_id
        if self.account:
            values["Account"] = self.account
        if self.variables:
            values["Variable"] = [f"{name}={value}" for name, value in self.variables.items()]
        for name, value in values.items():
            for item in [value] if isinstance(value, str) else value:
                if not _SAFE.fullmatch(item):
                    raise ValueError(f"Originate {name} holds a line break or is too long")
        return values


def dial_outcome(reason: str | None, response: str | None = None) -> DialOutcome:
    """The outcome of an OriginateResponse (its `Reason` and `Response` fields)."""
    if response == "Success":
        return "answered"
    return _REASONS.get((reason or "").strip(), "failed")


#: Dial()'s DIALSTATUS of one leg -> outcome (an agent-first call's client, a paged phone).
_DIALSTATUS: Final[Mapping[str, DialOutcome]] = {
    "ANSWER": "answered",
    "BUSY": "busy",
    "NOANSWER": "no_answer",
    "CANCEL": "no_answer",
}


def dialstatus_outcome(status: str | None) -> DialOutcome:
    """The outcome of a DIALSTATUS (anything unknown is a failure)."""
    return _DIALSTATUS.get(status or "", "failed")
