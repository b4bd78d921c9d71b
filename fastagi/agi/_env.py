"""Parsing one line of the `agi_*` environment block."""

from __future__ import annotations

__all__ = ["parse_env_line"]

_PREFIX = "agi_"


def _is_name(text: str) -> bool:
    """Letters, digits and underscores only (str methods: faster than a regex here)."""
    return text.isascii() and text.replace("_", "a").isalnum()


def parse_env_line(line: str) -> tuple[str, str] | None:
    """Split `agi_name: value` into `("name", "value")`; None for a malformed line.

    The value is everything after the first ": " and may be empty (`agi_dnid: `
    or `agi_dnid:`). Asterisk writes values raw, so a value holding a newline
    (a caller name, say) arrives as a broken line: that line is not
    `agi_name: value` and comes back as None rather than raising.
    """
    if not line.startswith(_PREFIX):
        return None
    name, colon, value = line[len(_PREFIX) :].partition(":")
    if not colon or not _is_name(name):
        return None
    if not value:
        return name, ""
    if not value.startswith(" "):
        return None
    return name, value[1:]
