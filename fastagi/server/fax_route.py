"""The `fax/result` script: the dialplan reports a received fax, the server files it.

The entry context's `h` extension runs `AGI(${IVR_AGI}/fax/result)` after
ReceiveFax (dialplan/ivr-entry.conf). The channel is usually hung up by then
(fax machines leave as soon as they are through), so everything is read in
one GET FULL VARIABLE, which Asterisk allows on a dead channel. The result
becomes a `fax` event and, for a known number, a line of the caller's history.
The path has a slash, so no menu can be named like it.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from fastagi.call import Call
from fastagi.callers.profile import CallerProfile
from fastagi.events import EventSink, as_tee
from fastagi.menus.context import CallContext
from fastagi.server.router import CallStatus, Handler

if TYPE_CHECKING:
    from fastagi.callers.service import CallerService

__all__ = ["FAX_RESULT_SCRIPT", "FaxResultRoute"]

FAX_RESULT_SCRIPT = "fax/result"
_VARIABLES = ("FAXSTATUS", "FAXPAGES", "FAXERROR", "IVR_FAX_FOLDER", "REMOTESTATIONID")
# The remote station id is whatever the sending machine says: keep it plain and short.
_UNSAFE = re.compile(r"[^A-Za-z0-9_ +().-]")


def _clean(value: str, limit: int = 40) -> str:
    return _UNSAFE.sub("", value)[:limit]


class FaxResultRoute:
    """Handles the `fax/result` script path."""

    def __init__(self, events: EventSink, callers: CallerService | None = None) -> None:
        self.events = as_tee(events)
        self.callers = callers

    def match(self, script: str) -> Handler | None:
        return self._record if script == FAX_RESULT_SCRIPT else None

    async def _record(self, call: Call) -> str:
        expression = "|".join(f"${{{name}}}" for name in _VARIABLES)
        text = await call.get_full_variable(expression, after_hangup=True) or ""
        values = (text.split("|") + [""] * len(_VARIABLES))[: len(_VARIABLES)]
        status, pages, error, folder, station = (_clean(v) for v in values)
        data = {
            "status": status or "UNKNOWN",
            "pages": pages if pages.isdigit() else "0",
            "error": error,
            "folder": folder,
            "station": station,
        }
        self.events.record(call.uniqueid, "fax", "", "", data)
        call.log.info("fax %s: %s page(s) into %s", data["status"], data["pages"], folder)
        number = (
            None
            if self.callers is None
            else (self.callers.directory.caller_number(call.env.callerid))
        )
        if self.callers is not None and number is not None:
            entry = {
                "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "uniqueid": call.uniqueid,
                "menu": "",
                "path": "fax",
                "digits": "",
                "outcome": f"fax {data['status'].lower()}, {data['pages']} page(s) to {folder}",
            }
            self.callers.remember(CallContext(profile=CallerProfile(number=number)), entry)
        return CallStatus.SUCCESS
