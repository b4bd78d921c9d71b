"""What Asterisk does in a scenario: how queues, transfers, voicemail and faxes turn out.

The field names are those of the emulator's `QueueScript` and `DialScript`
(fastagi.testing), which `ivr test` builds from them one to one.

A scenario's `telephony` block scripts the outcome of each action the menus
run (`ivr test` hands it to the Asterisk emulator), and `at` fixes the
moment of the call, for `hours` nodes and time-of-day segment rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["ScenarioDial", "ScenarioQueue", "ScenarioTelephony"]

Moment = Annotated[float, Field(ge=0, le=86400)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ScenarioQueue(_Frozen):
    """One queue's behaviour. Nothing given: nobody answers (the queue times out)."""

    answer_after: Moment | None = Field(default=None, description="An agent answers after N s.")
    talk: Moment = Field(default=60, description="Seconds the agent talks once connected.")
    hangup_by: Literal["agent", "caller"] = Field(
        default="agent", description="Who ends the call with the agent."
    )
    caller_hangup_after: Moment | None = Field(
        default=None, description="The caller gives up after N s of waiting (abandon)."
    )
    status: Literal["FULL", "JOINEMPTY", "JOINUNAVAIL", "LEAVEEMPTY", "LEAVEUNAVAIL"] | None = (
        Field(default=None, description="The queue refuses the caller with this QUEUESTATUS.")
    )
    waiting: int = Field(default=0, ge=0, le=1000, description="Callers already waiting.")
    holdtime: int = Field(default=0, ge=0, le=86400, description="Average hold time (s).")

    @model_validator(mode="after")
    def _one_fate(self) -> ScenarioQueue:
        if self.status is not None and self.answer_after is not None:
            raise ValueError("a queue that refuses the caller cannot also answer")
        return self


class ScenarioDial(_Frozen):
    """How a dialled target answers (DIALSTATUS)."""

    status: Literal["ANSWER", "BUSY", "NOANSWER", "CHANUNAVAIL", "CONGESTION"] = "ANSWER"
    after: Moment = Field(default=5, description="Seconds of ringing before the status.")
    talk: Moment = Field(default=60, description="Seconds of talk after ANSWER.")


class ScenarioTelephony(_Frozen):
    """The telephony side of one scripted call."""

    queues: Mapping[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")], ScenarioQueue] = (
        Field(default_factory=dict, description="Queue name -> what happens there.")
    )
    dials: Mapping[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.+@/-]{1,128}$")], ScenarioDial] = (
        Field(
            default_factory=dict,
            description="Dial target (PJSIP/207, PJSIP/+7495...@trunk-main) -> its answer.",
        )
    )
    voicemail: Literal["SUCCESS", "USEREXIT", "FAILED"] = Field(
        default="SUCCESS", description="VMSTATUS of any voicemail left."
    )
    fax: Literal["SUCCESS", "FAILED"] = Field(default="SUCCESS", description="FAXSTATUS.")
