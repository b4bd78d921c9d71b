"""CampaignStore against a real Redis server: load, order, windows, leases, retries, dnc."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from redis import asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from fastagi.callers import CallerDirectory
from fastagi.callers.segments import SegmentRules
from fastagi.campaigns import (
    CampaignStore,
    DoNotCall,
    Entry,
    NewEntry,
    NotDialling,
    RetryPolicy,
    UnknownCampaign,
    UnknownEntry,
    dial_order,
)
from fastagi.campaigns.keys import CampaignKeys
from fastagi.campaigns.schedule import order_score
from fastagi.storage import open_async_client

Run = Callable[..., Any]
REPO = Path(__file__).resolve().parents[2]
MOSCOW = ZoneInfo("Europe/Moscow")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def number(n: int) -> str:
    return f"+7916{n:07d}"


def rows(*priorities: int, start: int = 0) -> list[NewEntry]:
    """One entry per priority, on lines 2, 3, ... with distinct numbers."""
    return [
        NewEntry(line, number(start + line), priority)
        for line, priority in enumerate(priorities, start=2)
    ]


def store_for(client: aioredis.Redis, prefix: str, **kwargs: Any) -> CampaignStore:
    return CampaignStore(client, prefix, **kwargs)


async def take_all(store: CampaignStore, now: datetime, limit: int) -> list[Entry]:
    taken: list[Entry] = []
    while batch := await store.next_due(now, limit, zone=MOSCOW):
        assert len(batch) <= limit
        taken.extend(batch)
    return taken


def test_load_creates_a_running_campaign_and_a_second_load_adds_nothing(
    with_redis: Run, prefix: str
) -> None:
    async def body(client: aioredis.Redis) -> None:
        store = store_for(client, prefix)
        entries = [
            *rows(5, 0),
            NewEntry(4, number(9), 1, date(2026, 12, 20), "ivr/reminder", "main", {"name": "Иван"}),
        ]
        first = await store.load("spring", entries, file="spring.csv", now=NOW)
        assert (first.added, first.already_loaded, first.created) == (3, 0, True)
        again = await store.load("spring", entries, file="spring.csv", now=NOW)
        assert (again.added, again.already_loaded, again.created) == (0, 3, False)
        more = await store.load("spring", rows(7, start=100), now=NOW)
        assert (more.added, more.already_loaded) == (1, 0)

        status = await store.status("spring")
        assert status.state == "running" and status.total == 4
        assert status.counts == {
            "pending": 4, "dialling": 0, "done": 0, "failed": 0, "expired": 0, "dnc": 0
        }  # fmt: skip
        assert list(status.by_priority) == [7, 5, 1, 0]
        assert status.waiting == 1  # the event's window opens on 18 December
        assert status.created == "2026-12-01T09:00:00Z"

        stored = await store.entries("spring")
        event = stored[2]
        assert (event.number, event.event_date, event.voice, event.menu) == (
            number(9), date(2026, 12, 20), "ivr/reminder", "main"
        )  # fmt: skip
        assert event.fields == {"name": "Иван"}
        assert event.status == "pending" and event.attempts == 0
        keys = CampaignKeys(prefix)
        fields = await client.hgetall(keys.entry(event.id))
        assert fields["window_from"] == "2026-12-18" and fields["window_to"] == "2026-12-22"
        assert int(fields["order"]) == order_score(1, event.id)
        assert await client.zscore(keys.deadlines("spring"), str(event.id)) == 20261222

    with_redis(body)


def test_entries_come_in_priority_order_across_calls_and_campaigns(
    with_redis: Run, prefix: str
) -> None:
    async def body(client: aioredis.Redis) -> None:
        store = store_for(client, prefix)
        first = rows(0, 5, 10, 5, 0, -1, 10)
        second = rows(7, 0, start=100)
        await store.load("first", first, now=NOW)
        await store.load("second", second, now=NOW)
        taken = await take_all(store, NOW, 2)
        got = [(e.campaign, e.line) for e in taken]
        expected = sorted(
            [("first", e) for e in first] + [("second", e) for e in second],
            key=lambda item: (-item[1].priority, item[0] != "first", item[1].line),
        )
        assert got == [(name, e.line) for name, e in expected]
        assert [e.line for e in taken if e.campaign == "first"] == [
            e.line for e in dial_order(first)
        ]
        assert all(e.status == "dialling" and e.attempts == 1 and e.lease for e in taken)
        assert taken[0].lease_until == NOW + timedelta(minutes=10)

    with_redis(body)


def test_event_window_in_the_centres_time_zone(with_redis: Run, prefix: str) -> None:
    today = date(2026, 12, 10)
    now = datetime(2026, 12, 10, 12, 0, tzinfo=MOSCOW)

    def event(line: int, days: int) -> NewEntry:
        return NewEntry(line, number(line), 0, today + timedelta(days=days), "ivr/reminder")

    async def body(client: aioredis.Redis) -> None:
        store = store_for(client, prefix)
        await store.load(
            "events",
            [event(2, 3), event(3, 2), event(4, -2), event(5, -3), NewEntry(6, number(6))],
            now=now,
        )
        taken = await store.next_due(now, 10, zone=MOSCOW)
        # 2 days before and 2 days after are due; 3 days before waits; 3 days after expires.
        assert sorted(e.line for e in taken) == [3, 4, 6]
        by_line = {e.line: e for e in await store.entries("events")}
        assert by_line[2].status == "pending" and by_line[5].status == "expired"
        status = await store.status("events")
        assert status.counts["expired"] == 1 and status.waiting == 1
        assert await store.next_due(now + timedelta(hours=11), 10, zone=MOSCOW) == []

        # 21:30 UTC on the 10th is already the 11th in Moscow: the window opens.
        late = datetime(2026, 12, 10, 21, 30, tzinfo=UTC)
        assert await store.next_due(late, 10, zone=UTC) == []
        (opened,) = await store.next_due(late, 10, zone=MOSCOW)
        assert opened.line == 2 and opened.event_date == date(2026, 12, 13)

    with_redis(body)


def test_an_event_retry_after_the_window_expires(with_redis: Run, prefix: str) -> None:
    async def body(client: aioredis.Redis) -> None:
        policy = RetryPolicy(max_attempts=3, retry_after=timedelta(days=1))
        store = store_for(client, prefix, policy=policy)
        now = datetime(2026, 12, 12, 10, 0, tzinfo=UTC)  # the last day of the window
        await store.load("late", [NewEntry(2, number(2), 0, date(2026, 12, 10))], now=now)
        (entry,) = await store.next_due(now, 1, zone=UTC)
        assert await store.finish(entry.id, "no_answer", now) == "pending"
        assert await store.next_due(now + timedelta(days=1), 1, zone=UTC) == []
        (after,) = await store.entries("late")
        assert after.status == "expired" and after.last_outcome == "no_answer"

    with_redis(body)


def test_a_paused_campaign_yields_nothing_until_resumed(with_redis: Run, prefix: str) -> None:
    async def body(client: aioredis.Redis) -> None:
        store = store_for(client, prefix)
        await store.load("promo", rows(1, 1, 1), now=NOW)
        await store.load("other", rows(0, start=100), now=NOW)
        await store.pause("promo")
        assert (await store.status("promo")).state == "paused"
        (only,) = await store.next_due(NOW, 5, zone=MOSCOW)
        assert only.campaign == "other"
        assert await store.next_due(NOW, 5, zone=MOSCOW) == []
        await store.resume("promo")
        assert (await store.status("promo")).state == "running"
        assert [e.line for e in await store.next_due(NOW, 5, zone=MOSCOW)] == [2, 3, 4]
        with pytest.raises(UnknownCampaign):
            await store.pause("nonesuch")
        with pytest.raises(UnknownCampaign):
            await store.status("nonesuch")

    with_redis(body)


def test_two_dialers_never_take_the_same_entry(redis_server_url: str, prefix: str) -> None:
    async def main() -> None:
        clients = [open_async_client(redis_server_url, timeout=5.0) for _ in range(2)]
        try:
            stores = [store_for(client, prefix) for client in clients]
            await stores[0].load("big", rows(*[i % 7 for i in range(300)]), now=NOW)

            async def dialer(store: CampaignStore) -> list[int]:
                ids: list[int] = []
                while batch := await store.next_due(NOW, 7, zone=MOSCOW):
                    ids.extend(e.id for e in batch)
                    await asyncio.sleep(0)
                return ids

            results = await asyncio.gather(*(dialer(stores[i % 2]) for i in range(6)))
            taken = [entry_id for ids in results for entry_id in ids]
            assert len(taken) == 300 and len(set(taken)) == 300
            assert sum(1 for ids in results if ids) > 1  # the dialers really interleaved
            status = await stores[1].status("big")
            assert status.counts["dialling"] == 300 and status.counts["pending"] == 0
        finally:
            for client in clients:
                await client.aclose()

    asyncio.run(main())


def test_release_stale_gives_leases_of_a_crashed_dialer_back(with_redis: Run, prefix: str) -> None:
    async def body(client: aioredis.Redis) -> None:
        store = store_for(client, prefix, lease=timedelta(minutes=10))
        await store.load("c", rows(5, 0), now=NOW)
        (crashed,) = await store.next_due(NOW, 1, zone=MOSCOW)
        assert await store.release_stale(NOW + timedelta(minutes=9)) == 0
        assert await store.release_stale(NOW + timedelta(minutes=10)) == 1
        assert await store.release_stale(NOW + timedelta(minutes=10)) == 0
        (back,) = [e for e in await store.entries("c") if e.id == crashed.id]
        assert back.status == "pending" and back.attempts == 1
        assert back.last_outcome == "lease_expired" and back.lease == ""
        later = NOW + timedelta(minutes=11)
        (again,) = await store.next_due(later, 1, zone=MOSCOW)
        assert again.id == crashed.id and again.attempts == 2 and again.lease != crashed.lease
        with pytest.raises(NotDialling, match="another dialer"):
            await store.finish(crashed.id, "answered", later, lease=crashed.lease)
        # The second lease runs out too: that was the last attempt.
        assert await store.release_stale(later + timedelta(minutes=10)) == 1
        (gone,) = [e for e in await store.entries("c") if e.id == crashed.id]
        assert gone.status == "failed"
        status = await store.status("c")
        assert status.counts["failed"] == 1 and status.counts["pending"] == 1
        assert status.counts["dialling"] == 0

    with_redis(body)


def test_finish_and_the_retry_policy(with_redis: Run, prefix: str) -> None:
    async def body(client: aioredis.Redis) -> None:
        policy = RetryPolicy(max_attempts=2, retry_after=timedelta(minutes=30))
        store = store_for(client, prefix, policy=policy)
        await store.load("r", rows(1, 1, 0), now=NOW)
        a, b = await store.next_due(NOW, 2, zone=MOSCOW)
        assert await store.finish(a.id, "answered", NOW, lease=a.lease) == "done"
        assert await store.finish(b.id, "busy", NOW) == "pending"
        with pytest.raises(NotDialling, match="it is done"):
            await store.finish(a.id, "answered", NOW)
        with pytest.raises(UnknownEntry):
            await store.finish(999_999_999, "answered", NOW)
        with pytest.raises(ValueError):
            await store.finish(b.id, "maybe", NOW)  # type: ignore[arg-type]

        # b waits 30 minutes for its retry; the lower priority one goes first.
        (c,) = await store.next_due(NOW + timedelta(minutes=29), 5, zone=MOSCOW)
        assert c.line == 4
        (retry,) = await store.next_due(NOW + timedelta(minutes=30), 5, zone=MOSCOW)
        assert retry.id == b.id and retry.attempts == 2 and retry.last_outcome == "busy"
        assert await store.finish(retry.id, "no_answer", NOW) == "failed"
        assert await store.finish(c.id, "failed", NOW) == "pending"

        status = await store.status("r")
        assert status.counts == {
            "pending": 1, "dialling": 0, "done": 1, "failed": 1, "expired": 0, "dnc": 0
        }  # fmt: skip
        assert status.by_priority[1] == {
            "pending": 0, "dialling": 0, "done": 1, "failed": 1, "expired": 0, "dnc": 0
        }  # fmt: skip
        assert status.retry_later == 1 and not status.finished

    with_redis(body)


def test_retry_at_once_when_the_policy_has_no_delay(with_redis: Run, prefix: str) -> None:
    async def body(client: aioredis.Redis) -> None:
        store = store_for(client, prefix, policy=RetryPolicy(3, timedelta(0)))
        await store.load("now", rows(0), now=NOW)
        for attempt in (1, 2, 3):
            (entry,) = await store.next_due(NOW, 1, zone=MOSCOW)
            assert entry.attempts == attempt
            expected = "failed" if attempt == 3 else "pending"
            assert await store.finish(entry.id, "no_answer", NOW) == expected
        assert (await store.status("now")).finished

    with_redis(body)


def _rules(text: str) -> SegmentRules:
    return SegmentRules.parse(text)


def test_blacklisted_callers_are_skipped_as_dnc(with_redis: Run, prefix: str) -> None:
    async def body(client: aioredis.Redis) -> None:
        directory = CallerDirectory(client, prefix=prefix)
        await directory.upsert(number(2), {"tags": "blacklist"})
        await directory.upsert(number(3), {"tags": "vip"})
        rules = SegmentRules.load(REPO / "config" / "segments.yaml")
        store = store_for(client, prefix, dnc=DoNotCall(directory, rules))
        await store.load("d", rows(9, 1, 0), now=NOW)
        # limit 1: the blacklisted first entry is skipped and the next one taken instead.
        (first,) = await store.next_due(NOW, 1, zone=MOSCOW)
        assert first.number == number(3)
        (blocked,) = [e for e in await store.entries("d") if e.number == number(2)]
        assert blocked.status == "dnc" and blocked.last_outcome == "dnc"
        status = await store.status("d")
        assert status.counts["dnc"] == 1 and status.by_priority[9]["dnc"] == 1

        # Blacklisted after loading: found at dial time, whatever the load said.
        await directory.upsert(number(4), {"tags": "blacklist"})
        assert await store.next_due(NOW, 5, zone=MOSCOW) == []
        assert (await store.status("d")).counts["dnc"] == 2

    with_redis(body)


def test_dnc_holds_even_when_an_earlier_rule_would_win(with_redis: Run, prefix: str) -> None:
    rules = _rules(
        "segments:\n"
        "  - {name: vip, when: {has_tag: vip}}\n"
        "  - {name: blacklisted, when: {has_tag: blacklist}}\n"
    )

    async def body(client: aioredis.Redis) -> None:
        directory = CallerDirectory(client, prefix=prefix)
        await directory.upsert(number(2), {"tags": "vip,blacklist"})
        dnc = DoNotCall(directory, rules)
        assert await dnc.blocked([number(2), number(3)], NOW) == {
            number(2): "tag 'blacklist' present"
        }
        without = DoNotCall(directory, _rules("segments:\n  - {name: vip, when: {always: true}}\n"))
        assert await without.blocked([number(2)], NOW) == {}

    with_redis(body)


def test_the_default_dnc_uses_the_built_in_rules(with_redis: Run, prefix: str) -> None:
    async def body(client: aioredis.Redis) -> None:
        await CallerDirectory(client, prefix=prefix).upsert(number(2), {"tags": "blacklist"})
        store = store_for(client, prefix)
        await store.load("d", rows(0, 0), now=NOW)
        assert [e.number for e in await store.next_due(NOW, 5, zone=MOSCOW)] == [number(3)]

    with_redis(body)


class BrokenDirectory(DoNotCall):
    """A do-not-call check whose profile lookups fail, as when Redis drops the connection."""

    async def blocked(self, numbers: Any, now: datetime) -> Any:
        raise RedisConnectionError("lost the connection")


def test_entries_go_back_untouched_when_the_dnc_check_fails(with_redis: Run, prefix: str) -> None:
    async def body(client: aioredis.Redis) -> None:
        directory = CallerDirectory(client, prefix=prefix)
        broken = BrokenDirectory(directory, SegmentRules.load(REPO / "config" / "segments.yaml"))
        store = store_for(client, prefix, dnc=broken)
        await store.load("x", rows(0, 0), now=NOW)
        with pytest.raises(RedisConnectionError):
            await store.next_due(NOW, 5, zone=MOSCOW)
        assert all(e.status == "pending" and e.attempts == 0 for e in await store.entries("x"))
        assert (await store.status("x")).counts["pending"] == 2
        assert await store.release_stale(NOW + timedelta(days=1)) == 0
        assert len(await store_for(client, prefix).next_due(NOW, 5, zone=MOSCOW)) == 2

    with_redis(body)


def test_list_campaigns_oldest_first(with_redis: Run, prefix: str) -> None:
    async def body(client: aioredis.Redis) -> None:
        store = store_for(client, prefix)
        assert await store.list_campaigns() == []
        await store.load("b-second", rows(0), now=NOW + timedelta(hours=1))
        await store.load("a-first", rows(0, 1), now=NOW)
        listed = await store.list_campaigns()
        assert [(s.name, s.total) for s in listed] == [("a-first", 2), ("b-second", 1)]
        with pytest.raises(ValueError):
            await store.load("Bad Name", rows(0))

    with_redis(body)
