"""Turning a command and its arguments into one AGI line.

Asterisk reads a command line into a fixed buffer and splits it into words
with res_agi.c `parse_args`: a backslash takes the next character literally,
an unescaped double quote toggles quoting, unquoted spaces and tabs separate
words. `quote_argument` is the one function every argument goes through, so
that no argument can ever split into two words or end the line.
"""

from __future__ import annotations

import re

from fastagi.agi._errors import CommandTooLong, LocalProtocolError

__all__ = ["MAX_ARGS", "MAX_COMMAND_BYTES", "format_command", "quote_argument"]

#: Asterisk's command buffer (res_agi.c AGI_BUF_LEN; 8192 since the 2025 fix,
#: 2048 in older releases). fgets() keeps one byte for the terminating NUL, so
#: a whole line, "\n" included, must be shorter than this: at most 8191 bytes.
#: A longer line is cut and its remainder is read as a *second* command.
MAX_COMMAND_BYTES = 8192

#: Size of Asterisk's argv array (res_agi.c MAX_ARGS). Every word counts,
#: command keywords included. One slot holds the terminating NULL and parse_args
#: stops at MAX_ARGS - 1 words, and quoted words bypassed that check before the
#: 2026 fix (an out-of-bounds write), so `format_command` allows at most
#: MAX_ARGS - 2 words: a line that is safe on every Asterisk version.
MAX_ARGS = 128

_MAX_WORDS = MAX_ARGS - 2

_NAME = re.compile(r"[A-Z]+(?: [A-Z]+)*")
# Names that matched _NAME already: a script sends a handful of distinct
# commands thousands of times, and the regex was a sixth of format_command.
# Bounded, in case a caller builds names at run time.
_CHECKED_NAMES: set[str] = set()
_MAX_CHECKED_NAMES = 256

# NUL ends a C string, LF ends the line and CR would reach the argument: none
# of them can travel inside an AGI argument. CR and LF become a space, NUL is
# dropped. Backslash and double quote are escaped.
_QUOTE_TABLE = str.maketrans({"\x00": None, "\r": " ", "\n": " ", "\\": "\\\\", '"': '\\"'})
# quote_argument looks for exactly these characters before translating.
assert {chr(c) for c in _QUOTE_TABLE} == {"\x00", "\r", "\n", "\\", '"'}


def quote_argument(arg: str) -> str:
    """Return `arg` as one double-quoted AGI word.

    Backslash and double quote are backslash-escaped. CR and LF cannot travel
    inside an AGI line, so each becomes one space; NUL is dropped. Asterisk
    reads the result back as exactly one argument, whatever `arg` holds.
    """
    # translate() with this table costs ~0.5 us even when nothing changes;
    # five substring scans cost a seventh of that, and most arguments
    # (prompt names, digits, timeouts) hold none of these characters.
    if '"' in arg or "\\" in arg or "\n" in arg or "\r" in arg or "\x00" in arg:
        arg = arg.translate(_QUOTE_TABLE)
    return '"' + arg + '"'


def format_command(name: str, *args: str, max_bytes: int = MAX_COMMAND_BYTES) -> bytes:
    """Format one command line: `name` unquoted, every argument quoted, "\\n" at the end.

    `name` is the command's keywords in capitals separated by single spaces
    ("STREAM FILE"). Raises `LocalProtocolError` for a malformed name or an
    argument that is not encodable as UTF-8 (a lone surrogate), and
    `CommandTooLong` when the line would not fit Asterisk's buffer of
    `max_bytes` (see `MAX_COMMAND_BYTES`) or has more than MAX_ARGS - 2 words.
    """
    if name not in _CHECKED_NAMES:
        if not _NAME.fullmatch(name):
            raise LocalProtocolError(
                f"invalid AGI command name {name!r}: use capital letters A-Z and single spaces"
            )
        if len(_CHECKED_NAMES) < _MAX_CHECKED_NAMES:
            _CHECKED_NAMES.add(name)
    words = name.count(" ") + 1 + len(args)
    if words > _MAX_WORDS:
        raise CommandTooLong(
            f"{name} has {words} words; Asterisk accepts at most {_MAX_WORDS} per line"
        )
    text = " ".join([name, *map(quote_argument, args)]) + "\n"
    try:
        line = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise LocalProtocolError(f"{name}: argument is not valid Unicode text: {exc}") from None
    if len(line) >= max_bytes:
        raise CommandTooLong(
            f"{name} is {len(line)} bytes long; Asterisk accepts at most {max_bytes - 1}"
        )
    return line
