"""The shipped dialplan (asterisk-conf/extensions.conf and its includes) run by the emulator."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from fastagi.config import ServerSettings
from fastagi.menus import load_menus
from fastagi.server.app import start_server
from fastagi.server.reactor import run_on_reactor_loop
from fastagi.testing import AsteriskEmulator, CallerScript, Dialplan, DialplanResult

REPO = Path(__file__).resolve().parents[2]
EXTENSIONS = REPO / "asterisk-conf" / "extensions.conf"
MOSCOW = ZoneInfo("Europe/Moscow")


@pytest.fixture(scope="module")
def dialplan() -> Dialplan:
    return Dialplan.load(EXTENSIONS)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_dialplan_loads_with_its_includes(dialplan: Dialplan) -> None:
    assert {"ivr-entry", "ivr-results", "ivr-queue", "ivr-voicemail", "internal"} <= set(
        dialplan.contexts
    )
    assert dialplan.globals["IVR_AGI"] == "agi://127.0.0.1:4573"
    assert {path.name for path in dialplan.files} == {
        "ivr-entry.conf",
        "ivr-actions.conf",
        "ivr-outbound.conf",
    }


@pytest.mark.parametrize(
    ("now", "fallback"),
    [
        (datetime(2025, 1, 6, 10, 0, tzinfo=MOSCOW), ("Queue", "support,,,,120")),  # Monday
        (datetime(2025, 1, 6, 17, 59, 30, tzinfo=MOSCOW), ("Queue", "support,,,,120")),
        (datetime(2025, 1, 6, 18, 0, tzinfo=MOSCOW), ("VoiceMail", "100@default,u")),
        (datetime(2025, 1, 11, 11, 0, tzinfo=MOSCOW), ("Queue", "support,,,,120")),  # Saturday
        (datetime(2025, 1, 11, 14, 0, tzinfo=MOSCOW), ("VoiceMail", "100@default,u")),
        (datetime(2025, 1, 12, 11, 0, tzinfo=MOSCOW), ("VoiceMail", "100@default,u")),  # Sunday
    ],
)
def test_with_the_agi_server_down_a_call_takes_the_fallback(
    dialplan: Dialplan, now: datetime, fallback: tuple[str, str]
) -> None:
    emulator = AsteriskEmulator(
        dialplan=dialplan, globals={"IVR_AGI": f"agi://127.0.0.1:{closed_port()}"}
    )
    result = asyncio.run(
        emulator.run_dialplan("ivr-entry", "84951234567", callerid="+79161234567", now=now)
    )
    assert result.agi_status == "FAILURE"
    assert result.variables["IVRSTATUS"] == ""
    assert result.app_names[:6] == ["NoOp", "Answer", "Set", "Set", "Set", "AGI"]
    assert result.app_names.count("AGI") == 1  # IVR_AGI2 is empty: no second server
    runs = [(run.app, run.data) for run in result.applications]
    assert ("NoOp", "IVR fallback: AGISTATUS=FAILURE IVRSTATUS=") in runs
    assert fallback in runs
    other = {"Queue": "VoiceMail", "VoiceMail": "Queue"}[fallback[0]]
    assert other not in result.app_names[: result.app_names.index(fallback[0])]
    assert result.unknown_applications == [] and result.warnings == []


@pytest.mark.system
def test_the_demo_server_answers_and_the_dialplan_routes_its_result(dialplan: Dialplan) -> None:
    """IVRSTATUS and IVR_RESULT come back from the real server; ivr-results takes over."""
    demo = load_menus(REPO / "ivr_menus")

    async def scenario() -> DialplanResult:
        server = start_server(ServerSettings(port=0), menus=demo)
        host, port = server.address
        emulator = AsteriskEmulator(dialplan=dialplan, globals={"IVR_AGI": f"agi://{host}:{port}"})
        try:
            return await emulator.run_dialplan(
                "ivr-entry", "100", callerid="+79161234567", caller=CallerScript.parse("0")
            )
        finally:
            await server.stop(grace=1.0)

    result = run_on_reactor_loop(scenario())
    assert (result.agi_status, result.variables["IVRSTATUS"]) == ("SUCCESS", "SUCCESS")
    assert result.variables["IVR_RESULT"] == "operator"
    runs = [(run.app, run.data, run.context) for run in result.applications]
    assert ("Goto", "ivr-results,operator,1", "ivr-entry") in runs
    assert ("Queue", "operator,,,,120", "ivr-queue") in runs
    assert result.variables["IVR_ACTION_STATUS"] in ("", "TIMEOUT")


async def _fake_server(answer: Callable[[asyncio.StreamWriter], None]) -> asyncio.Server:
    """A FastAGI server that reads the environment, then `answer`s and closes."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.readline() not in (b"\n", b""):
            pass
        answer(writer)
        await writer.drain()
        await asyncio.sleep(0.05)  # its replies are read, or the socket ends
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


