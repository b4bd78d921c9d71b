"""A throwaway FastAGI server for the emulator's system tests.

It speaks raw AGI lines over a real socket on 127.0.0.1 (no fastagi.server,
no codec), so the tests see exactly what the emulator writes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from fastagi.testing import AsteriskEmulator, CallResult

READ_TIMEOUT = 5.0


class Conversation:
    """The server's end of one call."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.env_lines: list[str] = []
        self.env: dict[str, str] = {}
        self.received: list[str] = []

    async def read_env(self) -> None:
        while True:
            raw = await asyncio.wait_for(self.reader.readline(), READ_TIMEOUT)
            if raw in (b"\n", b""):
                return
            text = raw.decode("utf-8", "surrogateescape").removesuffix("\n")
            self.env_lines.append(text)
            key, _, value = text.partition(": ")
            self.env[key] = value

    async def line(self) -> str:
        raw = await asyncio.wait_for(self.reader.readline(), READ_TIMEOUT)
        if not raw:
            raise EOFError("emulator closed the connection")
        text = raw.decode("utf-8", "surrogateescape").removesuffix("\n")
        self.received.append(text)
        return text

    def send(self, text: str) -> None:
        self.writer.write(text.encode("utf-8", "surrogateescape") + b"\n")

    async def ask(self, text: str) -> str:
        """Send one command, return the next line."""
        self.send(text)
        return await self.line()

    async def ask_lines(self, text: str, count: int) -> list[str]:
        """Send one command, return the next ``count`` lines."""
        self.send(text)
        return [await self.line() for _ in range(count)]

    def close(self) -> None:
        self.writer.close()


Script = Callable[[Conversation], Awaitable[None]]
CallRunner = Callable[..., tuple[CallResult, Conversation]]


async def _run(
    script: Script, emulator: AsteriskEmulator, kwargs: dict[str, Any]
) -> tuple[CallResult, Conversation]:
    conversations: list[Conversation] = []
    errors: list[BaseException] = []
    finished = asyncio.Event()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conversation = Conversation(reader, writer)
        conversations.append(conversation)
        try:
            await conversation.read_env()
            await script(conversation)
        except BaseException as exc:  # surface server-side failures in the test
            errors.append(exc)
            writer.close()
        finally:
            finished.set()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        result = await emulator.place_call("127.0.0.1", port, **kwargs)
        await asyncio.wait_for(finished.wait(), READ_TIMEOUT)
    if errors:
        raise errors[0]
    return result, conversations[0]


@pytest.fixture
def agi_call() -> CallRunner:
    """Run ``server(conversation)`` as the server side of one emulated call.

    Returns ``(CallResult, Conversation)``; keyword arguments go to
    ``place_call``, except ``emulator=`` which replaces the default emulator.
    """

    def run(
        server: Script, /, *, emulator: AsteriskEmulator | None = None, **kwargs: Any
    ) -> tuple[CallResult, Conversation]:
        return asyncio.run(_run(server, emulator or AsteriskEmulator(), kwargs))

    return run
