"""The intake on a real Redis: lost calls become requests once, whatever crashes or races.

The default calendar is Moscow's `office`; the test clock starts on Monday
2 March 2026, 10:00 Moscow time.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from callbacks_helpers import Env

from fastagi.callbacks import CallbackRules, CallbackStore, CallFacts
from fastagi.callers import CallerDirectory

MSK = ZoneInfo("Europe/Moscow")
NUMBER = "+79161234567"


def msk(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=MSK)


def lost(
    number: str = NUMBER, at: datetime | None = None, uniqueid: str = "1.1", **kw: Any
) -> CallFacts:
    kw.setdefault("outcome", "caller_hangup")
    return CallFacts(number=number, at=at or msk(2, 10), uniqueid=uniqueid, **kw)


async def pending(env: Env, store: CallbackStore) -> int:
    summary = await store.redis.xpending(store.keys.intake(), store.group)
    return int(summary["pending"])


def test_a_lost_call_becomes_a_request(run: Any) -> None:
    async def body(env: Env) -> None:
        store = env.store()
        entry = await store.add_lost_call(lost(queue_outcome="abandoned", queue="support"))
        assert entry is not None
        [request] = await store.intake("worker-1")
        assert request.number == NUMBER and request.is_open
        assert request.reasons == ("queue_abandon",) and request.queue == "support"
        assert request.first_call == msk(2, 10) and request.calls == 1
        assert request.uniqueids == ("1.1",)
        assert await store.open_request("8 916 123-45-67") == request
        assert await store.intake("worker-1") == []  # nothing left
        assert await pending(env, store) == 0

    run(body)


def test_withheld_numbers_and_calls_that_are_not_lost_are_not_filed(run: Any) -> None:
    async def body(env: Env) -> None:
        store = env.store()
        assert await store.add_lost_call(lost(number="anonymous")) is None
        assert await store.add_lost_call(lost(number=None)) is None  # type: ignore[arg-type]
        assert await store.add_lost_call(lost(reached_agent=True)) is None
        assert await store.add_lost_call(lost(outcome="return")) is None
        assert await store.intake("worker-1") == []

    run(body)


def test_a_second_lost_call_is_merged_into_the_open_request(run: Any) -> None:
    async def body(env: Env) -> None:
        store = env.store()
        await store.add_lost_call(lost(at=msk(2, 10), uniqueid="1.1"))
        [first] = await store.intake("worker-1")
        await store.add_lost_call(
            lost(at=msk(2, 10, 20), uniqueid="1.2", queue_outcome="timeout", queue="sales")
        )
        await store.add_lost_call(lost(at=msk(2, 10, 20), uniqueid="1.2"))  # filed twice
        [merged] = await store.intake("worker-1")
        assert merged.id == first.id
        assert merged.calls == 2
        assert merged.reasons == ("ivr_hangup", "queue_timeout")
        assert merged.first_call == msk(2, 10) and merged.last_call == msk(2, 10, 20)
        assert merged.queue == "sales"
        assert merged.uniqueids == ("1.1", "1.2")
        assert len(await store.list_requests()) == 1
        assert store.intake_counts == {"created": 1, "merged": 1, "repeat": 1}

    run(body)


def test_a_lost_call_after_the_request_closed_opens_a_new_one(run: Any) -> None:
    async def body(env: Env) -> None:
        store = env.store()
        await store.add_lost_call(lost(uniqueid="1.1"))
        [first] = await store.intake("worker-1")
        assert await store.cancel(first.id)
        await store.add_lost_call(lost(at=msk(2, 11), uniqueid="1.2"))
        [second] = await store.intake("worker-1")
        assert second.id != first.id and second.is_open and second.calls == 1

    run(body)


def test_requests_from_the_menu_stream_are_taken_in(run: Any) -> None:
    """Entries the `callback` menu action wrote before the scheduler existed are worked too."""

    async def body(env: Env) -> None:
        client = env.client()
        directory = CallerDirectory(client, prefix=env.prefix, clock=env.clock)
        await directory.request_callback(
            "8 916 765-43-21", "sales", uniqueid="9.9", reason="requested"
        )
        store = env.store(client)
        [request] = await store.intake("worker-1")
        assert request.number == "+79167654321"
        assert request.reasons == ("requested",) and request.queue == "sales"
        assert request.first_call.timestamp() == env.clock.now
        # The directory's own listing still shows it.
        assert len(await directory.callback_requests()) == 1

    run(body)


def test_reasons_the_rules_leave_out_are_dropped(run: Any) -> None:
    async def body(env: Env) -> None:
        store = env.store(rules=CallbackRules(lost_calls=("queue_abandon",)))
        await store.add_lost_call(lost(uniqueid="1.1"), "ivr_hangup")
        await store.add_lost_call(lost(number="+79160000001", uniqueid="1.2"), "queue_abandon")
        requests = await store.intake("worker-1")
        assert [r.number for r in requests] == ["+79160000001"]
        assert store.intake_counts["skipped"] == 1
        assert await pending(env, store) == 0  # dropped entries are acknowledged too

    run(body)


def test_two_consumers_racing_work_each_entry_once(run: Any) -> None:
    async def body(env: Env) -> None:
        writer = env.store()
        numbers = [f"+7916000{n:04d}" for n in range(60)]
        for n, number in enumerate(numbers):
            await writer.add_lost_call(lost(number=number, uniqueid=f"1.{n}"))
        stores = [env.store() for _ in range(3)]
        # claim_idle_ms=0: every consumer also steals what the others just read,
        # so the same entries are in several hands at once.
        for _ in range(6):
            await asyncio.gather(
                *(
                    store.intake(f"worker-{i}", count=15, claim_idle_ms=0)
                    for i, store in enumerate(stores)
                )
            )
        requests = await writer.list_requests()
        assert sorted(r.number for r in requests) == numbers
        assert all(r.calls == 1 for r in requests)
        created = sum(store.intake_counts["created"] for store in stores)
        assert created == len(numbers)
        assert await pending(env, writer) == 0

    run(body)


class _Stalling(CallbackStore):
    """A consumer that stops between reading its entries and working them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.read = asyncio.Event()
        self.resume = asyncio.Event()

    async def _intake_one(self, *args: Any) -> None:
        self.read.set()
        await self.resume.wait()
        await super()._intake_one(*args)


