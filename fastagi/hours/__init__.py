"""Business hours and holidays for the menus' `hours` action.

    from fastagi.hours import load_hours

    hours = load_hours("config/hours.yaml")       # HoursConfig, or MenuError with file:line
    status = hours.status("office", now)           # `now` must be an aware datetime
    status.state                                   # "open", "closed" or "holiday"
    status.holiday                                 # the holiday's name, if any
    status.next_change                             # when the state next changes

The file format is described in docs/menus.md (the `hours` action).
"""

from __future__ import annotations

from fastagi.hours._text import DaySpan, parse_day_span, parse_interval, parse_weekdays
from fastagi.hours._timeline import DayPlan, State
from fastagi.hours.loader import DEFAULT_HOURS_PATH, load_hours, parse_hours
from fastagi.hours.model import (
    Calendar,
    CalendarIssue,
    HoursConfig,
    HoursStatus,
    Interval,
    SpecialDay,
    UnknownCalendar,
    calendar_issues,
    zone_from_name,
)

__all__ = [
    "DEFAULT_HOURS_PATH",
    "Calendar",
    "CalendarIssue",
    "DayPlan",
    "DaySpan",
    "HoursConfig",
    "HoursStatus",
    "Interval",
    "SpecialDay",
    "State",
    "UnknownCalendar",
    "calendar_issues",
    "load_hours",
    "parse_day_span",
    "parse_hours",
    "parse_interval",
    "parse_weekdays",
    "zone_from_name",
]
