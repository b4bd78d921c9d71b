"""How every `ivr` command reaches Redis: REDIS_URL when set, else the embedded server."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import redis
from redis import asyncio as aioredis

from fastagi.storage.embedded import EmbeddedRedis, EmbeddedRedisError, find_server_binary
from fastagi.storage.sentinel import (
    SentinelTarget,
    is_sentinel_url,
    parse_sentinel_url,
)
from fastagi.storage.sentinel_clients import async_master_client, sync_master_client

__all__ = [
    "EmbeddedRedis",
    "EmbeddedRedisError",
    "SentinelTarget",
    "find_server_binary",
    "forget_prefix",
    "is_sentinel_url",
    "open_async_client",
    "open_sync_client",
    "parse_sentinel_url",
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
    `url` is a `redis://`, `rediss://` or `unix://` URL, or a
    `redis+sentinel://` one (`fastagi.storage.sentinel`): then each new
    connection asks the sentinels for the current master first, so the
    client follows a failover by itself.
    """
    options: dict[str, Any] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "decode_responses": True,
        "health_check_interval": 30,
    }
    if is_sentinel_url(url):
        return async_master_client(parse_sentinel_url(url), timeout, max_connections, options)
    pool = aioredis.BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=timeout, **options
    )
    return aioredis.Redis.from_pool(pool)  # the client owns the pool: `aclose` closes it too


def open_sync_client(url: str, *, timeout: float = 3.0) -> redis.Redis:
    """A blocking Redis client for command-line checks (never on the reactor).

    The same URLs and reply decoding as `open_async_client`; `timeout` bounds
    each connect and each reply (and, for a sentinel URL, each sentinel query).
    """
    options: dict[str, Any] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "decode_responses": True,
    }
    if is_sentinel_url(url):
        return sync_master_client(parse_sentinel_url(url), timeout, options)
    return redis.Redis.from_url(url, **options)


async def forget_prefix(client: aioredis.Redis, prefix: str) -> int:
    """Delete every key under `prefix` (a scratch namespace); return how many."""
    if not prefix or any(ch in prefix for ch in "*?[]\\"):
        raise ValueError(f"refusing to delete keys under {prefix!r}")
    deleted = 0
    async for key in client.scan_iter(match=f"{prefix}*", count=500):
        deleted += int(await client.delete(key))
    return deleted
