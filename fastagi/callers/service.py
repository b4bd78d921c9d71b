"""The caller side of a call: look the caller up, segment them, remember the call.

Used by the server's menu route. Everything here is bounded: the lookup has
the directory's latency budget (Redis down or slow -> a degraded stand-in and
the default menu), and the history write runs in the background so a slow
Redis never holds a caller.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from time import perf_counter

from fastagi.callbacks.lost import CallFacts, callback_reason
from fastagi.callbacks.rules import CallbackRules
from fastagi.callbacks.store import CallbackStore
from fastagi.callers.directory import CallerDirectory
from fastagi.callers.segments import SegmentMatch, SegmentRules
from fastagi.menus.context import BusinessHours, CallContext
from fastagi.personalise import caller_variables

__all__ = ["CallerService"]

log = logging.getLogger(__name__)

#: Seconds a history write may wait for the next lookup's round trip.
HISTORY_LINGER = 0.05
#: Seconds filing a lost call may take before it is given up (and logged).
LOST_CALL_BUDGET = 2.0


class CallerService:
    """Identify -> segment -> CallContext; and the call's history entry afterwards."""

    def __init__(
        self,
        directory: CallerDirectory,
        rules: SegmentRules,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        lost_calls: CallbackStore | None = None,
        callback_rules: CallbackRules | None = None,
    ) -> None:
        self.directory = directory
        self.rules = rules
        #: Where lost calls become callback requests (None: they are not filed).
        self.lost_calls = lost_calls
        self.callback_rules = callback_rules or CallbackRules()
        self.lost_calls_failed = 0
        #: Called with each Redis lookup's seconds and whether it degraded (metrics).
        self.lookup_timer: Callable[[float, bool], None] | None = None
        self._now = now
        self._windows = rules.windows()
        self._filing: set[asyncio.Future[bool]] = set()

    async def identify(
        self,
        callerid: str,
        uniqueid: str,
        *,
        hours: BusinessHours | None = None,
        now: datetime | None = None,
    ) -> tuple[CallContext, SegmentMatch]:
        """The caller's context for the menus, and the segment rule that matched.

        `now` (default: the service's clock) is the moment segments and hours see.
        """
        timer = self.lookup_timer
        started = perf_counter() if timer is not None else 0.0
        profile = await self.directory.lookup(callerid, windows=self._windows, uniqueid=uniqueid)
        if timer is not None and not profile.anonymous:  # anonymous: Redis was not asked
            timer(perf_counter() - started, profile.degraded)
        if now is None:
            now = self._now()
        match = self.rules.classify(profile, now)
        context = CallContext(
            profile=profile,
            segment=match.segment,
            now=now,
            variables=caller_variables(profile, match),
            language=profile.language or None,
            tickets=self.directory,
            callbacks=self.directory,
            hours=hours,
        )
        return context, match

    def remember(
        self, context: CallContext, entry: Mapping[str, str], facts: CallFacts | None = None
    ) -> None:
        """Append the call to the caller's history, in the background (never raises).

        The write waits up to `HISTORY_LINGER` seconds to ride along with the
        next lookup's round trip (at 200 calls/s one comes every 5 ms), so
        a call costs Redis one round trip, not two. With `facts`, a lost call
        becomes a callback request, and a call that reached an agent closes
        the caller's open one (also in the background).
        """
        number = context.profile.number
        if not number or context.profile.degraded:
            return  # nobody to file it under, or Redis is known to be in trouble
        self.directory.write_history(number, entry, linger=HISTORY_LINGER)
        if facts is None or self.lost_calls is None:
            return
        # a caller's own request was filed by the menu's callback action already
        reason = None if facts.requested_callback else callback_reason(facts, self.callback_rules)
        if reason is not None or facts.reached_agent:  # most calls need no Redis work here
            filed = asyncio.ensure_future(self._file_lost_call(self.lost_calls, facts, reason))
            self._filing.add(filed)  # until it is filed (or given up), for `drain`
            filed.add_done_callback(self._filing.discard)

    async def _file_lost_call(
        self, store: CallbackStore, facts: CallFacts, reason: str | None
    ) -> bool:
        try:
            async with asyncio.timeout(LOST_CALL_BUDGET):
                if facts.reached_agent and facts.number:
                    await store.reached_agent(facts.number, facts.at)
                if reason is not None:
                    await store.add_lost_call(facts, reason)
        except Exception as exc:  # Redis trouble: counted and logged, never the caller's
            self.lost_calls_failed += 1
            log.warning("lost call %s not filed for a callback: %s", facts.uniqueid, exc)
            return False
        return True

    async def drain(self) -> None:
        """Wait until the history entries of ended calls are written (at shutdown)."""
        await self.directory.drain_writes()
        if self._filing:
            await asyncio.gather(*self._filing, return_exceptions=True)
