"""Collecting one entry at a menu node: the first digit, then more if they can matter.

The prompt is played with GET DATA for one digit (digits barge in). For
menus that take more than one digit, further digits come from WAIT FOR
DIGIT with the inter-digit timeout, until the entry is as long as `digits`,
the terminator is pressed, the caller pauses, or no option and no
direct-dial extension can start with what was entered: a caller pressing
`1` in a menu whose only longer entries are extensions 200-499 is served at
once instead of waiting for the inter-digit timeout.
"""

from __future__ import annotations

import itertools
import re
from functools import lru_cache

from fastagi.call import PlaybackFailed
from fastagi.menus.nodes import MenuNode, MenuSettings
from fastagi.menus.session import Session, seconds_to_ms

__all__ = ["DTMF_KEYS", "collect_entry", "entry_may_continue"]

DTMF_KEYS = "0123456789*#"
#: Longest continuation tried when checking whether direct_dial can still match.
_MAX_PROBE = 20_000


@lru_cache(maxsize=4096)
def _pattern_may_extend(pattern: str, prefix: str, room: int, keys: str) -> bool:
    """Whether `prefix` + up to `room` more keys can fully match `pattern`.

    Tries every continuation while that stays cheap; beyond, assumes yes
    (the caller then waits the inter-digit timeout, which is never wrong).
    """
    compiled = re.compile(pattern)
    tried = 0
    for extra in range(1, room + 1):
        if tried + len(keys) ** extra > _MAX_PROBE:
            return True
        for tail in itertools.product(keys, repeat=extra):
            if compiled.fullmatch(prefix + "".join(tail)):
                return True
        tried += len(keys) ** extra
    return False


def entry_may_continue(node: MenuNode, entry: str) -> bool:
    """Whether more digits could turn `entry` into a (different) valid entry."""
    room = node.digits - len(entry)
    if room <= 0:
        return False
    if any(len(key) > len(entry) and key.startswith(entry) for key in node.options):
        return True
    if node.direct_dial is None:
        return False
    keys = DTMF_KEYS.replace(node.terminator or "", "")
    return _pattern_may_extend(node.direct_dial, entry, room, keys)


async def _first_digit(session: Session, prompt: str, timeout_ms: int) -> str:
    prompt = await session.prompt(prompt)
    try:
        result = await session.call.get_digits(prompt, timeout_ms=timeout_ms, max_digits=1)
    except PlaybackFailed as exc:
        # The caller must never be stuck on a missing greeting: listen anyway.
        session.prompt_failed(prompt, exc)
        return await session.wait_digit(timeout_ms) or ""
    session.prompt_played(prompt)
    return result.digits


async def collect_entry(
    session: Session, node: MenuNode, settings: MenuSettings, prompt: str
) -> str:
    """Play `prompt` and return what the caller entered ("" when they pressed nothing)."""
    entry = await _first_digit(session, prompt, seconds_to_ms(settings.timeout))
    if not entry or entry == node.terminator:
        return entry
    inter_ms = seconds_to_ms(settings.inter_digit_timeout)
    while entry_may_continue(node, entry):
        digit = await session.wait_digit(inter_ms)
        if digit is None or digit == node.terminator:
            break
        entry += digit
    return entry
