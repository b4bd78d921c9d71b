"""Campaigns in Redis: load entries, hand them to dialers in order, record outcomes.

    store = CampaignStore(redis, "ivr:", dnc=DoNotCall(directory, rules))
    report = await store.load("reminders", entries)          # LoadReport
    for entry in await store.next_due(now, 5, zone=zone):   # now 'dialling', leased
        ...place the call...
        await store.finish(entry.id, "answered", at, lease=entry.lease)
    await store.release_stale(now)                           # leases of a crashed dialer

Every state change runs as one Lua script (`fastagi.campaigns.scripts`), so
two dialers never take the same entry. Keys: `fastagi.campaigns.keys` and
docs/campaigns.md.
"""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, Literal, cast

from redis import asyncio as aioredis

from fastagi.callers._util import as_text
from fastagi.callers.directory import CallerDirectory
from fastagi.callers.keys import DEFAULT_PREFIX
from fastagi.callers.segments import default_rules
from fastagi.campaigns import scripts
from fastagi.campaigns.dnc import DoNotCall
from fastagi.campaigns.keys import CampaignKeys
from fastagi.campaigns.model import (
    MAX_PRIORITY,
    OUTCOMES,
    STATUSES,
    CampaignState,
    CampaignStatus,
    Entry,
    LoadReport,
    NewEntry,
    NotDialling,
    Outcome,
    RetryPolicy,
    Status,
    UnknownCampaign,
    UnknownEntry,
    check_campaign_name,
)
from fastagi.campaigns.schedule import ORDER_SPAN, day_number, event_window, local_today

__all__ = ["DEFAULT_LEASE", "CampaignStore"]

#: How long a dialer may hold an entry before `release_stale` takes it back.
DEFAULT_LEASE = timedelta(minutes=10)
_LOAD_BATCH = 500
#: Most entries one sweep step or release looks at per campaign per call.
_SWEEP_CAP = 1000
#: next_due takes again (at most this many times) to fill `limit` after dnc skips.
_MAX_ROUNDS = 10


def _unix(moment: datetime) -> float:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _pairs(reply: Sequence[Any]) -> dict[str, str]:
    items = [as_text(item) for item in reply]
    return dict(zip(items[::2], items[1::2], strict=True))


def _entry(fields: Mapping[str, str]) -> Entry:
    """An entry hash as stored (see docs/campaigns.md) -> Entry."""
    event = fields.get("event_date", "")
    lease_until = fields.get("lease_until", "")
    status = fields.get("status", "pending")
    return Entry(
        id=int(fields["id"]),
        campaign=fields["campaign"],
        line=int(fields.get("line", "0") or 0),
        number=fields["number"],
        priority=int(fields.get("priority", "0") or 0),
        event_date=date.fromisoformat(event) if event else None,
        voice=fields.get("voice") or None,
        menu=fields.get("menu") or None,
        fields=json.loads(fields.get("fields") or "{}"),
        status=status if status in STATUSES else "pending",
        attempts=int(fields.get("attempts", "0") or 0),
        last_outcome=fields.get("last_outcome", ""),
        lease=fields.get("lease", ""),
        lease_until=(datetime.fromtimestamp(int(lease_until), UTC) if lease_until else None),
    )


def _entry_args(entry: NewEntry) -> dict[str, str]:
    """What the load script stores for one entry (all text)."""
    event = entry.event_date
    first, last = event_window(event) if event else (None, None)
    return {
        "key": entry.key,
        "line": str(entry.line),
        "number": entry.number,
        "priority": str(entry.priority),
        "rank": str(MAX_PRIORITY - entry.priority),
        "event_date": event.isoformat() if event else "",
        "window_from": first.isoformat() if first else "",
        "window_to": last.isoformat() if last else "",
        "first_day": str(day_number(first)) if first else "",
        "last_day": str(day_number(last)) if last else "",
        "voice": entry.voice or "",
        "menu": entry.menu or "",
        "fields": json.dumps(dict(entry.fields), ensure_ascii=False),
    }


def _counts(fields: Mapping[str, str], head: str = "") -> dict[Status, int]:
    return {status: int(fields.get(head + status, "0") or 0) for status in STATUSES}


