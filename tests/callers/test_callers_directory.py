"""The caller directory against a real Redis server: identify, profiles, history, failures."""

from __future__ import annotations

import asyncio
import re
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest
from callers_helpers import DAY, Clock, keys_under, record_writes, silent_redis
from redis.exceptions import ConnectionError as RedisConnectionError

from fastagi.callers import CallerDirectory, InvalidField, InvalidNumber
from fastagi.storage import open_async_client

Run = Callable[..., Any]
NUMBER = "+79161234567"


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every write to a Redis socket: a pipeline is one write, and a batcher's turn one."""
    return record_writes(monkeypatch)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_first_call_creates_the_contact_once(with_directory: Run) -> None:
    clock = Clock()

    async def body(d: CallerDirectory) -> None:
        first = await d.identify("8 916 123-45-67", uniqueid="1700000000.1")
        assert first.number == NUMBER and first.is_new and not first.anonymous
        assert first.get("call_count") == "1" and first.call_count == 1
        assert first.get("first_call") == first.get("last_call") == "2025-06-15T15:06:40Z"
        clock.advance(3600)
        second = await d.identify("+7 916 1234567", uniqueid="1700003600.2")
        assert not second.is_new and second.call_count == 2
        assert second.get("first_call") == "2025-06-15T15:06:40Z"
        assert second.get("last_call") == "2025-06-15T16:06:40Z"
        stored = await d.get("79161234567")
        assert stored is not None and stored.call_count == 2 and not stored.is_new
        assert await d.redis.zcard(d.keys.calls(NUMBER)) == 2

    with_directory(body, clock=clock)


def test_windows_count_calls_in_the_last_days(with_directory: Run) -> None:
    clock = Clock()

    async def body(d: CallerDirectory) -> None:
        for _ in range(3):
            await d.identify(NUMBER)  # three calls in the same second stay three
        clock.advance(10 * DAY)
        await d.identify(NUMBER)
        clock.advance(3 * DAY)
        profile = await d.identify(NUMBER, windows=[1, 7, 30, 400])
        assert dict(profile.calls_in_last) == {1: 1, 7: 2, 30: 5, 400: 5}
        got = await d.get(NUMBER, windows=[1, 30])
        assert got is not None and dict(got.calls_in_last) == {1: 1, 30: 5}
        with pytest.raises(ValueError, match="window"):
            await d.identify(NUMBER, windows=[0])
        with pytest.raises(ValueError, match="window"):
            await d.identify(NUMBER, windows=[401])

    with_directory(body, clock=clock)


def test_calls_older_than_400_days_are_trimmed(with_directory: Run) -> None:
    clock = Clock()

    async def body(d: CallerDirectory) -> None:
        await d.identify(NUMBER)
        clock.advance(401 * DAY)
        profile = await d.identify(NUMBER, windows=[400])
        assert profile.calls_in_last[400] == 1 and profile.call_count == 2
        assert await d.redis.zcard(d.keys.calls(NUMBER)) == 1
        assert 0 < await d.redis.ttl(d.keys.calls(NUMBER)) <= 400 * DAY

    with_directory(body, clock=clock)


def test_identify_is_one_round_trip(with_directory: Run, round_trips: list[bytes]) -> None:
    async def body(d: CallerDirectory) -> None:
        await d.redis.ping()  # connect (and handshake) outside the count
        await d.open_ticket(NUMBER, "Refund")
        before = len(round_trips)
        profile = await d.identify(NUMBER, windows=[1, 7, 30], uniqueid="1.1")
        assert len(round_trips) - before == 1
        assert profile.open_tickets == 1 and profile.is_new is False
        before = len(round_trips)
        await d.identify("+7 916 000-00-01", windows=[1])  # a new number: still one
        assert len(round_trips) - before == 1

    with_directory(body)


@pytest.mark.parametrize(
    "callerid", ["unknown", "anonymous", "Anonymous", "restricted", "private", "", "0"]
)
def test_anonymous_caller_never_touches_redis(
    with_directory: Run, round_trips: list[bytes], callerid: str
) -> None:
    async def body(d: CallerDirectory) -> None:
        await d.redis.ping()
        before = len(round_trips)
        for call in (d.identify, d.lookup):
            profile = await call(callerid, windows=[7], uniqueid="1.1")
            assert profile.anonymous and profile.number == "" and not profile.is_new
        assert await d.record_call(callerid, {"outcome": "queue"}) is False
        assert len(round_trips) == before
        assert d.history_write_failures == 0
        assert await keys_under(d) == set()

    with_directory(body)


