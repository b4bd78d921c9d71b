"""System tests: the emulator against a raw-AGI server over real TCP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import re
import socket
from typing import TYPE_CHECKING

import pytest

from fastagi.testing import (
    AsteriskEmulator,
    CallerScript,
    Channel,
    GosubRequest,
    HangUp,
    Press,
    Silence,
)

if TYPE_CHECKING:
    from conftest import CallRunner, Conversation

pytestmark = pytest.mark.system

DEAD = "511 Command Not Permitted on a dead channel or intercept routine"
UNKNOWN = "510 Invalid or unknown command"
ENV_KEYS = [
    "agi_network",
    "agi_network_script",
    "agi_request",
    "agi_channel",
    "agi_language",
    "agi_type",
    "agi_uniqueid",
    "agi_version",
    "agi_callerid",
    "agi_calleridname",
    "agi_callingpres",
    "agi_callingani2",
    "agi_callington",
    "agi_callingtns",
    "agi_dnid",
    "agi_rdnis",
    "agi_context",
    "agi_extension",
    "agi_priority",
    "agi_enhanced",
    "agi_accountcode",
    "agi_threadid",
]


async def _hang_up_politely(conv: Conversation) -> None:
    conv.close()


# -- environment -----------------------------------------------------------------------


def test_env_block_content_and_order(agi_call: CallRunner) -> None:
    result, conv = agi_call(
        _hang_up_politely,
        script="main?lang=ru",
        callerid="79161234567",
        calleridname="Ivan Petrov",
        args=["vip", "a b"],
    )
    keys = [line.partition(": ")[0] for line in conv.env_lines]
    assert keys == [*ENV_KEYS, "agi_arg_1", "agi_arg_2"]
    env = conv.env
    assert env["agi_network"] == "yes"
    assert env["agi_network_script"] == "main?lang=ru"
    assert re.fullmatch(r"agi://127\.0\.0\.1:\d+/main\?lang=ru", env["agi_request"])
    assert re.fullmatch(r"PJSIP/trunk-[0-9a-f]{8}", env["agi_channel"])
    assert re.fullmatch(r"\d{10}\.\d+", env["agi_uniqueid"])
    assert env["agi_uniqueid"] == result.uniqueid
    assert env["agi_channel"] == result.channel
    assert (env["agi_type"], env["agi_version"], env["agi_enhanced"]) == ("PJSIP", "22.1.0", "0.0")
    assert (env["agi_callerid"], env["agi_calleridname"]) == ("79161234567", "Ivan Petrov")
    assert (env["agi_arg_1"], env["agi_arg_2"]) == ("vip", "a b")
    assert "agi_accountcode: " in conv.env_lines  # empty value, written raw
    assert result.env == env
    assert result.server_closed and result.agi_status == "SUCCESS"
    assert result.commands == [] and result.replies == []


def test_unknown_caller_is_unknown_not_empty(agi_call: CallRunner) -> None:
    async def script(conv: Conversation) -> None:
        assert await conv.ask("GET VARIABLE CALLERID(num)") == "200 result=1 ()"
        conv.close()

    _, conv = agi_call(script)
    assert conv.env["agi_callerid"] == "unknown"
    assert conv.env["agi_calleridname"] == "unknown"
    assert conv.env["agi_callingpres"] == "67"


def test_env_values_are_written_raw(agi_call: CallRunner) -> None:
    _, conv = agi_call(_hang_up_politely, calleridname="Bob\nagi_spoofed: 1")
    assert "agi_calleridname: Bob" in conv.env_lines
    assert "agi_spoofed: 1" in conv.env_lines


def test_env_overrides_replace_in_place_and_append_new(agi_call: CallRunner) -> None:
    result, conv = agi_call(
        _hang_up_politely,
        env_overrides={"language": "ru", "agi_dnid": "4951234567", "agi_custom": "x"},
    )
    keys = [line.partition(": ")[0] for line in conv.env_lines]
    assert keys == [*ENV_KEYS, "agi_custom"]
    assert (conv.env["agi_language"], conv.env["agi_dnid"]) == ("ru", "4951234567")
    assert result.language == "ru"


# -- replies ---------------------------------------------------------------------------

TRANSCRIPT = [
    ("ANSWER", ["200 result=0"]),
    ("answer", ["200 result=0"]),
    ('STREAM FILE welcome ""', ["200 result=0 endpos=24000"]),
    ('stream file welcome "" 8000', ["200 result=0 endpos=24000"]),
    ("WAIT FOR DIGIT 1500", ["200 result=0"]),
    ('SAY DIGITS 123 ""', ["200 result=0"]),
    ('SAY NUMBER 42 ""', ["200 result=0"]),
    ("GET VARIABLE FOO", ["200 result=0"]),
    ('SET VARIABLE FOO "bar baz"', ["200 result=1"]),
    ("GET VARIABLE FOO", ["200 result=1 (bar baz)"]),
    ('GET FULL VARIABLE "${FOO}/${CALLERID(num)}"', ["200 result=1 (bar baz/79160000000)"]),
    ("GET VARIABLE CALLERID(name)", ["200 result=1 (Ivan)"]),
    ("SET VARIABLE CHANNEL(language) ru", ["200 result=1"]),
    ("GET VARIABLE CHANNEL(language)", ["200 result=1 (ru)"]),
    ('VERBOSE "hello there" 3', ["200 result=1"]),
    ("NOOP", ["200 result=0"]),
    ("CHANNEL STATUS", ["200 result=6"]),
    ("SET MUSIC on default", ["200 result=0"]),
    ("SET MUSIC off", ["200 result=0"]),
    ("EXEC Playback hello&world", ["200 result=0"]),
    ("EXEC NoSuchApplication x", ["200 result=-2"]),
    ('EXEC Set "COLOR=blue"', ["200 result=0"]),
    ("DATABASE PUT callers 7916 vip", ["200 result=1"]),
    ("DATABASE GET callers 7916", ["200 result=1 (vip)"]),
    ("HANGUP", ["200 result=1", "HANGUP"]),
    ("NOOP", ["200 result=0"]),
]


def test_replies_to_each_command(agi_call: CallRunner) -> None:
    async def script(conv: Conversation) -> None:
        for command, expected in TRANSCRIPT:
            assert await conv.ask_lines(command, len(expected)) == expected, command
        conv.close()

    result, _ = agi_call(script, callerid="79160000000", calleridname="Ivan")
    assert result.replies == [line for _, lines in TRANSCRIPT for line in lines]
    assert result.prompts == [
        "welcome",
        "welcome",
        "say-digits:123",
        "say-number:42",
        "hello",
        "world",
    ]
    # 3 + 2 (from sample 8000) + 1.5 + 3 + 3 + 3 + 3 channel seconds
    assert result.virtual_duration == pytest.approx(18.5)
    assert result.variables["FOO"] == "bar baz"
    assert result.variables["COLOR"] == "blue"
    assert result.variables["AGISTATUS"] == "HANGUP"
    assert result.language == "ru"
    assert result.hung_up_by == "agi"
    assert result.agi_status == "HANGUP"
    assert result.commands_after_hangup == 1
    assert result.commands[2] == ["STREAM", "FILE", "welcome", ""]
    assert len(result.timings) == len(TRANSCRIPT)


def test_unknown_commands_and_garbage_get_510(agi_call: CallRunner) -> None:
    async def script(conv: Conversation) -> None:
        for line in ["FOO BAR", "GET", "GETDATA menu", "", "   "]:
            assert await conv.ask(line) == UNKNOWN, line
        conv.writer.write(b"\xff\xfe\x01garbage\x7f\n")
        assert await conv.line() == UNKNOWN
        assert await conv.ask("ANSWER\r") == UNKNOWN  # CRLF: the \r is part of the word
        conv.close()

    result, _ = agi_call(script)
    assert result.agi_status == "SUCCESS"
    assert result.commands[-1] == ["ANSWER\r"]


def test_wrong_argument_count_gets_the_usage_block(agi_call: CallRunner) -> None:
    async def script(conv: Conversation) -> None:
        assert await conv.ask_lines("STREAM FILE welcome", 4) == [
            "520-Invalid command syntax.  Proper usage follows:",
            "Usage: STREAM FILE <filename> <escape_digits> [<sample offset>]",
            "  Plays a file; a digit among escape_digits stops it.",
            "520 End of proper usage.",
        ]
        lines = await conv.ask_lines("WAIT FOR DIGIT soon", 3)
        assert lines[0] == "520-Invalid command syntax.  Proper usage follows:"
        assert lines[2] == "520 End of proper usage."
        assert (await conv.ask_lines("GOSUB ctx s", 3))[2] == "520 End of proper usage."
        assert await conv.ask("NOOP") == "200 result=0"  # still in step
        conv.close()

    result, _ = agi_call(script)
    assert result.agi_status == "SUCCESS"


def test_a_long_line_is_cut_and_its_rest_read_as_the_next_command(agi_call: CallRunner) -> None:
    async def script(conv: Conversation) -> None:
        conv.send("NOOP " + "x" * 3000)
        assert await conv.line() == "200 result=0"
        assert await conv.line() == UNKNOWN
        conv.close()

    result, _ = agi_call(script)
    assert len(result.command_lines[0]) == 2047
    assert result.command_lines[1] == "x" * (3005 - 2047)


def test_a_line_starting_with_failure_ends_the_agi(agi_call: CallRunner) -> None:
    async def script(conv: Conversation) -> None:
        assert await conv.ask("FAILURE: could not start") == "HANGUP"
        assert await conv.reader.read() == b""

    result, _ = agi_call(script)
    assert result.agi_status == "FAILURE"
    assert not result.server_closed
    assert result.replies == []


# -- hangups ---------------------------------------------------------------------------


def test_caller_hangup_mid_prompt_then_dead_channel(agi_call: CallRunner) -> None:
    async def script(conv: Conversation) -> None:
        assert await conv.ask("ANSWER") == "200 result=0"
        # the running command still gets its reply, then the HANGUP notice
        assert await conv.ask('STREAM FILE welcome ""') == "200 result=-1 endpos=8000"
        assert await conv.line() == "HANGUP"
        assert await conv.ask('STREAM FILE welcome ""') == DEAD
        assert await conv.ask("GET DATA menu 3000") == DEAD
        assert await conv.ask("WAIT FOR DIGIT 10") == DEAD
        assert await conv.ask("HANGUP") == DEAD
        assert await conv.ask("GET VARIABLE FOO") == "200 result=0"
        assert await conv.ask("SET VARIABLE FOO 1") == "200 result=1"
        assert await conv.ask("GET FULL VARIABLE ${FOO}") == "200 result=1 (1)"
        assert await conv.ask("VERBOSE bye 1") == "200 result=1"
        assert await conv.ask("NOOP") == "200 result=0"
        assert await conv.ask("EXEC NoOp x") == "200 result=0"
        assert await conv.ask("FOO") == UNKNOWN
        conv.close()

    result, _ = agi_call(script, caller=CallerScript([HangUp(after=1.0)]))
    assert result.hung_up_by == "caller"
    assert result.agi_status == "HANGUP"
    assert result.server_closed
    assert result.hangup_at == pytest.approx(1.0)
    assert result.virtual_duration == pytest.approx(1.0)
    assert result.commands_after_hangup == 11
    assert result.variables["FOO"] == "1"
    assert result.replies.count("HANGUP") == 1


@pytest.mark.parametrize(
    ("command", "reply"),
    [
        ('STREAM FILE welcome "123"', "200 result=-1 endpos=16000"),
        ("GET DATA menu 5000 4", "200 result=-1"),
        ("WAIT FOR DIGIT 5000", "200 result=-1"),
        ('SAY NUMBER 100 "#"', "200 result=-1"),
        ("RECORD FILE msg wav # 10000", "200 result=-1 (hangup) endpos=16000"),
        ("EXEC Wait 5", "200 result=-1"),
    ],
)
def test_hangup_during_a_command(agi_call: CallRunner, command: str, reply: str) -> None:
    async def script(conv: Conversation) -> None:
        assert await conv.ask_lines(command, 2) == [reply, "HANGUP"]
        conv.close()

    result, _ = agi_call(script, caller=CallerScript([HangUp(after=2.0)]))
    assert result.virtual_duration == pytest.approx(2.0)
    assert result.agi_status == "HANGUP"


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_hangup_at_every_command(agi_call: CallRunner, n: int) -> None:
    commands = ["ANSWER", 'STREAM FILE welcome "1"', "GET DATA menu 3000 2", "VERBOSE done 1"]

    async def script(conv: Conversation) -> None:
        for command in commands:
            if await conv.ask(command) == "HANGUP":
                break
        else:
            await conv.line()  # the notice follows the last reply
        conv.close()

    result, _ = agi_call(script, hangup_at_command=n)
    assert result.hung_up_by == "caller"
    assert result.agi_status == "HANGUP"
    assert result.server_closed and not result.stuck
    notice = result.replies.index("HANGUP")
    assert notice == n  # right after the n-th reply
    media = {2: "200 result=-1 endpos=0", 3: "200 result=-1"}
    if n in media:
        assert result.replies[n - 1] == media[n]


def test_hangup_command_hangs_up_the_channel(agi_call: CallRunner) -> None:
    async def script(conv: Conversation) -> None:
        assert await conv.ask_lines("HANGUP", 2) == ["200 result=1", "HANGUP"]
        assert await conv.ask("ANSWER") == DEAD
        conv.close()

    result, _ = agi_call(script)
    assert (result.hung_up_by, result.agi_status) == ("agi", "HANGUP")


def test_agisighup_no_means_no_hangup_notice(agi_call: CallRunner) -> None:
    async def script(conv: Conversation) -> None:
        assert await conv.ask('STREAM FILE welcome ""') == "200 result=-1 endpos=4000"
        assert await conv.ask("NOOP") == "200 result=0"
        assert await conv.ask("ANSWER") == DEAD  # the only way to learn of the hangup
        conv.writer.write_eof()
        assert await conv.reader.read() == b""  # no goodbye either
        conv.close()

    result, _ = agi_call(
        script, channel_variables={"AGISIGHUP": "no"}, caller=CallerScript([HangUp(0.5)])
    )
    assert "HANGUP" not in result.replies
    assert result.agi_status == "HANGUP"


def test_agiexitonhangup_closes_the_socket_after_the_notice(agi_call: CallRunner) -> None:
    async def script(conv: Conversation) -> None:
        assert await conv.ask_lines('STREAM FILE welcome ""', 2) == [
            "200 result=-1 endpos=4000",
            "HANGUP",
        ]
        assert await conv.line() == "HANGUP"  # said again as the AGI ends
        assert await conv.reader.read() == b""

    result, _ = agi_call(
        script, channel_variables={"AGIEXITONHANGUP": "yes"}, caller=CallerScript([HangUp(0.5)])
    )
    assert not result.server_closed
    assert result.agi_status == "HANGUP"


def test_autohangup(agi_call: CallRunner) -> None:
    async def script(conv: Conversation) -> None:
        assert await conv.ask("SET AUTOHANGUP 2") == "200 result=0"
        assert await conv.ask_lines('STREAM FILE welcome ""', 2) == [
            "200 result=-1 endpos=16000",
            "HANGUP",
        ]
        conv.close()

    result, _ = agi_call(script)
    assert result.hung_up_by == "agi"


def test_silent_caller_hangs_up_after_two_timeouts(agi_call: CallRunner) -> None:
    async def script(conv: Conversation) -> None:
        assert await conv.ask("WAIT FOR DIGIT 1000") == "200 result=0"
        assert await conv.ask("GET DATA menu 1000") == "200 result= (timeout)"
        assert await conv.ask_lines("WAIT FOR DIGIT 1000", 2) == ["200 result=-1", "HANGUP"]
        conv.close()

    result, _ = agi_call(script)
    assert result.hung_up_by == "caller"
    assert result.virtual_duration == pytest.approx(5.0)


def test_hangup_at_a_window_waits_for_the_next_prompt(agi_call: CallRunner) -> None:
    async def script(conv: Conversation) -> None:
        assert await conv.ask("VERBOSE menu 1") == "200 result=1"
        assert await conv.ask('STREAM FILE intro ""') == "200 result=0 endpos=24000"
        assert await conv.ask_lines("GET DATA menu 3000", 2) == ["200 result=-1", "HANGUP"]
        conv.close()

    result, _ = agi_call(script, caller=CallerScript([HangUp(at_window=True)]))
    assert result.virtual_duration == pytest.approx(3.0)
    assert result.prompts == ["intro", "menu"]  # menu started, cut at once


def test_idle_hangup_zero_hangs_up_at_the_first_window_after_the_script(
    agi_call: CallRunner,
) -> None:
    async def script(conv: Conversation) -> None:
        assert await conv.ask('STREAM FILE menu "1"') == f"200 result={ord('1')} endpos=4000"
        assert await conv.ask("SET VARIABLE CHOICE 1") == "200 result=1"
        # A bare wait right after the entry is no prompt: the caller does not react...
        assert await conv.ask("WAIT FOR DIGIT 2000") == "200 result=0"
        # ...the next prompt is where they hang up instead of answering.
        assert await conv.ask_lines("GET DATA next 2000 1", 2) == ["200 result=-1", "HANGUP"]
        conv.close()

    result, _ = agi_call(script, caller=CallerScript.parse("1", idle_hangup=0))
    assert result.hung_up_by == "caller"


def test_the_next_press_waits_until_the_caller_has_finished_typing(
    agi_call: CallRunner,
) -> None:
    async def script(conv: Conversation) -> None:
        assert await conv.ask("GET DATA menu 3000 1") == "200 result=1"
        assert await conv.ask("WAIT FOR DIGIT 2000") == f"200 result={ord('2')}"
        assert await conv.ask("GET DATA menu2 3000 1") == "200 result=3"
        conv.close()

    result, _ = agi_call(script, caller=CallerScript.parse("12,3"))
    assert result.virtual_duration == pytest.approx(1.3)


def test_the_next_entry_waits_for_a_prompt_not_an_inter_digit_wait(
    agi_call: CallRunner,
) -> None:
    async def script(conv: Conversation) -> None:
        assert await conv.ask("GET DATA menu 3000 1") == "200 result=2"
        # The server waits for a possible second digit: the caller, who meant "2",
        # does not type the answer to the next menu into it.
        assert await conv.ask("WAIT FOR DIGIT 2000") == "200 result=0"
        assert await conv.ask("GET DATA submenu 3000 1") == "200 result=1"
        conv.close()

    result, _ = agi_call(script, caller=CallerScript.parse("2,1"))
    assert result.digits_consumed == "21"


def test_server_closing_is_recorded(agi_call: CallRunner) -> None:
    async def script(conv: Conversation) -> None:
        assert await conv.ask("NOOP") == "200 result=0"
        conv.writer.write_eof()  # half-close: we can still hear Asterisk's goodbye
        assert await conv.line() == "HANGUP"
        conv.close()

    result, _ = agi_call(script)
    assert result.server_closed
    assert result.agi_status == "SUCCESS"
    assert result.hung_up_by is None
    assert result.closed_at == 0.0
    assert result.close_wall_time is not None
    assert result.replies == ["200 result=0"]
    assert result.variables["AGISTATUS"] == "SUCCESS"


def test_a_server_that_never_closes_is_reported_stuck(agi_call: CallRunner) -> None:
    async def script(conv: Conversation) -> None:
        await conv.reader.read()  # never says a word; returns when the emulator gives up

    result, _ = agi_call(script, wall_limit=0.3)
    assert result.stuck
    assert not result.server_closed
    assert 0.3 <= result.wall_duration < 3.0


def test_connection_refused_is_failure() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = asyncio.run(AsteriskEmulator().place_call("127.0.0.1", port))
    assert result.agi_status == "FAILURE"
    assert result.error is not None and "Refused" in result.error
    assert not result.server_closed and not result.stuck


# -- DTMF ------------------------------------------------------------------------------


def test_digits_during_a_prompt_without_escape_digits_are_thrown_away(
    agi_call: CallRunner,
) -> None:
    async def script(conv: Conversation) -> None:
        assert await conv.ask("WAIT FOR DIGIT 5000") == f"200 result={ord('1')}"
        # '2' comes 0.3 s later, during a prompt that listens for nothing
        assert await conv.ask('STREAM FILE welcome ""') == "200 result=0 endpos=24000"
        assert await conv.ask("WAIT FOR DIGIT 2000") == "200 result=0"
        conv.close()

    result, _ = agi_call(script, caller=CallerScript([Press("12")], idle_hangup=None))
    assert (result.digits_consumed, result.digits_lost) == ("1", "2")


def test_anytime_presses_barge_in_only_where_escape_digits_allow(agi_call: CallRunner) -> None:
    async def script(conv: Conversation) -> None:
        assert await conv.ask('STREAM FILE welcome ""') == "200 result=0 endpos=24000"
        assert await conv.ask('STREAM FILE welcome "0123456789"') == "200 result=54 endpos=8000"
        conv.close()

    caller = CallerScript(
        [Press("5", after=1.0, anytime=True), Press("6", after=1.0, anytime=True)]
    )
    result, _ = agi_call(script, caller=caller)
    assert (result.digits_consumed, result.digits_lost) == ("6", "5")


def test_digits_pressed_while_nothing_listens_are_lost(agi_call: CallRunner) -> None:
    async def script(conv: Conversation) -> None:
        assert await conv.ask("WAIT FOR DIGIT 1000") == "200 result=0"  # press due at 5.0
        assert await conv.ask("EXEC Wait 3") == "200 result=0"  # 1.0 .. 4.0
        assert await conv.ask("EXEC Wait 2") == "200 result=0"  # 4.0 .. 6.0: lost here
        assert await conv.ask("WAIT FOR DIGIT 1000") == "200 result=0"
        conv.close()

    caller = CallerScript([Press("7", after=5.0)], idle_hangup=None)
    result, _ = agi_call(script, caller=caller)
    assert result.digits_lost == "7"


def test_type_ahead_reaches_the_next_command(agi_call: CallRunner) -> None:
    async def script(conv: Conversation) -> None:
        assert await conv.ask('STREAM FILE menu "123"') == "200 result=49 endpos=4000"
        assert await conv.ask("GET DATA more 3000 5") == "200 result=23 (timeout)"
        conv.close()

    result, _ = agi_call(script, caller=CallerScript([Press("123")]))
    assert result.digits_consumed == "123"
    assert result.virtual_duration == pytest.approx(0.5 + 0.6 + 3.0)


def test_a_press_waits_for_a_window_that_accepts_it(agi_call: CallRunner) -> None:
    async def script(conv: Conversation) -> None:
        assert await conv.ask('STREAM FILE welcome "#"') == "200 result=0 endpos=24000"
        assert await conv.ask("WAIT FOR DIGIT 5000") == f"200 result={ord('1')}"
        conv.close()

    result, _ = agi_call(script, caller=CallerScript([Press("1")]))
    assert result.virtual_duration == pytest.approx(3.5)


@pytest.mark.parametrize(
    ("caller", "command", "reply", "duration"),
    [
        (CallerScript([Silence()]), "GET DATA menu 3000 4", "200 result= (timeout)", 6.0),
        (CallerScript([Silence()]), "GET DATA menu", "200 result= (timeout)", 9.0),
        (CallerScript([Press("12")]), "GET DATA menu 3000 4", "200 result=12 (timeout)", 3.8),
        (CallerScript([Press("12#")]), "GET DATA menu 3000 4", "200 result=12", 1.1),
        (CallerScript([Press("1234")]), "GET DATA menu 3000 2", "200 result=12", 0.8),
        (CallerScript([Press("#")]), "GET DATA menu 3000 4", "200 result=", 0.5),
        (CallerScript([Press("5", after=4.0)]), "GET DATA menu 3000 1", "200 result=5", 4.0),
    ],
)
def test_get_data(
    agi_call: CallRunner, caller: CallerScript, command: str, reply: str, duration: float
) -> None:
    async def script(conv: Conversation) -> None:
        assert await conv.ask(command) == reply
        conv.close()

    result, _ = agi_call(script, caller=caller)
    assert result.virtual_duration == pytest.approx(duration)
    assert result.prompts == ["menu"]


# -- sound files -----------------------------------------------------------------------


def test_missing_sound_files(agi_call: CallRunner) -> None:
    emulator = AsteriskEmulator(existing_files={"welcome", "ru/privet"})

    async def script(conv: Conversation) -> None:
        assert await conv.ask('STREAM FILE nope ""') == "200 result=-1 endpos=0"
        assert await conv.ask("GET DATA nope 1000") == "200 result=-1"
        assert await conv.ask('STREAM FILE privet ""') == "200 result=-1 endpos=0"
        assert await conv.ask("SET VARIABLE CHANNEL(language) ru") == "200 result=1"
        assert await conv.ask('STREAM FILE privet ""') == "200 result=0 endpos=24000"
        assert await conv.ask('STREAM FILE welcome ""') == "200 result=0 endpos=24000"
        conv.close()

    result, _ = agi_call(script, emulator=emulator)
    assert result.missing_files == ["nope", "nope", "privet"]
    assert result.prompts == ["privet", "welcome"]
    assert result.agi_status == "FAILURE"  # STREAM FILE of a missing file fails the AGI


def test_prompt_durations_are_configurable(agi_call: CallRunner) -> None:
    emulator = AsteriskEmulator(prompt_duration=lambda name: 0.5 if name == "beep" else 10.0)

    async def script(conv: Conversation) -> None:
        assert await conv.ask('STREAM FILE long "#" 16000') == "200 result=0 endpos=80000"
        assert await conv.ask('STREAM FILE beep ""') == "200 result=0 endpos=4000"
        conv.close()

    result, _ = agi_call(script, emulator=emulator)
    assert result.virtual_duration == pytest.approx(8.5)


def test_record_file(agi_call: CallRunner) -> None:
    async def script(conv: Conversation) -> None:
        assert await conv.ask("RECORD FILE msg wav # 10000") == "200 result=35 (dtmf) endpos=30400"
        assert (
            await conv.ask("RECORD FILE msg2 wav # 2000") == "200 result=0 (timeout) endpos=16000"
        )
        conv.close()

    result, _ = agi_call(script, caller=CallerScript([Press("#", after=4.0), Silence()]))
    assert result.recordings == ["msg.wav", "msg2.wav"]


# -- GOSUB and EXEC --------------------------------------------------------------------


def _queue(channel: Channel, request: GosubRequest) -> None:
    channel.set_variable("QSTATUS", "TIMEOUT")
    channel.set_variable("QARGS", "|".join(request.args))
    channel.wait(120.0)


def test_gosub_replies_trying_then_complete(agi_call: CallRunner) -> None:
    emulator = AsteriskEmulator(subroutines={"sub-queue": _queue})

    async def script(conv: Conversation) -> None:
        assert await conv.ask_lines("GOSUB sub-queue s 1 sales,120", 2) == [
            "100 result=0 Trying...",
            "200 result=0 Gosub complete",
        ]
        assert await conv.ask("GET VARIABLE QSTATUS") == "200 result=1 (TIMEOUT)"
        assert await conv.ask("GOSUB nowhere s 1") == "200 result=-1 Gosub label not found"
        conv.close()

    result, _ = agi_call(script, emulator=emulator)
    assert result.virtual_duration == pytest.approx(120.0)
    assert result.variables["QARGS"] == "sales|120"
    assert result.agi_status == "FAILURE"  # the unknown label


def test_gosub_interrupted_by_hangup(agi_call: CallRunner) -> None:
    async def script(conv: Conversation) -> None:
        assert await conv.ask_lines("GOSUB sub-queue s 1", 3) == [
            "100 result=0 Trying...",
            "200 result=0 Gosub complete",
            "HANGUP",
        ]
        conv.close()

    result, _ = agi_call(
        script,
        subroutines={"sub-queue": _queue},
        caller=CallerScript([HangUp(after=10.0)]),
    )
    assert result.virtual_duration == pytest.approx(10.0)


def test_exec_passes_the_application_result_through(agi_call: CallRunner) -> None:
    async def script(conv: Conversation) -> None:
        assert await conv.ask("EXEC Failing x") == "200 result=-1"
        # res_agi treats an application result of 1 as "show usage"
        lines = await conv.ask_lines("EXEC One x", 5)
        assert lines[0] == "200 result=1"
        assert lines[1] == "520-Invalid command syntax.  Proper usage follows:"
        assert lines[4] == "520 End of proper usage."
        conv.close()

    result, _ = agi_call(
        script, applications={"Failing": lambda ch, data: -1, "one": lambda ch, data: 1}
    )
    assert result.agi_status == "SUCCESS"


# -- load and bookkeeping --------------------------------------------------------------


def test_reply_delay_holds_each_reply(agi_call: CallRunner) -> None:
    async def script(conv: Conversation) -> None:
        assert await conv.ask("NOOP") == "200 result=0"
        assert await conv.ask("NOOP") == "200 result=0"
        conv.close()

    result, _ = agi_call(script, reply_delay=0.05)
    assert result.wall_duration >= 0.1
    assert all(t < 0.05 for t in result.timings)


def test_concurrent_calls_get_unique_ids() -> None:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.readline() not in (b"\n", b""):
            pass
        writer.write(b'STREAM FILE welcome "1"\n')
        await reader.readline()
        writer.close()

    async def main() -> list[str]:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        emulator = AsteriskEmulator()
        async with server:
            calls = [
                emulator.place_call("127.0.0.1", port, caller=CallerScript.parse("1"))
                for _ in range(50)
            ]
            results = await asyncio.gather(*calls)
        assert all(r.server_closed and r.replies == ["200 result=49 endpos=4000"] for r in results)
        return [r.uniqueid for r in results] + [r.channel for r in results]

    ids = asyncio.run(main())
    assert len(set(ids)) == 100


def test_timeline_tells_the_story(agi_call: CallRunner) -> None:
    async def script(conv: Conversation) -> None:
        await conv.ask('STREAM FILE welcome "1"')
        await conv.ask("EXEC Set X=1")
        conv.close()

    result, _ = agi_call(script, caller=CallerScript.parse("1"))
    assert [(e.at, e.kind, e.detail) for e in result.timeline] == [
        (0.0, "play", "welcome"),
        (0.5, "dtmf", "1"),
        (0.5, "exec", "Set(X=1)"),
        (0.5, "set", "X=1"),
    ]
