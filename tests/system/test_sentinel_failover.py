"""A Redis Sentinel failover under load: real redis-server master, replica and sentinel.

The server is configured with a `redis+sentinel://` URL (REDIS_URL, through
`load_settings`) and serves calls over real TCP from the Asterisk emulator,
fifteen at a time, while the master is SIGKILLed (or switched over with
SENTINEL FAILOVER). The sentinel promotes the replica; no call may fail
meanwhile (the lookup budget sends callers to the default menu), and
afterwards the VIP is recognised again and the server's writes - the
caller's counters and history, the event stream - land on the promoted
server. Also: `ivr doctor`'s report of the master, and a dead sentinel
listed first.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import redis

from fastagi.analytics.pipeline import EventPipeline
from fastagi.analytics.stream import decode_entries, events_key
from fastagi.config import load_settings
from fastagi.menus import load_menus
from fastagi.server.app import caller_service, start_server
from fastagi.server.reactor import run_on_reactor_loop
from fastagi.storage import find_server_binary
from fastagi.testing import AsteriskEmulator, CallerScript, CallResult

REPO = Path(__file__).resolve().parents[2]
MASTER_NAME = "ivrmaster"
VIP = "+79161110099"
CONCURRENT_CALLERS = 15
#: How soon after the sentinels name a new master every connection of the server uses it.
FOLLOW_WITHIN = 1.5

pytestmark = pytest.mark.system


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _wait_for(what: str, check: Callable[[], Any], timeout: float, every: float = 0.05) -> Any:
    """Poll `check` until it returns something true (which is returned); fail after `timeout`."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        with contextlib.suppress(redis.RedisError, OSError):
            last = check()
            if last:
                return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what} (last: {last!r})")


@dataclass
class SentinelSet:
    """One master, one replica and one sentinel (quorum 1), each a redis-server of its own."""

    root: Path
    master_port: int = field(default_factory=_free_port)
    replica_port: int = field(default_factory=_free_port)
    sentinel_port: int = field(default_factory=_free_port)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    clients: dict[int, redis.Redis] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"redis+sentinel://127.0.0.1:{self.sentinel_port}/{MASTER_NAME}/0"

    def client(self, port: int) -> redis.Redis:
        """A plain client of one server (the test's own view, not the server's)."""
        if port not in self.clients:
            self.clients[port] = redis.Redis(port=port, socket_timeout=2, decode_responses=True)
        return self.clients[port]

    def _start(self, name: str, config: str, *extra: str) -> None:
        home = self.root / name
        home.mkdir(parents=True)
        conf = home / "redis.conf"  # the sentinel rewrites its own: a file of its own
        conf.write_text(f"bind 127.0.0.1\ndir {home}\nsave ''\nappendonly no\n{config}")
        with (home / "server.log").open("wb") as log:
            self.processes[name] = subprocess.Popen(
                [find_server_binary(), str(conf), *extra], stdout=log, stderr=subprocess.STDOUT
            )

    def start(self, timeout: float = 15.0) -> None:
        """Master and replica, in sync; then the sentinel, which finds the replica at once."""
        # No 5 s wait before the replica's first sync (diskless sync's default delay).
        self._start("master", f"port {self.master_port}\nrepl-diskless-sync-delay 0\n")
        self._start(
            "replica",
            f"port {self.replica_port}\nreplicaof 127.0.0.1 {self.master_port}\n"
            "repl-diskless-sync-delay 0\n",
        )
        replica = self.client(self.replica_port)
        _wait_for(
            "the replica to sync",
            lambda: replica.info("replication").get("master_link_status") == "up",
            timeout,
        )
        # Started after the sync, the sentinel's first INFO of the master lists the replica
        # (a later one would come only after its 10 s INFO period).
        self._start(
            "sentinel",
            f"port {self.sentinel_port}\n"
            f"sentinel monitor {MASTER_NAME} 127.0.0.1 {self.master_port} 1\n"
            f"sentinel down-after-milliseconds {MASTER_NAME} 500\n"
            f"sentinel failover-timeout {MASTER_NAME} 5000\n"
            f"sentinel parallel-syncs {MASTER_NAME} 1\n",
            "--sentinel",
        )
        sentinel = self.client(self.sentinel_port)

        def sentinel_sees_the_replica() -> bool:
            known = sentinel.sentinel_slaves(MASTER_NAME)
            return any(
                r["port"] == self.replica_port
                and r["flags"] == "slave"
                and r.get("master-link-status") == "ok"
                for r in known
            )

        _wait_for("the sentinel to know the replica", sentinel_sees_the_replica, timeout)

    def master_named(self) -> int | None:
        """The port the sentinel names as the master now."""
        answer = self.client(self.sentinel_port).sentinel_get_master_addr_by_name(MASTER_NAME)
        return int(answer[1]) if answer else None

    def kill(self, name: str) -> None:
        process = self.processes[name]
        process.send_signal(signal.SIGKILL)
        process.wait(5)

    def stop(self) -> None:
        for client in self.clients.values():
            client.close()
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


