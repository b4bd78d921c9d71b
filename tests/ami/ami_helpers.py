"""Helpers for the AMI client tests (imported by bare name, like tests/agi/agi_helpers).

`RawAmi` is a tiny scripted AMI server for what a well-behaved peer will not
do: write raw bytes (malformed lines, overlong messages) or stop answering
pings. It logs anyone in and answers Ping and Logoff; `reply` hooks the rest.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from fastagi.ami import AmiMessage, AmiParser
from fastagi.server.reactor import run_on_reactor_loop

T = TypeVar("T")

BANNER = b"Asterisk Call Manager/9.0.0\r\n"


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a test coroutine on the reactor's asyncio loop (Twisted and asyncio together)."""
    return run_on_reactor_loop(coro)


async def eventually(
    check: Callable[[], bool], timeout: float = 5.0, what: str = "condition"
) -> None:
    """Poll `check` until it is true; fail the test after `timeout` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def reply(action: AmiMessage, *lines: str) -> bytes:
    """A response to `action`: its ActionID after the first line, then `lines`."""
    head, *rest = lines
    body = [head, f"ActionID: {action.action_id}", *rest]
    return ("".join(f"{line}\r\n" for line in body) + "\r\n").encode()


Reply = Callable[[AmiMessage], Awaitable[bytes | None] | bytes | None]


class RawAmi:
    """A scripted AMI server on 127.0.0.1: logs anyone in, answers Ping unless told not to."""

    def __init__(self, reply_to: Reply | None = None) -> None:
        self.reply_to = reply_to
        self.answer_pings = True
        self.actions: list[AmiMessage] = []
        self.connections = 0
        self._writers: list[asyncio.StreamWriter] = []
        self._tasks: set[asyncio.Future[None]] = set()
        self._server: asyncio.Server | None = None

    async def start(self, port: int = 0) -> tuple[str, int]:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        return "127.0.0.1", self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.drop()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def drop(self) -> None:
        for writer in self._writers:
            writer.close()
        self._writers.clear()

    def send(self, data: bytes) -> None:
        """Write raw bytes to every connected client."""
        for writer in self._writers:
            writer.write(data)

    def names(self) -> list[str]:
        return [action.get("Action") or "" for action in self.actions]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        writer.write(BANNER)
        parser = AmiParser(expect_banner=False)
        try:
            while data := await reader.read(65536):
                for action in parser.feed(data):
                    self.actions.append(action)
                    if (action.get("Action") or "").lower() == "logoff":
                        writer.write(await self._answer(action) or b"")
                        writer.close()
                        return
                    # Each reply on its own task: slow replies may overtake each other.
                    task = asyncio.ensure_future(self._respond(action, writer))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
        except ConnectionError:
            pass
        finally:
            if writer in self._writers:
                self._writers.remove(writer)
            writer.close()

    async def _respond(self, action: AmiMessage, writer: asyncio.StreamWriter) -> None:
        answer = await self._answer(action)
        if answer and not writer.is_closing():
            writer.write(answer)

    async def _answer(self, action: AmiMessage) -> bytes | None:
        name = (action.get("Action") or "").lower()
        if name == "login":
            return reply(action, "Response: Success", "Message: Authentication accepted")
        if name == "challenge":
            return reply(action, "Response: Success", "Challenge: 123456789")
        if name == "ping":
            return reply(action, "Response: Success", "Ping: Pong") if self.answer_pings else None
        if name == "logoff":
            return reply(action, "Response: Goodbye", "Message: Thanks for all the fish.")
        if self.reply_to is not None:
            answer = self.reply_to(action)
            if asyncio.iscoroutine(answer) or isinstance(answer, asyncio.Future):
                answer = await answer
            return answer  # type: ignore[return-value]
        return reply(action, "Response: Error", "Message: Invalid/unknown command")
