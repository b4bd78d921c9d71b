"""Small helpers shared by the directory modules: time stamps, Redis replies as text."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = ["LogThrottle", "as_fields", "as_text", "iso_second", "iso_utc", "redis_mapping"]


def iso_utc(ts: float) -> str:
    """Unix time -> ISO 8601 UTC to the second: `2025-11-27T13:13:00Z`."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _IsoSeconds:
    """`iso_utc`, remembered for the second last asked: the calls of one second share it."""

    __slots__ = ("_second", "_text")

    def __init__(self) -> None:
        self._second: int | None = None
        self._text = ""

    def __call__(self, ts: float) -> str:
        second = int(ts)
        if second != self._second:
            self._text = iso_utc(ts)
            self._second = second
        return self._text


#: `iso_utc` for time stamps that come in order (a server's calls): one format per second.
iso_second = _IsoSeconds()


def as_text(value: object) -> str:
    """A Redis reply value as text, whether the client decodes responses or not."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def redis_mapping(fields: Mapping[str, str]) -> dict[Any, Any]:
    """`fields` typed as redis-py's HSET/XADD mapping parameters want."""
    return dict(fields)


def as_fields(reply: object) -> dict[str, str]:
    """A HGETALL / stream-entry reply as a dict of text; raise ValueError for anything else."""
    if not isinstance(reply, dict):
        raise ValueError(f"expected a hash from Redis, got {type(reply).__name__}")
    return {as_text(k): as_text(v) for k, v in reply.items()}


class LogThrottle:
    """Lets one log line through per `interval` seconds and counts the ones held back.

    During a Redis outage every call fails the same way; one warning every
    few seconds (with how many were held back) says as much as hundreds.
    """

    def __init__(self, interval: float = 10.0) -> None:
        self.interval = interval
        self._next_at = 0.0
        self._held = 0

    def allow(self) -> int | None:
        """None to stay quiet; else how many lines were held back since the last one."""
        now = time.monotonic()
        if now < self._next_at:
            self._held += 1
            return None
        held, self._held = self._held, 0
        self._next_at = now + self.interval
        return held
