"""FastAGIProtocol over Twisted's StringTransport and a task.Clock: no sockets, no sleeps."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from fastagi.call import Call
from fastagi.config import ServerSettings
from fastagi.server import STATUS_VARIABLE, CallStatus, FastAGIFactory, Router
from fastagi.server.reactor import run_on_reactor_loop

ENV = (
    b"agi_network: yes\n"
    b"agi_network_script: main?lang=ru\n"
    b"agi_uniqueid: 1700000000.1\n"
    b"agi_callerid: +79161234567\n"
    b"agi_arg_1: first\n"
    b"\n"
)

Script = Callable[[Call], Awaitable[str]]


class Harness:
    """One factory, one protocol on a StringTransport, a manual clock."""

    def __init__(self, script: Script, **settings: Any) -> None:
        self.clock = Clock()
        router = Router()
        router.add_pattern(r"main", script)
        self.factory = FastAGIFactory(ServerSettings(**settings), router, clock=self.clock)
        protocol = self.factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 40000))
        assert protocol is not None
        self.protocol = protocol
        self.transport = StringTransport()
        protocol.makeConnection(self.transport)

    def sent(self) -> list[str]:
        lines = self.transport.value().decode().splitlines()
        self.transport.clear()
        return lines

    def feed(self, data: bytes) -> None:
        self.protocol.dataReceived(data)

    def lose(self) -> None:
        self.protocol.connectionLost()


def noting_errors(command: Callable[[Call], Awaitable[object]]) -> tuple[Script, list[str]]:
    """A script that runs one command and notes the name of the error it raised."""
    raised: list[str] = []

    async def script(call: Call) -> str:
        try:
            await command(call)
        except Exception as exc:
            raised.append(type(exc).__name__)
            raise
        return CallStatus.SUCCESS

    return script, raised


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def run(coro: Awaitable[None]) -> None:
    run_on_reactor_loop(coro)  # type: ignore[arg-type]


def test_commands_replies_and_status_variable() -> None:
    seen: dict[str, Any] = {}

    async def script(call: Call) -> str:
        seen["query"] = dict(call.env.query)
        seen["args"] = call.env.args
        seen["value"] = await call.get_variable("FOO")
        result = await call.get_digits("ivr/welcome", timeout_ms=5000, max_digits=1)
        seen["digits"] = result.digits
        return CallStatus.SUCCESS

    async def scenario() -> None:
        h = Harness(script)
        h.feed(ENV)
        await settle()
        assert h.sent() == ['GET VARIABLE "FOO"']
        h.feed(b"200 result=1 (bar baz)\n")
        await settle()
        assert h.sent() == ['GET DATA "ivr/welcome" "5000" "1"']
        h.feed(b"200 result=2\n")
        await settle()
        assert h.sent() == [f'SET VARIABLE "{STATUS_VARIABLE}" "SUCCESS"']
        h.feed(b"200 result=1\n")
        await settle()
        assert h.transport.disconnecting, "the server must close the socket itself"
        assert seen == {
            "query": {"lang": "ru"},
            "args": ("first",),
            "value": "bar baz",
            "digits": "2",
        }

    run(scenario())


def test_hangup_line_turns_pending_command_into_call_hangup() -> None:
    script, outcome = noting_errors(lambda call: call.play("ivr/long-prompt", "12"))

    async def scenario() -> None:
        h = Harness(script)
        h.feed(ENV)
        await settle()
        h.sent()
        # As Asterisk does: HANGUP on its own line, then the reply of the running command.
        h.feed(b"HANGUP\n200 result=-1 endpos=1234\n")
        await settle()
        assert outcome == ["CallHangup"]
        assert h.sent() == [], "nothing may be sent to a hung-up channel"
        assert h.transport.disconnecting

    run(scenario())


def test_connection_lost_mid_command() -> None:
    script, outcome = noting_errors(lambda call: call.wait_for_digit(5000))

    async def scenario() -> None:
        h = Harness(script)
        h.feed(ENV)
        await settle()
        h.lose()
        await settle()
        assert outcome == ["CallHangup"]
        assert h.factory.connections == set()
        assert h.factory.active_calls == 0

    run(scenario())


def test_command_timeout_closes_the_call() -> None:
    script, outcome = noting_errors(lambda call: call.wait_for_digit(1000))

    async def scenario() -> None:
        h = Harness(script, command_timeout=3.0)
        h.feed(ENV)
        await settle()
        h.clock.advance(2.9)
        await settle()
        assert outcome == []
        h.clock.advance(0.2)
        await settle()
        assert outcome == ["CommandTimeout"]
        assert h.transport.disconnecting

    run(scenario())


def test_gosub_is_bounded_by_the_call_limit_not_the_command_timeout() -> None:
    # An action's GOSUB lasts the queue wait and the conversation after it.
    script, outcome = noting_errors(lambda call: call.gosub("ivr-queue", "s", "1"))

    async def scenario() -> None:
        h = Harness(script, command_timeout=3.0, max_call_duration=3600.0)
        h.feed(ENV)
        await settle()
        h.clock.advance(1800)
        await settle()
        assert outcome == []
        assert not h.transport.disconnecting
        h.clock.advance(1801)
        await settle()
        assert h.transport.disconnecting

    run(scenario())


def test_silent_peer_is_closed_after_env_timeout() -> None:
    async def script(call: Call) -> str:
        raise AssertionError("no script may run without an environment")

    async def scenario() -> None:
        h = Harness(script, env_timeout=5.0)
        h.feed(b"agi_network: yes\n")  # a truncated env block, then silence
        h.clock.advance(5.1)
        await settle()
        assert h.transport.disconnecting

    run(scenario())


@pytest.mark.parametrize(
    "garbage",
    [
        b"x" * 9000,  # an endless line
        b"agi_network: yes\n\n999 what\n",  # an unknown reply code with nothing pending
    ],
)
def test_garbage_closes_only_that_call(garbage: bytes) -> None:
    async def script(call: Call) -> str:
        await call.wait_for_digit(1000)
        return CallStatus.SUCCESS

    async def scenario() -> None:
        h = Harness(script, max_line_length=8192)
        h.feed(garbage)
        await settle()
        assert h.transport.disconnecting

    run(scenario())


def test_over_limit_call_is_told_busy_and_closed() -> None:
    async def script(call: Call) -> str:
        await call.wait_for_digit(1000)  # holds the first call
        return CallStatus.SUCCESS

    async def scenario() -> None:
        first = Harness(script, max_calls=1)
        first.feed(ENV)
        await settle()
        # A second connection on the same factory.
        second = first.factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 40001))
        assert second is not None
        transport = StringTransport()
        second.makeConnection(transport)
        second.dataReceived(ENV.replace(b"1700000000.1", b"1700000000.2"))
        await settle()
        assert transport.value() == f'SET VARIABLE "{STATUS_VARIABLE}" "BUSY"\n'.encode()
        second.dataReceived(b"200 result=1\n")
        await settle()
        assert transport.disconnecting
        assert first.factory.calls_rejected == 1

    run(scenario())


def test_peer_not_in_allowlist_is_refused() -> None:
    async def script(call: Call) -> str:
        return CallStatus.SUCCESS

    h = Harness(script, allowed_peers=("127.0.0.0/8",))
    assert h.factory.buildProtocol(IPv4Address("TCP", "10.1.2.3", 5000)) is None
    assert h.factory.buildProtocol(IPv4Address("TCP", "127.0.0.2", 5000)) is not None


def test_unknown_script_gets_notfound_status() -> None:
    async def script(call: Call) -> str:
        return CallStatus.SUCCESS

    async def scenario() -> None:
        h = Harness(script)
        h.feed(ENV.replace(b"main?lang=ru", b"nosuchmenu"))
        await settle()
        assert h.sent() == [f'SET VARIABLE "{STATUS_VARIABLE}" "NOTFOUND"']

    run(scenario())


def test_script_exception_is_logged_and_reported_failed(caplog: pytest.LogCaptureFixture) -> None:
    async def script(call: Call) -> str:
        raise RuntimeError("bug in a handler")

    async def scenario() -> None:
        h = Harness(script)
        h.feed(ENV)
        await settle()
        assert h.sent() == [f'SET VARIABLE "{STATUS_VARIABLE}" "FAILED"']

    run(scenario())
    assert "bug in a handler" in caplog.text
    record = next(r for r in caplog.records if r.exc_info)
    assert getattr(record, "uniqueid", None) == "1700000000.1"


def test_max_call_duration_cuts_a_stuck_call() -> None:
    async def script(call: Call) -> str:
        while True:
            await call.wait_for_digit(1000)

    async def scenario() -> None:
        h = Harness(script, max_call_duration=60.0, command_timeout=600.0)
        h.feed(ENV)
        await settle()
        h.clock.advance(61)
        await settle()
        assert h.transport.disconnecting

    run(scenario())


def test_gosub_waits_past_the_interim_trying_reply() -> None:
    got: list[str] = []

    async def script(call: Call) -> str:
        reply = await call.gosub("ivr-queue", "s", "1", "support")
        got.append(reply.extra)
        return CallStatus.SUCCESS

    async def scenario() -> None:
        h = Harness(script)
        h.feed(ENV)
        await settle()
        assert h.sent() == ['GOSUB "ivr-queue" "s" "1" "support"']
        h.feed(b"100 result=0 Trying...\n")
        await settle()
        assert got == [] and h.sent() == [], "100 is not the reply"
        h.feed(b"200 result=0 Gosub complete\n")
        await settle()
        assert got == ["Gosub complete"]
        assert h.sent() == [f'SET VARIABLE "{STATUS_VARIABLE}" "SUCCESS"']

    run(scenario())
