"""A TCP transport that sends a command line at once when nothing is queued.

Twisted's TCP transport never writes from `write()`: it registers the socket
for writability and sends on the next loop turn, then unregisters it - on the
asyncio reactor that is two `epoll_ctl` calls and a loop iteration for every
AGI command, about a sixth of the server's CPU per call (see
docs/benchmarks.md). AGI sends one short line and then waits for the reply,
so the socket buffer is almost always empty: try the send first, and fall
back to Twisted's buffered path for whatever did not go (a full buffer, an
error that `doWrite` will report as a lost connection).
"""

from __future__ import annotations

from twisted.internet import tcp

__all__ = ["EagerPort", "EagerServer"]


class EagerServer(tcp.Server):
    def write(self, data: bytes) -> None:
        # Only when nothing is queued: bytes must never overtake buffered ones.
        idle = not self.dataBuffer and not self._tempDataBuffer and self.producer is None
        if idle and data and self.connected and not self._writeDisconnected:
            sent = self.writeSomeData(data)
            if isinstance(sent, int) and sent > 0:
                if sent == len(data):
                    return
                data = data[sent:]
        super().write(data)  # type: ignore[no-untyped-call]


class EagerPort(tcp.Port):
    """A listening port whose connections use `EagerServer`."""

    transport = EagerServer