@pytest.fixture
def sentinel_set(tmp_path: Path) -> Iterator[SentinelSet]:
    servers = SentinelSet(tmp_path / "redis")
    try:
        servers.start()
        yield servers
    finally:
        servers.stop()


@dataclass(frozen=True)
class Placed:
    started: float
    ended: float
    result: CallResult

    @property
    def vip(self) -> bool:
        return "ivr/vip-greeting" in self.result.prompts


@pytest.mark.parametrize("how", ["killed", "switched"])
def test_calls_survive_a_sentinel_failover(sentinel_set: SentinelSet, how: str) -> None:
    """`killed`: the master is SIGKILLed, the sentinel promotes the replica after
    down-after-milliseconds. `switched`: SENTINEL FAILOVER, the old master stays up
    and is turned into a replica about 10 s later; the server's clients ask the
    sentinels every 0.5 s and leave it within a second of the promotion."""
    servers = sentinel_set
    prefix = f"t{uuid4().hex[:8]}:"
    settings = load_settings(
        environ={"REDIS_URL": servers.url, "IVR_CONFIG": str(REPO / "no-such-file.yaml")},
        overrides={
            "port": 0,
            "redis_prefix": prefix,
            "menus_dir": REPO / "ivr_menus",
            "segments_file": REPO / "config" / "segments.yaml",
            "hours_file": REPO / "config" / "hours.yaml",
            "callbacks_file": REPO / "config" / "callbacks.yaml",
        },
    )
    assert settings.redis_url == servers.url  # the configuration accepts the sentinel URL
    menus = load_menus(REPO / "ivr_menus")
    marks: dict[str, float] = {}
    degraded: list[int] = []
    lost: dict[str, int] = {}
    to_wall = time.time() - time.monotonic()

    def wall_clock(moment: float) -> float:
        return moment + to_wall

    async def scenario() -> list[Placed]:
        service = caller_service(settings, servers.url)
        pipeline = EventPipeline.from_settings(settings, servers.url)
        server = start_server(settings, menus=menus, events=pipeline.sink, callers=service)
        pipeline.start()
        emulator = AsteriskEmulator()
        host, port = server.address
        placed: list[Placed] = []
        stop = asyncio.Event()
        workers: list[asyncio.Future[None]] = []
        loop = asyncio.get_running_loop()

        async def caller() -> None:
            while not stop.is_set():
                started = time.monotonic()
                result = await emulator.place_call(
                    host, port, script="main", callerid=VIP, caller=CallerScript.parse("0")
                )
                placed.append(Placed(started, time.monotonic(), result))

        async def until(what: str, check: Callable[[], Any], timeout: float) -> None:
            deadline = loop.time() + timeout
            while not await asyncio.to_thread(check):  # redis-py (sync) checks too
                assert loop.time() < deadline, f"timed out after {timeout:g} s: {what}"
                await asyncio.sleep(0.05)

        def vip_calls_since(moment: float) -> int:
            return sum(1 for p in placed if p.started >= moment and p.vip)

        def old_master_demoted() -> bool:
            role = servers.client(servers.master_port).info("replication")["role"]
            return bool(role == "slave")

        try:
            await service.directory.upsert(VIP, {"tags": "vip"})
            replica = servers.client(servers.replica_port)
            key = f"{prefix}caller:{VIP}"
            await until("the profile on the replica", lambda: replica.exists(key), 5.0)
            workers = [asyncio.ensure_future(caller()) for _ in range(CONCURRENT_CALLERS)]
            await until("VIP calls on the first master", lambda: vip_calls_since(0) >= 20, 10.0)

            marks["failover"] = time.monotonic()
            if how == "killed":
                servers.kill("master")
            else:
                servers.client(servers.sentinel_port).sentinel_failover(MASTER_NAME)
            await until(
                "the sentinel to name the replica as master",
                lambda: servers.master_named() == servers.replica_port,
                20.0,
            )
            marks["promoted"] = time.monotonic()
            if how == "switched":  # until then the old master still takes writes
                await until("the old master to become a replica", old_master_demoted, 20.0)
            marks["settled"] = time.monotonic()
            await until(
                "VIP calls on the promoted master",
                lambda: vip_calls_since(marks["settled"]) >= 20,
                10.0,
            )
            stop.set()
            await asyncio.gather(*workers)
            degraded.append(service.directory.degraded_lookups)
        finally:
            stop.set()
            await asyncio.gather(*workers, return_exceptions=True)
            await server.stop(grace=1.0)
            await service.drain()
            await pipeline.stop()
            await service.directory.redis.aclose()
            if pipeline.stream is not None:
                lost["events"] = pipeline.stream.dropped
            lost["history"] = service.directory.history_write_failures
        return placed

    begun = time.monotonic()
    placed = run_on_reactor_loop(scenario())
    wall = time.monotonic() - begun

    # Nobody failed: every call was served to its end, personalised or default menu,
    # and nobody waited past the lookup budget for the first prompt.
    assert all(p.result.error is None and not p.result.stuck for p in placed)
    assert {p.result.variables.get("IVRSTATUS") for p in placed} == {"SUCCESS"}
    assert all(p.result.variables.get("IVR_RESULT") for p in placed)
    assert all(p.result.timings[0] < 1.0 for p in placed), "a call waited past the budget"

    during = [p for p in placed if marks["failover"] < p.started and p.ended < marks["promoted"]]
    defaulted = [p for p in during if p.result.prompts[:1] == ["ivr/main-greeting"]]
    if how == "killed":
        # While there was no master the VIP got the default menu, within the budget.
        assert len(during) >= CONCURRENT_CALLERS, "calls should keep coming during the failover"
        assert len(defaulted) >= len(during) // 2, [p.result.prompts[:1] for p in during]
        assert degraded and degraded[0] >= len(defaulted)

    # Once the failover settled the VIP is recognised again, on the new master ...
    after = [p for p in placed if p.started >= marks["settled"]]
    recognised = [p for p in after if p.vip]
    assert len(recognised) >= 20
    last = sorted(after, key=lambda p: p.ended)[-CONCURRENT_CALLERS:]
    assert all(p.vip for p in last), [p.result.prompts[:1] for p in last]

    # ... and what the calls wrote is on the promoted server: counters, history, events.
    promoted = servers.client(servers.replica_port)
    assert promoted.info("replication")["role"] == "master"
    count = int(promoted.hget(f"{prefix}caller:{VIP}", "call_count") or 0)
    assert count >= len(recognised)
    history = promoted.xrange(f"{prefix}caller:{VIP}:history")
    assert {p.result.uniqueid for p in recognised} <= {fields["uniqueid"] for _, fields in history}
    stream = decode_entries(promoted.xrange(events_key(prefix)))
    assert {p.result.uniqueid for p in recognised} <= {event.uid for event in stream.events}

    if how == "switched":
        # The old master stayed up and writable until the sentinels demoted it (about
        # 10 s): whatever was written there meanwhile was discarded when it resynced.
        # The client watches the sentinels and moves within a second of the promotion,
        # so every call placed from then on was counted and logged on the new master.
        moved = marks["promoted"] + FOLLOW_WITHIN
        assert marks["settled"] - moved > 3, "the old master was demoted too soon to tell"
        since = [p for p in placed if p.started >= moved]
        assert len(since) >= 100, len(since)
        events = {event.uid for event in stream.events}
        missing = [p.result.uniqueid for p in since if p.result.uniqueid not in events]
        assert not missing, f"{len(missing)} of {len(since)} calls' events not on the new master"
        counted = promoted.zcount(f"{prefix}caller:{VIP}:calls", wall_clock(moved), "+inf")
        assert counted >= len(since), f"{counted} of {len(since)} calls counted on the new master"

    timeline = (
        f"{how}: promotion seen after {marks['promoted'] - marks['failover']:.1f} s,"
        f" settled after {marks['settled'] - marks['failover']:.1f} s;"
        f" {len(placed)} calls in {wall:.1f} s, {len(during)} during the failover"
        f" ({len(defaulted)} default menu, {degraded[0]} degraded lookups),"
        f" {len(recognised)} recognised after; not written: {lost}"
    )
    print(timeline)
    assert wall < 45, timeline


