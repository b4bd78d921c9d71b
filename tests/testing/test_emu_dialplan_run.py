"""AsteriskEmulator.run_dialplan: control flow, Gosub, time, hangups and AGI() over real TCP."""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from fastagi.testing import (
    AsteriskEmulator,
    CallerScript,
    Dialplan,
    DialplanError,
    DialplanResult,
    HangUp,
)

MOSCOW = ZoneInfo("Europe/Moscow")
MONDAY_NOON = datetime(2025, 1, 6, 12, 0, tzinfo=MOSCOW)
READ_TIMEOUT = 5.0


def run(text: str, context: str = "main", exten: str = "s", **kwargs: object) -> DialplanResult:
    emulator = AsteriskEmulator(dialplan=Dialplan.parse(text, "test.conf"))
    kwargs.setdefault("now", MONDAY_NOON)
    return asyncio.run(emulator.run_dialplan(context, exten, **kwargs))  # type: ignore[arg-type]


def noops(result: DialplanResult) -> list[str]:
    return [run.data for run in result.applications if run.app == "NoOp"]


GOSUB = """
[main]
exten => s,1,Set(ARG1=outer)
 same => n,Gosub(sub,s,1(a,b))
 same => n,NoOp(back: ${GOSUB_RETVAL} ARG1=${ARG1} ARG2=${ARG2} L=${L})
 same => n,Gosub(sub,two,1)
 same => n,NoOp(${GOSUB_RETVAL})
[sub]
exten => s,1,NoOp(in: ${ARG1} ${ARG2} argc=${ARGC})
 same => n,Set(LOCAL(L)=local)
 same => n,Gosub(nested,s,1(x))
 same => n,Return(done ${ARG1})
exten => two,1,Return(${ARGC})
[nested]
exten => s,1,NoOp(nested: ${ARG1} [${ARG2}] argc=${ARGC} L=${L})
 same => n,Return()
"""


def test_gosub_arguments_are_local_and_return_restores_them() -> None:
    result = run(GOSUB)
    assert noops(result) == [
        "in: a b argc=2",
        "nested: x [] argc=1 L=local",  # the caller's ARG2 is hidden, LOCAL() is visible
        "back: done a ARG1=outer ARG2= L=",
        "0",
    ]
    assert result.ended == "fell-through"
    assert result.variables["ARG1"] == "outer"
    assert "ARGC" not in result.variables and "L" not in result.variables


def test_gosub_to_a_missing_label_and_return_without_gosub_hang_up() -> None:
    result = run("[main]\nexten => s,1,Gosub(nowhere,s,1)\n same => n,NoOp(never)\n")
    assert (result.ended, result.hung_up_by, noops(result)) == ("hangup", "dialplan", [])
    assert "non-existent destination" in result.warnings[0]
    result = run("[main]\nexten => s,1,Return()\n")
    assert result.ended == "hangup" and "Return without Gosub" in result.warnings[0]


GOTOIF = """
[main]
exten => s,1,GotoIf($["${X}" = "yes"]?yes:no)
 same => n(yes),NoOp(yes)
 same => n,GotoIf(0?never)
 same => n,GotoIf(1?7,lbl)
 same => n(no),NoOp(no)
 same => n,Goto(s,done)
 same => n(done),NoOp(done)
exten => _X,1,NoOp(never)
 same => n(lbl),NoOp(other ${EXTEN})
"""


@pytest.mark.parametrize(
    ("value", "expected"),
    [("yes", ["yes", "other 7"]), ("no", ["no", "done"]), ("", ["no", "done"])],
)
def test_gotoif_branches_and_labels(value: str, expected: list[str]) -> None:
    result = run(GOTOIF, channel_variables={"X": value})
    assert noops(result) == expected


