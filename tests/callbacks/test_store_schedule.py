"""The schedule on a real Redis: due requests, leases, attempts, the admin's retry and cancel."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from callbacks_helpers import Env

from fastagi.callbacks import (
    Attempt,
    CallbackRequest,
    CallbackRules,
    CallbackStore,
    CallFacts,
    RequestConflict,
    RequestNotFound,
    plan,
)
from fastagi.callers import CallerDirectory

MSK = ZoneInfo("Europe/Moscow")
NUMBER = "+79161234567"


def msk(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=MSK)


async def new_request(
    store: CallbackStore, number: str = NUMBER, uniqueid: str = "1.1"
) -> CallbackRequest:
    facts = CallFacts(number=number, outcome="caller_hangup", at=msk(2, 10), uniqueid=uniqueid)
    await store.add_lost_call(facts)
    [request] = await store.intake("worker-1")
    return request


def test_a_new_request_is_due_at_once_and_the_planner_says_when(run: Any) -> None:
    async def body(env: Env) -> None:
        store = env.store()
        request = await new_request(store)
        assert [r.id for r in await store.due(msk(2, 10, 1))] == [request.id]
        step = plan(request, CallbackRules(), env.hours, msk(2, 10, 1))
        assert isinstance(step, Attempt) and step.at == msk(2, 10, 5)
        assert await store.schedule(request.id, step.at)
        assert await store.due(msk(2, 10, 4)) == []
        [due] = await store.due(msk(2, 10, 5))
        assert due.next_at == msk(2, 10, 5)

    run(body)


def test_a_lease_lets_one_scheduler_dial(run: Any) -> None:
    async def body(env: Env) -> None:
        first, second = env.store(), env.store()
        request = await new_request(first)
        now = msk(2, 10, 5)
        lease = now + timedelta(minutes=2)
        taken = await asyncio.gather(
            *(s.claim(request.id, lease, now=now) for s in (first, second, first, second))
        )
        assert sorted(taken) == [False, False, False, True]
        assert await first.due(now) == []  # leased: not due
        leased = await first.get(request.id)
        assert leased is not None and leased.lease_until == lease
        # The worker died: when the lease ends the request is due again.
        assert [r.id for r in await second.due(lease)] == [request.id]
        assert await second.claim(request.id, lease + timedelta(minutes=2), now=lease)

    run(body)


def test_a_request_that_is_not_due_cannot_be_claimed(run: Any) -> None:
    async def body(env: Env) -> None:
        store = env.store()
        request = await new_request(store)
        await store.schedule(request.id, msk(3, 9))
        assert not await store.claim(request.id, msk(2, 11), now=msk(2, 10, 30))
        await store.close(request.id, "gave_up")
        assert not await store.claim(request.id, msk(3, 10), now=msk(3, 9, 30))

    run(body)


def test_attempts_are_recorded_on_the_request_and_in_the_history(run: Any) -> None:
    async def body(env: Env) -> None:
        client = env.client()
        store = env.store(client)
        request = await new_request(store)
        await store.claim(request.id, msk(2, 10, 7), now=msk(2, 10, 5))
        n = await store.record_attempt(
            request.id, "no_answer", msk(2, 10, 5), msk(3, 9, 3), uniqueid="out.1"
        )
        assert n == 1
        # The dialer retried its write: nothing changes.
        again = await store.record_attempt(request.id, "no_answer", msk(2, 10, 5), uniqueid="out.1")
        assert again == 1
        after = await store.get(request.id)
        assert after is not None and after.is_open
        assert [(a.at, a.outcome, a.uniqueid) for a in after.attempts] == [
            (msk(2, 10, 5), "no_answer", "out.1")
        ]
        assert after.lease_until is None and after.next_at == msk(3, 9, 3)
        assert await store.due(msk(3, 9, 2)) == []
        directory = CallerDirectory(client, prefix=env.prefix)
        [entry] = await directory.history(NUMBER)
        assert entry["outcome"] == "callback_no_answer"
        assert entry["callback"] == str(request.id) and entry["attempt"] == "1"
        assert entry["when"] == "2026-03-02T07:05:00Z" and entry["uniqueid"] == "out.1"

    run(body)


def test_an_answered_callback_closes_the_request(run: Any) -> None:
    async def body(env: Env) -> None:
        store = env.store()
        request = await new_request(store)
        await store.record_attempt(request.id, "busy", msk(2, 10, 5))
        assert await store.record_attempt(request.id, "answered", msk(3, 9, 5)) == 2
        closed = await store.get(request.id)
        assert closed is not None and closed.status == "closed"
        assert closed.closed_reason == "answered" and closed.answered
        assert await store.due(msk(9, 9)) == []
        assert await store.open_request(NUMBER) is None

    run(body)


def test_bad_ids_and_outcomes_are_refused(run: Any) -> None:
    async def body(env: Env) -> None:
        store = env.store()
        with pytest.raises(RequestNotFound):
            await store.record_attempt(99, "busy", msk(2, 10))
        with pytest.raises(RequestNotFound):
            await store.close(99, "cancelled")
        with pytest.raises(ValueError, match="not a callback request id"):
            await store.get("1; DEL *")
        request = await new_request(store)
        with pytest.raises(ValueError, match="unknown attempt outcome"):
            await store.record_attempt(request.id, "maybe", msk(2, 10))  # type: ignore[arg-type]
        assert await store.get(12345) is None

    run(body)


def test_cancel_and_list(run: Any) -> None:
    async def body(env: Env) -> None:
        store = env.store()
        one = await new_request(store, NUMBER, "1.1")
        two = await new_request(store, "+79160000002", "1.2")
        assert await store.cancel(one.id)
        assert not await store.cancel(one.id)  # already closed
        assert [r.id for r in await store.list_requests("open")] == [two.id]
        assert [r.id for r in await store.list_requests("closed")] == [one.id]
        assert {r.id for r in await store.list_requests()} == {one.id, two.id}
        cancelled = await store.get(one.id)
        assert cancelled is not None and cancelled.closed_reason == "cancelled"

    run(body)


def test_retry_reopens_with_one_more_attempt(run: Any) -> None:
    async def body(env: Env) -> None:
        store = env.store()
        request = await new_request(store)
        for day, outcome in ((2, "busy"), (3, "busy"), (4, "no_answer")):
            await store.record_attempt(request.id, outcome, msk(day, 10))  # type: ignore[arg-type]
        await store.close(request.id, "gave_up")
        retried = await store.retry(request.id, msk(5, 12))
        assert retried.is_open and retried.granted_attempts == 4
        assert retried.closed_reason is None and retried.next_at == msk(5, 12)
        assert (await store.open_request(NUMBER)) == retried
        assert await store.redis.ttl(store.keys.request(request.id)) == -1  # kept again
        with pytest.raises(RequestNotFound):
            await store.retry(404)

    run(body)


def test_retry_refuses_when_the_number_has_another_open_request(run: Any) -> None:
    async def body(env: Env) -> None:
        store = env.store()
        old = await new_request(store, NUMBER, "1.1")
        await store.cancel(old.id)
        await new_request(store, NUMBER, "1.2")
        with pytest.raises(RequestConflict):
            await store.retry(old.id)

    run(body)


def test_the_letter_state_moves_once(run: Any) -> None:
    async def body(env: Env) -> None:
        store, other = env.store(), env.store()
        request = await new_request(store)
        won = await asyncio.gather(
            store.mark_email(request.id, "sending"), other.mark_email(request.id, "sending")
        )
        assert sorted(won) == [False, True]
        assert not await store.mark_email(request.id, "sending")
        assert await store.mark_email(request.id, "pending", retry_at=msk(2, 11))
        assert await store.mark_email(request.id, "sending")
        assert await store.mark_email(request.id, "sent")
        sent = await store.get(request.id)
        assert sent is not None and sent.closed_reason == "emailed"
        assert (sent.email_state, sent.email_tries) == ("sent", 2)
        for state in ("sending", "pending", "failed"):
            assert not await store.mark_email(request.id, state)
        assert (await store.get(request.id)).email_state == "sent"  # type: ignore[union-attr]

    run(body)


def test_closing_while_a_letter_is_in_flight_leaves_it_unknown(run: Any) -> None:
    async def body(env: Env) -> None:
        store = env.store()
        request = await new_request(store)
        await store.mark_email(request.id, "sending")
        await store.close(request.id, "gave_up")
        closed = await store.get(request.id)
        assert closed is not None and closed.email_state == "unknown"
        assert await store.mark_email(request.id, "sent")  # the late confirmation still counts
        assert (await store.get(request.id)).email_state == "sent"  # type: ignore[union-attr]

    run(body)


def test_a_damaged_history_does_not_lose_the_outcome(run: Any) -> None:
    async def body(env: Env) -> None:
        store = env.store()
        request = await new_request(store)
        await store.redis.set(store.keys.callers.history(NUMBER), "not a stream")
        assert await store.record_attempt(request.id, "busy", msk(2, 10, 5)) == 1
        after = await store.get(request.id)
        assert after is not None and [a.outcome for a in after.attempts] == ["busy"]

    run(body)
