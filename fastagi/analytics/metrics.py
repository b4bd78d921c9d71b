"""Prometheus metrics for one server: calls, AGI command and caller lookup latency, queue waits.

A `Metrics` owns its own `CollectorRegistry` (never the process-wide one), so
tests and several servers in one process keep separate counts. It is fed
three ways:

- as an `EventSink` (`emit`): `call_end` events count calls by their status,
  `queue` events with ``event=leave`` time the queue waits;
- through hooks the server calls only when metrics are on: `observe_command`
  (FastAGIFactory.command_timer: one AGI command's round trip) and
  `observe_lookup` (CallerService.lookup_timer: one caller lookup);
- at scrape time: the factory's active and rejected calls are read by a
  collector, and the open callback requests come from a cache that
  `watch_callbacks` refreshes in the background, so a scrape never waits on Redis.

`listen` serves the exposition on ``GET /metrics`` with twisted.web; see docs/metrics.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Final, cast

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from twisted.internet.interfaces import IListeningPort, IReactorTCP
from twisted.web.iweb import IRequest
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Site

from fastagi.events import CallEvent
from fastagi.server.router import CallStatus
from fastagi.web import WebRequest

if TYPE_CHECKING:
    from fastagi.server.factory import FastAGIFactory

__all__ = [
    "COMMAND_BUCKETS",
    "LOOKUP_BUCKETS",
    "QUEUE_WAIT_BUCKETS",
    "REFRESH_INTERVAL",
    "Metrics",
    "MetricsResource",
]

log = logging.getLogger(__name__)

#: AGI round trips: most replies take a millisecond or less, a prompt seconds.
COMMAND_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
#: Caller lookups: sub-millisecond on a local Redis, bounded by lookup_budget (0.2 s).
LOOKUP_BUCKETS: Final = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0)
#: Queue waits, in seconds: up to the hour a queue's max_wait may allow.
QUEUE_WAIT_BUCKETS: Final = (5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 3600.0)
#: Seconds between reads of the open callback requests.
REFRESH_INTERVAL: Final = 15.0
#: A read of the callback hash that takes longer is given up until the next one.
_REFRESH_BUDGET: Final = 5.0


class _ServerCollector(Collector):
    """The factory's own counters, read at scrape time (nothing to keep in step)."""

    def __init__(self) -> None:
        self.factory: FastAGIFactory | None = None
        self.callbacks_pending: int | None = None  # None until the first read

    def collect(self) -> Iterable[Metric]:
        factory = self.factory
        yield GaugeMetricFamily(
            "ivr_active_calls",
            "Calls the server is running now.",
            value=factory.active_calls if factory is not None else 0,
        )
        yield CounterMetricFamily(
            "ivr_calls_rejected",
            "Calls answered BUSY: over max_calls or shutting down.",
            value=factory.calls_rejected if factory is not None else 0,
        )
        if self.callbacks_pending is not None:
            yield GaugeMetricFamily(
                "ivr_callbacks_pending",
                "Open callback requests (length of the callbacks:open hash),"
                f" read every {REFRESH_INTERVAL:g} s at most.",
                value=self.callbacks_pending,
            )


#: The event kinds the metrics read.
_COUNTED_KINDS = frozenset({"call_end", "queue"})


