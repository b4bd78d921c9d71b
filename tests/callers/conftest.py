"""Fixtures for the caller directory tests: a unique key prefix per test on the real Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

from fastagi.callers import CallerDirectory
from fastagi.storage import open_async_client

T = TypeVar("T")

Body = Callable[[CallerDirectory], Awaitable[T]]


@pytest.fixture
def prefix() -> str:
    return f"test:{uuid.uuid4().hex[:12]}:"


@pytest.fixture
def with_directory(redis_server_url: str, prefix: str) -> Callable[..., Any]:
    """`with_directory(body, **kwargs)`: run `await body(directory)` on a fresh loop and client."""

    def run(body: Body[T], **kwargs: Any) -> T:
        async def main() -> T:
            client = open_async_client(redis_server_url, timeout=5.0)
            try:
                kwargs.setdefault("prefix", prefix)
                return await body(CallerDirectory(client, **kwargs))
            finally:
                await client.aclose()

        return asyncio.run(main())

    return run
