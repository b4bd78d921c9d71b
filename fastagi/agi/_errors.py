"""Every error the AGI layer raises, in one hierarchy.

Callers catch `AGIError` to catch them all; `CallHangup` means the caller is
gone (HANGUP line, a 511 reply or a lost connection) and is what a menu script
sees whenever the call ends under it.
"""

from __future__ import annotations

__all__ = [
    "AGIError",
    "CallHangup",
    "CommandError",
    "CommandTimeout",
    "CommandTooLong",
    "DeadChannelError",
    "InvalidCommandError",
    "LocalProtocolError",
    "ProtocolError",
    "UsageError",
]


class AGIError(Exception):
    """Base class of every error raised by the AGI layer."""


class ProtocolError(AGIError):
    """The peer sent bytes that are not valid AGI (garbage, overlong line, unknown code)."""


class LocalProtocolError(AGIError):
    """We tried to do something AGI does not allow (e.g. two commands in flight)."""


class CommandTooLong(LocalProtocolError):
    """A command exceeds what Asterisk accepts (8192 bytes or 128 arguments)."""


class CallHangup(AGIError):
    """The caller hung up or the connection to Asterisk was lost."""


class DeadChannelError(CallHangup):
    """511: the command is not permitted on a dead channel."""


class CommandTimeout(AGIError):
    """Asterisk did not answer a command within its deadline; the call was closed."""


class CommandError(AGIError):
    """Asterisk refused a command (510 or 520)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


class InvalidCommandError(CommandError):
    """510: Asterisk does not know the command."""


class UsageError(CommandError):
    """520: the command's syntax was wrong; `usage` holds Asterisk's usage text."""

    def __init__(self, message: str, usage: str) -> None:
        super().__init__(message, 520)
        self.usage = usage
