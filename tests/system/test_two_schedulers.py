"""Two servers sharing one Redis: every callback and campaign call is placed exactly once.

Each server runs its own callback scheduler and campaign runner against the
same keys and the same Asterisk (the AMI peer). They tick at the same
moments; the consumer group, the request leases and the campaign leases
must leave each number called once.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

from fastagi.ami import AmiClient
from fastagi.callbacks import CallbackStore
from fastagi.callbacks.lost import CallFacts
from fastagi.callbacks.rules import load_callback_rules
from fastagi.campaigns.parse import parse_campaign
from fastagi.campaigns.store import CampaignStore
from fastagi.hours.loader import load_hours
from fastagi.outbound.callback_scheduler import CallbackScheduler
from fastagi.outbound.campaign_runner import CampaignRunner
from fastagi.outbound.dialer import Dialer
from fastagi.outbound.pacing import CallPacer
from fastagi.server.reactor import run_on_reactor_loop
from fastagi.storage import forget_prefix, open_async_client
from fastagi.testing import AmiPeer

REPO = Path(__file__).resolve().parents[2]
MOSCOW = ZoneInfo("Europe/Moscow")
NOON = datetime(2026, 11, 25, 12, 0, tzinfo=MOSCOW)

pytestmark = pytest.mark.system


def test_two_servers_place_each_callback_and_campaign_call_once(redis_server_url: str) -> None:
    prefix = f"t{uuid4().hex[:8]}:"
    hours = load_hours(REPO / "config" / "hours.yaml")
    shipped = load_callback_rules(REPO / "config" / "callbacks.yaml", hours=hours)
    rules = shipped.model_copy(
        update={"dial": shipped.dial.model_copy(update={"connect": "client_first"})}
    )
    lost = [f"+7916555{n:04d}" for n in range(12)]
    campaign = [f"+7916777{n:04d}" for n in range(12)]

    async def scenario() -> AmiPeer:
        peer = AmiPeer(time_scale=0.001)
        for number in lost + campaign:
            peer.script(number, "answer", ring=2.0, talk=30.0)
        host, port = await peer.start()
        servers = []
        clients = []
        for name in ("server-a", "server-b"):
            redis = open_async_client(redis_server_url, timeout=5.0)
            ami = AmiClient(host, port, "ivr", "s3cret", ping_interval=0)
            await ami.start(timeout=5)
            clients.append((redis, ami))
            dialer = Dialer(ami, CallPacer(4, 100.0), answer_grace=5)
            store = CallbackStore.for_rules(redis, rules, hours, prefix=prefix)
            scheduler = CallbackScheduler(
                store, rules, hours, dialer=dialer, mailer=None, consumer=name,
                clock=lambda: moment,
            )  # fmt: skip
            runner = CampaignRunner(
                CampaignStore(redis, prefix), dialer, zone=MOSCOW, clock=lambda: moment
            )
            servers.append((scheduler, runner))
        # the lost calls both servers saw filed, and one campaign, in the shared Redis
        filer = servers[0][0].store
        for number in lost:
            await filer.add_lost_call(
                CallFacts(number, "caller_hangup", NOON, uniqueid=number, queue_outcome="abandoned")
            )
        rows = "number,priority\n" + "".join(f"{n},{i % 3}\n" for i, n in enumerate(campaign))
        parsed = parse_campaign(rows.splitlines(keepends=True))
        await servers[0][1].store.load("reminders", parsed.entries, now=NOON)
        moment = NOON
        try:
            while moment < NOON + timedelta(hours=2):
                await asyncio.gather(
                    *(scheduler.tick(moment) for scheduler, _ in servers),
                    *(runner.tick(moment) for _, runner in servers),
                )
                await asyncio.gather(
                    *(scheduler.drain() for scheduler, _ in servers),
                    *(runner.drain() for _, runner in servers),
                )
                moment += timedelta(minutes=1)
        finally:
            for _, ami in clients:
                await ami.close()
            await forget_prefix(clients[0][0], prefix)
            for redis, _ in clients:
                await redis.aclose()
            await peer.stop()
        return peer

    peer = run_on_reactor_loop(scenario())
    dialled = Counter(
        originate.get("Channel").split("/")[1].split("@")[0]
        for originate in peer.actions_named("Originate")
    )
    assert dialled == Counter({number: 1 for number in lost + campaign})
