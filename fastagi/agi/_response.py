"""Parsing one reply line from Asterisk into a `Reply`.

Forms (res_agi.c): `200 result=<r>`, `200 result=<r> (<data>)`,
`200 result=<r> [(<data>)] endpos=<n>`, `200 result=0 Gosub complete`,
`100 result=0 Trying...`, `510 ...`, `511 ...`, `520 ...` and the first line
of a `520-` usage block (the connection collects the rest of the block).
"""

from __future__ import annotations

import re

from fastagi.agi._errors import ProtocolError
from fastagi.agi._events import Reply

__all__ = ["KNOWN_CODES", "parse_reply_line", "preview"]

#: Reply codes Asterisk's res_agi sends to a FastAGI script.
KNOWN_CODES = frozenset({100, 200, 510, 511, 520})

_RESULT = "result="
# The 3-digit text of each known code: one dict lookup checks and converts it.
_CODES = {str(code): code for code in KNOWN_CODES}
_ENDPOS = re.compile(r" endpos=(-?[0-9]+)\Z")
_MAX_ENDPOS_DIGITS = 20


def preview(line: str, limit: int = 80) -> str:
    """`repr` of a line, shortened for error messages."""
    if len(line) <= limit:
        return repr(line)
    return repr(line[:limit]) + f"... ({len(line)} chars)"


def parse_reply_line(line: str, usage: str = "") -> Reply:
    """Parse one reply line (without its "\\n") into a `Reply`.

    `data` runs from the first "(" after the result to the last ")" before an
    optional trailing ` endpos=<n>`; other text after the result goes to
    `extra`, as does the whole text of a line without `result=`. `usage` is
    stored as given (the connection passes a 520 block's text). Raises
    `ProtocolError`, and nothing else, for any line that is not a reply.
    """
    code = _CODES.get(line[:3])
    if code is None:
        head = line[:3]
        if not (len(head) == 3 and head.isascii() and head.isdigit()):
            raise ProtocolError(f"not an AGI reply (no 3-digit status code): {preview(line)}")
        raise ProtocolError(f"unknown AGI reply code {int(head)}: {preview(line)}")
    sep = line[3:4]
    block = sep == "-" and code == 520
    if sep != " " and not block:
        raise ProtocolError(f"malformed AGI reply (no space after the code): {preview(line)}")
    rest = line[4:]
    if block or not rest.startswith(_RESULT):
        return Reply(code=code, extra=rest.strip(" "), usage=usage, raw=line)

    after = rest[len(_RESULT) :]
    space = after.find(" ")
    if space < 0:  # `200 result=<r>` alone: most replies
        return Reply(code, after, None, None, "", usage, line)
    result, tail = after[:space], after[space:]

    endpos = None
    match = _ENDPOS.search(tail)
    if match:
        digits = match.group(1)
        if len(digits.lstrip("-")) > _MAX_ENDPOS_DIGITS:
            raise ProtocolError(f"endpos out of range: {preview(line)}")
        endpos = int(digits)
        tail = tail[: match.start()]

    data = None
    extra = tail.strip(" ")
    opening = tail.find("(")
    if opening >= 0:
        closing = tail.rfind(")")
        if closing < opening:
            # Asterisk always closes "(%s)": a value holding a newline broke the line.
            raise ProtocolError(f"unterminated '(' in AGI reply: {preview(line)}")
        data = tail[opening + 1 : closing]
        parts = (tail[:opening].strip(" "), tail[closing + 1 :].strip(" "))
        extra = " ".join(part for part in parts if part)
    return Reply(
        code=code, result=result, data=data, endpos=endpos, extra=extra, usage=usage, raw=line
    )