HOSTILE = [
    "*",
    "caller:*",
    "\r\n",
    "+7916*",
    "+79161234567\r\nFLUSHALL\r\n",
    "79161234567 *",
    "[0-9]",
    "\\x00",
    "1" * 10_000,
    "x" * 10_000,
    "+7 916 123-45-67" + "\x00",
    "八九一六",
    "+７９１６１２３４５６７",
    "‮+79161234567",
    "💥" * 50,
    "$(reboot)",
    "'; DROP TABLE callers; --",
]


def test_hostile_caller_ids_never_shape_a_key(with_directory: Run, caplog: Any) -> None:
    async def body(d: CallerDirectory) -> None:
        for callerid in [*HOSTILE, "8 916 123-45-67"]:
            await d.identify(callerid, windows=[1], uniqueid=callerid)
            await d.record_call(callerid, {"digits": callerid, "path": callerid})
        keys = await keys_under(d)
        allowed = re.compile(
            re.escape(d.keys.prefix) + r"caller:\+[1-9][0-9]{1,14}(:calls|:history)?"
        )
        assert keys and all(allowed.fullmatch(key) for key in keys), keys
        assert {d.keys.number_of(key) for key in keys} == {NUMBER, None}

    with_directory(body)
    # Logged as served anonymously, shortened, with no raw line breaks.
    assert all("\n" not in r.getMessage() and len(r.getMessage()) < 300 for r in caplog.records)


def test_get_has_no_side_effects(with_directory: Run) -> None:
    async def body(d: CallerDirectory) -> None:
        assert await d.get(NUMBER) is None
        assert await keys_under(d) == set()
        with pytest.raises(InvalidNumber):
            await d.get("anonymous")

    with_directory(body)


def test_upsert_validates_and_writes_all_or_nothing(with_directory: Run) -> None:
    async def body(d: CallerDirectory) -> None:
        await d.upsert("8 916 123-45-67", {"first_name": "Ivan", "tags": "VIP,gold", "debt": "5"})
        profile = await d.get(NUMBER)
        assert profile is not None
        assert profile.fields == {
            "first_name": "Ivan",
            "tags": "gold,vip",
            "debt": "5",
            "call_count": "0",
        }
        with pytest.raises(InvalidField, match="language"):
            await d.upsert(NUMBER, {"first_name": "Petr", "language": "klingon"})
        with pytest.raises(InvalidField, match="call_count"):
            await d.set_fields(NUMBER, call_count="1000")
        await d.set_fields(NUMBER, debt="", language="EN")
        profile = await d.get(NUMBER)
        assert profile is not None and profile.get("first_name") == "Ivan"
        assert "debt" not in profile.fields and profile.language == "en"
        # A contact known before their first call is not new, but the call is counted.
        called = await d.identify(NUMBER)
        assert not called.is_new and called.call_count == 1 and called.get("first_call")
        assert called.get("first_name") == "Ivan"

    with_directory(body)


def test_history_newest_first_and_capped(with_directory: Run) -> None:
    clock = Clock()

    async def body(d: CallerDirectory) -> None:
        for n in range(3):
            clock.advance(60)
            entry = {"uniqueid": f"1.{n}", "menu": "main", "path": "main>support", "digits": "2"}
            entry |= {"outcome": "queue", "segment": "vip", "degraded": "0", "bad key!": "x"}
            assert await d.record_call("8 916 123-45-67", entry) is True
        last = await d.history(NUMBER, limit=2)
        assert [e["uniqueid"] for e in last] == ["1.2", "1.1"]
        assert last[0]["when"] == "2025-06-15T15:09:40Z" and last[0]["id"]
        assert "bad key!" not in last[0]
        assert await d.history("+79160000000") == []
        key = d.keys.history(NUMBER)
        async with d.redis.pipeline(transaction=False) as pipe:
            for n in range(1200):
                pipe.xadd(key, {"n": str(n)})
            await pipe.execute()
        await d.record_call(NUMBER, {"outcome": "hangup"})
        assert 1000 <= await d.redis.xlen(key) < 1200

    with_directory(body, clock=clock)