HOURS = """
[main]
exten => s,1,GotoIfTime(09:00-17:59,mon-fri,*,*,Europe/Moscow?open:closed)
 same => n(open),NoOp(open)
 same => n,Hangup()
 same => n(closed),NoOp(closed)
"""


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2025, 1, 6, 9, 0, tzinfo=MOSCOW), "open"),  # Monday
        (datetime(2025, 1, 6, 17, 59, 59, tzinfo=MOSCOW), "open"),  # the end minute is in
        (datetime(2025, 1, 6, 18, 0, tzinfo=MOSCOW), "closed"),
        (datetime(2025, 1, 6, 8, 59, tzinfo=MOSCOW), "closed"),
        (datetime(2025, 1, 4, 12, 0, tzinfo=MOSCOW), "closed"),  # Saturday
        (datetime(2025, 1, 6, 6, 30, tzinfo=ZoneInfo("UTC")), "open"),  # 09:30 in Moscow
    ],
)
def test_gotoiftime_reads_the_call_clock_in_the_named_zone(now: datetime, expected: str) -> None:
    assert noops(run(HOURS, now=now)) == [expected]


def test_gotoiftime_sees_virtual_time_pass() -> None:
    text = "[main]\nexten => s,1,Wait(120)\n same => n,GotoIfTime(12:02-12:05,*,*,*?later)\n"
    text += " same => n,NoOp(too early)\n same => n(later),NoOp(later ${EPOCH})\n"
    result = run(text)
    assert noops(result) == [f"later {int(MONDAY_NOON.timestamp()) + 120}"]


def test_execif_runs_the_chosen_application() -> None:
    text = """
[main]
exten => s,1,ExecIf($[${LEN(${V})} > 2]?Set(R=long):Set(R=short))
 same => n,ExecIf(0?Set(NEVER=1))
 same => n,ExecIf(1?Goto(jump))
 same => n,NoOp(skipped)
 same => n(jump),MSet(A=1,B="two")
"""
    result = run(text, channel_variables={"V": "abcd"})
    assert result.variables["R"] == "long"
    assert "NEVER" not in result.variables
    assert (result.variables["A"], result.variables["B"]) == ("1", "two")
    assert noops(result) == []


def test_unknown_application_hangs_up_and_h_runs() -> None:
    text = "[main]\nexten => s,1,Set(X=1)\n same => n,NoSuchApp(x)\n same => n,NoOp(never)\n"
    text += "exten => h,1,NoOp(h: X=${X} cause=${HANGUPCAUSE})\n"
    result = run(text)
    assert result.unknown_applications == ["nosuchapp"]
    assert (result.ended, result.hung_up_by) == ("hangup", "dialplan")
    assert (result.context, result.exten, result.priority) == ("main", "s", 2)
    assert noops(result) == ["h: X=1 cause=16"]
    assert "No application 'nosuchapp'" in result.warnings[0]


HANGUP_HANDLERS = """
[main]
exten => s,1,Set(CHANNEL(hangup_handler_push)=handlers,first,1(one))
 same => n,Set(CHANNEL(hangup_handler_push)=handlers,second,1(two))
 same => n,Gosub(sub,s,1)
 same => n,NoOp(never: the channel hung up in the subroutine)
[sub]
exten => s,1,Hangup()
exten => h,1,NoOp(h of sub)
[handlers]
exten => first,1,NoOp(handler ${ARG1})
 same => n,Return()
 same => n,NoOp(never: after Return)
exten => second,1,NoOp(handler ${ARG1})
 same => n,Return()
"""


def test_hangup_handlers_run_after_h_wherever_the_channel_hung_up() -> None:
    # `h` runs in the context the channel is in (the subroutine's), then the
    # handlers, most recently pushed first, each up to its Return()
    assert noops(run(HANGUP_HANDLERS)) == ["h of sub", "handler two", "handler one"]


def test_an_invalid_extension_goes_to_i_and_falling_off_the_end_hangs_up() -> None:
    text = "[main]\nexten => s,1,Goto(999,1)\nexten => i,1,NoOp(invalid ${INVALID_EXTEN})\n"
    result = run(text)
    assert noops(result) == ["invalid 999"]
    assert (result.ended, result.hung_up_by, result.exten) == ("fell-through", "dialplan", "i")
    result = run("[main]\nexten => s,1,Goto(999,1)\n")
    assert result.ended == "invalid-extension"


