"""The default AGI command table: every command Asterisk 22's res_agi knows.

Arity checks, reply texts and the "runs on a dead channel" flags follow
res_agi.c. The usage texts are our own short wording (Asterisk's come from its
XML documentation); what matters on the wire is the 520 block around them.
"""

from __future__ import annotations

from fastagi.testing import _media
from fastagi.testing._channel import Channel, GosubRequest
from fastagi.testing._parse import scan_float, scan_int
from fastagi.testing._table import USAGE, CommandHandler, CommandTable, Outcome, failed, ok

__all__ = ["default_commands"]

_TRUE = frozenset({"yes", "true", "y", "t", "1", "on"})


def _answer(ch: Channel, argv: list[str]) -> Outcome:
    ch.state = 6
    return ok("200 result=0\n")


def _fixed(text: str, *, arity: tuple[int, int] | None = None) -> CommandHandler:
    """A command that always answers ``text`` when its word count is within ``arity``."""

    def handler(ch: Channel, argv: list[str]) -> Outcome:
        if arity is not None and not arity[0] <= len(argv) <= arity[1]:
            return USAGE
        return ok(text)

    return handler


def _hangup(ch: Channel, argv: list[str]) -> Outcome:
    if len(argv) == 1 or (len(argv) == 2 and argv[1].lower() == ch.name.lower()):
        ch.hangup("agi")
        return ok("200 result=1\n")
    if len(argv) == 2:
        return ok("200 result=-1\n")
    return USAGE


def _channel_status(ch: Channel, argv: list[str]) -> Outcome:
    if len(argv) == 2 or (len(argv) == 3 and argv[2].lower() == ch.name.lower()):
        return ok(f"200 result={ch.state}\n")
    if len(argv) == 3:
        return ok("200 result=-1\n")
    return USAGE


def _get_variable(ch: Channel, argv: list[str]) -> Outcome:
    if len(argv) != 3:
        return USAGE
    value = ch.get_variable(argv[2])
    return ok("200 result=0\n" if value is None else f"200 result=1 ({value})\n")


def _get_full_variable(ch: Channel, argv: list[str]) -> Outcome:
    if len(argv) not in (4, 5):
        return USAGE
    if len(argv) == 5 and argv[4].lower() != ch.name.lower():
        return ok("200 result=0\n")
    return ok(f"200 result=1 ({ch.substitute(argv[3])})\n")


def _set_variable(ch: Channel, argv: list[str]) -> Outcome:
    if len(argv) != 4:
        return USAGE
    ch.set_variable(argv[2], argv[3])
    return ok("200 result=1\n")


def _exec(ch: Channel, argv: list[str]) -> Outcome:
    if len(argv) < 2:
        return USAGE
    data = argv[2] if len(argv) >= 3 else ""
    app = ch.find_application(argv[1])
    ch.log("exec", f"{argv[1]}({data})")
    if app is None:
        result = -2
    else:
        if ch.variables.get("AGIEXECFULL", "").lower() in _TRUE:
            data = ch.substitute(data)
        result = app(ch, data)
    # res_agi.c returns the application's result as the handler status: an app
    # returning 1 gets a usage block after its reply, 2 marks the AGI failed.
    return Outcome(f"200 result={result}\n", result)


def _gosub(ch: Channel, argv: list[str]) -> Outcome:
    if not 4 <= len(argv) <= 5:
        return USAGE
    context, exten, priority = argv[1], argv[2], argv[3]
    subroutine = ch.find_subroutine(context)
    if subroutine is None:
        return failed("200 result=-1 Gosub label not found\n")
    args = tuple(argv[4].split(",")) if len(argv) == 5 else ()
    where = f"{context},{exten},{priority}" + (f"({argv[4]})" if len(argv) == 5 else "")
    ch.log("gosub", where)
    if not ch.hung_up and subroutine(ch, GosubRequest(context, exten, priority, args)) is False:
        return failed("200 result=-1 Gosub label not found\n")
    return ok("100 result=0 Trying...\n200 result=0 Gosub complete\n")


def _verbose(ch: Channel, argv: list[str]) -> Outcome:
    if len(argv) < 2:
        return USAGE
    ch.log("verbose", argv[1])
    return ok("200 result=1\n")


def _set_music(ch: Channel, argv: list[str]) -> Outcome:
    if len(argv) < 3:
        return USAGE
    mode = argv[2][:3].lower()
    if mode.startswith("on"):
        ch.music_class = argv[3] if len(argv) > 3 else "default"
        ch.log("music", f"on {ch.music_class}")
    elif mode == "off":
        ch.music_class = None
        ch.log("music", "off")
    return ok("200 result=0\n")


def _set_context(ch: Channel, argv: list[str]) -> Outcome:
    if len(argv) != 3:
        return USAGE
    ch.context = argv[2]
    return ok("200 result=0\n")


