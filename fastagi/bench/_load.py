"""The load generator: calls placed through the Asterisk emulator, in three shapes.

- `closed_loop`: N calls, C at a time, as fast as the server takes them;
- `open_loop`: calls started at a fixed rate, whatever the server does;
- `hold`: H calls, each kept waiting in the middle of its first command
  (the emulator delays its reply) until all are up, then released.

Every call is checked against the scenario: the server must send exactly the
expected command lines and close the socket itself.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from fastagi.bench.replay import Exchange, Replayed, replay
from fastagi.testing import (
    AsteriskEmulator,
    CallerScript,
    CallResult,
    Channel,
    Command,
    CommandHandler,
    CommandTable,
    Dialplan,
    Outcome,
    default_commands,
)

__all__ = [
    "CallRecorder",
    "PacedRun",
    "Scenario",
    "Segment",
    "Tally",
    "closed_loop",
    "hold",
    "new_emulator",
    "open_loop",
    "paced",
    "place",
]

#: Real seconds after which the emulator gives a call up as stuck.
CALL_WALL_LIMIT = 60.0


#: AGISTATUS of a call the server ended by closing the socket.
CLOSED_BY_SERVER: Final = frozenset({"SUCCESS"})


@dataclass(frozen=True)
class Scenario:
    """One call of a demo menu: script path, caller number, caller input, expected commands.

    `callerid` may hold `{n}`, replaced by the call's number in the run (a
    new caller each time). `agi_statuses`: the AGISTATUS values that count
    as done right (HANGUP too for calls the caller or the menu hangs up).
    """

    script: str
    callerid: str
    caller_input: str
    expected: tuple[str, ...] = ()
    agi_statuses: frozenset[str] = CLOSED_BY_SERVER

    def caller(self) -> CallerScript:
        """The caller's script (parsed once; a CallerScript is reusable across calls)."""
        return _parsed_script(self.caller_input)

    def callerid_for(self, index: int) -> str:
        return self.callerid.format(n=index) if "{n" in self.callerid else self.callerid

    def problem(self, result: CallResult) -> str | None:
        """Why the call does not count as done right, or None when it does."""
        if result.error is not None:
            return result.error.partition(":")[0]
        if result.stuck:
            return "stuck (no command and no close within the wall limit)"
        if not result.server_closed:
            return "server did not close the call"
        expected = self.expected
        if expected and tuple(result.command_lines) != expected:
            return f"{len(result.command_lines)} commands instead of the expected {len(expected)}"
        if result.agi_status not in self.agi_statuses:
            return f"AGISTATUS={result.agi_status}"
        status = result.variables.get("IVRSTATUS")
        if status in ("FAILED", "NOTFOUND"):
            return f"IVRSTATUS={status}"
        return None


@functools.lru_cache(maxsize=16)
def _parsed_script(text: str) -> CallerScript:
    return CallerScript.parse(text)


def new_emulator(
    commands: CommandTable | None = None, dialplan: Dialplan | None = None
) -> AsteriskEmulator:
    """An emulator for load: every sound file exists, generous connect and wall limits.

    With `dialplan`, the menus' GOSUBs (queue, voicemail, transfer) run its subroutines.
    """
    return AsteriskEmulator(
        commands=commands, connect_timeout=10.0, wall_limit=CALL_WALL_LIMIT, dialplan=dialplan
    )


@dataclass
class Tally:
    """Calls done right and wrong, and the per-command overheads of the right ones."""

    completed: int = 0
    failed: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    command_counts: Counter[int] = field(default_factory=Counter)
    timings: list[float] = field(default_factory=list)
    by_command: list[list[float]] = field(default_factory=list)
    """Overheads by command position: by_command[0] is env block -> first command."""

    def add(self, result: CallResult, scenario: Scenario) -> None:
        self._count(len(result.command_lines), result.timings, scenario.problem(result))

    def add_replayed(self, call: Replayed) -> None:
        self._count(call.commands, call.timings, call.problem)

    def _count(self, commands: int, timings: Sequence[float], reason: str | None) -> None:
        self.command_counts[commands] += 1
        if reason is None:
            self.completed += 1
            self.timings.extend(timings)
            while len(self.by_command) < len(timings):
                self.by_command.append([])
            for index, seconds in enumerate(timings):
                self.by_command[index].append(seconds)
        else:
            self.failed += 1
            self.failures[reason] += 1

    def add_error(self, exc: BaseException) -> None:
        self.failed += 1
        self.failures[f"{type(exc).__name__}: {exc}"] += 1

    def summary(self) -> dict[str, Any]:
        return {
            "completed": self.completed,
            "failed": self.failed,
            "failures": dict(self.failures.most_common(5)),
            "command_counts": {str(k): v for k, v in sorted(self.command_counts.items())},
        }


