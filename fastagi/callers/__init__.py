"""The caller directory on Redis: profiles, tickets, history, phone numbers.

`CallerDirectory` is the entry point; keys are listed in docs/redis.md.
Segment rules (`fastagi.callers.segments`) read the `CallerProfile` it returns.
"""

from fastagi.callers._util import iso_second
from fastagi.callers.directory import CallerDirectory
from fastagi.callers.fields import InvalidField
from fastagi.callers.importer import ImportFileError, ImportReport, RowError
from fastagi.callers.keys import Keys
from fastagi.callers.phone import InvalidNumber, is_anonymous, normalize
from fastagi.callers.profile import ANONYMOUS, OPEN_TICKET_STATUSES, CallerProfile
from fastagi.callers.tickets import Ticket, TicketConflict, TicketNotFound

__all__ = [
    "ANONYMOUS",
    "OPEN_TICKET_STATUSES",
    "CallerDirectory",
    "CallerProfile",
    "ImportFileError",
    "ImportReport",
    "InvalidField",
    "InvalidNumber",
    "Keys",
    "RowError",
    "Ticket",
    "TicketConflict",
    "TicketNotFound",
    "is_anonymous",
    "iso_second",
    "normalize",
]
