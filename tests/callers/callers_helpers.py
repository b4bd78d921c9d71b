"""Helpers shared by the caller directory tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio.connection import AbstractConnection

from fastagi.callers import CallerDirectory
from fastagi.callers.batching import _Link


def record_writes(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every buffer written to a Redis socket from now on, in order (a write is a round trip).

    Both ways there are: redis-py's commands and pipelines, and the batcher's
    one write per loop turn (`fastagi.callers.batching`).
    """
    sent: list[bytes] = []
    packed = AbstractConnection.send_packed_command
    batched = _Link.send

    async def by_redis_py(
        self: AbstractConnection, command: Any, check_health: bool = True
    ) -> None:
        sent.append(command if isinstance(command, bytes) else b"".join(command))
        await packed(self, command, check_health)

    def by_batcher(self: _Link, jobs: list[Any], now: float) -> None:
        sent.append(b"".join(job.command for job in jobs))
        batched(self, jobs, now)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", by_redis_py)
    monkeypatch.setattr(_Link, "send", by_batcher)
    return sent


async def keys_under(directory: CallerDirectory) -> set[str]:
    """Every key under the directory's prefix (SCAN, never KEYS)."""
    pattern = directory.keys.prefix + "*"
    return {str(key) async for key in directory.redis.scan_iter(match=pattern, count=1000)}


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


DAY = 86400.0


@contextlib.asynccontextmanager
async def silent_redis() -> AsyncIterator[str]:
    """The URL of a "Redis" that accepts connections, reads, and never answers."""

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(-1)
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.close()