def test_an_entry_held_by_two_consumers_is_worked_by_the_first_only(run: Any) -> None:
    async def body(env: Env) -> None:
        writer = env.store()
        await writer.add_lost_call(lost())
        slow = _Stalling(env.client(), env.prefix, zone=MSK, clock=env.clock)
        slow_intake = asyncio.create_task(slow.intake("slow", claim_idle_ms=60_000))
        await slow.read.wait()  # it holds the entry, not yet worked
        fast = env.store()
        [request] = await fast.intake("fast", claim_idle_ms=0)  # steals and works it
        slow.resume.set()
        assert await slow_intake == []
        assert slow.intake_counts == {"done": 1}
        assert (await writer.get(request.id)).calls == 1  # type: ignore[union-attr]

    run(body)


def test_entries_of_a_dead_consumer_are_claimed_after_claim_idle_ms(run: Any) -> None:
    async def body(env: Env) -> None:
        store = env.store()
        await store.ensure_group()
        await store.add_lost_call(lost(uniqueid="1.1"))
        await store.add_lost_call(lost(number="+79160000002", uniqueid="1.2"))
        # "dead" reads both and never acknowledges them.
        stream = store.keys.intake()
        got: Any = await store.redis.xreadgroup(store.group, "dead", {stream: ">"}, count=10)
        assert len(got[0][1]) == 2
        other = env.store()
        assert await other.intake("alive", claim_idle_ms=60_000) == []  # not idle long enough
        await asyncio.sleep(0.06)
        requests = await other.intake("alive", claim_idle_ms=50)
        assert sorted(r.number for r in requests) == ["+79160000002", NUMBER]
        assert await pending(env, store) == 0

    run(body)


def test_a_restarted_consumer_works_what_it_read_before(run: Any) -> None:
    async def body(env: Env) -> None:
        store = env.store()
        await store.ensure_group()
        await store.add_lost_call(lost())
        stream = store.keys.intake()
        await store.redis.xreadgroup(store.group, "worker-1", {stream: ">"}, count=10)
        restarted = env.store()  # same consumer name, new process
        [request] = await restarted.intake("worker-1", claim_idle_ms=60_000)
        assert request.number == NUMBER
        assert await pending(env, store) == 0

    run(body)


def test_reaching_an_agent_later_the_same_day_closes_the_request(run: Any) -> None:
    async def body(env: Env) -> None:
        store = env.store()
        await store.add_lost_call(lost(at=msk(2, 10)))
        [request] = await store.intake("worker-1")
        assert await store.reached_agent(NUMBER, msk(2, 9)) is None  # earlier that day
        closed_id = await store.reached_agent("8 916 123-45-67", msk(2, 10, 30))
        assert closed_id == request.id
        closed = await store.get(request.id)
        assert closed is not None and closed.status == "closed"
        assert closed.closed_reason == "reached"
        assert await store.open_request(NUMBER) is None
        assert await store.due(msk(3, 12)) == []
        ttl = await store.redis.ttl(store.keys.request(request.id))
        assert 0 < ttl <= 90 * 86400  # closed requests expire

    run(body)