async def place(
    emulator: AsteriskEmulator,
    host: str,
    port: int,
    scenario: Scenario,
    index: int = 0,
    **extra: Any,
) -> CallResult:
    """One call of the scenario; `index` is the call's number in the run."""
    return await emulator.place_call(
        host,
        port,
        script=scenario.script,
        callerid=scenario.callerid_for(index),
        caller=scenario.caller(),
        **extra,
    )


async def closed_loop(
    emulator: AsteriskEmulator,
    host: str,
    port: int,
    scenario: Scenario,
    *,
    calls: int,
    concurrency: int,
    tally: Tally | None = None,
    exchange: Exchange | None = None,
) -> tuple[Tally, float]:
    """Place `calls` calls, `concurrency` at a time; return the tally and the wall seconds.

    Results are added to `tally` when given (so rounds can share one). With
    `exchange` the calls replay it (`fastagi.bench.replay`: the probe call's
    bytes, far cheaper than the emulator) instead of going through `emulator`.
    """
    tally = Tally() if tally is None else tally
    remaining = calls
    placed = 0
    run = f"{int(time.time())}"

    async def worker() -> None:
        nonlocal remaining, placed
        while remaining > 0:
            remaining -= 1
            placed += 1
            try:
                if exchange is None:
                    result = await place(emulator, host, port, scenario, placed)
                    tally.add(result, scenario)
                else:
                    callerid = scenario.callerid_for(placed)
                    uniqueid = f"{run}.{placed}"
                    tally.add_replayed(await replay(exchange, host, port, uniqueid, callerid))
            except Exception as exc:  # a generator bug must show as failed calls
                tally.add_error(exc)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, calls)))))
    return tally, time.perf_counter() - began


@dataclass
class OpenLoopRun:
    """What `open_loop` did: the tally, when calls really started, how late the latest was."""

    tally: Tally
    started: int
    start_span: float
    wall: float
    max_lag: float


@dataclass(frozen=True)
class Segment:
    """A stretch of an open-loop schedule: calls started at `rate`/s for `seconds` s."""

    name: str
    rate: float
    seconds: float


#: What `paced` reports per call: the segment's name, the start in seconds from
#: the first call, its scenario, and the result (or the exception the generator hit).
CallRecorder = Callable[[str, float, "Scenario", "CallResult | BaseException"], None]


@dataclass(frozen=True)
class PacedRun:
    """What `paced` did: calls started, the span of their starts, wall time, worst lag."""

    started: int
    start_span: float
    wall: float
    max_lag: float


async def paced(
    emulator: AsteriskEmulator,
    host: str,
    port: int,
    scenarios: Sequence[Scenario],
    segments: Sequence[Segment],
    record: CallRecorder,
    **extra: Any,
) -> PacedRun:
    """Start calls on the schedule of `segments`, each on its own; wait for all to end.

    Call i is of `scenarios[i % len(scenarios)]` (a mix takes turns). Every
    call's result (or exception) goes to `record`; `extra` goes to
    `AsteriskEmulator.place_call` (reply_delay makes calls last longer).
    """
    loop = asyncio.get_running_loop()

    async def one(segment: str, at: float, index: int) -> None:
        scenario = scenarios[index % len(scenarios)]
        try:
            result: CallResult | BaseException = await place(
                emulator, host, port, scenario, index, **extra
            )
        except Exception as exc:  # a generator bug must show as a failed call
            result = exc
        record(segment, at, scenario, result)

    tasks: list[asyncio.Task[None]] = []
    max_lag = 0.0
    began = loop.time()
    segment_start = began
    last = began
    for segment in segments:
        total = max(1, round(segment.rate * segment.seconds))
        for index in range(total):
            due = segment_start + index / segment.rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            now = loop.time()
            max_lag = max(max_lag, now - due)
            last = now
            tasks.append(asyncio.create_task(one(segment.name, now - began, len(tasks))))
        segment_start += total / segment.rate
    await asyncio.gather(*tasks)
    return PacedRun(len(tasks), last - began, loop.time() - began, max_lag)


