"""What the IVR knows about a caller when the call starts: a value, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType

__all__ = [
    "ANONYMOUS",
    "EDITABLE_FIELDS",
    "OPEN_TICKET_STATUSES",
    "PROFILE_FIELDS",
    "SYSTEM_FIELDS",
    "TICKET_STATUSES",
    "CallerProfile",
    "folded_tags",
    "split_tags",
]

#: Profile hash fields with a fixed meaning; any other field is a custom one.
PROFILE_FIELDS = (
    "first_name",  # "Ivan"; prompts may say it
    "last_name",
    "language",  # channel language for this caller: "ru", "en"
    "tags",  # comma-separated segment tags: "vip,wholesale"
    "manager",  # personal manager's extension: "201"
    "email",
    "menu",  # a personal menu: the name of a menu made for this caller
    "first_call",  # ISO 8601 UTC, set on the first call
    "last_call",  # ISO 8601 UTC, updated on every call
    "call_count",  # calls so far, this one included
    "open_tickets",  # number of the caller's tickets not closed
    "latest_ticket",  # id of the caller's most recently updated open ticket
)

#: Fields the directory keeps itself (calls, tickets); imports and `set` refuse them.
SYSTEM_FIELDS = frozenset(
    {"first_call", "last_call", "call_count", "open_tickets", "latest_ticket"}
)

#: Fields with a fixed meaning that an admin, an import or a CRM may set.
EDITABLE_FIELDS = tuple(name for name in PROFILE_FIELDS if name not in SYSTEM_FIELDS)

#: Ticket statuses that count as open.
OPEN_TICKET_STATUSES = frozenset({"open", "in_progress", "waiting"})

#: Every ticket status.
TICKET_STATUSES = OPEN_TICKET_STATUSES | {"closed"}


_NO_TAGS: frozenset[str] = frozenset()


@lru_cache(maxsize=4096)
def split_tags(text: str) -> frozenset[str]:
    """The tags in a `tags` field: comma-separated, spaces around each ignored."""
    return frozenset(tag for tag in map(str.strip, text.split(",")) if tag)


@lru_cache(maxsize=4096)
def folded_tags(text: str) -> frozenset[str]:
    """`split_tags(text)`, case-folded: what `has_tag` compares (remembered per text)."""
    if not text:
        return _NO_TAGS
    return frozenset(tag.casefold() for tag in split_tags(text))


def _frozen(mapping: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class CallerProfile:
    """A caller as looked up at the start of a call.

    `number` is E.164 (`+79161234567`), or "" for a withheld or anonymous
    caller ID, which never has a Redis profile (`anonymous` is then True).
    `fields` is the profile hash as stored. `is_new` is True when this call
    created the profile. `calls_in_last` maps a window in days to the number
    of calls in it, this call included (only the windows the segment rules
    ask for are counted). `degraded` is True when Redis could not answer in
    time and this profile is a stand-in (the caller gets the default menu).
    """

    number: str
    fields: Mapping[str, str] = field(default_factory=lambda: _frozen(None))
    is_new: bool = False
    anonymous: bool = False
    degraded: bool = False
    calls_in_last: Mapping[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A value: callers of the directory share it, so nobody may change it in place.
        if not isinstance(self.fields, MappingProxyType):
            object.__setattr__(self, "fields", _frozen(self.fields))
        if not isinstance(self.calls_in_last, MappingProxyType):
            object.__setattr__(self, "calls_in_last", MappingProxyType(dict(self.calls_in_last)))

    def get(self, name: str, default: str = "") -> str:
        return self.fields.get(name, default) or default

    @property
    def tags(self) -> frozenset[str]:
        text = self.fields.get("tags")
        if not text:
            return _NO_TAGS  # most callers have none: no splitting
        return split_tags(text)

    @property
    def open_tickets(self) -> int:
        text = self.fields.get("open_tickets")
        if not text:
            return 0  # most callers have no tickets: nothing to parse
        try:
            return max(0, int(text))
        except ValueError:
            return 0

    @property
    def latest_ticket(self) -> str:
        """Id of the most recently updated open ticket, or ""."""
        return self.get("latest_ticket") if self.open_tickets else ""

    @property
    def call_count(self) -> int:
        try:
            return max(0, int(self.get("call_count", "0")))
        except ValueError:
            return 0

    @property
    def language(self) -> str:
        return self.get("language")

    @classmethod
    def anonymous_caller(cls) -> CallerProfile:
        return cls(number="", anonymous=True)

    @classmethod
    def unavailable(cls, number: str) -> CallerProfile:
        """A stand-in when Redis is down or slow: nothing known, default menu."""
        return cls(number=number, degraded=True)


ANONYMOUS = CallerProfile.anonymous_caller()
