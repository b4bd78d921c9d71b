"""Where `ivr serve` sends call events: the Redis stream, and a CRM webhook when set.

pipeline = EventPipeline.from_settings(settings, redis_url)
start_server(settings, events=pipeline.sink, ...)
pipeline.start()        # once the loop runs
...
await pipeline.stop()   # writes what is buffered
"""

from __future__ import annotations

import os
from typing import Any

from fastagi.analytics.stream import StreamSink
from fastagi.analytics.webhook import WebhookSink
from fastagi.config import ServerSettings, redacted_url
from fastagi.events import EventSink, TeeSink
from fastagi.storage import open_async_client

__all__ = ["EventPipeline"]


class EventPipeline:
    """The event sinks of one server, started and stopped together."""

    def __init__(
        self, stream: StreamSink | None, webhook: WebhookSink | None, redis: Any = None
    ) -> None:
        self.stream = stream
        self.webhook = webhook
        self._redis = redis
        sinks: list[EventSink] = [s for s in (stream, webhook) if s is not None]
        self.sink: EventSink | None = (
            None if not sinks else sinks[0] if len(sinks) == 1 else TeeSink(*sinks)
        )

    @classmethod
    def from_settings(cls, settings: ServerSettings, redis_url: str) -> EventPipeline:
        redis = open_async_client(redis_url, timeout=2.0) if settings.events_stream else None
        stream = StreamSink(redis, settings.redis_prefix) if redis is not None else None
        webhook = None
        if settings.webhook_url:
            token = os.environ.get(settings.webhook_token_env or "", "")
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            webhook = WebhookSink(
                settings.webhook_url, kinds=settings.webhook_kinds, headers=headers
            )
        return cls(stream, webhook, redis)

    def describe(self) -> str:
        """A line for the banner."""
        parts = ["Redis stream events" if self.stream is not None else "no event stream"]
        if self.webhook is not None:
            parts.append(f"webhook {redacted_url(self.webhook.url)}")
        return "Events: " + ", ".join(parts)

    def start(self) -> None:
        if self.webhook is not None:
            self.webhook.start()

    async def stop(self) -> None:
        if self.stream is not None:
            await self.stream.drain()
        if self.webhook is not None:
            await self.webhook.stop()
        if self._redis is not None:
            await self._redis.aclose()