def _set_extension(ch: Channel, argv: list[str]) -> Outcome:
    if len(argv) != 3:
        return USAGE
    ch.extension = argv[2]
    return ok("200 result=0\n")


def _set_priority(ch: Channel, argv: list[str]) -> Outcome:
    # a non-numeric priority is a label; the emulated dialplan has none
    if len(argv) != 3 or scan_int(argv[2]) is None:
        return USAGE
    ch.priority = str(scan_int(argv[2]))
    return ok("200 result=0\n")


def _set_callerid(ch: Channel, argv: list[str]) -> Outcome:
    if len(argv) > 2:
        text = argv[2]
        name, number = text, ""
        if "<" in text and ">" in text.partition("<")[2]:
            name = text.partition("<")[0].strip().strip('"').strip()
            number = text.partition("<")[2].partition(">")[0].strip()
        elif text.strip().lstrip("+").isdigit():
            name, number = "", text.strip()
        ch.caller_name, ch.caller_number = name, number
    return ok("200 result=1\n")


def _set_autohangup(ch: Channel, argv: list[str]) -> Outcome:
    if len(argv) != 3:
        return USAGE
    seconds = scan_float(argv[2])
    if seconds is None:
        return USAGE
    ch.set_autohangup(max(seconds, 0.0))
    return ok("200 result=0\n")


def _database_get(ch: Channel, argv: list[str]) -> Outcome:
    if len(argv) != 4:
        return USAGE
    value = ch.database.get((argv[2], argv[3]))
    return ok("200 result=0\n" if value is None else f"200 result=1 ({value})\n")


def _database_put(ch: Channel, argv: list[str]) -> Outcome:
    if len(argv) != 5:
        return USAGE
    ch.database[(argv[2], argv[3])] = argv[4]
    return ok("200 result=1\n")


def _database_del(ch: Channel, argv: list[str]) -> Outcome:
    if len(argv) != 4:
        return USAGE
    found = ch.database.pop((argv[2], argv[3]), None) is not None
    return ok(f"200 result={1 if found else 0}\n")


def _database_deltree(ch: Channel, argv: list[str]) -> Outcome:
    if not 3 <= len(argv) <= 4:
        return USAGE
    tree = argv[3] if len(argv) == 4 else None
    doomed = [
        key
        for key in ch.database
        if key[0] == argv[2] and (tree is None or key[1] == tree or key[1].startswith(tree + "/"))
    ]
    for key in doomed:
        del ch.database[key]
    # sic: Asterisk answers 0 when it deleted something and 1 when it did not
    return ok(f"200 result={0 if doomed else 1}\n")


def _receive_char(ch: Channel, argv: list[str]) -> Outcome:
    if len(argv) != 3:
        return USAGE
    timeout = scan_int(argv[2]) or 0
    ch.wait(timeout / 1000.0 if timeout > 0 else float("inf"))
    if ch.hung_up:
        return failed("200 result=-1 (hangup)\n")
    return ok("200 result=0 (timeout)\n")


def _receive_text(ch: Channel, argv: list[str]) -> Outcome:
    if len(argv) != 3:
        return USAGE
    timeout = scan_int(argv[2]) or 0
    ch.wait(timeout / 1000.0 if timeout > 0 else float("inf"))
    return ok("200 result=-1\n")