def _say_busy(writer: asyncio.StreamWriter) -> None:
    writer.write(b"SET VARIABLE IVRSTATUS BUSY\n")  # what an over-limit server answers


def _start_then_die(writer: asyncio.StreamWriter) -> None:
    writer.write(b"ANSWER\n")  # the menu began, then the server went away


def _two_servers(
    dialplan: Dialplan, first: Callable[[asyncio.StreamWriter], None] | None
) -> DialplanResult:
    """A call into [ivr-entry] with IVR_AGI at `first` (None: nothing listens) and
    IVR_AGI2 at the demo server, on a Monday at 10:00 (the fallback is a queue)."""
    demo = load_menus(REPO / "ivr_menus")

    async def scenario() -> DialplanResult:
        server = start_server(ServerSettings(port=0), menus=demo)
        fake = await _fake_server(first) if first is not None else None
        port = fake.sockets[0].getsockname()[1] if fake is not None else closed_port()
        host, second = server.address
        emulator = AsteriskEmulator(
            dialplan=dialplan,
            globals={"IVR_AGI": f"agi://127.0.0.1:{port}", "IVR_AGI2": f"agi://{host}:{second}"},
        )
        try:
            return await emulator.run_dialplan(
                "ivr-entry",
                "100",
                callerid="+79161234567",
                caller=CallerScript.parse("0"),
                now=datetime(2025, 1, 6, 10, 0, tzinfo=MOSCOW),
            )
        finally:
            if fake is not None:
                fake.close()
            await server.stop(grace=1.0)

    return run_on_reactor_loop(scenario())


@pytest.mark.system
@pytest.mark.parametrize(("first", "status"), [(None, "FAILURE"), (_say_busy, "SUCCESS")])
def test_the_second_server_takes_the_calls_the_first_cannot(
    dialplan: Dialplan, first: Callable[[asyncio.StreamWriter], None] | None, status: str
) -> None:
    """IVR_AGI2: down (AGISTATUS=FAILURE) or BUSY, the first server never started the call."""
    result = _two_servers(dialplan, first)
    assert [call.agi_status for call in result.agi_calls] == [status, "SUCCESS"]
    assert result.agi_calls[1].env["agi_request"].endswith("/main")
    assert (result.variables["IVRSTATUS"], result.variables["IVR_RESULT"]) == (
        "SUCCESS",
        "operator",
    )
    runs = [(run.app, run.data) for run in result.applications]
    assert ("Queue", "operator,,,,120") in runs
    assert not any(data.startswith("IVR fallback") for _, data in runs)


@pytest.mark.system
def test_a_call_the_first_server_began_and_lost_takes_the_fallback(dialplan: Dialplan) -> None:
    """A server that dies mid-call: AGISTATUS=SUCCESS, no IVRSTATUS. The caller has
    heard part of a menu; the call goes to a person rather than starting over."""
    result = _two_servers(dialplan, _start_then_die)
    assert [call.agi_status for call in result.agi_calls] == ["SUCCESS"]
    assert result.agi_calls[0].server_closed
    runs = [(run.app, run.data) for run in result.applications]
    assert ("NoOp", "IVR fallback: AGISTATUS=SUCCESS IVRSTATUS=") in runs
    assert ("Queue", "support,,,,120") in runs


def test_with_both_servers_down_a_call_takes_the_fallback(dialplan: Dialplan) -> None:
    emulator = AsteriskEmulator(
        dialplan=dialplan,
        globals={
            "IVR_AGI": f"agi://127.0.0.1:{closed_port()}",
            "IVR_AGI2": f"agi://127.0.0.1:{closed_port()}",
        },
    )
    result = asyncio.run(
        emulator.run_dialplan("ivr-entry", "100", now=datetime(2025, 1, 6, 18, 0, tzinfo=MOSCOW))
    )
    assert [call.agi_status for call in result.agi_calls] == ["FAILURE", "FAILURE"]
    runs = [(run.app, run.data) for run in result.applications]
    assert ("NoOp", "IVR fallback: AGISTATUS=FAILURE IVRSTATUS=") in runs
    assert ("VoiceMail", "100@default,u") in runs
    assert result.unknown_applications == [] and result.warnings == []
