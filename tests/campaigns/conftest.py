"""Fixtures for the campaign tests: a unique key prefix per test on the real Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from redis import asyncio as aioredis

from fastagi.storage import open_async_client

T = TypeVar("T")


@pytest.fixture
def prefix() -> str:
    return f"test:{uuid.uuid4().hex[:12]}:"


@pytest.fixture
def with_redis(redis_server_url: str) -> Callable[..., Any]:
    """`with_redis(body)`: run `await body(client)` on a fresh event loop and client."""

    def run(body: Callable[[aioredis.Redis], Awaitable[T]]) -> T:
        async def main() -> T:
            client = open_async_client(redis_server_url, timeout=5.0)
            try:
                return await body(client)
            finally:
                await client.aclose()

        return asyncio.run(main())

    return run