def test_reaching_an_agent_the_next_day_leaves_the_request_open(run: Any) -> None:
    async def body(env: Env) -> None:
        store = env.store()
        await store.add_lost_call(lost(at=msk(2, 17, 50)))
        [request] = await store.intake("worker-1")
        assert await store.reached_agent(NUMBER, msk(3, 9, 30)) is None
        assert (await store.get(request.id)).is_open  # type: ignore[union-attr]

    run(body)


def test_the_day_is_the_calendar_day_not_the_utc_day(run: Any) -> None:
    async def body(env: Env) -> None:
        store = env.store()
        # 01:00 Moscow on Tuesday is 22:00 UTC on Monday.
        await store.add_lost_call(lost(at=msk(3, 1)))
        [request] = await store.intake("worker-1")
        assert await store.reached_agent(NUMBER, msk(2, 23, 30)) is None  # Monday in Moscow
        assert await store.reached_agent(NUMBER, msk(3, 9)) == request.id

    run(body)


def test_a_lost_call_still_in_the_intake_when_the_caller_got_through_is_dropped(
    run: Any,
) -> None:
    async def body(env: Env) -> None:
        store = env.store()
        await store.add_lost_call(lost(at=msk(2, 10)))
        assert await store.reached_agent(NUMBER, msk(2, 10, 30)) is None  # nothing open yet
        assert await store.intake("worker-1") == []
        assert store.intake_counts == {"reached": 1}
        # A lost call after getting through still counts.
        await store.add_lost_call(lost(at=msk(2, 11), uniqueid="1.2"))
        assert len(await store.intake("worker-1")) == 1

    run(body)


def test_withheld_numbers_never_reach_redis(run: Any) -> None:
    async def body(env: Env) -> None:
        store = env.store()
        assert await store.reached_agent("anonymous", msk(2, 10)) is None
        keys = [k async for k in store.redis.scan_iter(match=f"{env.prefix}*")]
        assert keys == []

    run(body)


def test_the_profile_gives_the_contact_details(run: Any) -> None:
    async def body(env: Env) -> None:
        client = env.client()
        directory = CallerDirectory(client, prefix=env.prefix)
        await directory.upsert(
            NUMBER, {"email": "Ivan@Example.com", "language": "ru", "first_name": "Иван"}
        )
        store = env.store(client)
        await store.add_lost_call(lost())
        [request] = await store.intake("worker-1")
        assert (request.email, request.language, request.first_name) == (
            "Ivan@example.com",
            "ru",
            "Иван",
        )
        await directory.upsert(NUMBER, {"email": ""})  # read afresh on every load
        assert (await store.get(request.id)).email is None  # type: ignore[union-attr]

    run(body)


def test_first_intake_creates_the_group_from_the_start_of_the_stream(run: Any) -> None:
    async def body(env: Env) -> None:
        store = env.store()
        await store.add_lost_call(lost())  # before any group exists
        assert len(await store.intake("worker-1")) == 1
        await store.ensure_group()  # again: nothing happens
        assert await env.store().intake("worker-2") == []

    run(body)


def test_an_entry_that_fails_stays_pending_and_does_not_hold_up_the_others(run: Any) -> None:
    async def body(env: Env) -> None:
        store = env.store()
        damaged = "+79160000009"
        await store.redis.hset(store.keys.reached(damaged), "not", "a string")  # wrong type
        await store.add_lost_call(lost(number=damaged, uniqueid="1.1"))
        await store.add_lost_call(lost(uniqueid="1.2"))
        requests = await store.intake("worker-1")
        assert [r.number for r in requests] == [NUMBER]
        assert store.intake_counts["error"] == 1, store.intake_counts
        assert await pending(env, store) == 1
        await store.redis.delete(store.keys.reached(damaged))  # repaired
        [late] = await store.intake("worker-1")
        assert late.number == damaged
        assert await pending(env, store) == 0

    run(body)


def test_intake_can_wait_for_new_entries(run: Any) -> None:
    async def body(env: Env) -> None:
        store, writer = env.store(), env.store()
        assert await store.intake("worker-1", block_ms=50) == []

        async def later() -> None:
            await asyncio.sleep(0.05)
            await writer.add_lost_call(lost())

        adding = asyncio.create_task(later())
        requests = await store.intake("worker-1", block_ms=2000)
        await adding
        assert [r.number for r in requests] == [NUMBER]

    run(body)
