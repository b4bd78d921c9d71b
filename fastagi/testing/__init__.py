"""An emulator of Asterisk's side of FastAGI, over real TCP, for tests, ``ivr simulate`` and
``ivr bench``.

`AsteriskEmulator.place_call` connects to a FastAGI server like Asterisk's
``AGI(agi://host:port/script)``: it sends the environment block, then answers
each command line as res_agi.c does (word splitting by `parse_args`, 510/511/
520 replies, ``HANGUP`` notices, GOSUB's two-step reply). The channel's time is
virtual: prompts "play" instantly, and a scripted caller (`CallerScript` of
`Press`, `Silence`, `HangUp` steps) presses digits and hangs up at virtual
moments, so calls are fast and deterministic. It is independent of
``fastagi.agi`` on purpose: it checks our codec against Asterisk's behaviour,
not against itself.

Extension points: `CommandTable` (AGI commands by keywords; start from
`default_commands()`), EXEC applications (`AppHandler`, start from
`default_applications()`), GOSUB subroutines (`SubroutineHandler`, by context).
"""

from fastagi.testing._apps import default_applications
from fastagi.testing._caller import CallerScript, HangUp, Press, Silence, Step
from fastagi.testing._channel import (
    STATE_UP,
    AppHandler,
    Channel,
    GosubRequest,
    Playback,
    SubroutineHandler,
)
from fastagi.testing._commands import default_commands
from fastagi.testing._emulator import AsteriskEmulator
from fastagi.testing._parse import DTMF_DIGITS, MAX_ARGS, parse_args
from fastagi.testing._result import CallResult, TimelineEvent
from fastagi.testing._table import (
    USAGE,
    Command,
    CommandHandler,
    CommandTable,
    Outcome,
    Status,
    failed,
    ok,
)

__all__ = [
    "DTMF_DIGITS",
    "MAX_ARGS",
    "STATE_UP",
    "USAGE",
    "AppHandler",
    "AsteriskEmulator",
    "CallResult",
    "CallerScript",
    "Channel",
    "Command",
    "CommandHandler",
    "CommandTable",
    "GosubRequest",
    "HangUp",
    "Outcome",
    "Playback",
    "Press",
    "Silence",
    "Status",
    "Step",
    "SubroutineHandler",
    "TimelineEvent",
    "default_applications",
    "default_commands",
    "failed",
    "ok",
    "parse_args",
]
