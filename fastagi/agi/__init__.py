"""Sans-I/O AGI codec: environment block, command formatting, reply parsing.

No sockets and no Twisted here: bytes go in through
`AGIConnection.receive_data`, events come out of `next_event`, commands are
turned into bytes by `AGIConnection.send`. Everything is a pure function or a
small value type, so it can be fuzzed and property-tested on its own.
"""

from fastagi.agi._command import MAX_ARGS, MAX_COMMAND_BYTES, format_command, quote_argument
from fastagi.agi._connection import AGIConnection, State
from fastagi.agi._env import parse_env_line
from fastagi.agi._errors import (
    AGIError,
    CallHangup,
    CommandError,
    CommandTimeout,
    CommandTooLong,
    DeadChannelError,
    InvalidCommandError,
    LocalProtocolError,
    ProtocolError,
    UsageError,
)
from fastagi.agi._events import NEED_DATA, Closed, Environment, Event, Hangup, NeedData, Reply
from fastagi.agi._response import parse_reply_line
from fastagi.agi._status import raise_for_reply

__all__ = [
    "MAX_ARGS",
    "MAX_COMMAND_BYTES",
    "NEED_DATA",
    "AGIConnection",
    "AGIError",
    "CallHangup",
    "Closed",
    "CommandError",
    "CommandTimeout",
    "CommandTooLong",
    "DeadChannelError",
    "Environment",
    "Event",
    "Hangup",
    "InvalidCommandError",
    "LocalProtocolError",
    "NeedData",
    "ProtocolError",
    "Reply",
    "State",
    "UsageError",
    "format_command",
    "parse_env_line",
    "parse_reply_line",
    "quote_argument",
    "raise_for_reply",
]
