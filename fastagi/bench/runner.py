"""`run_bench`: start the servers under test, drive them through the phases, collect results.

Each server runs in its own process pinned to one CPU; the load generator
(this process) is pinned to another, so "per core" means one core for the
server. All servers are started first (ours is probed for the command lines
the peers replay), then, for every server:

0. one verification call (the exact expected command lines), then warm-up;
1. throughput: N calls, C at a time, as fast as possible;
2. fixed rate: calls started at R/s for S seconds (per-command overhead);
3. hold: H calls up at once, each waiting in its first command; RSS read.

Phases 1 and 2 run in rounds that rotate over the servers, so drifts in the
speed of a shared machine hit all of them alike. Besides wall-clock rates the
bench reads the CPU time each server used (scheduler counters in /proc), so
when the generator saturates its own core the server's real capacity per
core is still known (setups per server CPU-second).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import gc
import os
import resource
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from fastagi.bench import _load, report
from fastagi.bench._procs import (
    ChildServer,
    ServerStartError,
    free_port,
    our_active_calls,
    raise_own_fd_limit,
)
from fastagi.bench._stats import MIB, percentiles_ms, share
from fastagi.bench.replay import Exchange, ReplayError
from fastagi.testing import AsteriskEmulator

__all__ = [
    "OPTIONAL_PEERS",
    "OUR_SERVERS",
    "PEERS",
    "QUICK",
    "BenchError",
    "BenchOptions",
    "base_scenario",
    "child_env",
    "default_menus_dir",
    "generator_gc_paused",
    "ivr_argv",
    "options_with",
    "parse_peers",
    "probe",
    "quick_options",
    "run_bench",
]

#: "ours-nocallers" is our server with no Redis work at all - caller lookups
#: off (IVR_CALLERS=false) and no event stream (IVR_EVENTS_STREAM=false): the
#: figure the cost of personalisation and counting is measured against.
PEERS = ("ours", "ours-nocallers", "panoramisk", "bare")
#: Peers measured on request only (--peers): "ours-nostream" looks callers up and
#: writes their history but writes no event stream - the cost of lookups alone.
OPTIONAL_PEERS = ("ours-nostream",)
#: Our server as each of its peer names runs it: the settings on top of the shipped defaults.
OUR_SERVERS: dict[str, dict[str, str]] = {
    "ours": {"IVR_CALLERS": "true", "IVR_EVENTS_STREAM": "true"},
    "ours-nostream": {"IVR_CALLERS": "true", "IVR_EVENTS_STREAM": "false"},
    "ours-nocallers": {"IVR_CALLERS": "false", "IVR_EVENTS_STREAM": "false"},
}

#: Small numbers for a smoke run (`ivr bench --quick`).
QUICK: dict[str, Any] = {
    "calls": 300,
    "concurrency": 20,
    "rate": 50.0,
    "rate_seconds": 2.0,
    "hold": 200,
    "warmup": 30,
    "rounds": 2,
}

Progress = Callable[[str], None]


class BenchError(Exception):
    """The bench could not run (a server did not start, the scenario is broken...)."""


def _repo_root() -> Path:
    import fastagi

    return Path(fastagi.__file__).resolve().parent.parent


@dataclass(frozen=True)
class BenchOptions:
    """What to run. Defaults are the full bench of the issue; see `QUICK` for a smoke run."""

    calls: int = 20000
    concurrency: int = 100
    rate: float = 200.0
    rate_seconds: float = 10.0
    hold: int = 2000
    peers: tuple[str, ...] = PEERS
    menu: str = "main"
    caller_input: str = "2,2"
    callerid: str = "+79161234567"
    menus_dir: Path | None = None
    warmup: int = 200
    rounds: int = 20
    """Load phases are split into this many rounds, rotating over the servers."""
    hold_timeout: float = 120.0
    hold_max_pending: int = 200
    pin: bool = True
    write_docs: bool = False
    docs_path: Path = Path("docs/benchmarks.md")
    command: str | None = None
    """The command line recorded in the report; default: the canonical `ivr bench ...`."""

    def __post_init__(self) -> None:
        known = PEERS + OPTIONAL_PEERS
        unknown = [p for p in self.peers if p not in known]
        if unknown or not self.peers:
            raise ValueError(f"unknown peer(s) {unknown}: choose from {', '.join(known)}")
        if min(self.calls, self.concurrency, self.hold, self.rounds) < 1:
            raise ValueError("calls, concurrency, hold and rounds must be at least 1")
        if self.rate <= 0 or self.rate_seconds <= 0:
            raise ValueError("rate and rate_seconds must be positive")

    def canonical_command(self) -> str:
        parts = [
            "ivr bench",
            f"--calls {self.calls}",
            f"--concurrency {self.concurrency}",
            f"--rate {self.rate:g}",
            f"--rate-seconds {self.rate_seconds:g}",
            f"--hold {self.hold}",
            f"--rounds {self.rounds}",
            f"--peers {','.join(self.peers)}",
        ]
        if self.warmup != BenchOptions.warmup:
            parts.append(f"--warmup {self.warmup}")
        if self.caller_input != BenchOptions.caller_input:
            parts.append(f"--input '{self.caller_input}'")
        if self.write_docs:
            parts.append(f"--write-docs --docs {self.docs_path}")
        return " ".join(parts)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["peers"] = list(self.peers)
        data["menus_dir"] = str(self.menus_dir) if self.menus_dir else None
        data["docs_path"] = str(self.docs_path)
        return data


@dataclass
class _Context:
    options: BenchOptions
    workdir: Path
    menus_dir: Path
    server_cpu: int | None
    generator_cpu: int | None
    progress: Progress
    scenario: _load.Scenario = field(default_factory=lambda: _load.Scenario("", "", ""))
    #: The probe call's bytes, replayed in the throughput phase (None until probed).
    exchange: Exchange | None = None


def run_bench(options: BenchOptions, progress: Progress | None = None) -> dict[str, Any]:
    """Run the bench; return the results (see `fastagi.bench.report` for the layout).

    Writes the Markdown section into `options.docs_path` when
    `options.write_docs`. Raises BenchError when a server cannot start or the
    scenario does not behave (never because a target is missed).
    """
    from fastagi.server.reactor import run_on_reactor_loop

    say = progress or (lambda _message: None)
    menus_dir = options.menus_dir or default_menus_dir()
    previous_affinity = os.sched_getaffinity(0)
    cpus = sorted(previous_affinity)
    server_cpu = generator_cpu = None
    if options.pin and len(cpus) >= 2:
        server_cpu, generator_cpu = cpus[0], cpus[1]
    previous_limit = raise_own_fd_limit(options.hold * 2 + options.concurrency + 1024)
    try:
        if generator_cpu is not None:
            os.sched_setaffinity(0, {generator_cpu})
        with tempfile.TemporaryDirectory(prefix="ivr-bench-") as tmp:
            context = _Context(
                options, Path(tmp), menus_dir.resolve(), server_cpu, generator_cpu, say
            )
            results = run_on_reactor_loop(_bench(context))
    finally:
        os.sched_setaffinity(0, previous_affinity)
        resource.setrlimit(resource.RLIMIT_NOFILE, previous_limit)
    if options.write_docs:
        report.write_docs(options.docs_path, results)
        say(f"wrote {options.docs_path}")
    return results


def default_menus_dir() -> Path:
    here = Path.cwd() / "ivr_menus"
    return here if here.is_dir() else _repo_root() / "ivr_menus"


async def _bench(ctx: _Context) -> dict[str, Any]:
    options = ctx.options
    started = datetime.datetime.now(datetime.UTC)
    servers: dict[str, ChildServer] = {}
    try:
        ours = _our_server(ctx, "ours")
        ctx.progress(f"starting our server (ivr serve) on port {ours.port}")
        _start(ours)
        servers["ours"] = ours
        ctx.scenario, ctx.exchange = await probe(ours, base_scenario(options))
        ctx.progress(
            f"scenario: menu {options.menu!r}, caller input {options.caller_input!r}: "
            f"{len(ctx.scenario.expected)} commands"
        )
        if "ours" not in options.peers:
            _stop(servers.pop("ours"))
        commands_file = ctx.workdir / "commands.txt"
        commands_file.write_text("\n".join(ctx.scenario.expected) + "\n", encoding="utf-8")
        for name in options.peers:
            if name in ("ours-nocallers", "ours-nostream"):
                child = _our_server(ctx, name)
                ctx.progress(f"starting {name} on port {child.port}")
                _start(child)
                servers[name] = child
            elif name != "ours":
                child = _peer_server(ctx, name, commands_file)
                ctx.progress(f"starting {name} on port {child.port}")
                _start(child)
                servers[name] = child
        ordered = {name: servers[name] for name in options.peers}
        peers = await _measure_all(ctx, ordered)
    finally:
        for child in servers.values():
            _stop(child)
    return report.assemble(
        options=options,
        command=options.command or options.canonical_command(),
        started=started,
        scenario={
            "menu": options.menu,
            "caller_input": options.caller_input,
            "callerid": options.callerid,
            "command_count": len(ctx.scenario.expected),
            "commands": list(ctx.scenario.expected),
        },
        pinning={"server_cpu": ctx.server_cpu, "generator_cpu": ctx.generator_cpu},
        peers=peers,
    )


def _stop(child: ChildServer) -> None:
    child.stop()
    _stop_leftover_redis(child.redis_pid())


# -- the servers --------------------------------------------------------------------


def child_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "IVR_CONFIG")}
    root = str(_repo_root())
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def ivr_argv() -> list[str]:
    script = Path(sys.executable).with_name("ivr")
    if script.exists():
        return [str(script)]
    found = shutil.which("ivr")
    if found:
        return [found]
    return [sys.executable, "-c", "import sys; from fastagi.cli import main; sys.exit(main())"]


def _our_server(ctx: _Context, name: str) -> ChildServer:
    options = ctx.options
    port = free_port()
    state = ctx.workdir / f"state-{name}"
    state.mkdir()
    return ChildServer(
        name=name,
        argv=[*ivr_argv(), "serve", "--port", str(port)],
        port=port,
        # The embedded Redis lives in a private state dir; no REDIS_URL, no config
        # file (cwd is the temp dir): the server runs on its shipped defaults,
        # except max_calls, raised just enough for the hold phase.
        env=child_env(
            {
                "IVR_STATE_DIR": str(state),
                "IVR_MENUS_DIR": str(ctx.menus_dir),
                "IVR_MAX_CALLS": str(max(2000, options.hold + 64)),
                **OUR_SERVERS[name],
            }
        ),
        cwd=ctx.workdir,
        log_path=ctx.workdir / f"{name}.log",
        cpu=ctx.server_cpu,
        redis_pid_file=state / "redis.pid",
    )


def _peer_server(ctx: _Context, name: str, commands_file: Path) -> ChildServer:
    port = free_port()
    module = {"panoramisk": "fastagi.bench.panoramisk_peer", "bare": "fastagi.bench.bare_peer"}
    return ChildServer(
        name=name,
        argv=[
            sys.executable,
            "-m",
            module[name],
            "--port",
            str(port),
            "--commands",
            str(commands_file),
            "--script",
            ctx.options.menu,
        ],
        port=port,
        env=child_env({}),
        cwd=ctx.workdir,
        log_path=ctx.workdir / f"{name}.log",
        cpu=ctx.server_cpu,
    )


def _start(child: ChildServer) -> None:
    try:
        child.start()
    except ServerStartError as exc:
        raise BenchError(str(exc)) from exc


def _stop_leftover_redis(pid: int | None) -> None:
    """If our server was killed, its embedded Redis may outlive it: stop that one pid."""
    if pid is None:  # none, or gone already
        return
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:
        return


# -- the scenario ---------------------------------------------------------------------


def base_scenario(options: BenchOptions) -> _load.Scenario:
    """The call the options describe, before its commands are known (see `probe`)."""
    return _load.Scenario(options.menu, options.callerid, options.caller_input)


async def probe(ours: ChildServer, base: _load.Scenario) -> tuple[_load.Scenario, Exchange]:
    """Two calls against our server: the command lines to replay, checked to be stable.

    Also the first call's exchange, which the throughput phase replays.

    A first, unrecorded call makes the caller a known contact: the very first
    call of a number takes the new-caller route, every later one does not.
    """
    emulator = _load.new_emulator()
    await _load.place(emulator, "127.0.0.1", ours.port, base)
    first = await _load.place(emulator, "127.0.0.1", ours.port, base)
    second = await _load.place(emulator, "127.0.0.1", ours.port, base)
    reason = base.problem(first)
    if reason is not None:
        raise BenchError(
            f"the scenario call against our server failed: {reason}\n"
            f"commands: {first.command_lines}\nreplies: {first.replies}\n{ours.log_tail()}"
        )
    if first.command_lines != second.command_lines:
        raise BenchError(
            "our server sent different commands for two identical calls; the peers "
            f"cannot replay them:\n{first.command_lines}\n{second.command_lines}"
        )
    try:
        exchange = Exchange.of(first)
    except ReplayError as exc:
        raise BenchError(f"the scenario cannot be replayed at full load: {exc}") from exc
    return replace(base, expected=tuple(first.command_lines)), exchange


# -- the phases -----------------------------------------------------------------------


@contextlib.contextmanager
def generator_gc_paused() -> Iterator[None]:
    """No garbage collection in the load generator while a round runs.

    A full collection of the generator's heap (Twisted, the menus, the
    emulator) pauses it for tens of milliseconds, which would show up as
    server overhead for whichever server is being measured. Garbage made
    during the round is collected right after it.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        gc.collect()