def test_the_caller_hangs_up_during_a_wait() -> None:
    text = "[main]\nexten => s,1,Answer()\n same => n,Wait(30)\n same => n,NoOp(never)\n"
    text += "exten => h,1,NoOp(bye at ${EPOCH})\n"
    result = run(text, caller=CallerScript([HangUp(10)]))
    assert result.hung_up_by == "caller"
    assert noops(result) == [f"bye at {int(MONDAY_NOON.timestamp()) + 10}"]
    assert [(r.app, r.at) for r in result.applications] == [
        ("Answer", 0.0),
        ("Wait", 0.0),
        ("NoOp", 10.0),
    ]


def test_a_loop_that_takes_no_time_is_an_error() -> None:
    with pytest.raises(DialplanError, match="more than 50 priorities"):
        run("[main]\nexten => s,1,Goto(1)\n", max_steps=50)


def test_a_priority_label_can_start_the_run() -> None:
    result = run(GOTOIF, priority="done")
    assert noops(result) == ["done"]


# -- AGI() ------------------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


FALLBACK = """
[globals]
IVR_AGI=agi://127.0.0.1:{port}
[main]
exten => _X.,1,Set(IVRSTATUS=)
 same => n,AGI(${{IVR_AGI}}/main,first arg,2)
 same => n,GotoIf($["${{IVRSTATUS}}" = "SUCCESS"]?route)
 same => n(fallback),NoOp(fallback ${{AGISTATUS}})
 same => n,Hangup()
 same => n(route),NoOp(route ${{IVR_RESULT}} ${{RES}})
[sub]
exten => s,1,Set(RES=${{ARG1}}-${{ARG2}})
 same => n,Wait(5)
 same => n,Return()
exten => agi,1,AGI(agi://127.0.0.1:1/x)
"""


def test_agi_to_a_closed_port_fails_and_the_dialplan_takes_its_fallback() -> None:
    result = run(FALLBACK.format(port=closed_port()), exten="100")
    assert result.agi_status == "FAILURE"
    assert noops(result) == ["fallback FAILURE"]
    assert result.agi_calls[0].error is not None


