"""IANA time zones by name, for every config file that has a `timezone:` key."""

from __future__ import annotations

import re
from datetime import UTC, tzinfo
from functools import lru_cache

__all__ = ["zone_from_name"]

_ZONE_NAME = re.compile(r"[A-Za-z0-9_+\-/]{1,64}")


@lru_cache(maxsize=256)
def zone_from_name(name: str) -> tzinfo:
    """The IANA time zone `name` (`Europe/Moscow`, `UTC`); ValueError says what is wrong."""
    if name in ("UTC", "Etc/UTC"):
        return UTC
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

    # no absolute paths or "..": zoneinfo reads the name as a file under its data dirs
    if _ZONE_NAME.fullmatch(name) and not name.startswith("/") and ".." not in name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    from fastagi.menus._validation import did_you_mean

    hint = did_you_mean(name, available_timezones()) if len(name) <= 64 else ""
    shown = repr(name) if len(name) <= 60 else repr(name[:57]) + "..."
    raise ValueError(
        f"unknown time zone {shown}; "
        + (hint or "use an IANA name such as Europe/Moscow, Europe/Berlin or UTC")
    )
