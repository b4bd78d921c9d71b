"""Redis slowed beyond the lookup budget: callers get the default menu, never someone else's.

A proxy between the server and a real Redis delays every reply by a
second (the budget is 0.2 s) for a while, then stops delaying. Two callers
with opposite profiles call at once, again and again: a VIP and a
blacklisted number. Late replies must never be taken for the answers to
later lookups - a VIP told "this number cannot be served", or a blacklisted
caller greeted as a VIP, would be the worst a slow Redis could do.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
from caller_rig import REPO, serving

from fastagi.menus import MenuSet, load_menus
from fastagi.server.reactor import run_on_reactor_loop
from fastagi.testing import CallResult

pytestmark = pytest.mark.system

VIP = "+79161110031"
BLOCKED = "+79161110032"
SLOW = 1.0  # seconds added to every reply; the lookup budget is 0.2 s


@pytest.fixture(scope="module")
def demo() -> MenuSet:
    return load_menus(REPO / "ivr_menus")


class DelayingProxy:
    """TCP in front of Redis; Redis's replies are held `delay` seconds, in order."""

    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream)
        self.delay = 0.0
        self.port = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def _connect_upstream(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.upstream.scheme == "unix":
            return await asyncio.open_unix_connection(self.upstream.path)
        return await asyncio.open_connection(self.upstream.hostname, self.upstream.port)

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delayed: bool
    ) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, chunk = await queue.get()
                if not chunk:
                    break
                await asyncio.sleep(max(0.0, due - loop.time()))
                writer.write(chunk)
                await writer.drain()

        sender = asyncio.ensure_future(deliver())
        try:
            while chunk := await reader.read(65536):
                queue.put_nowait((loop.time() + (self.delay if delayed else 0.0), chunk))
        finally:
            queue.put_nowait((0.0, b""))
            with contextlib.suppress(Exception):
                await sender
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await self._connect_upstream()
        except OSError:
            writer.close()
            return
        await asyncio.gather(
            self._pipe(reader, up_writer, delayed=False),
            self._pipe(up_reader, writer, delayed=True),
            return_exceptions=True,
        )

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[str]:
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        try:
            yield f"redis://127.0.0.1:{self.port}/0"
        finally:
            server.close()


def _heard(result: CallResult) -> str:
    """Which menu the caller heard: vip, blocked, default (or "nothing": a failure)."""
    for prompt, menu in (
        ("ivr/vip-greeting", "vip"),
        ("ivr/blocked-notice", "blocked"),
        ("ivr/main-greeting", "default"),
    ):
        if prompt in result.prompts:
            return menu
    return "nothing"


def test_slow_redis_gives_the_default_menu_and_never_mixes_up_callers(
    redis_server_url: str, demo: MenuSet
) -> None:
    proxy = DelayingProxy(redis_server_url)

    async def scenario() -> dict[str, list[tuple[str, CallResult]]]:
        placed: dict[str, list[tuple[str, CallResult]]] = {
            "before": [], "slow": [], "after": [], "changing": []
        }  # fmt: skip
        async with proxy.running() as url, serving(url, demo) as rig:
            await rig.service.directory.upsert(VIP, {"tags": "vip"})
            await rig.service.directory.upsert(BLOCKED, {"tags": "blacklist"})
            phase = ["before"]

            async def caller(number: str) -> None:
                while phase[0] != "done":
                    when = phase[0]
                    result = await rig.call(number, "0")
                    # A call the delay began or ended under belongs to neither side.
                    placed[when if phase[0] == when else "changing"].append((number, result))

            callers = [asyncio.ensure_future(caller(n)) for n in (VIP, BLOCKED) * 4]
            await asyncio.sleep(1.0)
            proxy.delay = SLOW
            phase[0] = "slow"
            await asyncio.sleep(3.0)
            proxy.delay = 0.0
            phase[0] = "after"
            await asyncio.sleep(3.0)
            phase[0] = "done"
            await asyncio.gather(*callers)
        return placed

    placed = run_on_reactor_loop(scenario())
    everything = [pair for calls in placed.values() for pair in calls]
    own = {VIP: "vip", BLOCKED: "blocked"}
    # Never someone else's menu, in any phase.
    for number, result in everything:
        assert _heard(result) in (own[number], "default"), (number, result.prompts)
    # No call failed or waited past the budget: served to its end, menu or notice.
    for _, result in everything:
        assert result.variables.get("IVRSTATUS") != "FAILED"
        assert result.error is None and not result.stuck
        assert result.timings[0] < 0.6 * SLOW, f"call setup took {result.timings[0]:.3f} s"
    slow = placed["slow"]
    assert len(slow) > 16, f"only {len(slow)} calls while Redis was slow"
    degraded = sum(_heard(r) == "default" for _, r in slow)
    assert degraded > len(slow) // 2, f"{degraded} of {len(slow)} got the default menu"
    # Everyone personalised before, and again once Redis is quick.
    wrong = [(n, r.prompts) for n, r in placed["before"] if _heard(r) != own[n]]
    assert not wrong
    for number in (VIP, BLOCKED):
        last = [r for n, r in placed["after"] if n == number][-4:]
        assert len(last) == 4, f"too few calls of {number} after the delay ended"
        assert all(_heard(r) == own[number] for r in last), [r.prompts[:1] for r in last]
