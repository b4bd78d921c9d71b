"""Menu actions: queue, callback, transfer, voicemail, hold, hours, record, conference, fax,
language and dialplan.

The YAML shapes are in `fastagi.menus.action_nodes`; each module here
registers the handler of one action. Telephony runs in the dialplan
subroutines of dialplan/ivr-actions.conf (`subroutine.run_subroutine`).
Importing this package registers every handler.
"""

from fastagi.actions import (
    callback,
    conference,
    hold,
    hours,
    queue,
    record,
    simple,
    transfer,
    voicemail,
)

__all__ = [
    "callback",
    "conference",
    "hold",
    "hours",
    "queue",
    "record",
    "simple",
    "transfer",
    "voicemail",
]