def _split(total: int, parts: int) -> list[int]:
    """`total` as `parts` near-equal positive shares (fewer parts when total is small)."""
    parts = max(1, min(parts, total))
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


@dataclass
class _Load:
    """One phase's measurements of one server, summed over its rounds."""

    tally: _load.Tally = field(default_factory=_load.Tally)
    wall: float = 0.0
    server_cpu: float = 0.0
    generator_cpu: float = 0.0
    round_rates: list[float] = field(default_factory=list)
    redis_cpu: float | None = None  # the server's embedded Redis, when it has one
    started: int = 0
    start_span: float = 0.0
    max_lag: float = 0.0

    def cpu(self) -> dict[str, Any]:
        return {
            "server_cpu_pct": share(self.server_cpu, self.wall),
            "server_cpu_ms_per_call": _per_call_ms(self.server_cpu, self.tally.completed),
            "setups_per_cpu_s": round(self.tally.completed / self.server_cpu, 1)
            if self.server_cpu
            else None,
            "generator_cpu_pct": share(self.generator_cpu, self.wall),
            "redis_cpu_ms_per_call": None
            if self.redis_cpu is None
            else _per_call_ms(self.redis_cpu, self.tally.completed),
        }

    def add_redis_cpu(self, before: float | None, after: float | None) -> None:
        if before is not None and after is not None:
            self.redis_cpu = (self.redis_cpu or 0.0) + after - before


