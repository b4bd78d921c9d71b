"""Outbound calling inside `ivr serve`: callbacks, campaigns and the broadcast trigger.

    outbound = OutboundService.from_settings(settings, redis_url)
    await outbound.start()
    ...
    await outbound.stop()

Every `interval` seconds the callback scheduler and the campaign runner
tick. The manager interface connects in the background: the server serves
calls whether or not Asterisk's AMI is reachable, lost calls are taken in
and planned meanwhile, and attempts and campaign calls start once it is
logged in (a wrong secret is logged once, loudly, and nothing is dialled).
Without `ami_host` nothing is ever dialled, but requests are still taken in
and listed by `ivr callbacks list`.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from twisted.internet.interfaces import IListeningPort

from fastagi.ami import AmiAuthError, AmiClient
from fastagi.analytics.queue_events import bridge_queue_events
from fastagi.callbacks.mailer import CallbackMailer
from fastagi.callbacks.rules import CallbackRules, load_callback_rules
from fastagi.callbacks.store import CallbackStore
from fastagi.callers import CallerDirectory
from fastagi.callers.segments import SegmentRules
from fastagi.campaigns.dnc import DoNotCall
from fastagi.campaigns.store import CampaignStore
from fastagi.config import ServerSettings, split_address
from fastagi.events import EventSink
from fastagi.hours.loader import load_hours
from fastagi.outbound.broadcast import Broadcaster, load_broadcast_config
from fastagi.outbound.callback_scheduler import CallbackScheduler
from fastagi.outbound.campaign_runner import CampaignRunner
from fastagi.outbound.dialer import Dialer
from fastagi.outbound.pacing import CallPacer
from fastagi.outbound.results import OutboundResults
from fastagi.storage import open_async_client

__all__ = ["OutboundService"]

log = logging.getLogger("fastagi.outbound")


class OutboundService:
    """The outbound side of one server; see the module docstring."""

    def __init__(
        self,
        scheduler: CallbackScheduler,
        campaigns: CampaignRunner,
        ami: AmiClient | None,
        redis: Any,
        *,
        interval: float = 10.0,
        broadcaster: Broadcaster | None = None,
        events: EventSink | None = None,
    ) -> None:
        self.scheduler = scheduler
        self.campaigns = campaigns
        self.ami = ami
        self.broadcaster = broadcaster
        self.events = events
        self.interval = interval
        self._redis = redis
        self._loop_task: asyncio.Task[None] | None = None
        self._login_task: asyncio.Task[None] | None = None
        self.http: IListeningPort | None = None

    @classmethod
    def from_settings(
        cls,
        settings: ServerSettings,
        redis_url: str,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        events: EventSink | None = None,
    ) -> OutboundService | None:
        """The service for `settings` (None without business hours: no time zone to plan in).

        Raises MenuError (file:line) for a bad callbacks.yaml, hours.yaml or broadcast.yaml.
        """
        if not settings.hours_file.is_file():
            log.warning("no %s: callbacks are not scheduled", settings.hours_file)
            return None
        hours = load_hours(settings.hours_file)
        rules = (
            load_callback_rules(settings.callbacks_file, hours=hours)
            if settings.callbacks_file.is_file()
            else CallbackRules()
        )
        segments = SegmentRules.load_or_default(settings.segments_file)
        region = segments.default_region or settings.default_region
        redis = open_async_client(redis_url, timeout=5.0)
        prefix = settings.redis_prefix
        store = CallbackStore.for_rules(redis, rules, hours, prefix=prefix, region=region)
        ami = _ami(settings)
        dial = rules.dial
        pacer = CallPacer(dial.max_concurrent, dial.calls_per_second)
        results = OutboundResults(redis, prefix)  # what the calls record (outbound/result)
        dialer = Dialer(ami, pacer, results=results) if ami is not None else None
        zone = hours.calendar(rules.calendar).zone
        scheduler = CallbackScheduler(
            store, rules, hours, dialer=dialer, consumer=f"ivr-{os.getpid()}",
            mailer=CallbackMailer(store, rules, zone=zone), clock=clock, events=events,
        )  # fmt: skip
        directory = CallerDirectory(redis, prefix=prefix, region=region)
        campaigns = CampaignRunner(
            CampaignStore(redis, prefix, dnc=DoNotCall(directory, segments)),
            dialer, zone=segments.timezone, channel=dial.channel,
            caller_id=rules.caller_id or "", ring_timeout=dial.ring_timeout, clock=clock,
            events=events,
        )  # fmt: skip
        broadcaster = None
        if ami is not None:
            broadcaster = Broadcaster(ami, load_broadcast_config(settings.broadcast_file))
        return cls(scheduler, campaigns, ami, redis, broadcaster=broadcaster, events=events)

    async def start(self) -> None:
        """Start ticking, and logging in to AMI in the background."""
        if self.ami is not None:
            self._login_task = asyncio.ensure_future(self._log_in(self.ami))
            if self.events is not None:  # talk times for AHT, joined to the calls' events
                bridge_queue_events(self.ami, self.events)
        self._loop_task = asyncio.ensure_future(self._run())

    def serve_broadcasts(self, address: str, token: str) -> IListeningPort:
        """Open the alarm systems' HTTP trigger on host:port."""
        from fastagi.outbound.broadcast_http import listen_broadcast_http

        if self.broadcaster is None:
            raise ValueError("broadcasts need the manager interface: set ami_host")
        self.http = listen_broadcast_http(self.broadcaster, token, *split_address(address))
        return self.http

    def status(self) -> dict[str, Any]:
        """For `ivr status`: the AMI connection and the outbound calls in progress."""
        ami = self.ami
        return {
            "ami": "not configured"
            if ami is None
            else {
                "address": f"{ami.username}@{ami.host}:{ami.port}",
                "state": ami.state,
                "logins": ami.logins,
                "last_error": ami.last_error,
            },
            "callbacks_in_progress": self.scheduler.calls_in_progress,
            "campaign_calls_in_progress": self.campaigns.calls_in_progress,
        }

    async def _log_in(self, ami: AmiClient) -> None:
        try:
            await ami.start()
        except AmiAuthError as exc:
            log.error("manager interface refused the login: %s - nothing will be dialled", exc)

    async def _run(self) -> None:
        while True:
            try:
                await self.scheduler.tick()
                await self.campaigns.tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis trouble: logged, tried again next time
                log.exception("outbound tick failed; trying again in %.0f s", self.interval)
            await asyncio.sleep(self.interval)

    async def stop(self) -> None:
        """Stop ticking, let calls in progress end, close AMI and Redis."""
        for task in (self._loop_task, self._login_task):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if self.http is not None:
            await asyncio.gather(asyncio.ensure_future(_stopped(self.http)), return_exceptions=True)
        await self.scheduler.drain()
        await self.campaigns.drain()
        if self.ami is not None:
            await self.ami.close()
        await self._redis.aclose()


async def _stopped(port: IListeningPort) -> None:
    from twisted.internet.defer import maybeDeferred

    await maybeDeferred(port.stopListening).asFuture(asyncio.get_running_loop())


def _ami(settings: ServerSettings) -> AmiClient | None:
    if settings.ami_host is None:
        return None
    if not settings.ami_secret:
        log.error("ami_host is set but no ami_secret (or IVR_AMI_SECRET): nothing will be dialled")
        return None
    return AmiClient(
        settings.ami_host, settings.ami_port, settings.ami_username, settings.ami_secret,
        auth=settings.ami_auth,
    )  # fmt: skip
