"""A campaign file into the store: read, check, warn about do-not-call numbers, load.

What `ivr campaign load` does, as one function the CLI and tests share.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path

from fastagi.callers.importer import RowError
from fastagi.campaigns.model import LoadReport, campaign_name_from_file, check_campaign_name
from fastagi.campaigns.parse import ParsedCampaign, References, read_campaign
from fastagi.campaigns.schedule import local_today
from fastagi.campaigns.store import CampaignStore

__all__ = ["FileLoad", "load_file"]


@dataclass
class FileLoad:
    """The outcome of `load_file`: what the file held and what the store did with it."""

    parsed: ParsedCampaign
    report: LoadReport
    #: Loaded rows whose number is already in the do-not-call segment.
    dnc: list[RowError] = field(default_factory=list)

    @property
    def warnings(self) -> list[RowError]:
        """Duplicates, do-not-call numbers and other warnings, in line order."""
        found = [*self.parsed.duplicates, *self.dnc, *self.parsed.warnings]
        return sorted(found, key=lambda row: row.line)


async def load_file(
    store: CampaignStore,
    path: Path,
    *,
    name: str | None = None,
    region: str,
    zone: tzinfo,
    now: datetime,
    references: References | None = None,
) -> FileLoad:
    """Load the good rows of `path` into campaign `name` (default: from the file name).

    Bad rows are left out and listed in `parsed.skipped`. Numbers already in
    the do-not-call segment are loaded (the check is made again at dial
    time) and listed in `dnc`. Raises ValueError for a bad name,
    CampaignFileError for a file that cannot be read as a campaign, OSError.
    """
    campaign = check_campaign_name(name) if name else campaign_name_from_file(path)
    today = local_today(now, zone)
    parsed = await asyncio.to_thread(
        read_campaign, path, region=region, today=today, references=references
    )
    blocked = await store.dnc.blocked((entry.number for entry in parsed.entries), now)
    dnc = [
        RowError(
            entry.line,
            f"{entry.number} is in segment {store.dnc.segment!r} ({blocked[entry.number]}):"
            " it will not be called (status dnc)",
        )
        for entry in parsed.entries
        if entry.number in blocked
    ]
    report = await store.load(campaign, parsed.entries, file=str(path), now=now)
    return FileLoad(parsed, report, dnc)
