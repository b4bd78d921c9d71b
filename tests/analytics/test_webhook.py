"""The CRM webhook against a real local HTTP server: order, retries, never blocking."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from fastagi.analytics.webhook import WebhookSink
from fastagi.events import CallEvent


class Crm:
    """An HTTP server that answers 500 `failures` times, then takes every POST."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.received: list[list[dict[str, Any]]] = []
        self.attempts = 0
        crm = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                body = self.rfile.read(length)
                crm.attempts += 1
                if crm.failures > 0:
                    crm.failures -= 1
                    self.send_response(500)
                else:
                    crm.received.append(json.loads(body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/events"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def crm() -> Iterator[Crm]:
    server = Crm(failures=2)
    yield server
    server.close()


def _events(n: int) -> list[CallEvent]:
    return [CallEvent(f"call-{i}", "call_end", data={"status": "SUCCESS"}) for i in range(n)]


def test_events_arrive_in_order_after_the_crm_recovers(crm: Crm) -> None:
    async def main() -> WebhookSink:
        sink = WebhookSink(crm.url, batch=10, max_backoff=0.05)
        sink.start()
        for event in _events(25):
            sink.emit(event)
        deadline = time.monotonic() + 10
        while sink.sent < 25 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await sink.stop()
        return sink

    sink = asyncio.run(main())
    uids = [item["uid"] for batch in crm.received for item in batch]
    assert uids == [f"call-{i}" for i in range(25)]  # nothing lost, nothing reordered
    assert sink.failures == 2 and crm.attempts == len(crm.received) + 2
    assert crm.received[0][0]["kind"] == "call_end" and crm.received[0][0]["v"] == 1


def test_emit_never_waits_for_a_crm_that_is_down() -> None:
    async def main() -> tuple[float, WebhookSink]:
        sink = WebhookSink("http://127.0.0.1:9/nobody", max_queue=100, timeout=0.5)
        sink.start()
        started = time.perf_counter()
        for event in _events(1000):
            sink.emit(event)
        elapsed = time.perf_counter() - started
        await sink.stop(flush_timeout=0.2)
        return elapsed, sink

    elapsed, sink = asyncio.run(main())
    assert elapsed < 0.5  # a thousand emits, whatever the CRM does
    assert sink.dropped == 900  # bounded: the oldest went
    assert sink.sent == 0


def test_only_the_kinds_asked_for_are_sent(crm: Crm) -> None:
    crm.failures = 0

    async def main() -> None:
        sink = WebhookSink(crm.url, kinds={"call_end"})
        sink.start()
        sink.emit(CallEvent("a", "node"))
        sink.emit(CallEvent("a", "call_end", data={"status": "HANGUP"}))
        deadline = time.monotonic() + 5
        while sink.sent < 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        await sink.stop()

    asyncio.run(main())
    assert [item["kind"] for batch in crm.received for item in batch] == ["call_end"]


def test_a_url_that_is_not_http_is_refused() -> None:
    with pytest.raises(ValueError, match="http"):
        WebhookSink("file:///etc/passwd")
