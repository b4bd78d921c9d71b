"""The command table: lookup like res_agi.c find_command, and extending it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from fastagi.testing import (
    USAGE,
    AsteriskEmulator,
    Channel,
    CommandTable,
    Outcome,
    default_applications,
    default_commands,
    ok,
)

if TYPE_CHECKING:
    from conftest import CallRunner, Conversation

pytestmark = pytest.mark.system

RES_AGI_COMMANDS = """
answer; asyncagi break; channel status; control stream file; database del; database deltree;
database get; database put; exec; get data; get full variable; get option; get variable; hangup;
noop; receive char; receive text; record file; say alpha; say digits; say number; say phonetic;
say date; say time; say datetime; send image; send text; set autohangup; set callerid;
set context; set extension; set music; set priority; set variable; stream file; tdd mode;
verbose; wait for digit; gosub; speech create; speech set; speech destroy; speech load grammar;
speech unload grammar; speech activate grammar; speech deactivate grammar; speech recognize
"""
DEAD_OK = {
    "asyncagi break",
    "database del",
    "database deltree",
    "database get",
    "database put",
    "exec",
    "get full variable",
    "get variable",
    "noop",
    "set variable",
    "verbose",
    "speech destroy",
    "speech unload grammar",
}


def test_default_table_has_every_res_agi_command() -> None:
    names = {n.strip() for n in RES_AGI_COMMANDS.replace("\n", " ").split(";")}
    table = default_commands()
    assert {" ".join(c.words) for c in table} == names
    assert {" ".join(c.words) for c in table if c.dead_ok} == DEAD_OK


@pytest.mark.parametrize(
    ("argv", "found"),
    [
        (["STREAM", "FILE", "x", ""], "stream file"),
        (["stream", "File"], "stream file"),
        (["GET", "FULL", "VARIABLE", "x"], "get full variable"),
        (["GET", "VARIABLE", "x"], "get variable"),
        (["GET"], None),
        (["GET", "FULL"], None),
        (["WAIT", "FOR"], None),
        (["STREAMFILE"], None),
        ([], None),
        (["HANGUP", "PJSIP/x"], "hangup"),
    ],
)
def test_find_matches_leading_keywords(argv: list[str], found: str | None) -> None:
    command = default_commands().find(argv)
    assert (" ".join(command.words) if command else None) == found


def test_tables_are_independent_copies() -> None:
    table = default_commands()
    other = table.copy()
    other.register("say hello", lambda ch, argv: ok("200 result=0\n"), "Usage: SAY HELLO")
    assert "say hello" in other and "SAY HELLO" in other
    assert "say hello" not in table
    with pytest.raises(ValueError):
        table.register("", lambda ch, argv: ok(""), "")
    assert isinstance(table, CommandTable) and len(other) == len(table) + 1


def _say_hello(ch: Channel, argv: list[str]) -> Outcome:
    if len(argv) != 3:
        return USAGE
    played = ch.play(f"hello-{argv[2]}", "#")
    return ok(f"200 result={ord(played.digit) if played.digit else 0}\n")


def test_custom_commands_and_applications_plug_in(agi_call: CallRunner) -> None:
    table = default_commands()
    table.register("say hello", _say_hello, "Usage: SAY HELLO <name>")
    table.register("ping", lambda ch, argv: ok("200 result=1 (pong)\n"), "", dead_ok=True)

    def queue(ch: Channel, data: str) -> int:
        ch.set_variable("QUEUESTATUS", "TIMEOUT")
        ch.wait(30.0)
        return 0

    emulator = AsteriskEmulator(commands=table, applications={"Queue": queue})

    async def script(conv: Conversation) -> None:
        assert await conv.ask("SAY HELLO anna") == "200 result=0"
        assert await conv.ask("say hello") == "520-Invalid command syntax.  Proper usage follows:"
        assert await conv.line() == "Usage: SAY HELLO <name>"
        assert await conv.line() == "520 End of proper usage."
        assert await conv.ask("EXEC Queue sales") == "200 result=0"
        assert await conv.ask_lines("HANGUP", 2) == ["200 result=1", "HANGUP"]
        assert await conv.ask("PING") == "200 result=1 (pong)"
        assert await conv.ask("SAY HELLO bob") == (
            "511 Command Not Permitted on a dead channel or intercept routine"
        )
        conv.close()

    result, _ = agi_call(script, emulator=emulator)
    assert result.prompts == ["hello-anna"]
    assert result.variables["QUEUESTATUS"] == "TIMEOUT"
    assert result.virtual_duration == pytest.approx(33.0)


def test_a_command_without_usage_text(agi_call: CallRunner) -> None:
    table = default_commands()
    table.register("strict", lambda ch, argv: USAGE, "")

    async def script(conv: Conversation) -> None:
        assert (
            await conv.ask("STRICT") == "520 Invalid command syntax.  Proper usage not available."
        )
        conv.close()

    agi_call(script, emulator=AsteriskEmulator(commands=table))


def test_default_applications_are_lower_case_and_known() -> None:
    apps = default_applications()
    assert all(name == name.lower() for name in apps)
    for name in ("dial", "queue", "voicemail", "musiconhold", "mixmonitor", "confbridge"):
        assert name in apps
    assert "receivefax" in apps


def test_database_is_shared_by_the_calls_of_one_emulator(agi_call: CallRunner) -> None:
    emulator = AsteriskEmulator()

    async def put(conv: Conversation) -> None:
        assert await conv.ask("DATABASE PUT cb 7916 due") == "200 result=1"
        conv.close()

    async def get(conv: Conversation) -> None:
        assert await conv.ask("DATABASE GET cb 7916") == "200 result=1 (due)"
        assert await conv.ask("DATABASE DELTREE cb") == "200 result=0"  # sic, see res_agi.c
        assert await conv.ask("DATABASE DELTREE cb") == "200 result=1"
        assert await conv.ask("DATABASE DEL cb 7916") == "200 result=0"
        conv.close()

    agi_call(put, emulator=emulator)
    agi_call(get, emulator=emulator)
    assert emulator.database == {}
