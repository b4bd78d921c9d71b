"""Helpers shared by the caller directory tests."""

from __future__ import annotations

from fastagi.callers import CallerDirectory


async def keys_under(directory: CallerDirectory) -> set[str]:
    """Every key under the directory's prefix (SCAN, never KEYS)."""
    pattern = directory.keys.prefix + "*"
    return {str(key) async for key in directory.redis.scan_iter(match=pattern, count=1000)}


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


DAY = 86400.0