async def _measure_all(ctx: _Context, servers: dict[str, ChildServer]) -> dict[str, Any]:
    """Verify and warm every server, then the phases; load phases in interleaved rounds.

    Rounds rotate over the servers (ours, panoramisk, bare, ours, ...) so a slow
    spell of a noisy machine hits all of them alike instead of one.
    """
    options, scenario = ctx.options, ctx.scenario
    emulator = _load.new_emulator()
    idle: dict[str, int] = {}
    for name, child in servers.items():
        if name == "ours-nostream":  # its own Redis: make the caller known, as probe did
            await _load.place(emulator, "127.0.0.1", child.port, scenario)
        check = await _load.place(emulator, "127.0.0.1", child.port, scenario)
        reason = scenario.problem(check)
        if reason is not None:
            raise BenchError(
                f"{name}: the verification call failed: {reason}\n"
                f"commands: {check.command_lines}\n{child.log_tail()}"
            )
        idle[name] = child.memory().rss
        if options.warmup:
            await _load.closed_loop(
                emulator,
                "127.0.0.1",
                child.port,
                scenario,
                calls=options.warmup,
                concurrency=options.concurrency,
                exchange=ctx.exchange,
            )

    # What is alive now stays alive for the whole bench: keep it out of every
    # later collection (gc.freeze), so the rounds' collections stay short.
    gc.collect()
    gc.freeze()
    try:
        return await _phases(ctx, servers, emulator, idle)
    finally:
        gc.unfreeze()


