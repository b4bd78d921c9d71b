"""LeanAsyncioReactor: fd events go straight to the reactor, failures still drop the connection."""

from __future__ import annotations

import asyncio

from twisted.internet.protocol import Factory, Protocol

from fastagi.server.reactor import LeanAsyncioReactor, run_on_reactor_loop
from fastagi.server.transport import EagerPort


class _Echo(Protocol):
    def dataReceived(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)
        if data.endswith(b"bye\n"):
            self.transport.loseConnection()


class _Failing(Protocol):
    def dataReceived(self, data: bytes) -> None:
        raise RuntimeError("a bug in a handler")


def _exchange(protocol: type[Protocol], send: bytes) -> bytes:
    async def scenario() -> bytes:
        from twisted.internet import reactor

        factory = Factory.forProtocol(protocol)
        port = EagerPort(0, factory, interface="127.0.0.1", reactor=reactor)
        port.startListening()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port.getHost().port)
            writer.write(send)
            data = await asyncio.wait_for(reader.read(), timeout=10)  # up to EOF
            writer.close()
            return data
        finally:
            port.stopListening()

    return run_on_reactor_loop(scenario())


def test_the_installed_reactor_is_the_lean_one() -> None:
    from twisted.internet import reactor

    assert isinstance(reactor, LeanAsyncioReactor)


def test_reads_writes_and_close() -> None:
    assert _exchange(_Echo, b"hello\nbye\n") == b"hello\nbye\n"


def test_an_exception_in_a_handler_drops_the_connection() -> None:
    assert _exchange(_Failing, b"anything\n") == b""