def default_commands() -> CommandTable:
    """A fresh table with every res_agi command; extend or override it with ``register``."""
    table = CommandTable()
    reg = table.register
    reg("answer", _answer, "Usage: ANSWER\n  Answers the channel if it is not up yet.")
    reg("asyncagi break", _fixed("200 result=0\n"), "Usage: ASYNCAGI BREAK", dead_ok=True)
    reg("channel status", _channel_status, "Usage: CHANNEL STATUS [<channelname>]")
    reg(
        "control stream file",
        _media.control_stream_file,
        "Usage: CONTROL STREAM FILE <filename> <escape_digits> [<skipms>] [<ffchar>]"
        " [<rewchr>] [<pausechr>] [<offsetms>]",
    )
    reg("database del", _database_del, "Usage: DATABASE DEL <family> <key>", dead_ok=True)
    reg(
        "database deltree",
        _database_deltree,
        "Usage: DATABASE DELTREE <family> [<keytree>]",
        dead_ok=True,
    )
    reg("database get", _database_get, "Usage: DATABASE GET <family> <key>", dead_ok=True)
    reg("database put", _database_put, "Usage: DATABASE PUT <family> <key> <value>", dead_ok=True)
    reg(
        "exec",
        _exec,
        "Usage: EXEC <application> <options>\n  Runs a dialplan application.",
        dead_ok=True,
    )
    reg(
        "get data",
        _media.get_data,
        "Usage: GET DATA <file> [<timeout>] [<maxdigits>]\n  Plays a file and reads DTMF.",
    )
    reg(
        "get full variable",
        _get_full_variable,
        "Usage: GET FULL VARIABLE <expression> [<channelname>]",
        dead_ok=True,
    )
    reg("get option", _media.get_option, "Usage: GET OPTION <filename> <escape_digits> [<timeout>]")
    reg("get variable", _get_variable, "Usage: GET VARIABLE <variablename>", dead_ok=True)
    reg("hangup", _hangup, "Usage: HANGUP [<channelname>]")
    reg("noop", _fixed("200 result=0\n"), "Usage: NOOP", dead_ok=True)
    reg("receive char", _receive_char, "Usage: RECEIVE CHAR <timeout>")
    reg("receive text", _receive_text, "Usage: RECEIVE TEXT <timeout>")
    reg(
        "record file",
        _media.record_file,
        "Usage: RECORD FILE <filename> <format> <escape_digits> <timeout>"
        " [<offset samples>] [BEEP] [s=<silence>]",
    )
    reg("say alpha", _media.say_alpha, "Usage: SAY ALPHA <string> <escape_digits> [<case>]")
    reg("say digits", _media.say_digits, "Usage: SAY DIGITS <number> <escape_digits>")
    reg("say number", _media.say_number, "Usage: SAY NUMBER <number> <escape_digits> [<gender>]")
    reg("say phonetic", _media.say_phonetic, "Usage: SAY PHONETIC <string> <escape_digits>")
    reg("say date", _media.say_date, "Usage: SAY DATE <date> <escape_digits>")
    reg("say time", _media.say_time, "Usage: SAY TIME <time> <escape_digits>")
    reg(
        "say datetime",
        _media.say_datetime,
        "Usage: SAY DATETIME <time> <escape_digits> [<format>] [<timezone>]",
    )
    reg("send image", _fixed("200 result=0\n", arity=(3, 3)), "Usage: SEND IMAGE <image>")
    reg("send text", _fixed("200 result=0\n", arity=(3, 3)), "Usage: SEND TEXT <text>")
    reg("set autohangup", _set_autohangup, "Usage: SET AUTOHANGUP <time>")
    reg("set callerid", _set_callerid, "Usage: SET CALLERID <number>")
    reg("set context", _set_context, "Usage: SET CONTEXT <desired context>")
    reg("set extension", _set_extension, "Usage: SET EXTENSION <new extension>")
    reg("set music", _set_music, "Usage: SET MUSIC <on|off> [<class>]")
    reg("set priority", _set_priority, "Usage: SET PRIORITY <priority>")
    reg("set variable", _set_variable, "Usage: SET VARIABLE <variablename> <value>", dead_ok=True)
    reg(
        "stream file",
        _media.stream_file,
        "Usage: STREAM FILE <filename> <escape_digits> [<sample offset>]\n"
        "  Plays a file; a digit among escape_digits stops it.",
    )
    reg("tdd mode", _fixed("200 result=0\n", arity=(3, 3)), "Usage: TDD MODE <on|off>")
    reg("verbose", _verbose, "Usage: VERBOSE <message> <level>", dead_ok=True)
    reg("wait for digit", _media.wait_for_digit, "Usage: WAIT FOR DIGIT <timeout>")
    reg("gosub", _gosub, "Usage: GOSUB <context> <extension> <priority> [<optional-argument>]")
    # no speech engine is loaded: every SPEECH command answers result=0
    reg("speech create", _fixed("200 result=0\n"), "Usage: SPEECH CREATE <engine>")
    reg("speech set", _fixed("200 result=0\n", arity=(4, 4)), "Usage: SPEECH SET <name> <value>")
    reg("speech destroy", _fixed("200 result=0\n"), "Usage: SPEECH DESTROY", dead_ok=True)
    reg(
        "speech load grammar",
        _fixed("200 result=0\n", arity=(5, 5)),
        "Usage: SPEECH LOAD GRAMMAR <grammar name> <path to grammar>",
    )
    reg(
        "speech unload grammar",
        _fixed("200 result=0\n", arity=(4, 4)),
        "Usage: SPEECH UNLOAD GRAMMAR <grammar name>",
        dead_ok=True,
    )
    reg(
        "speech activate grammar",
        _fixed("200 result=0\n", arity=(4, 4)),
        "Usage: SPEECH ACTIVATE GRAMMAR <grammar name>",
    )
    reg(
        "speech deactivate grammar",
        _fixed("200 result=0\n", arity=(4, 4)),
        "Usage: SPEECH DEACTIVATE GRAMMAR <grammar name>",
    )
    reg(
        "speech recognize",
        _fixed("200 result=0\n", arity=(4, 1000)),
        "Usage: SPEECH RECOGNIZE <prompt> <timeout> [<offset>]",
    )
    return table
