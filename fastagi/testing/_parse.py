"""How Asterisk reads an AGI command line: res_agi.c ``parse_args`` and its C number scans.

Written from the behaviour of res_agi.c, not from its code: one state machine
walking the line character by character, with the same quirks (a quote that
opens a word skips the word cap; a truncated word leaves "escaped" set).
"""

from __future__ import annotations

import re

__all__ = ["DTMF_DIGITS", "MAX_ARGS", "atoi", "parse_args", "scan_float", "scan_int"]

MAX_ARGS = 128
"""Size of res_agi.c's argv array. One slot is kept for the terminating NULL, so
words that start outside quotes stop at ``MAX_ARGS - 1`` (127)."""

DTMF_DIGITS = "0123456789*#ABCD"
"""Every DTMF key a caller can press (``AST_DIGIT_ANY`` in Asterisk)."""

_BLANKS = re.compile(r"[ \t]+")
_INT_PREFIX = re.compile(r"[ \t\n\r\f\v]*([+-]?[0-9]+)")
_FLOAT_PREFIX = re.compile(r"[ \t\n\r\f\v]*([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)")


def parse_args(line: str) -> list[str]:
    """Split one AGI command line (newline already removed) into words, as Asterisk does.

    - a backslash makes the next character literal (``\\\\`` is one backslash,
      ``\\"`` a quote, ``\\`` + space a space inside the word); a trailing
      backslash is dropped;
    - an unescaped ``"`` toggles quoting and is dropped; opening a quote after
      whitespace starts a new word, so ``""`` is an empty word;
    - an unquoted, unescaped space or tab ends the current word;
    - any other character starts a word when it follows whitespace;
    - words that start outside quotes are capped at 127 (``MAX_ARGS - 1``);
      the characters of later words are dropped. A word opened by a quote is
      not counted against the cap (Asterisk writes past its array there).
    """
    if '"' not in line and "\\" not in line:
        words = [word for word in _BLANKS.split(line) if word]
        return words[: MAX_ARGS - 1]
    out: list[list[str]] = []
    current: list[str] = []
    quoted = escaped = False
    whitespace = True
    for char in line:
        if char == '"' and not escaped:
            quoted = not quoted
            if quoted and whitespace:
                current = []
                out.append(current)
                whitespace = False
            continue
        if char in " \t" and not quoted and not escaped:
            whitespace = True
            continue
        if char == "\\" and not escaped:
            escaped = True
            continue
        if whitespace:
            if len(out) >= MAX_ARGS - 1:
                continue  # truncated; like the C code, "escaped" stays as it was
            current = []
            out.append(current)
            whitespace = False
        current.append(char)
        escaped = False
    return ["".join(word) for word in out]


def scan_int(text: str) -> int | None:
    """``sscanf(text, "%d")``: the leading integer of ``text``, or None if there is none."""
    match = _INT_PREFIX.match(text)
    return int(match.group(1)) if match else None


def atoi(text: str) -> int:
    """C ``atoi``: the leading integer of ``text``, 0 if there is none."""
    value = scan_int(text)
    return 0 if value is None else value


def scan_float(text: str) -> float | None:
    """``sscanf(text, "%lf")``: the leading decimal number of ``text``, or None."""
    match = _FLOAT_PREFIX.match(text)
    return float(match.group(1)) if match else None
