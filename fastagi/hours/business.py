"""config/hours.yaml as the menus see it: one state for a calendar at a moment.

The menu engine only asks "open, closed or holiday?" (`BusinessHours`); this
adapts `HoursConfig` to that and decides what a missing file or an unknown
calendar means at run time.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from fastagi.hours.loader import load_hours
from fastagi.hours.model import HoursConfig, UnknownCalendar

__all__ = ["CalendarHours", "load_business_hours"]

log = logging.getLogger(__name__)


class CalendarHours:
    """`BusinessHours` over an `HoursConfig`."""

    def __init__(self, config: HoursConfig) -> None:
        self.config = config

    def state_at(self, calendar: str | None, at: datetime) -> str:
        try:
            return self.config.status(calendar, at).state
        except UnknownCalendar as exc:
            # `ivr validate` reports it; a call in progress is kept open rather than lost
            log.error("%s: treating the centre as open", exc)
            return "open"


def load_business_hours(path: Path) -> CalendarHours | None:
    """The calendars of `path`, or None when there is no such file.

    Raises MenuError (file:line problems) when the file is invalid.
    """
    if not path.is_file():
        return None
    return CalendarHours(load_hours(path))
