"""A TCP transport that sends a command line at once when nothing is queued.

Twisted's TCP transport never writes from `write()`: it registers the socket
for writability and sends on the next loop turn, then unregisters it - on the
asyncio reactor that is two `epoll_ctl` calls and a loop iteration for every
AGI command, about a sixth of the server's CPU per call (see
docs/benchmarks.md). AGI sends one short line and then waits for the reply,
so the socket buffer is almost always empty: try the send first, and fall
back to Twisted's buffered path for whatever did not go (a full buffer, an
error that `doWrite` will report as a lost connection).

`loseConnection` likewise waits for writability only to flush what is
queued: with nothing queued (every call's end) the socket is closed on the
next loop turn without the writer registration, the event and the empty
send.
"""

from __future__ import annotations

import asyncio

from twisted.internet import tcp

__all__ = ["EagerPort", "EagerServer"]


class EagerServer(tcp.Server):
    def write(self, data: bytes) -> None:
        # Only when nothing is queued: bytes must never overtake buffered ones.
        if data and self._idle() and self.connected and not self._writeDisconnected:
            # socket.send itself, not writeSomeData: that adds a memoryview
            # slice and an EINTR loop (Python retries EINTR by itself).
            try:
                sent = self.socket.send(data)
            except OSError:
                # A full buffer (EWOULDBLOCK) or a failed socket: the buffered
                # path retries, and its doWrite reports a failure as a lost connection.
                sent = 0
            if sent == len(data):
                return
            data = data[sent:]
        super().write(data)  # type: ignore[no-untyped-call]

    def _idle(self) -> bool:
        return not self.dataBuffer and not self._tempDataBuffer and self.producer is None

    def loseConnection(self) -> None:
        if (
            self.connected
            and not self.disconnecting
            and not self._writeDisconnected
            and self._idle()
        ):
            # What Twisted does - stop reading, mark disconnecting, close
            # once flushed - but asynchronously like Twisted, without waiting
            # for a writability event when there is nothing to flush.
            self.stopReading()  # type: ignore[no-untyped-call]
            self.disconnecting = True
            asyncio.get_running_loop().call_soon(self._lose_now)
            return
        super().loseConnection()  # type: ignore[no-untyped-call]

    def _lose_now(self) -> None:
        if not self.connected:
            return  # lost meanwhile (connectionLost already ran)
        if not self._idle():
            # Written to meanwhile: doWrite flushes that, then closes (disconnecting is set).
            self.startWriting()  # type: ignore[no-untyped-call]
            return
        # What the reactor does when doWrite finds nothing left to send.
        why = self._postLoseConnection()  # type: ignore[no-untyped-call]
        self.reactor._disconnectSelectable(self, why, False)  # type: ignore[attr-defined]


class EagerPort(tcp.Port):
    """A listening port whose connections use `EagerServer`."""

    transport = EagerServer
