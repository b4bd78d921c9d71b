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


class _LineThenClose(Protocol):
    """Writes a line and closes at once (the end of every call), or writes after closing."""

    after = False

    def __init__(self, lost: list[object]) -> None:
        self.lost = lost

    def connectionMade(self) -> None:
        assert self.transport is not None
        self.transport.write(b"200 result=1\n")
        self.transport.loseConnection()
        if self.after:
            self.transport.write(b"late\n")  # Twisted still delivers it before closing
        self.transport.loseConnection()  # a second call changes nothing

    def connectionLost(self, reason: object = None) -> None:
        self.lost.append(reason)


class _WriteAfterClose(_LineThenClose):
    after = True


def _read_all(protocol: type[_LineThenClose]) -> tuple[bytes, list[object]]:
    lost: list[object] = []

    async def scenario() -> bytes:
        from twisted.internet import reactor

        factory = Factory.forProtocol(lambda: protocol(lost))
        port = EagerPort(0, factory, interface="127.0.0.1", reactor=reactor)
        port.startListening()
        reader, writer = await asyncio.open_connection("127.0.0.1", port.getHost().port)
        data = await asyncio.wait_for(reader.read(), timeout=30)
        writer.close()
        await asyncio.sleep(0.05)
        port.stopListening()
        return data

    return run_on_reactor_loop(scenario()), lost


def test_close_with_nothing_queued() -> None:
    data, lost = _read_all(_LineThenClose)
    assert data == b"200 result=1\n"
    assert len(lost) == 1  # connectionLost exactly once


def test_bytes_written_after_lose_connection_still_go_out() -> None:
    data, lost = _read_all(_WriteAfterClose)
    assert data == b"200 result=1\nlate\n"
    assert len(lost) == 1