class Metrics:
    """The server's metrics in a registry of their own; see the module docstring."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._server = _ServerCollector()
        self.registry.register(self._server)
        self.calls = Counter(
            "ivr_calls",
            "Calls ended, by their IVRSTATUS (SUCCESS, HANGUP, FAILED, BUSY, NOTFOUND).",
            ["outcome"],
            registry=self.registry,
        )
        for status in (CallStatus.SUCCESS, CallStatus.HANGUP, CallStatus.FAILED):
            self.calls.labels(status)  # shown as 0 from the start, so rate() sees the first
        self.commands = Histogram(
            "ivr_agi_command_seconds",
            "AGI command round trips: from sending a command to its final reply.",
            buckets=COMMAND_BUCKETS,
            registry=self.registry,
        )
        self.lookups = Histogram(
            "ivr_redis_seconds",
            "Caller lookups in Redis (anonymous callers are not looked up).",
            buckets=LOOKUP_BUCKETS,
            registry=self.registry,
        )
        self.degraded_lookups = Counter(
            "ivr_caller_lookups_degraded",
            "Caller lookups that fell back to the default menu: Redis down, slow or odd.",
            registry=self.registry,
        )
        self.queue_waits = Histogram(
            "ivr_queue_wait_seconds",
            "Time callers spent in a queue, by queue and how they left it.",
            ["queue", "outcome"],
            buckets=QUEUE_WAIT_BUCKETS,
            registry=self.registry,
        )
        #: The hot path's hook: FastAGIFactory.command_timer.
        self.observe_command = self.commands.observe
        self._watcher: asyncio.Task[None] | None = None
        self._ports: list[IListeningPort] = []

    # -- feeds ---------------------------------------------------------------

    def watch_factory(self, factory: FastAGIFactory) -> None:
        """Report this factory's active and rejected calls."""
        self._server.factory = factory

    def route(self, kind: str) -> Callable[[CallEvent], None] | None:
        """For a TeeSink: `emit` for the kinds it reads, nothing for the others."""
        return self.emit if kind in _COUNTED_KINDS else None

    def emit(self, event: CallEvent) -> None:
        """EventSink: count ended calls, time queue waits; other events are ignored."""
        kind = event.kind
        if kind == "call_end":
            self.calls.labels(event.data.get("status") or "unknown").inc()
        elif kind == "queue" and event.data.get("event") == "leave":
            data = event.data
            try:
                wait = float(data.get("wait") or 0)
            except ValueError:
                return
            self.queue_waits.labels(data.get("queue", ""), data.get("outcome", "")).observe(wait)

    observe_event = emit

    def observe_lookup(self, seconds: float, degraded: bool) -> None:
        """One caller lookup took `seconds`; `degraded`: it fell back to the default menu."""
        self.lookups.observe(seconds)
        if degraded:
            self.degraded_lookups.inc()

    # -- open callback requests ---------------------------------------------------

    def watch_callbacks(
        self, redis: Any, key: str, *, interval: float = REFRESH_INTERVAL
    ) -> asyncio.Task[None]:
        """Read HLEN `key` now and every `interval` s, in the background, until `close`.

        `redis` is a redis.asyncio client. A failed read keeps the last value
        (logged); before the first read the gauge is not exported.
        """
        if self._watcher is not None:
            raise RuntimeError("already watching the callback requests")
        self._watcher = asyncio.ensure_future(self._watch(redis, key, interval))
        return self._watcher

    async def _watch(self, redis: Any, key: str, interval: float) -> None:
        while True:
            await self.refresh_callbacks(redis, key)
            await asyncio.sleep(interval)

    async def refresh_callbacks(self, redis: Any, key: str) -> bool:
        """Read the open callback requests once; False (logged) when Redis did not answer."""
        try:
            async with asyncio.timeout(_REFRESH_BUDGET):
                count = await redis.hlen(key)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # Redis trouble: the last value stays
            log.warning("metrics: cannot read %s: %s", key, exc)
            return False
        self._server.callbacks_pending = int(count)
        return True

    # -- exposition -----------------------------------------------------------------

    def exposition(self) -> bytes:
        """The registry in Prometheus' text format."""
        return generate_latest(self.registry)

    def listen(self, host: str, port: int, reactor: IReactorTCP | None = None) -> IListeningPort:
        """Serve ``GET /metrics`` on host:port (port 0: any free one, see ``getHost()``)."""
        if reactor is None:
            from twisted.internet import reactor as installed

            reactor = cast(IReactorTCP, installed)
        site = Site(MetricsResource(self), parsePOSTFormSubmission=False)  # type: ignore[no-untyped-call]
        site.displayTracebacks = False
        # Site is a ServerFactory; Twisted's annotation wants its protocol's generic parameter.
        listening = reactor.listenTCP(port, site, interface=host)  # type: ignore[arg-type]
        self._ports.append(listening)
        return listening

    async def close(self) -> None:
        """Stop the callback reads and the HTTP listeners."""
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        ports, self._ports = self._ports, []
        loop = asyncio.get_running_loop()
        for listening in ports:
            stopped = listening.stopListening()
            if stopped is not None:
                await stopped.asFuture(loop)


class MetricsResource(Resource):
    """``GET /metrics``: the exposition; other paths 404, other methods 405."""

    isLeaf = True

    def __init__(self, metrics: Metrics) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.metrics = metrics

    def render(self, twisted_request: IRequest) -> bytes | int:
        request = cast(WebRequest, twisted_request)
        if request.path != b"/metrics":
            return _reply(request, 404, b"text/plain; charset=utf-8", b"not found\n")
        if request.method != b"GET":
            request.setHeader(b"allow", b"GET")
            return _reply(request, 405, b"text/plain; charset=utf-8", b"method not allowed\n")
        body = self.metrics.exposition()
        return _reply(request, 200, CONTENT_TYPE_LATEST.encode("ascii"), body)


def _reply(request: WebRequest, code: int, content_type: bytes, body: bytes) -> int:
    request.setResponseCode(code)
    request.setHeader(b"content-type", content_type)
    request.setHeader(b"content-length", b"%d" % len(body))
    request.write(body)
    request.finish()
    return NOT_DONE_YET
