"""The emulator's AMI peer for tests whose code under test runs its own event loop."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator

from fastagi.testing import AmiPeer


@contextlib.contextmanager
def peer_in_thread(peer: AmiPeer) -> Iterator[int]:
    """Serve `peer` on its own loop in a thread; yield its port.

    For code that runs its own event loop (the CLI, with its reactor).
    """
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        _, port = asyncio.run_coroutine_threadsafe(peer.start(), loop).result(5)
        yield port
        asyncio.run_coroutine_threadsafe(peer.stop(), loop).result(5)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
