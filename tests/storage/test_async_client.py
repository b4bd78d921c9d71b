"""open_async_client: closing the client closes its connections (CLI commands and tests
would otherwise leave sockets to the process's exit)."""

from __future__ import annotations

import asyncio

import pytest

from fastagi.storage import open_async_client

pytestmark = pytest.mark.system


def test_closing_the_client_closes_its_pooled_connections(redis_server_url: str) -> None:
    async def scenario() -> tuple[int, int]:
        watcher = open_async_client(redis_server_url, timeout=2.0)
        try:
            before = len(await watcher.client_list())
            client = open_async_client(redis_server_url, timeout=2.0)
            await asyncio.gather(*(client.ping() for _ in range(3)))  # a few pooled connections
            opened = len(await watcher.client_list())
            await client.aclose()
            for _ in range(50):  # the server notices the close within a moment
                if len(await watcher.client_list()) == before:
                    break
                await asyncio.sleep(0.02)
            return opened - before, len(await watcher.client_list()) - before
        finally:
            await watcher.aclose()

    opened, left = asyncio.run(scenario())
    assert opened >= 1
    assert left == 0
