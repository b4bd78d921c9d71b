"""Tickets (a caller's requests) on Redis, and the profile fields that mirror them.

A ticket is a hash `ticket:<id>`; the caller's `caller:<e164>:tickets` sorted
set orders their tickets by last update. The caller's profile keeps
`open_tickets` (how many are not closed) and `latest_ticket` (the most
recently updated open one) so that identifying a caller stays one round trip.
Every write recomputes both from the caller's tickets and commits the ticket
and the profile together in one MULTI/EXEC, guarded by WATCH on every key it
read: a concurrent change to any of them makes the write start over.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from redis import asyncio as aioredis
from redis.exceptions import WatchError

from fastagi.callers._util import as_fields, as_text, iso_utc, redis_mapping
from fastagi.callers.fields import clean_text
from fastagi.callers.keys import Keys, check_ticket_id
from fastagi.callers.phone import is_e164
from fastagi.callers.profile import OPEN_TICKET_STATUSES, TICKET_STATUSES

__all__ = [
    "MAX_SUBJECT_LENGTH",
    "Ticket",
    "TicketConflict",
    "TicketNotFound",
    "changed_ticket",
    "check_agent",
    "check_status",
    "check_subject",
    "new_ticket",
    "read_tickets",
    "save_ticket",
    "ticket_ids",
]

MAX_SUBJECT_LENGTH = 200
_ATTEMPTS = 20
_AGENT = re.compile(r"\+?[A-Za-z0-9_.-]{1,40}")


class TicketNotFound(LookupError):
    """No ticket has this id."""


class TicketConflict(RuntimeError):
    """The caller's tickets kept changing under a write; it gave up after many tries."""


@dataclass(frozen=True, slots=True)
class Ticket:
    """One request of a caller. Times are ISO 8601 UTC; `agent` is an extension or ""."""

    id: int
    caller: str
    status: str
    subject: str
    agent: str = ""
    created: str = ""
    updated: str = ""
    note: str = ""

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_TICKET_STATUSES

    def to_hash(self) -> dict[str, str]:
        return {
            "id": str(self.id),
            "caller": self.caller,
            "status": self.status,
            "subject": self.subject,
            "agent": self.agent,
            "created": self.created,
            "updated": self.updated,
            "note": self.note,
        }

    @classmethod
    def from_hash(cls, data: Mapping[str, str]) -> Ticket | None:
        """The ticket stored in `data`, or None if the hash is empty or not a ticket."""
        try:
            ticket_id = check_ticket_id(data.get("id", ""))
        except ValueError:
            return None
        caller = data.get("caller", "")
        if not is_e164(caller):
            return None
        return cls(
            id=ticket_id,
            caller=caller,
            status=data.get("status", ""),
            subject=data.get("subject", ""),
            agent=data.get("agent", ""),
            created=data.get("created", ""),
            updated=data.get("updated", ""),
            note=data.get("note", ""),
        )


def check_status(status: str) -> str:
    if status not in TICKET_STATUSES:
        raise ValueError(
            f"ticket status {status[:20]!r} is not one of {', '.join(sorted(TICKET_STATUSES))}"
        )
    return status


def check_agent(agent: str) -> str:
    agent = agent.strip()
    if agent and not _AGENT.fullmatch(agent):
        raise ValueError(
            f"agent {agent[:40]!r} must be an extension (letters, digits, '_', '.', '-'; max 40)"
        )
    return agent


def check_subject(subject: str) -> str:
    text = clean_text("subject", subject, limit=MAX_SUBJECT_LENGTH)
    if not text:
        raise ValueError("a ticket needs a subject")
    return text


def ticket_ids(reply: object) -> list[tuple[int, float]]:
    """A ZRANGE WITHSCORES reply of ticket ids as (id, score); members that are not ids skipped."""
    ids = []
    for item in reply if isinstance(reply, list) else ():
        try:
            member, score = item
            ids.append((check_ticket_id(as_text(member)), float(score)))
        except (TypeError, ValueError):
            continue
    return ids


