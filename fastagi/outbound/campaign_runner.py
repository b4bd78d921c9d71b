"""The campaign dialer: takes due campaign entries in priority order and calls them.

Each `tick(now)` asks the store for as many entries as there are free lines
(`CallPacer.max_concurrent` minus the calls in progress), so a burst of
high-priority entries is never overtaken by lower ones waiting in memory.
Every call is client first: the client's phone rings, and when they answer
the dialplan plays the entry's voice file and runs its menu
(dialplan/ivr-outbound.conf, [ivr-out-campaign]); the menu's result comes
back in the call's IvrOutbound report. Without a connected manager
interface nothing is taken: entries stay pending.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Mapping
from datetime import datetime, tzinfo

from fastagi.campaigns.model import Entry
from fastagi.campaigns.store import CampaignStore
from fastagi.events import CallEvent, EventSink
from fastagi.outbound.dialer import Dialer, DialResult
from fastagi.outbound.originate import OriginateRequest

__all__ = ["CampaignRunner", "campaign_call"]

log = logging.getLogger("fastagi.outbound")


def _field_variables(fields: Mapping[str, str]) -> dict[str, str]:
    """The file's extra columns as channel variables for the dialplan and menus.

    `appointment` -> `IVR_FIELD_APPOINTMENT`. AMI reads several variables
    from one `Variable:` line split at commas, so a comma in a value becomes
    a space; line breaks never reach AMI (OriginateRequest refuses them).
    """
    variables = {}
    for name, value in fields.items():
        key = "IVR_FIELD_" + re.sub(r"[^A-Z0-9_]", "_", name.upper())[:40]
        variables[key] = value.replace(",", " ")[:200]
    return variables


def campaign_call(
    entry: Entry, *, channel: str, caller_id: str = "", ring_timeout: float = 30.0
) -> OriginateRequest:
    """The Originate of one campaign entry; `channel` is the dial string with `{number}`."""
    variables = {
        "IVR_KIND": "campaign",
        "IVR_ID": f"cp-{entry.id}",
        "IVR_NUMBER": entry.number,
        "IVR_DIAL": channel.replace("{number}", entry.number),
        "IVR_RING_TIMEOUT": str(round(ring_timeout)),
        "IVR_VOICE": entry.voice or "",
        "IVR_MENU": entry.menu or "",
        "IVR_CAMPAIGN": entry.campaign,
        **_field_variables(entry.fields),
    }
    return OriginateRequest(
        channel=f"Local/{entry.number}@ivr-out-client",
        context="ivr-out-campaign",
        exten="s",
        caller_id=caller_id,
        timeout=ring_timeout,
        variables=variables,
    )


class CampaignRunner:
    """Dials the campaigns of one store; see the module docstring."""

    def __init__(
        self,
        store: CampaignStore,
        dialer: Dialer | None,
        *,
        zone: tzinfo,
        channel: str = "PJSIP/{number}@trunk-main",
        caller_id: str = "",
        ring_timeout: float = 30.0,
        clock: Callable[[], datetime],
        events: EventSink | None = None,
    ) -> None:
        self.store = store
        self.dialer = dialer
        self.zone = zone
        self.channel = channel
        self.caller_id = caller_id
        self.ring_timeout = ring_timeout
        self._clock = clock
        self._events = events
        self._calls: set[asyncio.Task[None]] = set()
        #: (entry id, outcome, menu result) of every finished call, in order.
        self.finished: list[tuple[int, str, str]] = []

    @property
    def calls_in_progress(self) -> int:
        return len(self._calls)

    async def tick(self, now: datetime | None = None) -> list[Entry]:
        """Start calls for the entries due at `now`, as many as there are free lines."""
        dialer = self.dialer
        if dialer is None or not dialer.ami.connected:
            return []
        now = now or self._clock()
        await self.store.release_stale(now)
        free = dialer.pacer.max_concurrent - len(self._calls)
        entries = await self.store.next_due(now, free, zone=self.zone) if free > 0 else []
        for entry in entries:
            task = asyncio.ensure_future(self._call(dialer, entry))
            self._calls.add(task)
            task.add_done_callback(self._calls.discard)
        return entries

    async def _call(self, dialer: Dialer, entry: Entry) -> None:
        request = campaign_call(
            entry, channel=self.channel, caller_id=self.caller_id, ring_timeout=self.ring_timeout
        )
        try:
            result: DialResult = await dialer.dial(request, report_id=f"cp-{entry.id}")
        except Exception:  # the lease runs out and the entry comes back: nothing lost
            log.exception("campaign entry %s (%s) could not be placed", entry.id, entry.number)
            return
        menu_result = result.report.get("Result", "")
        self.finished.append((entry.id, result.outcome, menu_result))
        log.info("campaign %s entry %s to %s: %s %s", entry.campaign, entry.id, entry.number,
                 result.outcome, menu_result)  # fmt: skip
        await self.store.finish(entry.id, result.outcome, self._clock(), lease=entry.lease)
        if self._events is not None:
            data = {"campaign": entry.campaign, "entry": str(entry.id), "number": entry.number,
                    "outcome": result.outcome, "result": menu_result}  # fmt: skip
            self._events.emit(CallEvent(f"cp-{entry.id}", "campaign_result", data=data))

    async def drain(self) -> None:
        """Wait for the calls in progress."""
        if self._calls:
            await asyncio.gather(*self._calls, return_exceptions=True)
