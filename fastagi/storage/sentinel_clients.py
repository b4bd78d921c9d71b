"""Redis clients of a Sentinel-managed master (`redis+sentinel://` URLs).

`async_master_client` and `sync_master_client` build them from a parsed
`SentinelTarget` with the same options as plain clients; `fastagi.storage`
chooses. The sentinels are asked with no retries: redis-py's default retries
a refused connection for seconds, far past a lookup's budget, so a dead
sentinel would hold up every first connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from typing import Any

import redis
from redis import asyncio as aioredis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.asyncio.sentinel import SentinelConnectionPool as AsyncSentinelPool
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel, SentinelConnectionPool

from fastagi.storage.sentinel import SentinelTarget

__all__ = ["MASTER_CHECK_INTERVAL", "async_master_client", "sync_master_client"]

log = logging.getLogger("fastagi.storage")


def async_master_client(
    target: SentinelTarget, timeout: float, max_connections: int, options: dict[str, Any]
) -> aioredis.Redis:
    """An asyncio client of the master the sentinels name, following it when it changes."""
    sentinel = AsyncSentinel(  # type: ignore[no-untyped-call]
        target.sentinels,
        sentinel_kwargs=_sentinel_kwargs(target, timeout, AsyncRetry(NoBackoff(), 0)),
    )
    client: aioredis.Redis = sentinel.master_for(
        target.master,
        redis_class=_AsyncSentinelRedis,
        connection_pool_class=_BlockingAsyncSentinelPool,
        max_connections=max_connections,
        timeout=timeout,
        **_master_kwargs(target),
        **options,
    )
    return client


def sync_master_client(
    target: SentinelTarget, timeout: float, options: dict[str, Any]
) -> redis.Redis:
    """A blocking client of the master the sentinels name (command-line checks)."""
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        target.sentinels,
        sentinel_kwargs=_sentinel_kwargs(target, timeout, Retry(NoBackoff(), 0)),
    )
    client: redis.Redis = sentinel.master_for(  # type: ignore[no-untyped-call]
        target.master, redis_class=_SentinelRedis, **_master_kwargs(target), **options
    )
    return client


def _sentinel_kwargs(target: SentinelTarget, timeout: float, retry: Any) -> dict[str, Any]:
    """How the sentinels themselves are reached: the same timeouts, their own credentials.

    `retry` is "none": a sentinel that does not answer is skipped for the next
    one in the list. (redis-py's default retries a refused connection ten
    times with backoff - seconds per dead sentinel, far past a lookup's budget,
    so a dead first sentinel would keep every new connection from the master.)
    """
    kwargs: dict[str, Any] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "retry": retry,
    }
    if target.sentinel_username:
        kwargs["username"] = target.sentinel_username
    if target.sentinel_password:
        kwargs["password"] = target.sentinel_password
    return kwargs


def _master_kwargs(target: SentinelTarget) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"db": target.db}
    if target.username:
        kwargs["username"] = target.username
    if target.password is not None:
        kwargs["password"] = target.password
    return kwargs


#: How often an asyncio sentinel client asks the sentinels which server is the master.
MASTER_CHECK_INTERVAL = 0.5


# redis-py offers no blocking pool for Sentinel: its SentinelConnectionPool
# raises "Too many connections" at once when all are busy. Rather than lose
# the burst behaviour the servers rely on (wait up to `timeout` for a free
# connection), the two public pools are combined: BlockingConnectionPool's
# get_connection/release (a condition with a deadline) and
# SentinelConnectionPool's connections, which ask the sentinels for the
# master's address on every connect and drop themselves on READONLY.
#
# Connections already open are not asked again, so after a switchover
# (SENTINEL FAILOVER, or a partition that leaves the old master reachable)
# they would keep writing to the old master until the sentinels demote it
# (about 10 s) - writes that are then discarded. So the pool also asks the
# sentinels every MASTER_CHECK_INTERVAL (a task started with its first
# connection, stopped by aclose) and, when the answer changes, closes its
# idle connections and marks those in use to be closed when given back.
class _BlockingAsyncSentinelPool(AsyncSentinelPool, aioredis.BlockingConnectionPool):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[no-untyped-call]
        self._watcher: asyncio.Task[None] | None = None

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        watcher = self._watcher
        if watcher is None or watcher.done() or watcher.get_loop() is not _running_loop():
            self._watch()
        return await super().get_connection(*args, **kwargs)  # type: ignore[no-untyped-call]

    def _watch(self) -> None:
        # The task holds the pool weakly: a client dropped without aclose stops it too.
        self._watcher = asyncio.get_running_loop().create_task(
            _follow_master(weakref.ref(self), MASTER_CHECK_INTERVAL),
            name=f"redis-sentinel-watch-{self.service_name}",
        )

    async def stop_watching(self) -> None:
        """Stop asking the sentinels (aclose does it)."""
        watcher, self._watcher = self._watcher, None
        if watcher is None or watcher.done():
            return
        watcher.cancel()
        if watcher.get_loop() is _running_loop():
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    async def get_master_address(self) -> Any:
        """The master the sentinels name now; on a change, leave the old one's connections."""
        address = await self.sentinel_manager.discover_master(self.service_name)
        if self.master_address != address:
            changed = self.master_address is not None
            self.master_address = address
            if changed:
                log.warning("Redis Sentinel: master %r is now %s:%s", self.service_name, *address)
                # Those in use (a command in flight, a CommandBatcher's spare ones)
                # are closed when given back, or skipped by the batcher before reuse.
                for connection in list(self._in_use_connections):
                    if connection.is_connected and (
                        getattr(connection, "host", None),
                        getattr(connection, "port", None),
                    ) != tuple(address):
                        connection.mark_for_reconnect()  # type: ignore[no-untyped-call]
            await self.disconnect(inuse_connections=False)  # the idle ones reconnect on use
        return address

    async def aclose(self) -> None:
        await self.stop_watching()
        await super().aclose()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


async def _follow_master(pool_ref: weakref.ref[_BlockingAsyncSentinelPool], every: float) -> None:
    """Ask the sentinels for the master every `every` seconds while the pool lives."""
    while True:
        await asyncio.sleep(every)
        pool = pool_ref()
        if pool is None:
            return
        # No master (a failover in progress) or no sentinel answering: the
        # connections find out by themselves; ask again next time.
        with contextlib.suppress(Exception):
            await pool.get_master_address()
        del pool


class _AsyncSentinelRedis(aioredis.Redis):
    """A master client that also closes its connections to the sentinels."""

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        pool = self.connection_pool
        if isinstance(pool, _BlockingAsyncSentinelPool):
            await pool.stop_watching()
        await super().aclose(close_connection_pool)
        if isinstance(pool, AsyncSentinelPool):
            await pool.sentinel_manager.aclose()


class _SentinelRedis(redis.Redis):
    """A master client that also closes its connections to the sentinels."""

    def close(self) -> None:
        super().close()
        pool = self.connection_pool
        if isinstance(pool, SentinelConnectionPool):
            pool.sentinel_manager.close()
