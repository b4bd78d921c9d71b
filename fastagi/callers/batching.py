"""One round trip for many calls: the Redis commands of one loop turn share one write.

Under load several calls start and end in the same turn of the event loop,
and each needs Redis: a lookup as it starts, a history entry as it ends.
What a command costs our server is mostly the client's work around it (a
pipeline, packing, a reply callback, a connection from the pool), not the
command itself. So callers hand in their command already encoded
(`fastagi.callers.resp`), every command submitted during one loop turn goes
to Redis in one write on one connection, the replies are read back in order
(redis.asyncio's connection and its hiredis parser), and each submitter
gets its own reply as a future.

Failures: an error reply (a key of the wrong type) fails that command's
future only. NOSCRIPT for a script command (a fresh or restarted Redis) loads
the script and sends the command again, on the same connection. Anything
else (connection refused or lost, a timeout, a protocol error) disconnects
the connection, so the pool makes a new one for the next batch, and fails
every future of the batch: nobody waits forever.

Deadlines: the batch's reads are bounded by the connection's socket timeout
as a whole, not read by read. A command submitted with a `budget` (a
caller lookup) fails with TimeoutError when that many seconds pass first;
one timer per batch does it, and the batch goes on (its reply is read and
dropped), so the connection stays usable. A submitter that stops waiting
(its future cancelled) is skipped, or its reply dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import NoScriptError, ResponseError

from fastagi.callers.resp import Script

__all__ = ["CommandBatcher"]


class _Job:
    __slots__ = ("budgeted", "command", "future", "script")

    def __init__(
        self, command: bytes, future: asyncio.Future[Any], script: Script | None, budgeted: bool
    ) -> None:
        self.command = command
        self.future = future
        self.script = script
        self.budgeted = budgeted


def _deliver(future: asyncio.Future[Any], reply: Any) -> None:
    if future.done():
        return  # the submitter stopped waiting: the reply is dropped
    if isinstance(reply, BaseException):
        future.set_exception(reply)
    else:
        future.set_result(reply)


def _expire(jobs: list[_Job], budget: float) -> None:
    for job in jobs:
        if job.budgeted and not job.future.done():
            job.future.set_exception(TimeoutError(f"no answer from Redis within {budget:g} s"))


#: Connections a batcher keeps between batches instead of handing them back to the pool.
_KEEP_IDLE = 8


class CommandBatcher:
    """Sends the commands submitted during one loop turn in one write on one connection.

    The connections come from the client's pool; a few are kept between
    batches (taking one from the pool and giving it back cost more than the
    batch's own work), and one that failed is disconnected and given back.
    A kept one the pool has marked to reconnect (a Sentinel client's master
    changed: `fastagi.storage`) is given back instead of used.
    """

    def __init__(self, redis: Redis) -> None:
        self._pool = redis.connection_pool
        self._queued: list[_Job] = []
        self._budget: float | None = None
        self._lingering: list[_Job] = []
        self._linger_timer: asyncio.TimerHandle | None = None
        self._scheduled = False  # a batch task is due to start in the next loop turn
        self._idle: list[AbstractConnection] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(
        self,
        command: bytes,
        *,
        script: Script | None = None,
        budget: float | None = None,
        linger: float | None = None,
    ) -> asyncio.Future[Any]:
        """The reply to `command` (RESP bytes, see `resp`), as a future; an error sets it too.

        `script`: the `Script` that `command` calls, to load it on NOSCRIPT.
        `budget`: seconds after which the future fails with TimeoutError.
        `linger`: the command may wait up to that many seconds for the next
        batch (a write nobody waits for: it rides along with a later lookup
        instead of costing a round trip of its own); see `flush`.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        job = _Job(command, future, script, budget is not None)
        if linger is not None:
            self._lingering.append(job)
            if self._linger_timer is None and not self._scheduled:
                self._linger_timer = loop.call_later(linger, self.flush)
            return future
        if not self._scheduled:
            self._start(loop)
        self._queued.append(job)
        if budget is not None and (self._budget is None or budget < self._budget):
            self._budget = budget
        return future

    def flush(self) -> None:
        """Send the lingering commands in this loop turn's batch (or a batch of their own)."""
        if self._lingering and not self._scheduled:
            self._start(asyncio.get_running_loop())

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        # The task's first step runs in the next loop turn: by then every
        # command of this turn is queued.
        self._scheduled = True
        task = loop.create_task(self._run())
        self._tasks.add(task)  # keep a reference until it is done
        task.add_done_callback(self._tasks.discard)

    async def _run(self) -> None:
        self._scheduled = False
        if self._lingering:
            batch = self._lingering + self._queued
            self._lingering, self._queued = [], []
        else:
            batch, self._queued = self._queued, []
        if self._linger_timer is not None:
            self._linger_timer.cancel()
            self._linger_timer = None
        budget, self._budget = self._budget, None
        live = [job for job in batch if not job.future.done()]  # those who gave up skipped
        if live:
            await self._exchange(live, budget)

    async def _exchange(self, jobs: list[_Job], budget: float | None) -> None:
        pool = self._pool
        connection = self._idle.pop() if self._idle else None
        while connection is not None and connection.should_reconnect():  # type: ignore[no-untyped-call]
            # Marked by the pool (a Sentinel client whose master changed): given
            # back, the pool closes it; the next one comes from the pool afresh.
            await pool.release(connection)
            connection = self._idle.pop() if self._idle else None
        io_timeout: float | None = (
            connection.socket_timeout
            if connection is not None
            else pool.connection_kwargs.get("socket_timeout")
        )
        timer = None
        if budget is not None and (io_timeout is None or budget < io_timeout):
            timer = asyncio.get_running_loop().call_later(budget, _expire, jobs, budget)
        try:
            # The socket timeout bounds the whole batch, not each read: one timer.
            async with asyncio.timeout(io_timeout):
                if connection is None:
                    connection = await pool.get_connection()  # type: ignore[no-untyped-call]
                missing = await self._round_trip(connection, jobs)
                if missing:
                    await self._round_trip(connection, missing, load=True)
        except BaseException as exc:
            # Every waiter hears of the failure. The connection's state is unknown
            # (a reply half read, say): it is dropped, the pool connects afresh.
            for job in jobs:
                if not job.future.done():
                    if isinstance(exc, Exception):
                        job.future.set_exception(exc)
                    else:
                        job.future.cancel()
            if connection is not None:
                with contextlib.suppress(Exception):
                    await connection.disconnect(nowait=True)
                await pool.release(connection)
            if not isinstance(exc, Exception):
                raise
        else:
            assert connection is not None
            if len(self._idle) < _KEEP_IDLE and not connection.should_reconnect():
                self._idle.append(connection)
            else:
                await pool.release(connection)
        finally:
            if timer is not None:
                timer.cancel()

    async def _round_trip(
        self, connection: AbstractConnection, jobs: list[_Job], *, load: bool = False
    ) -> list[_Job]:
        """Send `jobs` in one write, deliver their replies; return those that met NOSCRIPT.

        With `load`, each of their scripts is loaded first (SCRIPT LOAD in the same write).
        """
        scripts: list[Script] = []
        if load:
            for job in jobs:
                if job.script is not None and job.script not in scripts:
                    scripts.append(job.script)
        await connection.send_packed_command(
            b"".join([*(script.load for script in scripts), *(job.command for job in jobs)])
        )
        for _ in scripts:
            # A failed load is not reported here: the command's own reply (NOSCRIPT again) says it.
            with contextlib.suppress(ResponseError):
                await connection.read_response(timeout=math.inf)  # bounded by the batch
        missing: list[_Job] = []
        for job in jobs:
            try:
                reply = await connection.read_response(timeout=math.inf)
            except ResponseError as exc:
                if not load and job.script is not None and isinstance(exc, NoScriptError):
                    missing.append(job)
                    continue
                reply = exc
            _deliver(job.future, reply)
        return missing
