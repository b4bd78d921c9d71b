"""Every Redis key of the campaigns, built in one place (see docs/campaigns.md).

Keys embed only a checked campaign name (`[a-z0-9][a-z0-9_-]{0,63}`) or a
numeric entry id. The Lua scripts build the same names from the prefix (see
`fastagi.campaigns.scripts`); the two must agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastagi.callers.keys import DEFAULT_PREFIX, check_prefix
from fastagi.campaigns.model import check_campaign_name

__all__ = ["CampaignKeys"]


def _entry_id(entry_id: int) -> int:
    if isinstance(entry_id, bool) or not isinstance(entry_id, int) or entry_id < 1:
        raise ValueError(f"not a campaign entry id: {str(entry_id)[:40]!r}")
    return entry_id


@dataclass(frozen=True, slots=True)
class CampaignKeys:
    """The campaign key names under one prefix (default `ivr:`)."""

    prefix: str = DEFAULT_PREFIX

    def __post_init__(self) -> None:
        check_prefix(self.prefix)

    def campaigns(self) -> str:
        """Sorted set: every campaign name, scored by its creation (Unix time)."""
        return f"{self.prefix}campaigns"

    def campaign(self, name: str) -> str:
        """Hash: name, file, created, state and a count per status."""
        return f"{self.prefix}campaign:{check_campaign_name(name)}"

    def priorities(self, name: str) -> str:
        """Hash: `<priority>:<status>` -> count of entries."""
        return f"{self.campaign(name)}:priorities"

    def numbers(self, name: str) -> str:
        """Hash: `<e164>` or `<e164>@<event date>` -> entry id (what makes a reload idempotent)."""
        return f"{self.campaign(name)}:numbers"

    def entries(self, name: str) -> str:
        """Sorted set: every entry id of the campaign, scored by the id."""
        return f"{self.campaign(name)}:entries"

    def pending(self, name: str) -> str:
        """Sorted set: entries ready to dial, scored by priority then load order."""
        return f"{self.campaign(name)}:pending"

    def waiting(self, name: str) -> str:
        """Sorted set: event entries before their window, scored by its first day (YYYYMMDD)."""
        return f"{self.campaign(name)}:waiting"

    def retry(self, name: str) -> str:
        """Sorted set: entries to dial again, scored by the Unix time they may be."""
        return f"{self.campaign(name)}:retry"

    def deadlines(self, name: str) -> str:
        """Sorted set: unfinished event entries, scored by their window's last day (YYYYMMDD)."""
        return f"{self.campaign(name)}:deadlines"

    def entry(self, entry_id: int) -> str:
        """Hash: one entry (number, priority, status, attempts...)."""
        return f"{self.prefix}campaign-entry:{_entry_id(entry_id)}"

    def entry_seq(self) -> str:
        """String (INCR): the last entry id handed out."""
        return f"{self.prefix}campaign-entry:seq"

    def leases(self) -> str:
        """Sorted set: dialling entry ids, scored by the Unix time their lease ends."""
        return f"{self.prefix}campaign-leases"
