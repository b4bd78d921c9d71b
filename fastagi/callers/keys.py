"""Every Redis key of the caller directory, built in one place (see docs/redis.md).

Keys embed only an E.164 number (checked here again) or a numeric ticket id,
so nothing a caller dials or sends as caller ID can shape a key or a SCAN
pattern.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastagi.callers.phone import is_e164

__all__ = ["DEFAULT_PREFIX", "Keys", "check_prefix", "check_ticket_id"]

DEFAULT_PREFIX = "ivr:"

# No glob characters (* ? [ ] \): the prefix is also a SCAN MATCH pattern.
_PREFIX = re.compile(r"[A-Za-z0-9_.:{}-]{0,64}")
_TICKET_ID = re.compile(r"[1-9][0-9]{0,17}")


def check_prefix(prefix: str) -> str:
    if not _PREFIX.fullmatch(prefix):
        raise ValueError(
            f"key prefix {prefix!r} may use only letters, digits and _ . : - {{ }} (max 64)"
        )
    return prefix


def check_ticket_id(ticket_id: int | str) -> int:
    """Return a ticket id as an int; raise ValueError unless it is a positive integer."""
    text = str(ticket_id).strip()
    if isinstance(ticket_id, bool) or not _TICKET_ID.fullmatch(text):
        raise ValueError(f"not a ticket id: {str(ticket_id)[:40]!r}")
    return int(text)


def _number(e164: str) -> str:
    if not is_e164(e164):
        raise ValueError(f"not an E.164 number: {e164[:40]!r}")
    return e164


@dataclass(frozen=True, slots=True)
class Keys:
    """The directory's key names under one prefix (default `ivr:`)."""

    prefix: str = DEFAULT_PREFIX

    def __post_init__(self) -> None:
        check_prefix(self.prefix)

    def caller(self, e164: str) -> str:
        """Hash: the caller's profile (`CallerProfile.fields`)."""
        return f"{self.prefix}caller:{_number(e164)}"

    def calls(self, e164: str) -> str:
        """Sorted set: one member per call, scored by its Unix time."""
        return f"{self.prefix}caller:{_number(e164)}:calls"

    def history(self, e164: str) -> str:
        """Stream: one entry per finished call (menu path, digits, outcome...)."""
        return f"{self.prefix}caller:{_number(e164)}:history"

    def caller_tickets(self, e164: str) -> str:
        """Sorted set: the caller's ticket ids scored by their last update time."""
        return f"{self.prefix}caller:{_number(e164)}:tickets"

    def ticket(self, ticket_id: int | str) -> str:
        """Hash: one ticket."""
        return f"{self.prefix}ticket:{check_ticket_id(ticket_id)}"

    def ticket_seq(self) -> str:
        """String (INCR): the last ticket id handed out."""
        return f"{self.prefix}ticket:seq"

    def callbacks(self) -> str:
        """Stream: callback requests waiting to be worked (number, queue, reason, uniqueid)."""
        return f"{self.prefix}callbacks"

    def caller_pattern(self) -> str:
        """SCAN MATCH pattern that finds profile hashes (and, to filter out, their sub-keys)."""
        return f"{self.prefix}caller:+*"

    def number_of(self, key: str) -> str | None:
        """The E.164 number if `key` is a profile hash key of this prefix, else None."""
        head = f"{self.prefix}caller:"
        if not key.startswith(head):
            return None
        rest = key[len(head) :]
        return rest if is_e164(rest) else None