def test_doctor_names_the_master_the_sentinels_name(sentinel_set: SentinelSet) -> None:
    from fastagi.cli_doctor import check_redis

    servers = sentinel_set

    def lines(url: str) -> list[str]:
        settings = load_settings(environ={"REDIS_URL": url, "IVR_CONFIG": "/no-such-file"})
        return [finding.line() for finding in check_redis(settings)]

    healthy = lines(servers.url)
    assert healthy[0].startswith(f"ok    Redis ({servers.url}) answers, version ")
    assert healthy[1:] == [
        f"ok    Redis Sentinel: master '{MASTER_NAME}' is 127.0.0.1:{servers.master_port}"
        " (1 of 1 sentinel(s) answer)"
    ]

    dead = _free_port()
    one_silent = lines(
        f"redis+sentinel://:pw@127.0.0.1:{dead},127.0.0.1:{servers.sentinel_port}/{MASTER_NAME}"
    )
    assert one_silent[0].startswith("ok    Redis (redis+sentinel://:***@127.0.0.1:")
    assert "(1 of 2 sentinel(s) answer)" in one_silent[1]
    assert one_silent[2].startswith(f"warn  Redis Sentinel: no answer from 127.0.0.1:{dead} (")
    assert "quorum" in one_silent[2]

    (wrong_name,) = lines(f"redis+sentinel://127.0.0.1:{servers.sentinel_port}/nosuchmaster")
    assert wrong_name.startswith("FAIL  Redis (redis+sentinel://127.0.0.1:")
    assert "the sentinels name no usable master" in wrong_name
    assert "sentinel monitor <name>" in wrong_name


