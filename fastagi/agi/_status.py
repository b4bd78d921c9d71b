"""Reply status -> exception, in one table (as redis-py maps error prefixes)."""

from __future__ import annotations

from fastagi.agi._errors import (
    AGIError,
    DeadChannelError,
    InvalidCommandError,
    ProtocolError,
    UsageError,
)
from fastagi.agi._events import Reply

__all__ = ["raise_for_reply"]


def _invalid(reply: Reply) -> AGIError:
    return InvalidCommandError(f"Asterisk does not know this command: {reply.raw}", 510)


def _dead(reply: Reply) -> AGIError:
    return DeadChannelError(f"channel is dead: {reply.raw}")


def _usage(reply: Reply) -> AGIError:
    return UsageError(f"invalid command syntax: {reply.raw}", reply.usage)


_ERRORS = {510: _invalid, 511: _dead, 520: _usage}


def raise_for_reply(reply: Reply) -> None:
    """Raise the error a refused reply stands for; return quietly on 200."""
    if reply.code == 200:
        return
    make = _ERRORS.get(reply.code)
    if make is None:
        raise ProtocolError(f"unexpected reply code {reply.code}: {reply.raw}")
    raise make(reply)
