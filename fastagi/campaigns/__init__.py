"""Outbound campaigns: numbers to call from a file, in priority order, with event windows.

`parse` reads and checks a campaign CSV (pure); `schedule` decides order and
event windows (pure); `CampaignStore` keeps campaigns in Redis and hands
entries to dialers (`next_due`, `finish`, `release_stale`); `DoNotCall`
keeps blacklisted callers from being called. See docs/campaigns.md.
"""

from fastagi.campaigns.dnc import DNC_SEGMENT, DoNotCall
from fastagi.campaigns.keys import CampaignKeys
from fastagi.campaigns.loading import FileLoad, load_file
from fastagi.campaigns.model import (
    OUTCOMES,
    STATUSES,
    CampaignError,
    CampaignStatus,
    Entry,
    LoadReport,
    NewEntry,
    NotDialling,
    Outcome,
    RetryPolicy,
    Status,
    UnknownCampaign,
    UnknownEntry,
)
from fastagi.campaigns.parse import CampaignFileError, ParsedCampaign, References, parse_campaign
from fastagi.campaigns.schedule import dial_order, local_today, window_state
from fastagi.campaigns.store import DEFAULT_LEASE, CampaignStore

__all__ = [
    "DEFAULT_LEASE",
    "DNC_SEGMENT",
    "OUTCOMES",
    "STATUSES",
    "CampaignError",
    "CampaignFileError",
    "CampaignKeys",
    "CampaignStatus",
    "CampaignStore",
    "DoNotCall",
    "Entry",
    "FileLoad",
    "LoadReport",
    "NewEntry",
    "NotDialling",
    "Outcome",
    "ParsedCampaign",
    "References",
    "RetryPolicy",
    "Status",
    "UnknownCampaign",
    "UnknownEntry",
    "dial_order",
    "load_file",
    "local_today",
    "parse_campaign",
    "window_state",
]
