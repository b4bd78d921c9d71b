"""The throughput phase's replayed calls: the probe's bytes out, every command checked."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import pytest

from fastagi.bench import _load
from fastagi.bench.replay import Exchange, Replayed, ReplayError, replay
from fastagi.testing import CallResult

COMMANDS = ["ANSWER", 'STREAM FILE "ivr/welcome" ""', 'SET VARIABLE "IVRSTATUS" "SUCCESS"']


def _probe(
    replies: Sequence[str] = ("200 result=0", "200 result=0 endpos=8000", "200 result=1"),
) -> CallResult:
    return CallResult(
        uniqueid="1700000000.1",
        channel="PJSIP/trunk-00000001",
        env={"agi_network_script": "main", "agi_uniqueid": "1700000000.1", "agi_callerid": "+7"},
        command_lines=list(COMMANDS),
        replies=list(replies),
    )


@asynccontextmanager
async def _responder(commands: Sequence[str]) -> AsyncIterator[tuple[int, list[bytes]]]:
    """A FastAGI server sending `commands`; yields its port and the env blocks it read."""
    envs: list[bytes] = []
    lines = [f"{command}\n".encode() for command in commands]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        envs.append(await reader.readuntil(b"\n\n"))
        for line in lines:
            writer.write(line)
            if not await reader.readline():  # each command waits for its reply
                break
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], envs
    finally:
        server.close()


def test_a_call_that_sends_the_expected_commands_counts_with_a_timing_each() -> None:
    async def scenario() -> tuple[Replayed, list[bytes]]:
        async with _responder(COMMANDS) as (port, envs):
            call = await replay(Exchange.of(_probe()), "127.0.0.1", port, "1800000000.7", "+79")
            return call, envs

    call, envs = asyncio.run(scenario())
    assert call.problem is None and call.commands == 3 and len(call.timings) == 3
    assert b"agi_uniqueid: 1800000000.7\n" in envs[0] and b"agi_callerid: +79\n" in envs[0]
    assert envs[0].startswith(b"agi_network_script: main\n")


def test_a_wrong_command_or_an_early_close_is_a_failed_call_with_its_reason() -> None:
    async def scenario(commands: list[str]) -> Replayed:
        async with _responder(commands) as (port, _):
            return await replay(Exchange.of(_probe()), "127.0.0.1", port, "1.1", "+7")

    wrong = asyncio.run(scenario([COMMANDS[0], 'STREAM FILE "ivr/other" ""', COMMANDS[2]]))
    assert wrong.problem is not None and wrong.problem.startswith("command 2 was")
    short = asyncio.run(scenario(COMMANDS[:2]))
    assert short.problem == "the connection ended after 2 of 3 commands"
    extra = asyncio.run(scenario([*COMMANDS, "HANGUP"]))
    assert extra.problem is not None and extra.problem.startswith("unexpected command 4")


def test_a_probe_without_one_reply_per_command_is_not_replayed() -> None:
    with pytest.raises(ReplayError, match="2 reply lines for 3 commands"):
        Exchange.of(_probe(("200 result=0", "200 result=1")))


def test_the_closed_loop_tallies_replayed_calls_each_with_its_own_uniqueid() -> None:
    async def scenario() -> tuple[_load.Tally, list[bytes]]:
        async with _responder(COMMANDS) as (port, envs):
            scenario = _load.Scenario("main", "+7916{n:07d}", "", tuple(COMMANDS))
            tally, _ = await _load.closed_loop(
                _load.new_emulator(),
                "127.0.0.1",
                port,
                scenario,
                calls=12,
                concurrency=4,
                exchange=Exchange.of(_probe()),
            )
            return tally, envs

    tally, envs = asyncio.run(scenario())
    assert (tally.completed, tally.failed) == (12, 0)
    assert [len(times) for times in tally.by_command] == [12, 12, 12]
    uids = {line for env in envs for line in env.split(b"\n") if line.startswith(b"agi_uniqueid")}
    callers = {
        line for env in envs for line in env.split(b"\n") if line.startswith(b"agi_callerid")
    }
    assert len(uids) == 12 and len(callers) == 12
