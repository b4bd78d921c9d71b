"""One round trip for many calls: the Redis commands of one loop turn share one write.

Under load several calls start and end in the same turn of the event loop,
and each needs Redis: a lookup as it starts, a history entry as it ends.
What a command costs our server is mostly the client's work around it, not
the command itself: redis.asyncio spends a task, a timeout and a stream
read per write and a coroutine chain per reply. So callers hand in their
command already encoded (`fastagi.callers.resp`), every command submitted
during one loop turn goes to Redis in one write, and the replies are parsed
straight from the socket (an asyncio protocol feeding hiredis) and handed to
each submitter's future in order. No task, no stream: a turn costs one
`transport.write` and each reply one `Reader.gets`.

The connection is the client's own: taken from its pool (so redis-py
connects, authenticates, selects the database, speaks TLS and asks the
sentinels for the master as for any command), then read by our protocol
instead of redis-py's stream. It is kept while it works; it is given back
to the pool, closed, when it fails, when the pool marks it to reconnect (a
Sentinel client whose master changed: `fastagi.storage`), or when it sat
idle longer than the client's health-check interval (a connection a
firewall may have dropped silently is replaced, not trusted).

Failures: an error reply (a key of the wrong type) fails that command's
future only. NOSCRIPT for a script command (a fresh or restarted Redis)
loads the script and sends the command again. Anything else (connection
refused or lost, a protocol error, no reply within the client's socket
timeout) closes the connection and fails every command in flight on it:
nobody waits forever, and the next turn connects afresh.

Deadlines: a command submitted with a `budget` (a caller lookup) fails with
TimeoutError when that many seconds pass first; its reply, when it comes,
is dropped, so the connection stays usable. One timer per connection keeps
every deadline (armed for the earliest), not one per command or batch. A
submitter that stops waiting (its future cancelled) is skipped, or its
reply dropped.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Callable, Iterable
from typing import Any

import hiredis
from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ReadOnlyError, ResponseError

from fastagi.callers.resp import Script

__all__ = ["CommandBatcher", "ReplyCallback"]

log = logging.getLogger(__name__)

#: Error replies that have their own redis-py exception class here (the rest: ResponseError).
_ERRORS: dict[str, type[ResponseError]] = {"NOSCRIPT": NoScriptError, "READONLY": ReadOnlyError}


def _error_reply(message: str) -> ResponseError:
    code = message.split(" ", 1)[0]
    return _ERRORS.get(code, ResponseError)(message)


#: What `CommandBatcher.send` calls with a command's reply (an exception for a failure).
ReplyCallback = Callable[[Any], None]


class _Job:
    __slots__ = ("budget", "command", "deadline", "future", "on_reply", "reloaded", "script")

    def __init__(
        self,
        command: bytes,
        future: asyncio.Future[Any] | None,
        script: Script | None = None,
        budget: float | None = None,
        deadline: float | None = None,
        on_reply: ReplyCallback | None = None,
    ) -> None:
        self.command = command
        # Who hears the reply: the future, else `on_reply`, else nobody (a script load).
        self.future = future
        self.on_reply = on_reply
        self.script = script
        self.budget = budget
        self.deadline = deadline  # loop time after which the submitter gives up
        self.reloaded = False

    def live(self) -> bool:
        """Someone still waits for the reply (or nobody ever will: it is still sent)."""
        return self.future is None or not self.future.done()

    def answer(self, reply: Any) -> None:
        """Hand over the reply (or an exception), unless the submitter gave up."""
        future = self.future
        if future is not None:
            if future.done():
                return
            if isinstance(reply, asyncio.CancelledError):
                future.cancel()
            elif isinstance(reply, BaseException):
                future.set_exception(reply)
            else:
                future.set_result(reply)
        elif self.on_reply is not None:
            try:
                self.on_reply(reply)
            except Exception:  # the sender's bug must not stop the replies of others
                log.exception("a Redis reply callback failed")

    def expire(self) -> None:
        future = self.future
        if future is not None and not future.done():
            future.set_exception(TimeoutError(f"no answer from Redis within {self.budget:g} s"))


def _fail(jobs: Iterable[_Job], error: BaseException) -> None:
    for job in jobs:
        job.answer(error)


def _expire_due(jobs: Iterable[_Job], now: float) -> None:
    """Fail the jobs whose budget ran out by `now` (their submitters stop waiting)."""
    for job in jobs:
        if job.deadline is not None and job.deadline <= now:
            job.expire()


class _Link(asyncio.Protocol):
    """One connection taken from the pool, written and read by us.

    `in_flight` holds the jobs sent and not yet answered, in the order sent:
    Redis answers in that order.
    """

    def __init__(
        self, batcher: CommandBatcher, connection: AbstractConnection, transport: Any
    ) -> None:
        self.batcher = batcher
        self.connection = connection
        self.transport = transport
        # redis-py's own protocol hears of the end too, so its stream closes as it expects.
        self.stream_protocol: asyncio.BaseProtocol = transport.get_protocol()
        self.loop = asyncio.get_running_loop()
        encoder = connection.encoder
        self.reader = (
            hiredis.Reader(
                replyError=_error_reply,
                encoding=encoder.encoding,
                errors=encoder.encoding_errors,
            )
            if encoder.decode_responses
            else hiredis.Reader(replyError=_error_reply)
        )
        self.in_flight: collections.deque[_Job] = collections.deque()
        #: Seconds without a reply after which the connection counts as dead.
        self.io_timeout: float | None = connection.socket_timeout
        self.sent_at = 0.0  # loop time of the last write
        self.head_since = 0.0  # since when the oldest command in flight waits for its reply
        self.idle_limit = float(connection.health_check_interval or 0) or None
        self.timer: asyncio.TimerHandle | None = None
        self.closed = False
        self.retiring = False  # no new commands: closed once in_flight is answered

    # -- sending -------------------------------------------------------------

    def usable(self, now: float) -> bool:
        if self.closed or self.retiring:
            return False
        if self.connection.should_reconnect():  # type: ignore[no-untyped-call]
            self.retire()
            return False
        idle = not self.in_flight and now - self.sent_at
        if self.idle_limit is not None and idle and idle > self.idle_limit:
            self.retire()
            return False
        return True

    def send(self, jobs: list[_Job], now: float) -> None:
        if not self.in_flight:
            self.head_since = now
        self.in_flight.extend(jobs)
        self.sent_at = now
        self.transport.write(b"".join([job.command for job in jobs]))
        due = self._next_deadline(jobs, now)
        if due is not None and (self.timer is None or due < self.timer.when()):
            self._arm(due)

    def _next_deadline(self, jobs: Iterable[_Job], now: float) -> float | None:
        due = None if self.io_timeout is None else self.head_since + self.io_timeout
        for job in jobs:
            deadline = job.deadline
            if deadline is not None and (due is None or deadline < due):
                future = job.future
                if future is not None and not future.done():
                    due = deadline
        return due

    def _arm(self, when: float) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer = self.loop.call_at(when, self._on_timer)

    def _on_timer(self) -> None:
        self.timer = None
        if self.closed or not self.in_flight:
            return
        now = self.loop.time()
        if self.io_timeout is not None and now - self.head_since >= self.io_timeout:
            self.close(TimeoutError(f"no reply from Redis within {self.io_timeout:g} s"))
            return
        _expire_due(self.in_flight, now)
        due = self._next_deadline(self.in_flight, now)
        if due is not None:
            self._arm(due)

    # -- the protocol ----------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        reader = self.reader
        in_flight = self.in_flight
        reader.feed(data)
        missing: list[tuple[_Job, ResponseError]] = []
        answered = len(in_flight)
        try:
            while True:
                reply = reader.gets()
                if reply is False:
                    break
                job = in_flight.popleft()
                if isinstance(reply, ResponseError):
                    if isinstance(reply, NoScriptError) and job.script and not job.reloaded:
                        missing.append((job, reply))
                        continue
                    if isinstance(reply, ReadOnlyError):
                        self.retiring = True  # a replica now: the next turn asks the pool again
                job.answer(reply)
        except IndexError:
            self.close(RedisConnectionError("Redis sent a reply nobody asked for"))
            return
        except Exception as exc:  # a protocol error, or text that is not in the encoding
            self.close(RedisConnectionError(f"unreadable reply from Redis: {exc}"))
            return
        if len(in_flight) != answered:
            self.head_since = self.loop.time()
        if missing and not self.retiring:
            self._reload([job for job, _ in missing])
        else:
            for job, reply in missing:  # not sent again on a connection that is leaving
                job.answer(reply)
            if self.retiring and not in_flight:
                self.close(None)

    def _reload(self, jobs: list[_Job]) -> None:
        """Load the scripts Redis did not know, then send their commands again."""
        scripts: list[Script] = []
        for job in jobs:
            job.reloaded = True
            if job.script is not None and job.script not in scripts:
                scripts.append(job.script)
        loads = [_Job(script.load, None) for script in scripts]
        self.send([*loads, *jobs], self.loop.time())

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed:
            reason = f": {exc}" if exc else ""
            self.close(RedisConnectionError(f"Connection to Redis lost{reason}"))
        self.stream_protocol.connection_lost(exc)

    # -- the end -------------------------------------------------------------

    def retire(self) -> None:
        """Send nothing more on this connection; close it once its replies are in."""
        self.retiring = True
        if not self.in_flight:
            self.close(None)

    def close(self, error: BaseException | None) -> None:
        """Fail what is in flight with `error`, and give the connection back, closed."""
        if self.closed:
            return
        self.closed = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        jobs, self.in_flight = list(self.in_flight), collections.deque()
        if jobs:
            _fail(jobs, error or RedisConnectionError("Redis connection closed"))
        self.transport.abort()
        self.batcher.link_closed(self)


#: How long a connection may take from the pool, when the client sets no socket timeout.
_CONNECT_LIMIT = 5.0


class CommandBatcher:
    """Sends the commands submitted during one loop turn in one write on one connection."""

    def __init__(self, redis: Redis) -> None:
        self._pool = redis.connection_pool
        self._queued: list[_Job] = []
        self._lingering: list[_Job] = []
        self._linger_timer: asyncio.TimerHandle | None = None
        self._scheduled = False  # a send is due in the next loop turn
        self._link: _Link | None = None
        self._waiting: list[_Job] = []  # jobs of turns that came while connecting
        self._wait_timer: asyncio.TimerHandle | None = None
        self._connecting = False
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
        if budget is None:
            job = _Job(command, future, script)
        else:
            job = _Job(command, future, script, budget, loop.time() + budget)
        self._add(job, linger)
        return future

    def _add(self, job: _Job, linger: float | None) -> None:
        if linger is not None:
            self._lingering.append(job)
            if self._linger_timer is None and not self._scheduled:
                self._linger_timer = asyncio.get_running_loop().call_later(linger, self.flush)
            return
        self._schedule()
        self._queued.append(job)

    def _schedule(self) -> None:
        """Send what is queued in the next loop turn (once, however many submit meanwhile)."""
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._send_turn)

    def send(
        self,
        command: bytes,
        on_reply: ReplyCallback,
        *,
        script: Script | None = None,
        linger: float | None = None,
    ) -> None:
        """`submit` for a command nobody awaits: `on_reply` gets its reply, or the exception.

        Cheaper than a future for writes (no task wakes up for the reply);
        `on_reply` is called from the protocol, so it must be quick and must
        not raise (an exception is logged).
        """
        self._add(_Job(command, None, script, on_reply=on_reply), linger)

    def flush(self) -> None:
        """Send the lingering commands in this loop turn's batch (or a batch of their own)."""
        if self._lingering:
            self._schedule()

    def _send_turn(self) -> None:
        # Runs one loop turn after the first submit: by then every command of that turn is queued.
        self._scheduled = False
        if self._lingering:
            batch = self._lingering + self._queued
            self._lingering, self._queued = [], []
        else:
            batch, self._queued = self._queued, []
        if self._linger_timer is not None:
            self._linger_timer.cancel()
            self._linger_timer = None
        jobs = [job for job in batch if job.live()]  # those who gave up are not sent
        if not jobs:
            return
        loop = asyncio.get_running_loop()
        link = self._link
        if link is not None and link.usable(loop.time()):
            link.send(jobs, loop.time())
            return
        self._waiting.extend(jobs)
        self._arm_wait_timer(loop)
        if not self._connecting:
            self._connecting = True
            self._start(self._connect())

    def _start(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)  # keep a reference until it is done
        task.add_done_callback(self._tasks.discard)

    async def _connect(self) -> None:
        """Take a connection from the pool for our protocol; send what waited for it."""
        pool = self._pool
        limit = pool.connection_kwargs.get("socket_timeout") or _CONNECT_LIMIT
        connection: AbstractConnection | None = None
        try:
            async with asyncio.timeout(limit):
                connection = await pool.get_connection()  # type: ignore[no-untyped-call]
                if not connection.is_connected:
                    await connection.connect()
            link = self._take_over(connection)
        except BaseException as exc:
            waiting, self._waiting = self._waiting, []
            _fail(waiting, exc if isinstance(exc, Exception) else asyncio.CancelledError())
            if connection is not None:
                await self._give_back(connection)
            if not isinstance(exc, Exception):
                raise
        else:
            self._link = link
            waiting, self._waiting = self._waiting, []
            jobs = [job for job in waiting if job.live()]
            if jobs:
                link.send(jobs, asyncio.get_running_loop().time())
        finally:
            self._connecting = False
            if self._wait_timer is not None:
                self._wait_timer.cancel()
                self._wait_timer = None

    def _arm_wait_timer(self, loop: asyncio.AbstractEventLoop) -> None:
        """Fail the waiting jobs whose budget runs out before the connection is there."""
        if self._wait_timer is not None:
            return
        deadlines = [job.deadline for job in self._waiting if job.deadline is not None]
        if deadlines:
            self._wait_timer = loop.call_at(min(deadlines), self._expire_waiting, loop)

    def _expire_waiting(self, loop: asyncio.AbstractEventLoop) -> None:
        self._wait_timer = None
        _expire_due(self._waiting, loop.time())
        self._waiting = [job for job in self._waiting if job.live()]
        self._arm_wait_timer(loop)

    def _take_over(self, connection: AbstractConnection) -> _Link:
        # redis-py keeps the connection's socket in an asyncio stream; its
        # transport is handed to our protocol (the stream is empty after the
        # handshake, and is never read again).
        writer = getattr(connection, "_writer", None)
        transport = getattr(writer, "transport", None)
        if transport is None:
            raise RuntimeError("this redis-py keeps no asyncio transport on its connections")
        link = _Link(self, connection, transport)
        transport.set_protocol(link)
        return link

    def link_closed(self, link: _Link) -> None:
        if self._link is link:
            self._link = None
        self._start(self._give_back(link.connection))

    async def _give_back(self, connection: AbstractConnection) -> None:
        with contextlib.suppress(Exception):
            await connection.disconnect(nowait=True)
        await self._pool.release(connection)