def test_history_entry_is_stored_field_by_field_in_order(with_directory: Run) -> None:
    async def body(d: CallerDirectory) -> None:
        entry = {"when": "2026-11-27T10:00:00Z", "menu": "main_ru", "path": "main > Поддержка"}
        entry |= {"digits": "2,2", "outcome": "return:billing"}
        assert await d.record_call(NUMBER, entry) is True
        [(_, fields)] = await d.redis.xrange(d.keys.history(NUMBER))
        assert list(fields.items()) == list(entry.items())  # what XRANGE shows an integrator

    with_directory(body)


def test_history_entry_is_made_safe_to_store(with_directory: Run) -> None:
    async def body(d: CallerDirectory) -> None:
        entry: dict[str, Any] = {"path": "main\r\nFLUSHALL\x00", "digits": 5, "note": "x" * 1500}
        entry |= {"bad key!": "x", "id": "forged", "name": "Иван"}
        assert await d.record_call(NUMBER, entry) is True
        [stored] = await d.history(NUMBER)
        assert stored["path"] == "main  FLUSHALL " and stored["digits"] == "5"
        assert stored["note"] == "x" * 1000 and stored["name"] == "Иван"
        assert "bad key!" not in stored and stored["id"] != "forged"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stored["when"])
        many = {f"f{n}": str(n) for n in range(300)}
        assert await d.record_call(NUMBER, many) is True
        [(_, fields)] = await d.redis.xrevrange(d.keys.history(NUMBER), count=1)
        assert len(fields) == 200 and "when" in fields and fields["f0"] == "0"
        # Text that is not Unicode (a lone surrogate) cannot be stored: counted, not raised.
        assert await d.record_call(NUMBER, {"name": "caller \udcff"}) is False
        assert d.history_write_failures == 1

    with_directory(body)


def test_the_history_entries_of_one_turn_are_one_command_and_fail_apart(
    with_directory: Run,
) -> None:
    others = ["+79160000001", "+79160000002"]

    async def body(d: CallerDirectory) -> None:
        await d.redis.set(d.keys.history(others[1]), "not a stream")  # this one cannot be written
        before = await d.redis.info("commandstats")
        calls = [(NUMBER, "queue"), (others[0], "hangup"), (others[1], "voicemail")]
        written = await d.record_calls([(number, {"outcome": how}) for number, how in calls])
        after = await d.redis.info("commandstats")
        assert written == 2 and d.history_write_failures == 1
        assert after["cmdstat_evalsha"]["calls"] - before["cmdstat_evalsha"]["calls"] == 1
        assert [e["outcome"] for e in await d.history(NUMBER)] == ["queue"]
        assert [e["outcome"] for e in await d.history(others[0])] == ["hangup"]
        await d.redis.delete(d.keys.history(others[1]))

    with_directory(body)


def test_history_survives_the_server_forgetting_its_scripts(with_directory: Run) -> None:
    async def body(d: CallerDirectory) -> None:
        assert await d.record_call(NUMBER, {"outcome": "queue"}) is True
        await d.redis.script_flush()  # as after a Redis restart
        assert await d.record_call(NUMBER, {"outcome": "hangup"}) is True
        assert [e["outcome"] for e in await d.history(NUMBER)] == ["hangup", "queue"]

    with_directory(body)


def test_record_call_failures_are_counted_not_raised(redis_server_url: str) -> None:
    async def main() -> None:
        down = open_async_client(f"redis://127.0.0.1:{_closed_port()}/0", timeout=0.2)
        d = CallerDirectory(down, prefix="test:down:")
        try:
            assert await d.record_call(NUMBER, {"outcome": "queue"}) is False
            assert await d.record_call(NUMBER, {"outcome": "queue"}) is False
            assert d.history_write_failures == 2
        finally:
            await down.aclose()
        # Not a connection error (the key holds a string): no retry, still counted.
        up = open_async_client(redis_server_url, timeout=2.0)
        d = CallerDirectory(up, prefix="test:wrongtype:")
        try:
            await up.set(d.keys.history(NUMBER), "not a stream")
            assert await d.record_call(NUMBER, {"outcome": "queue"}) is False
            assert d.history_write_failures == 1
        finally:
            await up.delete(d.keys.history(NUMBER))
            await up.aclose()

    asyncio.run(main())