class CampaignStore:
    """Campaigns and their entries in Redis under `prefix`.

    `redis` is a redis.asyncio client (`fastagi.storage.open_async_client`;
    responses decoded or not). `policy` says how often an unanswered entry is
    tried; `lease` how long a dialer may hold an entry; `dnc` which numbers
    are never called (default: the built-in segment rules on the caller
    directory under the same prefix - pass `DoNotCall(directory,
    rules_from_config)` to use config/segments.yaml).
    """

    def __init__(
        self,
        redis: aioredis.Redis,
        prefix: str = DEFAULT_PREFIX,
        *,
        policy: RetryPolicy | None = None,
        lease: timedelta = DEFAULT_LEASE,
        dnc: DoNotCall | None = None,
    ) -> None:
        if lease <= timedelta(0):
            raise ValueError("a lease must be longer than zero")
        self.redis = redis
        self.keys = CampaignKeys(prefix)
        self.policy = policy or RetryPolicy()
        self.lease = lease
        self.dnc = dnc or DoNotCall(CallerDirectory(redis, prefix=prefix), default_rules())
        self._load = redis.register_script(scripts.LOAD)
        self._next = redis.register_script(scripts.NEXT)
        self._finish = redis.register_script(scripts.FINISH)
        self._release = redis.register_script(scripts.RELEASE)
        self._set_state = redis.register_script(scripts.SET_STATE)

    @property
    def prefix(self) -> str:
        return self.keys.prefix

    # -- loading ------------------------------------------------------------

    async def load(
        self,
        name: str,
        entries: Iterable[NewEntry],
        *,
        file: str = "",
        now: datetime | None = None,
    ) -> LoadReport:
        """Add `entries` to campaign `name`, creating it (running) if new.

        An entry whose number (and event date) the campaign has already is
        left as it is, so loading the same file again adds nothing. Entries
        are written in batches, each batch atomically; a load cut short can
        simply be run again. `file` is remembered as the campaign's source.
        """
        check_campaign_name(name)
        moment = now or datetime.now(UTC)
        items = [_entry_args(entry) for entry in entries]
        created = False
        added = known = 0
        for start in range(0, max(len(items), 1), _LOAD_BATCH):
            batch = items[start : start + _LOAD_BATCH]
            reply = await self._load(
                args=[
                    self.prefix,
                    name,
                    file,
                    _iso(moment),
                    f"{_unix(moment):.6f}",
                    json.dumps(batch, ensure_ascii=False),
                    ORDER_SPAN,
                ]
            )
            created = created or int(reply[0]) == 1
            added += int(reply[1])
            known += int(reply[2])
        return LoadReport(name, added=added, already_loaded=known, created=created)

    # -- dialling -------------------------------------------------------------

    async def next_due(self, now: datetime, limit: int, *, zone: tzinfo) -> list[Entry]:
        """Take up to `limit` entries to dial now, marking them `dialling` under a lease.

        Only running campaigns; priority order (higher first, then load
        order) across campaigns; event entries only inside their window by
        `zone`'s calendar (those past it become `expired`). A number in the
        do-not-call segment is not returned: its entry becomes `dnc` and
        the next one is taken instead. Each returned entry carries its
        `lease` token for `finish`.
        """
        if limit < 1:
            return []
        today = day_number(local_today(now, zone))
        lease_until = math.ceil(_unix(now + self.lease))
        token = secrets.token_hex(8)
        wanted: list[Entry] = []
        for _ in range(_MAX_ROUNDS):
            reply = await self._next(
                args=[
                    self.prefix,
                    f"{_unix(now):.6f}",
                    today,
                    limit - len(wanted),
                    lease_until,
                    token,
                    _iso(now),
                    _SWEEP_CAP,
                ]
            )
            taken = [_entry(_pairs(item)) for item in reply]
            if not taken:
                break
            try:
                blocked = await self.dnc.blocked((e.number for e in taken), now)
            except Exception:
                # Give them back untouched (a cancelled task leaves them to release_stale).
                for entry in taken:
                    await self._settle(entry.id, "untake", now, lease=token)
                raise
            for entry in taken:
                if entry.number in blocked:
                    await self._settle(entry.id, "dnc", now, lease=token)
                else:
                    wanted.append(entry)
            if len(wanted) >= limit:
                break
        return wanted

    async def finish(
        self, entry_id: int, outcome: Outcome, at: datetime, *, lease: str | None = None
    ) -> Status:
        """Record how a dialled entry's attempt ended; return its new status.

        `answered` -> `done`. `busy`, `no_answer`, `failed` -> `pending`
        again after `policy.retry_after` while attempts are left, else
        `failed`. Raises UnknownEntry, or NotDialling when the entry is not
        dialling (under `lease`, when given): the result was not recorded.
        """
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome {outcome!r}: use one of {', '.join(OUTCOMES)}")
        return await self._settle(entry_id, outcome, at, lease=lease)

    async def _settle(
        self,
        entry_id: int,
        kind: Outcome | Literal["dnc", "untake"],
        at: datetime,
        *,
        lease: str | None,
    ) -> Status:
        delay = self.policy.retry_after
        retry_at = "" if delay <= timedelta(0) else f"{_unix(at + delay):.6f}"
        self.keys.entry(entry_id)  # checks the id
        reply = await self._finish(
            args=[
                self.prefix,
                entry_id,
                kind,
                _iso(at),
                self.policy.max_attempts,
                retry_at,
                lease or "",
            ]
        )
        verdict, detail = as_text(reply[0]), as_text(reply[1])
        if verdict == "unknown":
            raise UnknownEntry(f"no campaign entry {entry_id}")
        if verdict != "ok":
            raise NotDialling(f"campaign entry {entry_id} is not dialling: {detail}")
        return cast(Status, detail)

    async def release_stale(self, now: datetime) -> int:
        """Take back entries whose lease ended by `now` (their dialer is gone); return how many.

        Each goes back to pending, or to `failed` when that attempt was its
        last (a lease that ran out counts as an attempt).
        """
        total = 0
        while True:
            reply = await self._release(
                args=[
                    self.prefix,
                    f"{_unix(now):.6f}",
                    _iso(now),
                    self.policy.max_attempts,
                    _SWEEP_CAP,
                ]
            )
            released = int(reply[0]) + int(reply[1])
            total += released
            if released < _SWEEP_CAP:
                return total

    # -- managing -----------------------------------------------------------

    async def pause(self, name: str) -> None:
        """Stop handing out the campaign's entries (calls in progress go on). UnknownCampaign."""
        await self._state(name, "paused")

    async def resume(self, name: str) -> None:
        """Hand out the campaign's entries again. UnknownCampaign."""
        await self._state(name, "running")

    async def _state(self, name: str, state: CampaignState) -> None:
        check_campaign_name(name)
        if not int(await self._set_state(args=[self.prefix, name, state])):
            raise UnknownCampaign(f"no campaign {name!r}")

    async def status(self, name: str) -> CampaignStatus:
        """The campaign's progress: counts overall and by priority. UnknownCampaign."""
        found = await self._statuses([name])
        if not found:
            raise UnknownCampaign(f"no campaign {name!r}")
        return found[0]

    async def list_campaigns(self) -> list[CampaignStatus]:
        """Every campaign, oldest first, with its progress."""
        names = [as_text(name) for name in await self.redis.zrange(self.keys.campaigns(), 0, -1)]
        return await self._statuses(names)

    async def entries(self, name: str) -> list[Entry]:
        """Every entry of the campaign in load order (for reports and tests). UnknownCampaign."""
        check_campaign_name(name)
        ids = [int(as_text(i)) for i in await self.redis.zrange(self.keys.entries(name), 0, -1)]
        if not ids and not await self.redis.exists(self.keys.campaign(name)):
            raise UnknownCampaign(f"no campaign {name!r}")
        async with self.redis.pipeline(transaction=False) as pipe:
            for entry_id in ids:
                pipe.hgetall(self.keys.entry(entry_id))
            replies = await pipe.execute()
        return [_entry({as_text(k): as_text(v) for k, v in r.items()}) for r in replies if r]

    async def _statuses(self, names: list[str]) -> list[CampaignStatus]:
        for name in names:
            check_campaign_name(name)
        async with self.redis.pipeline(transaction=True) as pipe:
            for name in names:
                pipe.hgetall(self.keys.campaign(name))
                pipe.hgetall(self.keys.priorities(name))
                pipe.zcard(self.keys.waiting(name))
                pipe.zcard(self.keys.retry(name))
            replies = await pipe.execute()
        found: list[CampaignStatus] = []
        for index in range(len(names)):
            head, prios, waiting, retry = replies[4 * index : 4 * index + 4]
            fields = {as_text(k): as_text(v) for k, v in head.items()}
            if not fields:
                continue
            by_priority = _by_priority({as_text(k): as_text(v) for k, v in prios.items()})
            state = fields.get("state", "running")
            found.append(
                CampaignStatus(
                    name=fields.get("name", names[index]),
                    file=fields.get("file", ""),
                    created=fields.get("created", ""),
                    state="paused" if state == "paused" else "running",
                    total=int(fields.get("total", "0") or 0),
                    counts=_counts(fields),
                    by_priority=by_priority,
                    waiting=int(waiting),
                    retry_later=int(retry),
                )
            )
        return found


def _by_priority(fields: Mapping[str, str]) -> dict[int, dict[Status, int]]:
    """`{"10:pending": "3", ...}` -> {10: {"pending": 3, ...}}, highest priority first."""
    table: dict[int, dict[Status, int]] = {}
    for key, value in fields.items():
        priority, _, status = key.rpartition(":")
        if status not in STATUSES:
            continue
        try:
            row = table.setdefault(int(priority), dict.fromkeys(STATUSES, 0))
        except ValueError:
            continue
        row[status] = int(value or 0)
    return {p: table[p] for p in sorted(table, reverse=True) if any(table[p].values())}
