"""Tickets keep the caller's open_tickets / latest_ticket in step, also under concurrency."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from callers_helpers import Clock

from fastagi.callers import CallerDirectory, TicketConflict, TicketNotFound

Run = Callable[..., Any]
NUMBER = "+79161234567"


async def _profile_counters(d: CallerDirectory, number: str = NUMBER) -> tuple[str, str]:
    fields = await d.redis.hgetall(d.keys.caller(number))
    return str(fields.get("open_tickets", "")), str(fields.get("latest_ticket", ""))


def test_open_update_close(with_directory: Run) -> None:
    clock = Clock()

    async def body(d: CallerDirectory) -> None:
        first = await d.open_ticket("8 916 123-45-67", "Order 1042 has not arrived", agent="201")
        assert first.caller == NUMBER and first.status == "open" and first.agent == "201"
        assert first.created == first.updated
        assert await _profile_counters(d) == ("1", str(first.id))
        clock.advance(60)
        second = await d.open_ticket(NUMBER, "Wrong invoice")
        assert second.id > first.id
        assert await _profile_counters(d) == ("2", str(second.id))

        clock.advance(60)
        # Updating the older ticket makes it the latest one.
        moved = await d.update_ticket(first.id, status="in_progress", note="called the courier")
        assert moved.status == "in_progress" and moved.note == "called the courier"
        assert moved.updated > first.updated and moved.created == first.created
        assert await _profile_counters(d) == ("2", str(first.id))
        latest = await d.latest_open_ticket(NUMBER)
        assert latest == moved

        clock.advance(60)
        await d.update_ticket(str(first.id), status="closed")
        assert await _profile_counters(d) == ("1", str(second.id))
        profile = await d.identify(NUMBER)
        assert profile.open_tickets == 1 and profile.latest_ticket == str(second.id)

        clock.advance(60)
        await d.update_ticket(second.id, status="waiting", agent="305")
        await d.update_ticket(second.id, status="closed")
        assert await _profile_counters(d) == ("0", "")
        assert await d.latest_open_ticket(NUMBER) is None
        profile = await d.identify(NUMBER)
        assert profile.open_tickets == 0 and profile.latest_ticket == ""

        clock.advance(60)
        reopened = await d.update_ticket(first.id, status="open")
        assert await _profile_counters(d) == ("1", str(first.id))

        everything = await d.tickets(NUMBER)
        assert [t.id for t in everything] == [first.id, second.id]
        assert [t.id for t in await d.tickets(NUMBER, open_only=True)] == [reopened.id]
        assert [t.id for t in await d.tickets(NUMBER, limit=1)] == [first.id]
        assert await d.ticket(second.id) == everything[1]
        assert await d.ticket(999_999) is None

    with_directory(body, clock=clock)


def test_bad_ticket_input_is_refused(with_directory: Run) -> None:
    async def body(d: CallerDirectory) -> None:
        with pytest.raises(TicketNotFound):
            await d.update_ticket(12345, status="closed")
        ticket = await d.open_ticket(NUMBER, "Refund")
        with pytest.raises(ValueError, match="status"):
            await d.update_ticket(ticket.id, status="done")
        with pytest.raises(ValueError, match="agent"):
            await d.update_ticket(ticket.id, agent="201&Dial(SIP/x)")
        with pytest.raises(ValueError, match="subject"):
            await d.open_ticket(NUMBER, "   ")
        with pytest.raises(ValueError, match="line break"):
            await d.open_ticket(NUMBER, "two\nlines")
        with pytest.raises(ValueError, match="ticket id"):
            await d.update_ticket("1*", status="closed")
        assert await _profile_counters(d) == ("1", str(ticket.id))

    with_directory(body)


def test_concurrent_ticket_writes_keep_the_counters_right(with_directory: Run) -> None:
    async def body(d: CallerDirectory) -> None:
        opened = await asyncio.gather(*(d.open_ticket(NUMBER, f"Issue {n}") for n in range(12)))
        assert await _profile_counters(d) == ("12", await _latest_open_id(d))
        await asyncio.gather(
            *(d.update_ticket(t.id, status="closed") for t in opened[::2]),
            *(d.update_ticket(t.id, status="waiting") for t in opened[1::4]),
            d.open_ticket(NUMBER, "Late issue"),
        )
        open_now = await d.tickets(NUMBER, open_only=True, limit=100)
        assert len(open_now) == 7
        assert await _profile_counters(d) == ("7", await _latest_open_id(d))

    with_directory(body)


async def _latest_open_id(d: CallerDirectory) -> str:
    found = await d.tickets(NUMBER, open_only=True, limit=1)
    return str(found[0].id)


def test_a_ticket_is_never_overwritten(with_directory: Run) -> None:
    async def body(d: CallerDirectory) -> None:
        first = await d.open_ticket(NUMBER, "Refund")
        await d.redis.delete(d.keys.ticket_seq())  # e.g. lost in a partial restore
        with pytest.raises(TicketConflict, match="already exists"):
            await d.open_ticket(NUMBER, "Another")
        assert await d.ticket(first.id) == first

    with_directory(body)
