"""One FastAGI connection: bytes in, codec events out, commands in, bytes out.

The protocol keeps the per-call deadlines (env block, current command,
maximum call duration) as times on an injected clock; the factory checks
them all once a tick - one timer for the whole server, since a timer per
command cost more CPU than the command itself. Every way a call can end -
HANGUP, a 511 reply, a lost connection - becomes `CallHangup` for the
script. It always closes the socket itself: Asterisk never does, and an open
FastAGI socket pins one of Asterisk's channel threads.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from time import perf_counter
from typing import TYPE_CHECKING

from twisted.internet.interfaces import IReactorTime
from twisted.internet.protocol import Protocol
from twisted.python.failure import Failure

from fastagi.agi import (
    NEED_DATA,
    AGIConnection,
    AGIError,
    CallHangup,
    Closed,
    CommandTimeout,
    Environment,
    Hangup,
    ProtocolError,
    Reply,
)

if TYPE_CHECKING:
    from fastagi.server.factory import FastAGIFactory

__all__ = ["FastAGIProtocol"]

log = logging.getLogger(__name__)


class FastAGIProtocol(Protocol):
    """Speaks AGI with one Asterisk channel; implements `fastagi.call.CommandChannel`."""

    def __init__(self, factory: FastAGIFactory, clock: IReactorTime) -> None:
        self.factory = factory
        self.clock = clock
        self.codec = AGIConnection(
            max_line_length=factory.settings.max_line_length,
            max_command_bytes=factory.settings.max_command_bytes,
        )
        self.env: Environment | None = None
        self.hung_up = False
        self._hangup_before_reply = False
        self.connected = False
        self._pending: asyncio.Future[Reply] | None = None
        self._env_deadline: float | None = None
        self._command_deadline: float | None = None
        self._command_name = ""
        self._call_deadline: float | None = None
        self._command_timeout = factory.settings.command_timeout  # per command: read once
        self._command_timer = factory.command_timer  # None unless metrics are on
        self.task: asyncio.Task[None] | None = None

    # -- logging -----------------------------------------------------------

    @property
    def uniqueid(self) -> str:
        return self.env.uniqueid if self.env else "-"

    def _log(self, level: int, message: str, *args: object) -> None:
        log.log(level, message, *args, extra={"uniqueid": self.uniqueid})

    # -- Twisted callbacks -------------------------------------------------

    def connectionMade(self) -> None:
        self.connected = True
        self._env_deadline = self.clock.seconds() + self.factory.settings.env_timeout

    def dataReceived(self, data: bytes) -> None:
        try:
            self.codec.receive_data(data)
            self._drain_events()
        except ProtocolError as exc:
            self._log(logging.WARNING, "protocol error from Asterisk, closing: %s", exc)
            self._abort(CallHangup(f"protocol error: {exc}"))

    def connectionLost(self, reason: Failure | None = None) -> None:
        self.connected = False
        self.hung_up = True
        self._env_deadline = self._command_deadline = self._call_deadline = None
        self._fail_pending(CallHangup("connection to Asterisk lost"))
        self.factory.call_ended(self)

    # -- events from the codec ---------------------------------------------

    def _drain_events(self) -> None:
        while True:
            event = self.codec.next_event()
            if event is NEED_DATA:
                return
            if isinstance(event, Reply):  # the usual event: tested first
                self._on_reply(event)
            elif isinstance(event, Environment):
                self._on_environment(event)
            elif isinstance(event, Hangup):
                self._log(logging.INFO, "caller hung up")
                self.hung_up = True
                # Only a HANGUP before the reply taints it; one that follows a
                # reply (our own HANGUP command, say) ends the call from the next command.
                self._hangup_before_reply = self._pending is not None
            elif isinstance(event, Closed):
                self.close()
                return

    def _on_environment(self, env: Environment) -> None:
        self.env = env
        self._env_deadline = None
        if env.malformed_lines:
            self._log(
                logging.WARNING, "env block had %d malformed line(s)", len(env.malformed_lines)
            )
        self._call_deadline = self.clock.seconds() + self.factory.settings.max_call_duration
        self.task = asyncio.get_running_loop().create_task(self.factory.run_call(self, env))

    def _on_reply(self, reply: Reply) -> None:
        if reply.code == 100:  # GOSUB's interim "Trying...": the real reply follows
            return
        self._command_deadline = None
        pending, self._pending = self._pending, None
        if pending is not None and not pending.done():
            pending.set_result(reply)

    # -- CommandChannel ------------------------------------------------------

    async def send_command(
        self, name: str, args: Sequence[str], *, after_hangup: bool = False
    ) -> Reply:
        """Send one command and wait for its final reply (see CommandChannel)."""
        if (self.hung_up and not after_hangup) or not self.connected:
            raise CallHangup("the caller has hung up")
        data = self.codec.send(name, *args)
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._pending = future
        # A GOSUB into a queue or a transfer lasts the whole conversation: only
        # the call's own limit (max_call_duration) bounds it.
        self._command_deadline = (
            None if name == "GOSUB" else self.clock.seconds() + self._command_timeout
        )
        self._command_name = name
        assert self.transport is not None
        timer = self._command_timer
        started = perf_counter() if timer is not None else 0.0
        self.transport.write(data)
        reply = await future
        if timer is not None:
            timer(perf_counter() - started)
        if self._hangup_before_reply and not after_hangup:
            # The reply to a command that was running when the caller left
            # (result=-1) means "gone", whatever its digits say.
            raise CallHangup("the caller hung up during " + name)
        return reply

    # -- deadlines and closing ---------------------------------------------------

    def check_deadlines(self, now: float) -> None:
        """Act on every deadline that has passed by `now` (called by the factory's tick)."""
        if self._env_deadline is not None and now >= self._env_deadline:
            self._env_deadline = None
            self._env_late()
        if self._command_deadline is not None and now >= self._command_deadline:
            self._command_deadline = None
            self._command_late(self._command_name)
        if self._call_deadline is not None and now >= self._call_deadline:
            self._call_deadline = None
            self._too_long()

    def _env_late(self) -> None:
        self._log(
            logging.WARNING,
            "peer sent no AGI environment within %.1f s, closing",
            self.factory.settings.env_timeout,
        )
        self.close()

    def _command_late(self, name: str) -> None:
        # The reply stream can no longer be trusted: close the call.
        self._log(
            logging.ERROR,
            "no reply to %s within %.1f s, closing the call",
            name,
            self.factory.settings.command_timeout,
        )
        self._abort(CommandTimeout(f"no reply to {name}"))

    def _too_long(self) -> None:
        self._log(
            logging.WARNING,
            "call exceeded max duration of %.0f s, closing",
            self.factory.settings.max_call_duration,
        )
        if self.task is not None and not self.task.done():
            self.task.cancel()
        self.close()

    def _fail_pending(self, error: AGIError) -> None:
        pending, self._pending = self._pending, None
        if pending is not None and not pending.done():
            pending.set_exception(error)

    def _abort(self, error: AGIError) -> None:
        self._fail_pending(error)
        self.hung_up = True
        self.close()

    def close(self) -> None:
        """Close the socket (Asterisk never does); idempotent."""
        if self.connected and self.transport is not None:
            self.transport.loseConnection()
