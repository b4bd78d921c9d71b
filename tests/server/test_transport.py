"""EagerServer: sends at once when idle, and never lets bytes overtake buffered ones."""

from __future__ import annotations

import asyncio

from twisted.internet.protocol import Factory, Protocol

from fastagi.server.reactor import run_on_reactor_loop
from fastagi.server.transport import EagerPort, EagerServer

BLOB = bytes(range(256)) * 16384  # 4 MiB: far more than a socket buffer holds


class _Writer(Protocol):
    def connectionMade(self) -> None:
        assert isinstance(self.transport, EagerServer)
        self.transport.write(BLOB)  # partly sent, the rest queued in Twisted
        for n in range(100):
            self.transport.write(b"line %d\n" % n)  # must queue behind the blob
        self.transport.loseConnection()


def test_queued_bytes_keep_their_order() -> None:
    async def scenario() -> bytes:
        from twisted.internet import reactor

        port = EagerPort(0, Factory.forProtocol(_Writer), interface="127.0.0.1", reactor=reactor)
        port.startListening()
        reader, writer = await asyncio.open_connection("127.0.0.1", port.getHost().port)
        data = await asyncio.wait_for(reader.read(), timeout=30)
        writer.close()
        port.stopListening()
        return data

    data = run_on_reactor_loop(scenario())
    assert data == BLOB + b"".join(b"line %d\n" % n for n in range(100))
