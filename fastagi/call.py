"""The async Call API that menus and actions use.

A `Call` wraps one FastAGI connection. Each method sends one AGI command,
awaits its reply and returns a typed result. Refusals raise (see
`fastagi.agi.raise_for_reply`); a caller who hangs up raises `CallHangup`
from whatever command is running. The Call knows nothing of sockets: it
talks to a `CommandChannel`, which the Twisted server (or a test) provides.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from fastagi.agi import AGIError, Environment, Reply, raise_for_reply

__all__ = [
    "DEFAULT_EXEC_ALLOWLIST",
    "Call",
    "CommandChannel",
    "DigitsResult",
    "ExecNotAllowed",
    "PlayResult",
    "PlaybackFailed",
]

log = logging.getLogger(__name__)

#: Applications `Call.exec` may run unless the server config says otherwise.
#: Long-running telephony goes through dialplan subroutines (`gosub`), not EXEC.
DEFAULT_EXEC_ALLOWLIST = frozenset(
    {"Answer", "Playback", "Background", "Wait", "NoOp", "Verbose", "MusicOnHold", "Ringing"}
)


class CommandChannel(Protocol):
    """Sends one AGI command and returns Asterisk's final reply.

    Raises `CallHangup` when the caller is gone (unless `after_hangup`: Asterisk
    still runs a few commands - GET VARIABLE, SET VARIABLE... - on a hung-up
    channel while the AGI lasts) and `CommandTimeout` when Asterisk does not
    answer in time. Interim `100 Trying` replies are
    consumed by the channel, never returned.
    """

    async def send_command(
        self, name: str, args: Sequence[str], *, after_hangup: bool = False
    ) -> Reply: ...


class ExecNotAllowed(AGIError):
    """The application is not on the server's EXEC allowlist."""


class PlaybackFailed(AGIError):
    """Asterisk could not play a file (result=-1: missing file or dead channel)."""


@dataclass(frozen=True)
class PlayResult:
    """Outcome of STREAM FILE: the escape digit pressed (if any) and where playback stopped."""

    digit: str | None
    endpos: int


@dataclass(frozen=True)
class DigitsResult:
    """Outcome of GET DATA: the digits entered and whether input ended by timeout."""

    digits: str
    timed_out: bool


def _digit_from_code(code: int | None) -> str | None:
    """STREAM FILE and WAIT FOR DIGIT return the pressed digit as its ASCII code."""
    if code is None or code <= 0:
        return None
    return chr(code)


def _check_app_arg(value: str) -> str:
    # Asterisk splits application data on commas: one stray comma in a value
    # would become an extra argument, so values that carry one are refused.
    if "," in value:
        raise ValueError(f"application argument may not contain a comma: {value!r}")
    return value


class Call:
    """One call in progress: the environment Asterisk sent and the commands to drive it."""

    def __init__(
        self,
        env: Environment,
        channel: CommandChannel,
        *,
        exec_allowlist: frozenset[str] = DEFAULT_EXEC_ALLOWLIST,
    ) -> None:
        self.env = env
        #: agi_uniqueid, read once: the server asks for it several times a call.
        self.uniqueid: str = env.uniqueid
        self._channel = channel
        self._exec_allowlist = exec_allowlist
        self.log = logging.LoggerAdapter(log, {"uniqueid": self.uniqueid})

    @property
    def language(self) -> str:
        """The channel's language when the call arrived (agi_language)."""
        return self.env.language

    async def command(self, name: str, *args: str) -> Reply:
        """Send a raw AGI command; return its 200 reply or raise the mapped error."""
        reply = await self._channel.send_command(name, args)
        if reply.code != 200:  # saves a call on every command that succeeds
            raise_for_reply(reply)
        return reply

    async def answer(self) -> None:
        reply = await self.command("ANSWER")
        if reply.result_int == -1:
            raise PlaybackFailed("ANSWER failed")

    async def hangup(self) -> None:
        await self.command("HANGUP")

    async def play(self, filename: str, escape_digits: str = "") -> PlayResult:
        """Play a sound file; pressing one of `escape_digits` stops it (barge-in)."""
        reply = await self.command("STREAM FILE", filename, escape_digits)
        if reply.result_int == -1:
            raise PlaybackFailed(f"cannot play {filename!r}")
        return PlayResult(digit=_digit_from_code(reply.result_int), endpos=reply.endpos or 0)

    async def get_digits(self, prompt: str, *, timeout_ms: int, max_digits: int) -> DigitsResult:
        """Play `prompt` and collect up to `max_digits` digits (GET DATA)."""
        reply = await self.command("GET DATA", prompt, str(timeout_ms), str(max_digits))
        digits = reply.result or ""
        if digits == "-1":
            raise PlaybackFailed(f"GET DATA failed on {prompt!r}")
        return DigitsResult(digits=digits, timed_out=reply.data == "timeout")

    async def wait_for_digit(self, timeout_ms: int) -> str | None:
        """Wait for one digit; None when the time ran out."""
        reply = await self.command("WAIT FOR DIGIT", str(timeout_ms))
        if reply.result_int == -1:
            raise PlaybackFailed("WAIT FOR DIGIT failed")
        return _digit_from_code(reply.result_int)

    async def say_digits(self, digits: str, escape_digits: str = "") -> str | None:
        reply = await self.command("SAY DIGITS", digits, escape_digits)
        return _digit_from_code(reply.result_int)

    async def say_number(self, number: int, escape_digits: str = "") -> str | None:
        reply = await self.command("SAY NUMBER", str(number), escape_digits)
        return _digit_from_code(reply.result_int)

    async def get_variable(self, name: str) -> str | None:
        """A channel variable's value, or None when it is not set."""
        reply = await self.command("GET VARIABLE", name)
        return reply.data if reply.result_int == 1 else None

    async def get_full_variable(self, expression: str, *, after_hangup: bool = False) -> str | None:
        """`expression` with its ${...} expanded by Asterisk (GET FULL VARIABLE).

        With `after_hangup` it is sent even when the caller has hung up: Asterisk
        allows it on a dead channel, which is how actions read the status a
        dialplan subroutine left when the caller hung up inside it.
        """
        reply = await self._channel.send_command(
            "GET FULL VARIABLE", (expression,), after_hangup=after_hangup
        )
        if reply.code != 200:
            raise_for_reply(reply)
        return reply.data if reply.result_int == 1 else None

    async def set_variable(self, name: str, value: str) -> None:
        await self.command("SET VARIABLE", name, value)

    async def exec(self, application: str, *args: str) -> int:
        """Run an allowlisted dialplan application; return its result code."""
        if application not in self._exec_allowlist:
            raise ExecNotAllowed(f"application {application!r} is not on the EXEC allowlist")
        data = ",".join(_check_app_arg(arg) for arg in args)
        reply = await self.command("EXEC", application, data)
        return reply.result_int or 0

    async def gosub(self, context: str, extension: str, priority: str, *args: str) -> Reply:
        """Run a dialplan subroutine and wait until it returns (GOSUB)."""
        params = [context, extension, priority]
        if args:
            params.append(",".join(_check_app_arg(arg) for arg in args))
        return await self.command("GOSUB", *params)

    async def verbose(self, message: str, level: int = 1) -> None:
        await self.command("VERBOSE", message, str(level))