async def _read_open(
    redis: aioredis.Redis, keys: Keys, ids: list[tuple[int, float]]
) -> list[tuple[int, float]]:
    """Those of `ids` (id, updated) whose tickets are open, read in one round trip."""
    if not ids:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        for ticket_id, _ in ids:
            pipe.hget(keys.ticket(ticket_id), "status")
        statuses = await pipe.execute()
    return [
        entry
        for entry, status in zip(ids, statuses, strict=True)
        if status is not None and as_text(status) in OPEN_TICKET_STATUSES
    ]


async def save_ticket(
    redis: aioredis.Redis,
    keys: Keys,
    ticket_id: int,
    change: Callable[[Ticket | None], Ticket],
    now: float,
) -> Ticket:
    """Write `change(current ticket)` and bring its caller's profile in step, atomically.

    `change` gets the stored ticket (None if there is none) and returns the
    ticket to store, or raises (TicketNotFound, ValueError) to write nothing.
    Returns the stored ticket; raises TicketConflict if other writers kept
    changing the same keys, and redis errors as they come.
    """
    ticket_key = keys.ticket(ticket_id)
    async with redis.pipeline(transaction=True) as pipe:
        for _ in range(_ATTEMPTS):
            try:
                await pipe.watch(ticket_key)
                stored = await pipe.hgetall(ticket_key)
                ticket = change(Ticket.from_hash(as_fields(stored)) if stored else None)
                owner = keys.caller_tickets(ticket.caller)
                await pipe.watch(owner)
                others = [
                    (other, score)
                    for other, score in ticket_ids(await pipe.zrange(owner, 0, -1, withscores=True))
                    if other != ticket.id
                ]
                if others:
                    await pipe.watch(*(keys.ticket(other) for other, _ in others))
                open_ones = await _read_open(redis, keys, others)
                if ticket.is_open:
                    open_ones.append((ticket.id, now))
                latest = max(open_ones, key=lambda entry: entry[1])[0] if open_ones else None
                profile = keys.caller(ticket.caller)
                pipe.multi()  # type: ignore[no-untyped-call]
                pipe.hset(ticket_key, mapping=redis_mapping(ticket.to_hash()))
                pipe.zadd(owner, {str(ticket.id): now})
                pipe.hset(profile, "open_tickets", str(len(open_ones)))
                if latest is None:
                    pipe.hdel(profile, "latest_ticket")
                else:
                    pipe.hset(profile, "latest_ticket", str(latest))
                await pipe.execute()
                return ticket
            except WatchError:
                continue
    raise TicketConflict(f"ticket {ticket_id}: its caller's tickets kept changing; try again")


def new_ticket(ticket_id: int, caller: str, subject: str, agent: str, now: float) -> Ticket:
    when = iso_utc(now)
    return Ticket(
        id=ticket_id,
        caller=caller,
        status="open",
        subject=check_subject(subject),
        agent=check_agent(agent),
        created=when,
        updated=when,
    )


def changed_ticket(
    current: Ticket | None,
    ticket_id: int,
    now: float,
    *,
    status: str | None,
    agent: str | None,
    note: str | None,
) -> Ticket:
    if current is None:
        raise TicketNotFound(f"no ticket {ticket_id}")
    return replace(
        current,
        status=current.status if status is None else check_status(status),
        agent=current.agent if agent is None else check_agent(agent),
        note=current.note if note is None else clean_text("note", note),
        updated=iso_utc(now),
    )


async def read_tickets(redis: aioredis.Redis, keys: Keys, ids: list[int]) -> list[Ticket]:
    """The tickets with these ids, in this order, in one round trip (missing ones left out)."""
    if not ids:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        for ticket_id in ids:
            pipe.hgetall(keys.ticket(ticket_id))
        replies = await pipe.execute()
    found = (Ticket.from_hash(as_fields(reply)) for reply in replies)
    return [ticket for ticket in found if ticket is not None]
