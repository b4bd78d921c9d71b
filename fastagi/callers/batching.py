"""One round trip for many callers: lookups that start together share a pipeline.

Under load several calls arrive in the same turn of the event loop. Each
lookup is one script call, and what it costs the server is mostly the round
trip itself (a send, a wake-up, a read, a connection from the pool), not the
command. So the lookups queued during one loop turn go to Redis in one
pipeline, and each caller gets its own reply. A caller whose lookup is cut
short by the latency budget simply stops waiting; the batch goes on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

__all__ = ["ScriptBatcher"]

_Job = tuple[Sequence[str], Sequence[Any], "asyncio.Future[Any]"]


class ScriptBatcher:
    """Runs `script` for each submitted (keys, args); the jobs of one loop turn share a pipeline."""

    def __init__(self, redis: Redis, script: AsyncScript) -> None:
        self._redis = redis
        self._script = script
        self._queued: list[_Job] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(self, keys: Sequence[str], args: Sequence[Any]) -> asyncio.Future[Any]:
        """The script's reply for these keys and args, as a future (an error sets it too)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self._queued:
            loop.call_soon(self._send)
        self._queued.append((keys, args, future))
        return future

    def _send(self) -> None:
        batch, self._queued = self._queued, []
        task = asyncio.ensure_future(self._run(batch))
        self._tasks.add(task)  # keep a reference until it is done
        task.add_done_callback(self._tasks.discard)

    async def _run(self, batch: list[_Job]) -> None:
        live = [job for job in batch if not job[2].done()]  # callers that gave up are skipped
        if not live:
            return
        try:
            replies = await self._evalsha(live)
            if any(isinstance(reply, NoScriptError) for reply in replies):
                # A fresh or restarted server: load the script once, then run them again.
                await self._redis.script_load(self._script.script)
                replies = await self._evalsha(live)
        except Exception as exc:  # the connection failed: every caller in it hears so
            for _, _, future in live:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, _, future), reply in zip(live, replies, strict=True):
            if future.done():
                continue
            if isinstance(reply, Exception):
                future.set_exception(reply)
            else:
                future.set_result(reply)

    async def _evalsha(self, jobs: list[_Job]) -> list[Any]:
        # EVALSHA straight into the pipeline: redis-py's own script handling in
        # a pipeline asks SCRIPT EXISTS first, a second round trip every time.
        async with self._redis.pipeline(transaction=False) as pipe:
            for keys, args, _ in jobs:
                pipe.evalsha(self._script.sha, len(keys), *keys, *args)
            replies: list[Any] = await pipe.execute(raise_on_error=False)
        return replies
