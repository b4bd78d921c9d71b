"""CSV cells a spreadsheet will not run: one helper for every CSV the project writes.

A cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is taken
as a formula by Excel, LibreOffice and Google Sheets ("CSV injection"). Caller
data (a first name, a caller ID, an event's data) ends up in exported files,
so every CSV writer passes each cell through `safe_cell`, which prefixes such
a cell with a single quote, as OWASP advises. The quote is shown by no
spreadsheet and `restore_cell` takes it off again, so the export of a
value can be imported back unchanged.

Phone numbers: an E.164 number starts with `+`, and it is neutralised like any
other cell (`+79161234567` is written `'+79161234567`). A spreadsheet would
otherwise read it as the formula `=79161234567` and show a number without
its `+`; the importer restores it, and it accepts either form anyway. One rule
for every column is also the one that cannot be got wrong by a later column.

A cell that already starts with quotes followed by a formula character gets
one more quote, so `restore_cell(safe_cell(x)) == x` for every string.
"""

from __future__ import annotations

import re

__all__ = ["restore_cell", "safe_cell", "safe_row"]

# Quotes, then a formula trigger: such a cell gets (or, restored, loses) one quote.
_FORMULA = re.compile(r"'*[=+\-@\t\r]")


def safe_cell(value: object) -> str:
    """The cell text for `value`, with a `'` in front if a spreadsheet would run it."""
    text = value if isinstance(value, str) else str(value)
    return "'" + text if _FORMULA.match(text) else text


def restore_cell(value: str) -> str:
    """Undo `safe_cell` (for importers reading back an export)."""
    return value[1:] if value.startswith("'") and _FORMULA.match(value[1:]) else value


def safe_row(values: list[object]) -> list[str]:
    """`safe_cell` of every value of a row."""
    return [safe_cell(value) for value in values]