def test_lookup_falls_back_when_redis_is_down() -> None:
    async def main() -> None:
        down = open_async_client(f"redis://127.0.0.1:{_closed_port()}/0", timeout=0.2)
        d = CallerDirectory(down, budget=0.2)
        try:
            started = time.monotonic()
            profile = await d.lookup("8 916 123-45-67", windows=[7])
            assert time.monotonic() - started < 1.0
            assert profile.degraded and profile.number == NUMBER and not profile.fields
            assert d.degraded_lookups == 1
            with pytest.raises(RedisConnectionError):  # identify itself raises
                await d.identify(NUMBER)
        finally:
            await down.aclose()

    asyncio.run(main())


def test_lookup_falls_back_within_budget_when_redis_hangs() -> None:
    async def main() -> None:
        async with silent_redis() as url:
            slow = open_async_client(url, timeout=5.0)
            d = CallerDirectory(slow, budget=0.1)
            try:
                started = time.monotonic()
                profile = await d.lookup(NUMBER)
                elapsed = time.monotonic() - started
                assert profile.degraded and elapsed < 0.5, elapsed
            finally:
                await slow.aclose()

    asyncio.run(main())


def test_lookup_serves_a_profile_even_with_a_damaged_counter(with_directory: Run) -> None:
    async def body(d: CallerDirectory) -> None:
        await d.upsert(NUMBER, {"first_name": "Ivan"})
        await d.redis.hset(d.keys.caller(NUMBER), "call_count", "many")
        profile = await d.lookup(NUMBER)
        assert not profile.degraded and profile.get("first_name") == "Ivan"
        # A key of the wrong type is garbage: the caller gets the default menu.
        await d.redis.delete(d.keys.caller(NUMBER))
        await d.redis.set(d.keys.caller(NUMBER), "garbage")
        profile = await d.lookup(NUMBER)
        assert profile.degraded and d.degraded_lookups == 1

    with_directory(body)


def test_lookups_cut_short_never_mix_up_replies(with_directory: Run) -> None:
    """A lookup cancelled mid-reply must not leave its reply for the next caller to read."""
    numbers = [f"+7916{n:07d}" for n in range(1, 21)]

    async def body(d: CallerDirectory) -> None:
        for number in numbers:
            await d.upsert(number, {"first_name": f"n{number[-7:]}"})
        # Redis holds every lookup (it writes) past the budget: each caller gives
        # up, and the replies that come after the pause are dropped, not read by others.
        await d.redis.execute_command("CLIENT", "PAUSE", "300", "WRITE")  # type: ignore[no-untyped-call]
        d.budget = 0.05
        await asyncio.gather(*(d.lookup(number, windows=[7]) for number in numbers * 5))
        assert d.degraded_lookups == len(numbers) * 5
        d.budget = 5.0
        for _ in range(3):
            profiles = await asyncio.gather(*(d.lookup(n, windows=[7]) for n in numbers))
            for number, profile in zip(numbers, profiles, strict=True):
                assert not profile.degraded and profile.number == number
                assert profile.get("first_name") == f"n{number[-7:]}"

    with_directory(body)


def test_lookups_that_start_together_share_one_round_trip(
    with_directory: Run, round_trips: list[bytes]
) -> None:
    async def body(d: CallerDirectory) -> None:
        numbers = [f"+7916123{n:04d}" for n in range(20)]
        for number in numbers:
            await d.upsert(number, {"first_name": f"N{number[-4:]}"})
        await d.identify(numbers[0])  # the script is loaded on the server now
        before = len(round_trips)
        profiles = await asyncio.gather(*(d.identify(number) for number in numbers))
        assert len(round_trips) - before == 1
        # Each caller got their own reply, in spite of the shared pipeline.
        assert [p.get("first_name") for p in profiles] == [f"N{n[-4:]}" for n in numbers]

    with_directory(body)


def test_lookup_survives_the_server_forgetting_its_scripts(with_directory: Run) -> None:
    async def body(d: CallerDirectory) -> None:
        await d.identify(NUMBER)
        await d.redis.script_flush()  # as after a Redis restart
        profile = await d.identify(NUMBER)
        assert not profile.degraded and profile.call_count == 2

    with_directory(body)
