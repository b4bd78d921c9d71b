"""Call events pushed to a CRM: HTTP POSTs of JSON, retried, never in a call's way.

    sink = WebhookSink("https://crm.example/ivr-events", headers={"Authorization": "..."})
    sink.start()                   # on the running loop
    ...
    await sink.stop()

`emit` only appends to a bounded queue. One worker posts batches (a JSON
array of up to `batch` events, in the order they happened) and, when the CRM
is down or answers an error, tries the same batch again after 1, 2, 4 ...
up to `max_backoff` seconds, so nothing is reordered and nothing is lost
while the queue has room. When it is full, the oldest events are dropped
and counted: a CRM outage never grows the server's memory without end.
The POST runs in a worker thread (the standard library's HTTP client), so
a slow CRM cannot stall the event loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from fastagi.config import redacted_url
from fastagi.events import CallEvent

__all__ = ["WebhookSink", "event_json"]

log = logging.getLogger("fastagi.analytics")

MAX_QUEUE: Final = 50_000


def event_json(event: CallEvent) -> dict[str, Any]:
    """One event as the webhook sends it (the fields of docs/events.md)."""
    return {
        "v": 1,
        "uid": event.uniqueid,
        "kind": event.kind,
        "menu": event.menu,
        "node": event.node,
        "at": round(event.at, 3),
        "data": dict(event.data),
    }


class WebhookSink:
    """An EventSink posting events to `url`; see the module docstring."""

    def __init__(
        self,
        url: str,
        *,
        kinds: Iterable[str] | None = None,
        headers: Mapping[str, str] | None = None,
        batch: int = 100,
        timeout: float = 10.0,
        max_backoff: float = 60.0,
        max_queue: int = MAX_QUEUE,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"webhook URL {url!r} must start with http:// or https://")
        self.url = url
        self.kinds = frozenset(kinds) if kinds is not None else None
        self.headers = {"Content-Type": "application/json", **dict(headers or {})}
        self.batch = batch
        self.timeout = timeout
        self.max_backoff = max_backoff
        self._queue: deque[dict[str, Any]] = deque(maxlen=max_queue)
        self._wake = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self.sent = 0
        self.dropped = 0
        self.failures = 0

    def route(self, kind: str) -> Callable[[CallEvent], None] | None:
        """For a TeeSink: `emit` for the kinds it posts, nothing for the others."""
        return self.emit if self.kinds is None or kind in self.kinds else None

    def emit(self, event: CallEvent) -> None:
        if self.kinds is not None and event.kind not in self.kinds:
            return
        if len(self._queue) == self._queue.maxlen:
            self.dropped += 1  # the deque drops the oldest
        self._queue.append(event_json(event))
        self._wake.set()

    def start(self) -> None:
        """Start the worker on the running loop."""
        if self._worker is None or self._worker.done():
            self._worker = asyncio.ensure_future(self._run())

    async def stop(self, flush_timeout: float = 5.0) -> None:
        """Give the worker up to `flush_timeout` s to send what is queued, then stop it."""
        if self._worker is None:
            return
        try:
            async with asyncio.timeout(flush_timeout):
                while self._queue and not self._worker.done():
                    await asyncio.sleep(0.05)
        except TimeoutError:
            log.warning("webhook: %d events not sent at shutdown", len(self._queue))
        self._worker.cancel()
        await asyncio.gather(self._worker, return_exceptions=True)

    async def _run(self) -> None:
        backoff = 1.0
        while True:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
            batch = [self._queue[i] for i in range(min(self.batch, len(self._queue)))]
            try:
                await asyncio.to_thread(self._post, batch)
            except (OSError, urllib.error.URLError, ValueError) as exc:
                self.failures += 1
                log.warning(
                    "webhook %s: %s; trying again in %.0f s", redacted_url(self.url), exc, backoff
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
                continue
            sent = {id(item) for item in batch}  # only now do they leave the queue
            while self._queue and id(self._queue[0]) in sent:
                self._queue.popleft()
            self.sent += len(batch)
            backoff = 1.0

    def _post(self, batch: list[dict[str, Any]]) -> None:
        body = json.dumps(batch, ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(self.url, data=body, headers=self.headers, method="POST")
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            if not 200 <= response.status < 300:
                raise ValueError(f"HTTP {response.status}")