Server = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _with_server(server: Server, text: str, **kwargs: object) -> DialplanResult:
    errors: list[BaseException] = []

    async def guarded(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await server(reader, writer)
        except BaseException as exc:
            errors.append(exc)
        finally:
            writer.close()

    listener = await asyncio.start_server(guarded, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    async with listener:
        emulator = AsteriskEmulator(dialplan=Dialplan.parse(text.format(port=port), "agi.conf"))
        kwargs.setdefault("now", MONDAY_NOON)
        result = await emulator.run_dialplan("main", "100", **kwargs)  # type: ignore[arg-type]
    if errors:
        raise errors[0]
    return result


async def _read_env(reader: asyncio.StreamReader) -> dict[str, str]:
    env: dict[str, str] = {}
    while (line := await asyncio.wait_for(reader.readline(), READ_TIMEOUT)) not in (b"\n", b""):
        key, _, value = line.decode().rstrip("\n").partition(": ")
        env[key] = value
    return env


async def _ask(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, line: str, replies: int = 1
) -> list[str]:
    writer.write(line.encode() + b"\n")
    return [
        (await asyncio.wait_for(reader.readline(), READ_TIMEOUT)).decode().rstrip("\n")
        for _ in range(replies)
    ]


def test_agi_talks_to_the_server_on_the_same_channel_and_gosub_runs_the_dialplan() -> None:
    seen: dict[str, object] = {}

    async def server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen["env"] = await _read_env(reader)
        seen["gosub"] = await _ask(reader, writer, 'GOSUB sub s 1 "a,b"', 2)
        seen["read"] = await _ask(reader, writer, "GET FULL VARIABLE ${RES}|${ARG1}|${EPOCH}")
        seen["missing"] = await _ask(reader, writer, "GOSUB sub nowhere 1")
        await _ask(reader, writer, "SET VARIABLE IVR_RESULT support")
        await _ask(reader, writer, "SET VARIABLE IVRSTATUS SUCCESS")

    result = asyncio.run(_with_server(server, FALLBACK, callerid="+79161234567"))
    env = seen["env"]
    assert isinstance(env, dict)
    assert env["agi_request"].endswith("/main") and env["agi_network_script"] == "main"
    assert (env["agi_context"], env["agi_extension"], env["agi_priority"]) == ("main", "100", "2")
    assert (env["agi_arg_1"], env["agi_arg_2"]) == ("first arg", "2")
    assert env["agi_callerid"] == "+79161234567"
    assert env["agi_uniqueid"] == result.uniqueid
    assert seen["gosub"] == ["100 result=0 Trying...", "200 result=0 Gosub complete"]
    # the subroutine's Wait(5) took channel time; ARG1 was restored by Return()
    assert seen["read"] == [f"200 result=1 (a-b||{int(MONDAY_NOON.timestamp()) + 5})"]
    assert seen["missing"] == ["200 result=-1 Gosub label not found"]
    assert result.agi_status == "FAILURE"  # a failed command fails the AGI, as in res_agi
    assert noops(result) == ["route support a-b"]
    assert [r.app for r in result.applications][:5] == ["Set", "AGI", "Set", "Wait", "Return"]


def test_a_hangup_during_the_agi_stops_the_dialplan() -> None:
    text = FALLBACK.replace("[sub]", "exten => h,1,NoOp(h ran ${{AGISTATUS}})\n[sub]")

    async def server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_env(reader)
        await _ask(reader, writer, "HANGUP", 2)

    result = asyncio.run(_with_server(server, text))
    assert result.agi_status == "HANGUP"
    assert result.hung_up_by == "agi"
    assert noops(result) == ["h ran HANGUP"]


def test_agi_inside_a_subroutine_started_by_the_agi_is_refused() -> None:
    async def server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_env(reader)
        await _ask(reader, writer, "GOSUB sub agi 1", 2)

    with pytest.raises(DialplanError, match=r"AGI\(\) inside a Gosub run by the AGI"):
        asyncio.run(_with_server(server, FALLBACK))


@pytest.mark.parametrize("reset", [False, True], ids=["closed", "reset"])
def test_a_server_that_dies_mid_call_ends_the_agi_with_success(reset: bool) -> None:
    """res_agi reads the end of the socket as the script's end: AGISTATUS=SUCCESS (a
    FIN or an RST alike - a killed process resets what it had not read), and the
    dialplan goes on with what the server had set before it died."""

    async def server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_env(reader)
        assert await _ask(reader, writer, "ANSWER") == ["200 result=0"]
        writer.write(b'STREAM FILE ivr/main-greeting ""\n')  # sent, never waited for
        await writer.drain()
        if reset:  # what the kernel does for a SIGKILLed server with unread data
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()

    result = asyncio.run(_with_server(server, FALLBACK))
    [call] = result.agi_calls
    assert call.agi_status == "SUCCESS" and call.server_closed and not call.stuck
    assert result.variables["IVRSTATUS"] == ""
    assert noops(result) == ["fallback SUCCESS"]


def test_reply_delay_paces_the_dialplan_agi_in_wall_clock_time() -> None:
    async def server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_env(reader)
        for _ in range(4):
            await _ask(reader, writer, "NOOP")
        await _ask(reader, writer, "SET VARIABLE IVRSTATUS SUCCESS")

    started = time.perf_counter()
    result = asyncio.run(_with_server(server, FALLBACK, reply_delay=0.05))
    assert time.perf_counter() - started >= 0.25  # five replies, 0.05 s each
    assert noops(result) == ["route  "]
    assert result.agi_calls[0].virtual_duration == 0.0  # channel time did not move
