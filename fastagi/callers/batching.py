"""One round trip for many calls: the Redis commands of one loop turn share a pipeline.

Under load several calls start and end in the same turn of the event loop,
and each needs Redis: a lookup as it starts, a history entry as it ends.
What a command costs the server is mostly its round trip (a send, a
wake-up, a read, a connection from the pool), not the command itself. So
every command submitted during one loop turn goes to Redis in one pipeline,
and each submitter gets its own reply. A caller whose lookup is cut short
by the latency budget simply stops waiting; the batch goes on.
"""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import Redis

__all__ = ["CommandBatcher"]

_Job = tuple[tuple[Any, ...], "asyncio.Future[Any]"]


class CommandBatcher:
    """Sends the commands submitted during one loop turn as one pipeline."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._queued: list[_Job] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(self, *command: Any) -> asyncio.Future[Any]:
        """The reply to `command` (e.g. "XADD", key, ...), as a future; an error sets it too."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self._queued:
            loop.call_soon(self._send)
        self._queued.append((command, future))
        return future

    def _send(self) -> None:
        batch, self._queued = self._queued, []
        task = asyncio.ensure_future(self._run(batch))
        self._tasks.add(task)  # keep a reference until it is done
        task.add_done_callback(self._tasks.discard)

    async def _run(self, batch: list[_Job]) -> None:
        live = [job for job in batch if not job[1].done()]  # callers that gave up are skipped
        if not live:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for command, _ in live:
                    pipe.execute_command(*command)
                replies = await pipe.execute(raise_on_error=False)
        except Exception as exc:  # the connection failed: every submitter hears so
            for _, future in live:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), reply in zip(live, replies, strict=True):
            if future.done():
                continue
            if isinstance(reply, Exception):
                future.set_exception(reply)
            else:
                future.set_result(reply)
