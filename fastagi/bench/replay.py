"""The throughput phase's load: a probe call's exchange replayed, byte for byte, at full speed.

The emulator (`fastagi.testing`) plays a whole Asterisk for every call: it
parses each command, runs it against the channel and the dialplan, and keeps
a record of the call. Under full load that costs more CPU per call than a
lean server spends, so it could not saturate one: the wall rate measured the
load generator, not the server. For the throughput phase the exchange of a
probe call, placed through the emulator, is replayed instead: the same
environment block (each call with its own uniqueid and, when the scenario
asks, its own caller), the same reply to each command, and every command
line the server sends is checked byte for byte against the probe's. A call
counts when the server sent exactly the expected commands and then closed
the socket itself; anything else is a failed call with its reason.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from fastagi.testing import CallResult

__all__ = ["Exchange", "ReplayError", "Replayed", "replay"]

#: Real seconds after which a replayed call is given up as stuck.
CALL_LIMIT = 60.0


class ReplayError(ValueError):
    """The probe call cannot be replayed (its replies are not one per command)."""


@dataclass(frozen=True)
class Exchange:
    """What a replayed call sends and expects: env lines, command lines, reply lines."""

    env: tuple[tuple[str, str], ...]
    commands: tuple[bytes, ...]
    replies: tuple[bytes, ...]

    @classmethod
    def of(cls, probe: CallResult) -> Exchange:
        """The exchange of a call placed through the emulator.

        Raises ReplayError unless each command had one reply line (a hang-up
        notice or GOSUB's interim lines would need the emulator's logic).
        """
        if len(probe.replies) != len(probe.command_lines):
            raise ReplayError(
                f"the probe call has {len(probe.replies)} reply lines for "
                f"{len(probe.command_lines)} commands; only one reply per command is replayed"
            )
        return cls(
            env=tuple(probe.env.items()),
            commands=tuple(line.encode() for line in probe.command_lines),
            replies=tuple(f"{reply}\n".encode() for reply in probe.replies),
        )

    def env_block(self, uniqueid: str, callerid: str) -> bytes:
        """The environment block of one call, with its uniqueid and caller."""
        own = {"agi_uniqueid": uniqueid, "agi_callerid": callerid}
        lines = [f"{key}: {own.get(key, value)}\n" for key, value in self.env]
        return ("".join(lines) + "\n").encode()


@dataclass(frozen=True)
class Replayed:
    """One replayed call: the commands received, the seconds each took, what went wrong."""

    commands: int
    timings: tuple[float, ...]
    problem: str | None


class _Call(asyncio.Protocol):
    """One call's side of the socket: env block out, then a reply to each expected command."""

    def __init__(self, exchange: Exchange, env: bytes, done: asyncio.Future[Replayed]) -> None:
        self.exchange = exchange
        self.env = env
        self.done = done
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.received = 0
        self.timings: list[float] = []
        self.problem: str | None = None
        self.last_write = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.env)
        self.last_write = time.perf_counter()

    def data_received(self, data: bytes) -> None:
        arrived = time.perf_counter()
        self.buffer += data
        commands, replies = self.exchange.commands, self.exchange.replies
        while self.problem is None and b"\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\n", 1)
            index = self.received
            self.received += 1
            if index >= len(commands):
                self.fail(f"unexpected command {index + 1}: {line[:80]!r}")
            elif line != commands[index]:
                self.fail(f"command {index + 1} was {line[:80]!r}, expected {commands[index]!r}")
            else:
                self.timings.append(arrived - self.last_write)
                assert self.transport is not None
                self.transport.write(replies[index])
                self.last_write = time.perf_counter()

    def fail(self, problem: str) -> None:
        self.problem = problem
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        problem = self.problem
        if problem is None and self.received < len(self.exchange.commands):
            problem = (
                f"the connection ended after {self.received} of "
                f"{len(self.exchange.commands)} commands" + (f": {exc}" if exc else "")
            )
        if not self.done.done():
            self.done.set_result(Replayed(self.received, tuple(self.timings), problem))


async def replay(
    exchange: Exchange, host: str, port: int, uniqueid: str, callerid: str
) -> Replayed:
    """One call: connect, replay the exchange, wait until the server closes (or CALL_LIMIT)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[Replayed] = loop.create_future()
    env = exchange.env_block(uniqueid, callerid)
    transport, call = await loop.create_connection(lambda: _Call(exchange, env, done), host, port)
    try:
        return await asyncio.wait_for(asyncio.shield(done), CALL_LIMIT)
    except TimeoutError:
        call.fail(f"stuck: no end after {CALL_LIMIT:g} s")
        transport.abort()
        return await done