async def open_loop(
    emulator: AsteriskEmulator,
    host: str,
    port: int,
    scenarios: Scenario | Sequence[Scenario],
    *,
    rate: float,
    seconds: float,
    tally: Tally | None = None,
) -> OpenLoopRun:
    """Start one call every 1/rate s for `seconds` s, each on its own; wait for all to end.

    With several scenarios the calls take turns (see `paced`).
    """
    tally = Tally() if tally is None else tally
    mix = (scenarios,) if isinstance(scenarios, Scenario) else tuple(scenarios)

    def record(
        _segment: str, _at: float, scenario: Scenario, result: CallResult | BaseException
    ) -> None:
        if isinstance(result, BaseException):
            tally.add_error(result)
        else:
            tally.add(result, scenario)

    run = await paced(emulator, host, port, mix, [Segment("steady", rate, seconds)], record)
    return OpenLoopRun(tally, run.started, run.start_span, run.wall, run.max_lag)


class _FirstCommandWatch:
    """Counts the calls whose first command has reached the emulator.

    It wraps every handler of the emulator's command table; a handler runs
    when a command line arrives, before the (delayed) reply is written.
    """

    def __init__(self) -> None:
        self.held: set[str] = set()
        self.changed = asyncio.Event()

    def table(self) -> CommandTable:
        return CommandTable(
            Command(command.words, self._wrap(command.handler), command.usage, command.dead_ok)
            for command in default_commands()
        )

    def _wrap(self, handler: CommandHandler) -> CommandHandler:
        def watched(channel: Channel, argv: list[str]) -> Outcome:
            if channel.uniqueid not in self.held:
                self.held.add(channel.uniqueid)
                self.changed.set()
            return handler(channel, argv)

        return watched


@dataclass
class HoldRun:
    """What `hold` did: calls held at once, calls that never got there, ramp seconds."""

    target: int
    held: int
    failed: int
    ramp: float
    measured: dict[str, Any]
    failures: Counter[str]


async def hold(
    host: str,
    port: int,
    scenario: Scenario,
    *,
    count: int,
    measure: Callable[[], Awaitable[dict[str, Any]]],
    max_pending: int = 200,
    timeout: float = 120.0,
) -> HoldRun:
    """Bring `count` calls up and keep each waiting for its first reply; measure; release.

    At most `max_pending` calls are connecting at any moment (a SYN burst
    of thousands overflows any listen backlog). `measure` runs once all are
    held, or at `timeout`; then every call is hung up by closing its socket.
    """
    loop = asyncio.get_running_loop()
    watch = _FirstCommandWatch()
    emulator = new_emulator(watch.table())
    failures: Counter[str] = Counter()
    ended: set[asyncio.Task[CallResult]] = set()
    delay = timeout + 2 * CALL_WALL_LIMIT

    def on_done(task: asyncio.Task[CallResult]) -> None:
        ended.add(task)
        if not task.cancelled():
            exc = task.exception()
            if exc is not None:
                failures[f"{type(exc).__name__}: {exc}"] += 1
            else:
                reason = scenario.problem(task.result())
                failures[reason or "call ended while it should hold"] += 1
        watch.changed.set()

    async def wait_change(deadline: float) -> bool:
        remaining = deadline - loop.time()
        if remaining <= 0:
            return False
        try:
            await asyncio.wait_for(watch.changed.wait(), remaining)
        except TimeoutError:
            return False
        watch.changed.clear()
        return True

    began = loop.time()
    deadline = began + timeout
    tasks: list[asyncio.Task[CallResult]] = []
    for _ in range(count):
        while len(tasks) - len(watch.held) - len(ended) >= max_pending:
            if not await wait_change(deadline):
                break
        if loop.time() > deadline:
            break
        task = asyncio.create_task(
            place(emulator, host, port, scenario, reply_delay=delay, wall_limit=delay)
        )
        task.add_done_callback(on_done)
        tasks.append(task)
    while len(watch.held) + len(ended) < count and await wait_change(deadline):
        pass
    ramp = loop.time() - began
    held = len(watch.held - {t.result().uniqueid for t in ended if _has_result(t)})
    try:
        measured = await measure()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return HoldRun(count, held, count - held, ramp, measured, failures)


def _has_result(task: asyncio.Task[CallResult]) -> bool:
    return not task.cancelled() and task.exception() is None
