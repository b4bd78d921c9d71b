"""How every `ivr` command reaches Redis: REDIS_URL when set, else the embedded server."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from redis import asyncio as aioredis

from fastagi.storage.embedded import EmbeddedRedis, EmbeddedRedisError, find_server_binary

__all__ = [
    "EmbeddedRedis",
    "EmbeddedRedisError",
    "find_server_binary",
    "forget_prefix",
    "open_async_client",
    "redis_url",
]


@contextlib.contextmanager
def redis_url(configured: str | None, state_dir: Path) -> Iterator[str]:
    """Yield the Redis URL to use for the duration of a command.

    A configured URL (REDIS_URL or `redis_url` in server.yaml) is used as is;
    otherwise the installation's embedded server is started if needed and
    released on exit.
    """
    if configured:
        yield configured
        return
    embedded = EmbeddedRedis(state_dir)
    url = embedded.acquire()
    try:
        yield url
    finally:
        embedded.release()


def open_async_client(
    url: str, *, timeout: float = 0.2, max_connections: int = 256
) -> aioredis.Redis:
    """An asyncio Redis client (hiredis parser when installed) with a latency budget.

    A blocking pool: when every connection is busy (a burst of calls), a
    command waits up to `timeout` for one instead of failing at once.
    """
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=timeout,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        decode_responses=True,
        health_check_interval=30,
    )
    return aioredis.Redis(connection_pool=pool)


async def forget_prefix(client: aioredis.Redis, prefix: str) -> int:
    """Delete every key under `prefix` (a scratch namespace); return how many."""
    if not prefix or any(ch in prefix for ch in "*?[]\\"):
        raise ValueError(f"refusing to delete keys under {prefix!r}")
    deleted = 0
    async for key in client.scan_iter(match=f"{prefix}*", count=500):
        deleted += int(await client.delete(key))
    return deleted
