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

Telephony: a `TelephonyScript` (per queue a `QueueScript`, per dial target a
`DialScript`, plus `VoicemailScript`, `FaxScript`, `ConferenceScript`) decides
what Queue, Dial, VoiceMail, ReceiveFax, ConfBridge and Originate see; their
records land in `CallResult.telephony`, a `TelephonyLog` (``queue_log``,
``dials``, ``voicemails``, ``mix_monitors``, ``conferences``, ``faxes``,
``originates``, ``user_events``).

Dialplan: `Dialplan.load` parses extensions.conf (and its ``#include``s);
`AsteriskEmulator(dialplan=...)` then `run_dialplan(context, exten)` runs a
channel through it - Goto/GotoIf/GotoIfTime/Gosub/ExecIf..., ``${...}`` and
``$[...]``, and ``AGI(agi://...)`` talking to the FastAGI server on the same
channel - and returns a `DialplanResult`. Dialplan functions (``${NAME(args)}``)
come from one registry: add one with `register_function`.

AMI: `AmiPeer` plays Asterisk's side of the manager interface over real TCP -
login (plain and MD5), Ping, Events, Originate (sync and async, with scripted far
ends, OriginateResponse and channel events, Page with per-phone results),
CoreShowChannels, Hangup, UserEvent - with Asterisk 22's texts; it records every
action (``actions``) and originate (``originated``, `OriginateOutcome`).

Sound files: `SoundsDirectory` answers ``existing_files`` and ``prompt_duration``
from a real sounds directory (Asterisk's lookup order, WAV and raw file lengths).
"""

from fastagi.testing._ami import AMI_VERSION, AmiPeer
from fastagi.testing._ami_calls import (
    CallScript,
    OriginateOutcome,
    PagedPhone,
    ScriptedOutcome,
)
from fastagi.testing._ami_wire import AmiMessage
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
from fastagi.testing._dialplan import Dialplan, DialplanError
from fastagi.testing._emulator import AsteriskEmulator
from fastagi.testing._functions import (
    FunctionHandler,
    FunctionWriter,
    register_builtin,
    register_function,
)
from fastagi.testing._parse import DTMF_DIGITS, MAX_ARGS, parse_args
from fastagi.testing._pbx import AppRun, DialplanResult
from fastagi.testing._result import CallResult, TimelineEvent
from fastagi.testing._sounds import SoundsDirectory
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
from fastagi.testing._telephony import (
    ConferenceRecord,
    ConferenceScript,
    DialRecord,
    DialScript,
    FaxRecord,
    FaxScript,
    MixMonitorRecord,
    OriginateRecord,
    QueueEvent,
    QueueLogEntry,
    QueueScript,
    TelephonyLog,
    TelephonyScript,
    UserEventRecord,
    VoicemailRecord,
    VoicemailScript,
)

__all__ = [
    "AMI_VERSION",
    "DTMF_DIGITS",
    "MAX_ARGS",
    "STATE_UP",
    "USAGE",
    "AmiMessage",
    "AmiPeer",
    "AppHandler",
    "AppRun",
    "AsteriskEmulator",
    "CallResult",
    "CallScript",
    "CallerScript",
    "Channel",
    "Command",
    "CommandHandler",
    "CommandTable",
    "ConferenceRecord",
    "ConferenceScript",
    "DialRecord",
    "DialScript",
    "Dialplan",
    "DialplanError",
    "DialplanResult",
    "FaxRecord",
    "FaxScript",
    "FunctionHandler",
    "FunctionWriter",
    "GosubRequest",
    "HangUp",
    "MixMonitorRecord",
    "OriginateOutcome",
    "OriginateRecord",
    "Outcome",
    "PagedPhone",
    "Playback",
    "Press",
    "QueueEvent",
    "QueueLogEntry",
    "QueueScript",
    "ScriptedOutcome",
    "Silence",
    "SoundsDirectory",
    "Status",
    "Step",
    "SubroutineHandler",
    "TelephonyLog",
    "TelephonyScript",
    "TimelineEvent",
    "UserEventRecord",
    "VoicemailRecord",
    "VoicemailScript",
    "default_applications",
    "default_commands",
    "failed",
    "ok",
    "parse_args",
    "register_builtin",
    "register_function",
]
