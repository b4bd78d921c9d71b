"""Asterisk extension names and patterns: does `_2XX` match `201`?

A name starting with `_` is a pattern: X = 0-9, Z = 1-9, N = 2-9, `[1-3a]` a
set with ranges, `.` one or more of anything, `!` zero or more of anything;
other characters match themselves. `-` is a separator Asterisk ignores (in
names and dialled extensions alike). A `/callerid` suffix limits an extension
to some callers; it does not change which numbers match.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["PatternError", "extension_matches", "is_pattern", "pattern_regex"]

_CLASSES = {"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]"}


class PatternError(ValueError):
    """An extension pattern Asterisk cannot use (an unclosed `[`)."""


def is_pattern(name: str) -> bool:
    return name.startswith("_")


def _strip_callerid(name: str) -> str:
    return name.split("/", 1)[0]


@lru_cache(maxsize=1024)
def pattern_regex(name: str) -> re.Pattern[str]:
    """The regex a `_pattern` matches, whole string (dashes already removed from the number)."""
    pattern = _strip_callerid(name)[1:] if is_pattern(name) else _strip_callerid(name)
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        upper = char.upper()
        if upper in _CLASSES:
            out.append(_CLASSES[upper])
        elif char == ".":
            out.append(".+")
        elif char == "!":
            out.append(".*")
        elif char == "-":
            pass
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                raise PatternError(f"pattern {name!r} has '[' without ']'")
            out.append(_char_set(pattern[i + 1 : end], name))
            i = end
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def _char_set(body: str, name: str) -> str:
    if not body:
        raise PatternError(f"pattern {name!r} has an empty '[]'")
    parts: list[str] = []
    i = 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-":
            low, high = body[i], body[i + 2]
            if low > high:
                raise PatternError(f"pattern {name!r} has a backwards range {low}-{high}")
            parts.append(f"{re.escape(low)}-{re.escape(high)}")
            i += 3
        else:
            parts.append(re.escape(body[i]))
            i += 1
    return "[" + "".join(parts) + "]"


def extension_matches(name: str, number: str) -> bool:
    """True when extension `name` (literal or `_pattern`) matches dialled `number`.

    A `number` that is itself a pattern only matches the same pattern written
    the same way: references name a pattern to mean that exact extension.
    """
    if is_pattern(number):
        return _strip_callerid(name) == _strip_callerid(number)
    dialled = number.replace("-", "")
    if not is_pattern(name):
        return _strip_callerid(name).replace("-", "") == dialled
    return pattern_regex(name).fullmatch(dialled) is not None
