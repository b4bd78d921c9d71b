"""CommandBatcher against a real Redis: one write per loop turn, per-command replies, failures."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from callers_helpers import record_writes, silent_redis
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ReadOnlyError, ResponseError

from fastagi.callers.batching import CommandBatcher
from fastagi.callers.resp import Script, encode_command
from fastagi.storage import EmbeddedRedis, open_async_client


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every buffer written to a Redis socket, in order."""
    return record_writes(monkeypatch)


def _run(url: str, body: Callable[[Redis, CommandBatcher], Awaitable[None]]) -> None:
    async def main() -> None:
        client = open_async_client(url, timeout=5.0)
        try:
            await client.ping()  # connected, outside what the tests count
            await body(client, CommandBatcher(client))
        finally:
            await client.aclose()

    asyncio.run(main())


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_one_write_per_loop_turn_and_each_gets_its_reply(
    redis_server_url: str, prefix: str, writes: list[bytes]
) -> None:
    async def body(client: Redis, batcher: CommandBatcher) -> None:
        writes.clear()
        futures = [batcher.submit(encode_command("ECHO", f"n{n}")) for n in range(20)]
        assert await asyncio.gather(*futures) == [f"n{n}" for n in range(20)]
        assert len(writes) == 1
        # The next turn is the next batch.
        assert await batcher.submit(encode_command("INCR", f"{prefix}count")) == 1
        assert len(writes) == 2
        await client.delete(f"{prefix}count")

    _run(redis_server_url, body)


def test_an_error_reply_fails_only_its_own_command(redis_server_url: str, prefix: str) -> None:
    async def body(client: Redis, batcher: CommandBatcher) -> None:
        await client.set(f"{prefix}text", "not a list")
        first = batcher.submit(encode_command("ECHO", "before"))
        wrong = batcher.submit(encode_command("LPUSH", f"{prefix}text", "x"))
        last = batcher.submit(encode_command("ECHO", "after"))
        replies = await asyncio.gather(first, wrong, last, return_exceptions=True)
        assert replies[0] == "before" and replies[2] == "after"
        assert isinstance(replies[1], ResponseError) and "WRONGTYPE" in str(replies[1])
        # The connection is still good for the next batch.
        assert await batcher.submit(encode_command("ECHO", "again")) == "again"
        await client.delete(f"{prefix}text")

    _run(redis_server_url, body)


def test_noscript_loads_the_script_and_sends_again_on_the_same_turn(
    redis_server_url: str, writes: list[bytes]
) -> None:
    script = Script("return 'script ' .. ARGV[1] -- test_batching")

    async def body(client: Redis, batcher: CommandBatcher) -> None:
        await client.script_flush()
        writes.clear()
        futures = [batcher.submit(script.command((), (str(n),)), script=script) for n in range(3)]
        plain = batcher.submit(encode_command("ECHO", "plain"))
        assert await asyncio.gather(*futures, plain) == [
            "script 0",
            "script 1",
            "script 2",
            "plain",
        ]
        assert len(writes) == 2  # the batch, then one load and the three again
        assert writes[1].count(b"SCRIPT") == 1
        # Without a script to load, NOSCRIPT is the reply.
        await client.script_flush()
        with pytest.raises(NoScriptError):
            await batcher.submit(script.command((), ("x",)))

    _run(redis_server_url, body)


def test_a_lost_connection_fails_what_is_in_flight_and_the_next_batch_reconnects(
    redis_server_url: str, prefix: str
) -> None:
    async def body(client: Redis, batcher: CommandBatcher) -> None:
        batcher_id = await batcher.submit(encode_command("CLIENT", "ID"))
        # In flight when the connection dies (killed on the server side): failed.
        waiting = batcher.submit(encode_command("BLPOP", f"{prefix}never", "5"))
        echoes = [batcher.submit(encode_command("ECHO", str(n))) for n in range(3)]
        await asyncio.sleep(0.05)
        await client.execute_command("CLIENT", "KILL", "ID", batcher_id)  # type: ignore[no-untyped-call]
        replies = await asyncio.gather(waiting, *echoes, return_exceptions=True)
        assert all(isinstance(r, RedisConnectionError) for r in replies), replies
        # The next batch goes out on a new connection.
        assert await batcher.submit(encode_command("ECHO", "back")) == "back"
        assert await batcher.submit(encode_command("CLIENT", "ID")) != batcher_id
        # Killed between batches: noticed before the next one, which is served.
        await client.execute_command(  # type: ignore[no-untyped-call]
            "CLIENT", "KILL", "ID", await batcher.submit(encode_command("CLIENT", "ID"))
        )
        await asyncio.sleep(0.05)
        assert await batcher.submit(encode_command("ECHO", "still")) == "still"

    _run(redis_server_url, body)