async def _phases(
    ctx: _Context,
    servers: dict[str, ChildServer],
    emulator: AsteriskEmulator,
    idle: dict[str, int],
) -> dict[str, Any]:
    options, scenario = ctx.options, ctx.scenario
    throughput = {name: _Load() for name in servers}
    shares = _split(options.calls, options.rounds)
    ctx.progress(
        f"throughput: {options.calls} calls per server, {options.concurrency} at once, "
        f"in {len(shares)} interleaved rounds"
    )
    for calls in shares:
        for name, child in servers.items():
            acc = throughput[name]
            cpu0, gen0 = child.cpu_seconds(), time.process_time()
            redis0 = child.redis_cpu_seconds()
            before = acc.tally.completed
            with generator_gc_paused():
                _, wall = await _load.closed_loop(
                    emulator,
                    "127.0.0.1",
                    child.port,
                    scenario,
                    calls=calls,
                    concurrency=options.concurrency,
                    tally=acc.tally,
                    exchange=ctx.exchange,
                )
                acc.server_cpu += child.cpu_seconds() - cpu0
                acc.generator_cpu += time.process_time() - gen0  # before the collection
                acc.add_redis_cpu(redis0, child.redis_cpu_seconds())
            acc.wall += wall
            acc.round_rates.append((acc.tally.completed - before) / wall if wall else 0.0)

    rate = {name: _Load() for name in servers}
    rounds = max(1, min(options.rounds, int(options.rate * options.rate_seconds)))
    seconds = options.rate_seconds / rounds
    ctx.progress(
        f"fixed rate: {options.rate:g} calls/s for {options.rate_seconds:g} s per server, "
        f"in {rounds} interleaved rounds"
    )
    for _ in range(rounds):
        for name, child in servers.items():
            acc = rate[name]
            cpu0, gen0 = child.cpu_seconds(), time.process_time()
            with generator_gc_paused():
                run = await _load.open_loop(
                    emulator,
                    "127.0.0.1",
                    child.port,
                    scenario,
                    rate=options.rate,
                    seconds=seconds,
                    tally=acc.tally,
                )
                acc.server_cpu += child.cpu_seconds() - cpu0
                acc.generator_cpu += time.process_time() - gen0  # before the collection
            acc.wall += run.wall
            acc.started += run.started
            acc.start_span += run.start_span
            acc.max_lag = max(acc.max_lag, run.max_lag)

    results: dict[str, Any] = {}
    for name, child in servers.items():
        ctx.progress(f"{name}: hold, {options.hold} calls up at once")
        hold = await _hold(ctx, child, idle[name])
        t, r = throughput[name], rate[name]
        ordered_rates = sorted(t.round_rates)
        results[name] = {
            "pid_affinity": sorted(child.affinity()),
            "redis_affinity": sorted(child.redis_affinity()) or None,
            "start_s": round(child.started_in, 3),
            "throughput": {
                "calls": options.calls,
                "concurrency": options.concurrency,
                "rounds": len(t.round_rates),
                **t.tally.summary(),
                "wall_s": round(t.wall, 3),
                "setups_per_s": round(t.tally.completed / t.wall, 1) if t.wall else 0.0,
                "round_setups_per_s": {
                    "min": round(ordered_rates[0], 1),
                    "median": round(ordered_rates[len(ordered_rates) // 2], 1),
                    "max": round(ordered_rates[-1], 1),
                    "each": [round(rate, 1) for rate in t.round_rates],
                },
                "overhead_ms": percentiles_ms(t.tally.timings),
                **t.cpu(),
            },
            "rate": {
                "offered_per_s": options.rate,
                "seconds": options.rate_seconds,
                "rounds": rounds,
                "calls": r.started,
                **r.tally.summary(),
                "achieved_start_rate_per_s": round(
                    r.started / (r.start_span + rounds / options.rate), 1
                ),
                "max_start_lag_ms": round(r.max_lag * 1000, 3),
                "overhead_ms": percentiles_ms(r.tally.timings, p999=True),
                "overhead_by_command_ms": [
                    {k: v for k, v in percentiles_ms(column).items() if k in ("p50", "p99")}
                    for column in r.tally.by_command
                ],
                **r.cpu(),
            },
            "hold": hold,
            "failed_calls": t.tally.failed + r.tally.failed + hold["failed"],
        }
    return results


async def _hold(ctx: _Context, child: ChildServer, idle_rss: int) -> dict[str, Any]:
    options = ctx.options

    async def measure() -> dict[str, Any]:
        memory = child.memory()
        data: dict[str, Any] = {
            "rss_mib": round(memory.rss / MIB, 1),
            "hwm_mib": round(memory.hwm / MIB, 1),
            "server_open_fds": child.open_fds(),
        }
        if child.name == "ours":
            data["server_active_calls"] = await asyncio.to_thread(
                our_active_calls, ctx.workdir / "state-ours", child.port
            )
        return data

    gen0 = time.process_time()
    held = await _load.hold(
        "127.0.0.1",
        child.port,
        ctx.scenario,
        count=options.hold,
        measure=measure,
        max_pending=options.hold_max_pending,
        timeout=options.hold_timeout,
    )
    rss_mib = held.measured["rss_mib"]
    return {
        "target": held.target,
        "held": held.held,
        "failed": held.failed,
        "failures": dict(held.failures.most_common(5)),
        "ramp_s": round(held.ramp, 3),
        **held.measured,
        "rss_idle_mib": round(idle_rss / MIB, 1),
        "kib_per_held_call": round((rss_mib * MIB - idle_rss) / 1024 / held.held, 1)
        if held.held
        else None,
        "generator_cpu_s": round(time.process_time() - gen0, 3),
    }


def _per_call_ms(cpu: float, calls: int) -> float | None:
    return round(cpu * 1000 / calls, 4) if calls else None


def parse_peers(text: str) -> tuple[str, ...]:
    """`ours,panoramisk,bare` -> a tuple, in the given order, without duplicates."""
    names: list[str] = []
    for raw in text.split(","):
        name = raw.strip().lower()
        if name and name not in names:
            names.append(name)
    return tuple(names)


def options_with(base: BenchOptions, overrides: dict[str, Any]) -> BenchOptions:
    """`base` with the non-None `overrides` applied."""
    return replace(base, **{k: v for k, v in overrides.items() if v is not None})


def quick_options(**overrides: Any) -> BenchOptions:
    """The `--quick` numbers, with `overrides` on top."""
    return options_with(BenchOptions(**QUICK), overrides)
