"""One AMI connection as a Twisted Protocol: bytes in, `AmiMessage`s out to the client.

It only frames: parsing is `AmiParser`'s, and what a message means (a reply,
an event) is the client's. `lost` is an asyncio future resolved when the
connection ends, which is how the client's coroutines wait for that.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from twisted.internet.protocol import Protocol
from twisted.python.failure import Failure

from fastagi.ami.message import AmiMessage, AmiParser

__all__ = ["AmiProtocol"]

log = logging.getLogger("fastagi.ami")


class AmiProtocol(Protocol):
    """Frames the AMI stream; calls `on_message(self, message)` for each message,
    `on_malformed(self, lines, oversized)` when the parser skipped something,
    and `on_lost(self, reason)` once, when the connection ends."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        on_message: Callable[[AmiProtocol, AmiMessage], None],
        on_malformed: Callable[[AmiProtocol, int, int], None],
        on_lost: Callable[[AmiProtocol, Failure | None], None],
        parser: AmiParser | None = None,
    ) -> None:
        self.parser = parser or AmiParser()
        self._on_message = on_message
        self._on_malformed = on_malformed
        self._on_lost = on_lost
        self._loop = loop
        self.lost: asyncio.Future[Failure | None] = loop.create_future()
        self.connected = False
        self.last_received = loop.time()

    def connectionMade(self) -> None:
        self.connected = True
        self.last_received = self._loop.time()

    def dataReceived(self, data: bytes) -> None:
        self.last_received = self._loop.time()
        parser = self.parser
        malformed, oversized = parser.malformed_lines, parser.oversized_messages
        messages = parser.feed(data)
        if parser.malformed_lines != malformed or parser.oversized_messages != oversized:
            self._on_malformed(
                self,
                parser.malformed_lines - malformed,
                parser.oversized_messages - oversized,
            )
        for message in messages:
            if not self.connected:
                return  # the client dropped us mid-batch: the rest is moot
            self._on_message(self, message)

    def connectionLost(self, reason: Failure | None = None) -> None:
        self.connected = False
        if not self.lost.done():
            self.lost.set_result(reason)
            self._on_lost(self, reason)

    def send(self, data: bytes) -> None:
        if self.transport is None or not self.connected:
            raise ConnectionError("AMI connection is closed")
        self.transport.write(data)

    def close(self) -> None:
        """Close after what is queued has been written."""
        if self.transport is not None and not self.lost.done():
            self.connected = False
            self.transport.loseConnection()

    def abort(self) -> None:
        """Close now, dropping what is queued (a dead peer may never read it)."""
        if self.transport is not None and not self.lost.done():
            self.connected = False
            self.transport.abortConnection()  # type: ignore[attr-defined]
