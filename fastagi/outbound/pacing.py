"""How fast outbound calls may start: at most N at once, at most R new calls a second.

Trunks and carriers refuse bursts (and some bill them as spam), and agents
can only take so many callbacks at once, so every call the dialer places
goes through one `CallPacer`:

    async with pacer.slot():
        await place_the_call()

A slot is held for the whole call; new slots are spaced 1/R seconds apart
(a token bucket with a burst of one). The clock and the sleep are
injectable, so tests check the spacing without waiting for it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

__all__ = ["CallPacer"]


class CallPacer:
    """Limits concurrent calls and the rate at which calls start."""

    def __init__(
        self,
        max_concurrent: int,
        calls_per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        if calls_per_second <= 0:
            raise ValueError("calls_per_second must be positive")
        self.max_concurrent = max_concurrent
        self.interval = 1.0 / calls_per_second
        self._clock = clock
        self._sleep = sleep
        self._free = asyncio.Semaphore(max_concurrent)
        self._next_start = -float("inf")
        self._start_lock = asyncio.Lock()
        self.active = 0
        self.started = 0

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Wait for a free line and for the rate, then hold the line until the block ends."""
        async with self._free:
            async with self._start_lock:  # one caller at a time spaces its start
                wait = self._next_start - self._clock()
                if wait > 0:
                    await self._sleep(wait)
                self._next_start = max(self._clock(), self._next_start) + self.interval
            self.active += 1
            self.started += 1
            try:
                yield
            finally:
                self.active -= 1