def test_a_dead_sentinel_listed_first_costs_no_lookup(sentinel_set: SentinelSet) -> None:
    """The live sentinel is asked at once: the very first lookup stays within its budget."""
    servers = sentinel_set
    prefix = f"t{uuid4().hex[:8]}:"
    url = (
        f"redis+sentinel://127.0.0.1:{_free_port()},127.0.0.1:{servers.sentinel_port}/{MASTER_NAME}"
    )
    servers.client(servers.master_port).hset(f"{prefix}caller:{VIP}", "tags", "vip")
    settings = load_settings(
        environ={"REDIS_URL": url, "IVR_CONFIG": "/no-such-file"},
        overrides={
            "port": 0,
            "redis_prefix": prefix,
            "menus_dir": REPO / "ivr_menus",
            "segments_file": REPO / "config" / "segments.yaml",
        },
    )

    async def first_call() -> tuple[CallResult, int]:
        service = caller_service(settings, url)
        server = start_server(settings, menus=load_menus(REPO / "ivr_menus"), callers=service)
        try:
            host, port = server.address
            result = await AsteriskEmulator().place_call(
                host, port, script="main", callerid=VIP, caller=CallerScript.parse("0")
            )
            return result, service.directory.degraded_lookups
        finally:
            await server.stop(grace=1.0)
            await service.drain()
            await service.directory.redis.aclose()

    result, degraded = run_on_reactor_loop(first_call())
    assert degraded == 0
    assert "ivr/vip-greeting" in result.prompts
