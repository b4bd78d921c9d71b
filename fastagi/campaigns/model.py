"""Values of the campaign layer: statuses, outcomes, entries, reports. No I/O.

A campaign is a list of numbers to call, loaded from a file. Each row becomes
an entry with a status:

    pending   waiting to be dialled (its event window may not be open yet,
              or it waits for a retry after a failed attempt)
    dialling  taken by a dialer, under a lease
    done      answered
    failed    every attempt used without an answer
    expired   an event call whose window closed before it was answered
    dnc       do not call: the number is in the `blacklisted` segment
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import PurePath
from types import MappingProxyType
from typing import Final, Literal, get_args

__all__ = [
    "CAMPAIGN_NAME_PATTERN",
    "MAX_PRIORITY",
    "MIN_PRIORITY",
    "OUTCOMES",
    "STATUSES",
    "CampaignError",
    "CampaignState",
    "CampaignStatus",
    "Entry",
    "LoadReport",
    "NewEntry",
    "NotDialling",
    "Outcome",
    "RetryPolicy",
    "Status",
    "UnknownCampaign",
    "UnknownEntry",
    "campaign_name_from_file",
    "check_campaign_name",
]

Status = Literal["pending", "dialling", "done", "failed", "expired", "dnc"]
#: Every entry status, in the order reports show them.
STATUSES: Final[tuple[Status, ...]] = get_args(Status)

#: What a dialer reports for one attempt (`CampaignStore.finish`).
Outcome = Literal["answered", "busy", "no_answer", "failed"]
OUTCOMES: Final[tuple[Outcome, ...]] = get_args(Outcome)

CampaignState = Literal["running", "paused"]

#: Priorities run from MIN_PRIORITY to MAX_PRIORITY; a higher one is called first.
MIN_PRIORITY: Final = -999
MAX_PRIORITY: Final = 999

CAMPAIGN_NAME_PATTERN = r"[a-z0-9][a-z0-9_-]{0,63}"
_NAME = re.compile(CAMPAIGN_NAME_PATTERN)
_NAME_UNSAFE = re.compile(r"[^a-z0-9_-]+")


class CampaignError(Exception):
    """A campaign operation could not be done (the message says why)."""


class UnknownCampaign(CampaignError, LookupError):
    """No campaign by that name."""


class UnknownEntry(CampaignError, LookupError):
    """No campaign entry with that id."""


class NotDialling(CampaignError):
    """`finish` for an entry that is not dialling under the caller's lease.

    Its lease expired and `release_stale` put it back (or another dialer has
    it now), or it was finished already: this result was not recorded.
    """


def check_campaign_name(name: str) -> str:
    """Return `name` if it is a valid campaign name; else raise ValueError saying why."""
    if not _NAME.fullmatch(name):
        raise ValueError(
            f"campaign name {name[:70]!r}: use lowercase letters, digits, '_' and '-'"
            " (starting with a letter or digit, at most 64)"
        )
    return name


def campaign_name_from_file(path: str | PurePath) -> str:
    """A file's default campaign name: its stem made safe (`Spring Promo.csv` -> `spring-promo`).

    Raises ValueError when nothing usable is left (then the user gives --name).
    """
    stem = PurePath(path).stem.lower()
    name = _NAME_UNSAFE.sub("-", stem).strip("-_")[:64]
    if not name:
        raise ValueError(f"cannot make a campaign name from {str(path)[:70]!r}; give one")
    return check_campaign_name(name)


def _frozen(mapping: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class NewEntry:
    """One good row of a campaign file, ready to store.

    `number` is E.164; `line` the row's (first) line in the file, which is
    also its place in the file order; `fields` the row's other columns, in
    file order, passed to the menu as variables.
    """

    line: int
    number: str
    priority: int = 0
    event_date: date | None = None
    voice: str | None = None
    menu: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.fields, MappingProxyType):
            object.__setattr__(self, "fields", _frozen(self.fields))
        if not MIN_PRIORITY <= self.priority <= MAX_PRIORITY:
            raise ValueError(f"priority {self.priority} is outside {MIN_PRIORITY}..{MAX_PRIORITY}")

    @property
    def key(self) -> str:
        """What makes two rows the same call: the number, and the event date if any."""
        return f"{self.number}@{self.event_date.isoformat()}" if self.event_date else self.number


@dataclass(frozen=True)
class Entry:
    """A stored campaign entry, as `CampaignStore.next_due` hands it to a dialer.

    `id` is unique across campaigns; pass it (and `lease`) to `finish`.
    `attempts` counts this one once the entry is dialling. `lease_until`
    is when `release_stale` may take the entry back.
    """

    id: int
    campaign: str
    line: int
    number: str
    priority: int
    event_date: date | None
    voice: str | None
    menu: str | None
    fields: Mapping[str, str]
    status: Status
    attempts: int
    last_outcome: str = ""
    lease: str = ""
    lease_until: datetime | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.fields, MappingProxyType):
            object.__setattr__(self, "fields", _frozen(self.fields))


@dataclass(frozen=True)
class RetryPolicy:
    """What happens after an attempt that was not answered.

    An entry is dialled at most `max_attempts` times; after a busy, no
    answer or failed attempt it may be dialled again `retry_after` later
    (at its place in the priority order); after the last one it is `failed`.
    A lease that expired (the dialer crashed) counts as an attempt.
    """

    max_attempts: int = 2
    retry_after: timedelta = timedelta(minutes=30)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.retry_after < timedelta(0):
            raise ValueError("retry_after must not be negative")


@dataclass(frozen=True)
class LoadReport:
    """What `CampaignStore.load` did.

    `added` entries are new; `already_loaded` rows were in the campaign
    already (same number and event date) and were left as they are, so a
    file loaded twice adds nothing the second time.
    """

    campaign: str
    added: int = 0
    already_loaded: int = 0
    created: bool = False


@dataclass(frozen=True)
class CampaignStatus:
    """A campaign's progress (`CampaignStore.status`).

    `counts` maps every status to its number of entries; `by_priority` the
    same per priority, highest first. Of the pending entries, `waiting`
    wait for their event window to open and `retry_later` for a retry.
    """

    name: str
    file: str
    created: str
    state: CampaignState
    total: int
    counts: Mapping[Status, int]
    by_priority: Mapping[int, Mapping[Status, int]]
    waiting: int = 0
    retry_later: int = 0

    @property
    def finished(self) -> bool:
        """True when nothing is left to dial: no entry pending or dialling."""
        return self.counts["pending"] == 0 and self.counts["dialling"] == 0
