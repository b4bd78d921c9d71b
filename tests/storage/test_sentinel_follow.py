"""A sentinel client follows a change of master without waiting for a failing command.

One real redis-server over TCP, reached as `127.0.0.1` and as `localhost`:
the sentinels are faked (the pool's `discover_master`), so "the master
moved" is the fake answering the other name. The failover itself, with real
sentinels, is tests/system/test_sentinel_failover.py.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

import fastagi.storage.sentinel_clients
from fastagi.callers.batching import CommandBatcher
from fastagi.storage import find_server_binary, open_async_client

PING = b"*1\r\n$4\r\nPING\r\n"


@pytest.fixture(scope="module")
def tcp_redis_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    home: Path = tmp_path_factory.mktemp("tcp-redis")
    options = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(
        [find_server_binary(), *options, "--dir", str(home)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis(port=port, socket_timeout=1).ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(5)


def test_the_pool_leaves_the_old_master_within_a_check(
    tcp_redis_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fastagi.storage.sentinel_clients, "MASTER_CHECK_INTERVAL", 0.05)
    master: list[Any] = [("127.0.0.1", tcp_redis_port)]

    async def scenario() -> None:
        client = open_async_client("redis+sentinel://127.0.0.1:1/fake", timeout=1.0)
        pool: Any = client.connection_pool
        asked: list[float] = []

        async def discover_master(service_name: str) -> Any:
            assert service_name == "fake"
            asked.append(time.monotonic())
            return master[0]

        pool.sentinel_manager.discover_master = discover_master
        assert pool._watcher is None  # nothing runs before the first command
        try:
            assert await client.ping()
            batcher = CommandBatcher(client)
            assert await batcher.submit(PING) in ("PONG", b"PONG")
            kept = batcher._link.connection  # type: ignore[union-attr]
            assert (kept.host, kept.port) == master[0]
            assert pool._watcher is not None and not pool._watcher.done()

            master[0] = ("localhost", tcp_redis_port)  # the sentinels name another server
            before = len(asked)
            while len(asked) < before + 2:  # the watcher asked (at least once after the change)
                await asyncio.sleep(0.02)
            assert kept.should_reconnect(), "the batcher's connection was not marked"
            assert all(not c.is_connected for c in pool._available_connections)

            assert await batcher.submit(PING) in ("PONG", b"PONG")
            fresh = batcher._link.connection  # type: ignore[union-attr]
            assert (fresh.host, fresh.port) == master[0]
            assert not fresh.should_reconnect()
            assert await client.set("follow:key", "1")
            for connection in pool._available_connections:
                assert (connection.host, connection.port) == master[0]
        finally:
            await client.aclose()
        watcher = pool._watcher
        assert watcher is None
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert not others, others

    asyncio.run(scenario())


def test_a_plain_url_gets_no_watcher(tcp_redis_port: int) -> None:
    async def scenario() -> None:
        client = open_async_client(f"redis://127.0.0.1:{tcp_redis_port}/0")
        try:
            assert await client.ping()
            assert not hasattr(client.connection_pool, "_watcher")
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            assert not others, others
        finally:
            await client.aclose()

    asyncio.run(scenario())
