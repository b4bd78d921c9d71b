"""Hostile peers over real TCP: slowloris, an endless line, a connection flood.

Each test runs the real server (demo menus, no Redis) with small limits and
checks both sides: the hostile connection is cut or refused within its
limit, and a normal call placed meanwhile is served.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from fastagi.config import ServerSettings
from fastagi.menus import load_menus
from fastagi.server.app import RunningServer, start_server
from fastagi.server.reactor import run_on_reactor_loop
from fastagi.testing import AsteriskEmulator, CallerScript, CallResult

REPO = Path(__file__).resolve().parents[2]


def _env(uniqueid: str) -> bytes:
    lines = [
        "agi_network: yes",
        "agi_network_script: main",
        "agi_request: agi://127.0.0.1/main",
        "agi_channel: PJSIP/trunk-00000001",
        "agi_language: en",
        f"agi_uniqueid: {uniqueid}",
        "agi_callerid: unknown",
        "agi_calleridname: unknown",
        "agi_context: ivr-entry",
        "agi_extension: 4951234567",
        "agi_priority: 2",
    ]
    return ("\n".join(lines) + "\n\n").encode()


def _server(**limits: object) -> RunningServer:
    settings = ServerSettings(port=0, callers=False, **limits)  # type: ignore[arg-type]
    return start_server(settings, menus=load_menus(REPO / "ivr_menus"))


async def _normal_call(server: RunningServer) -> CallResult:
    host, port = server.address
    return await AsteriskEmulator().place_call(
        host, port, script="main", caller=CallerScript.parse("0")
    )


def _buffered(server: RunningServer) -> int:
    """The most unparsed bytes any connection of the server holds right now."""
    return max((len(p.codec._buffer) for p in server.factory.connections), default=0)


async def _closed(reader: asyncio.StreamReader, within: float) -> bool:
    """Whether the server closed the connection within `within` seconds."""
    try:
        async with asyncio.timeout(within):
            while await reader.read(4096):
                pass
        return True
    except (ConnectionResetError, BrokenPipeError):
        return True  # closed on us while we were still writing
    except TimeoutError:
        return False


def test_a_slowloris_peer_is_cut_at_the_env_timeout_and_others_are_served() -> None:
    async def scenario() -> tuple[bool, float, CallResult]:
        server = _server(env_timeout=1.0)
        host, port = server.address
        reader, writer = await asyncio.open_connection(host, port)
        started = time.monotonic()
        env = _env("1700000000.1")

        async def drip() -> None:
            for byte in env:  # one byte every 100 ms: the whole block would take 20 s
                if writer.is_closing():
                    return
                writer.write(bytes([byte]))
                await asyncio.sleep(0.1)

        dripping = asyncio.ensure_future(drip())
        normal = await _normal_call(server)
        closed = await _closed(reader, within=3.5)
        elapsed = time.monotonic() - started
        dripping.cancel()
        writer.close()
        await server.stop(grace=1.0)
        return closed, elapsed, normal

    closed, elapsed, normal = run_on_reactor_loop(scenario())
    assert closed and elapsed < 3.5  # env_timeout 1 s, checked every second
    assert normal.variables["IVR_RESULT"] == "operator"


def test_an_endless_line_is_cut_with_bounded_buffering() -> None:
    async def scenario() -> tuple[bool, int, int, CallResult]:
        server = _server(max_line_length=1024)
        host, port = server.address
        reader, writer = await asyncio.open_connection(host, port)
        sent = most_buffered = 0
        try:
            for _ in range(2000):  # up to 8 MB, never a newline
                writer.write(b"x" * 4096)
                await writer.drain()
                sent += 4096
                await asyncio.sleep(0.001)  # let the server read it
                most_buffered = max(most_buffered, _buffered(server))
                if reader.at_eof() or writer.is_closing():
                    break
        except (ConnectionResetError, BrokenPipeError):
            pass
        closed = await _closed(reader, within=2.0)
        normal = await _normal_call(server)
        writer.close()
        await server.stop(grace=1.0)
        return closed, most_buffered, sent, normal

    closed, buffered, sent, normal = run_on_reactor_loop(scenario())
    assert closed and sent < 8_000_000  # cut long before the peer gave up
    assert buffered <= 1024 + 65536  # never more than a line plus one read
    assert normal.variables["IVR_RESULT"] == "operator"


def test_a_connection_flood_gets_busy_fast_and_the_server_recovers() -> None:
    flood, limit = 300, 50

    async def scenario() -> tuple[int, int, float, CallResult, CallResult]:
        server = _server(max_calls=limit, env_timeout=5.0)
        host, port = server.address
        started = time.monotonic()
        peers = [await asyncio.open_connection(host, port) for _ in range(flood)]
        for index, (_, writer) in enumerate(peers):
            writer.write(_env(f"1700000000.{index + 2}"))  # then never answer a command

        async def first_line(reader: asyncio.StreamReader) -> bytes:
            try:
                async with asyncio.timeout(5):
                    return await reader.readline()
            except TimeoutError:
                return b""

        lines = await asyncio.gather(*(first_line(reader) for reader, _ in peers))
        answered_in = time.monotonic() - started
        busy = sum(1 for line in lines if line == b'SET VARIABLE "IVRSTATUS" "BUSY"\n')
        held = sum(1 for line in lines if line and b"BUSY" not in line)
        during = await _normal_call(server)  # the limit is reached: refused, politely
        for _, writer in peers:
            writer.close()
        await asyncio.sleep(0.5)
        after = await _normal_call(server)
        await server.stop(grace=1.0)
        return busy, held, answered_in, during, after

    busy, held, answered_in, during, after = run_on_reactor_loop(scenario())
    assert held <= limit and busy >= flood - limit
    assert answered_in < 5.0  # every peer told something at once, nobody left hanging
    assert during.variables.get("IVRSTATUS") == "BUSY"
    assert after.variables["IVR_RESULT"] == "operator"  # recovered once the flood left