def test_redis_down_fails_the_batch_at_once() -> None:
    async def main() -> None:
        client = open_async_client(f"redis://127.0.0.1:{_closed_port()}/0", timeout=0.2)
        batcher = CommandBatcher(client)
        try:
            started = time.monotonic()
            futures = [batcher.submit(encode_command("PING")) for _ in range(3)]
            replies = await asyncio.gather(*futures, return_exceptions=True)
            assert all(isinstance(r, RedisConnectionError) for r in replies), replies
            assert time.monotonic() - started < 1.0
        finally:
            await client.aclose()

    asyncio.run(main())


def test_a_budget_fails_the_waiter_and_a_silent_server_never_hangs_the_batch() -> None:
    async def main() -> None:
        async with silent_redis() as url:
            client = open_async_client(url, timeout=0.5)
            batcher = CommandBatcher(client)
            try:
                started = time.monotonic()
                budgeted = batcher.submit(encode_command("PING"), budget=0.05)
                unbounded = batcher.submit(encode_command("PING"))
                with pytest.raises(TimeoutError):
                    await budgeted
                assert time.monotonic() - started < 0.3
                with pytest.raises(TimeoutError):  # the socket timeout bounds the batch
                    await unbounded
                assert time.monotonic() - started < 2.0
            finally:
                await client.aclose()

    asyncio.run(main())


def test_a_waiter_that_gave_up_is_skipped(redis_server_url: str, prefix: str) -> None:
    async def body(client: Redis, batcher: CommandBatcher) -> None:
        gone = batcher.submit(encode_command("INCR", f"{prefix}skipped"))
        gone.cancel()
        kept = batcher.submit(encode_command("ECHO", "kept"))
        assert await kept == "kept"
        assert await client.get(f"{prefix}skipped") is None  # never sent

    _run(redis_server_url, body)


def test_lingering_commands_ride_with_the_next_batch_or_go_on_their_own(
    redis_server_url: str, prefix: str, writes: list[bytes]
) -> None:
    async def body(client: Redis, batcher: CommandBatcher) -> None:
        writes.clear()
        late = batcher.submit(encode_command("INCR", f"{prefix}late"), linger=5.0)
        await asyncio.sleep(0.01)
        assert not late.done() and not writes  # waiting for company
        assert await batcher.submit(encode_command("ECHO", "company")) == "company"
        assert await late == 1 and len(writes) == 1  # both in one write
        # Alone, it goes when its time is up...
        alone = batcher.submit(encode_command("INCR", f"{prefix}late"), linger=0.02)
        assert await asyncio.wait_for(alone, 1.0) == 2
        # ...or when flushed.
        flushed = batcher.submit(encode_command("INCR", f"{prefix}late"), linger=5.0)
        batcher.flush()
        assert await asyncio.wait_for(flushed, 1.0) == 3
        await client.delete(f"{prefix}late")

    _run(redis_server_url, body)


def test_a_connection_idle_past_the_health_check_interval_is_replaced(
    redis_server_url: str,
) -> None:
    async def main() -> None:
        client = open_async_client(redis_server_url, timeout=5.0)
        client.connection_pool.connection_kwargs["health_check_interval"] = 0.2
        batcher = CommandBatcher(client)
        try:
            first = await batcher.submit(encode_command("CLIENT", "ID"))
            assert await batcher.submit(encode_command("CLIENT", "ID")) == first  # kept
            await asyncio.sleep(0.3)  # idle longer than the interval: not trusted any more
            assert await batcher.submit(encode_command("CLIENT", "ID")) != first
        finally:
            await client.aclose()

    asyncio.run(main())


def test_a_readonly_reply_retires_the_connection(tmp_path: Path) -> None:
    """A master turned into a replica answers READONLY: the next batch connects afresh."""
    server = EmbeddedRedis(tmp_path)
    url = server.acquire()

    async def main() -> None:
        client = open_async_client(url, timeout=5.0)
        batcher = CommandBatcher(client)
        try:
            first = await batcher.submit(encode_command("CLIENT", "ID"))
            await client.execute_command("REPLICAOF", "127.0.0.1", "1")  # type: ignore[no-untyped-call]
            with pytest.raises(ReadOnlyError):
                await batcher.submit(encode_command("SET", "written", "1"))
            await client.execute_command("REPLICAOF", "NO", "ONE")  # type: ignore[no-untyped-call]
            assert await batcher.submit(encode_command("CLIENT", "ID")) != first
        finally:
            await client.aclose()

    try:
        asyncio.run(main())
    finally:
        server.release()
