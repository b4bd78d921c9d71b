"""Reconnection pacing: exponential backoff with jitter, and a limiter for repeated log lines."""

from __future__ import annotations

import random
from collections.abc import Callable

__all__ = ["Backoff", "RepeatLimiter"]


class Backoff:
    """Delays of initial, 2x, 4x ... up to `maximum`, each jittered by +-`jitter`.

    Jitter spreads the reconnections of many IVR processes after an Asterisk
    restart, so they do not all log in during the same millisecond.
    """

    def __init__(
        self,
        initial: float,
        maximum: float,
        *,
        jitter: float = 0.2,
        rand: Callable[[], float] = random.random,
    ) -> None:
        if initial <= 0 or maximum < initial:
            raise ValueError("backoff needs 0 < initial <= maximum")
        self.initial = initial
        self.maximum = maximum
        self.jitter = jitter
        self._rand = rand
        self.attempts = 0

    def next_delay(self) -> float:
        """The delay before the next attempt; each call counts one more failure."""
        base = min(self.maximum, self.initial * 2.0 ** min(self.attempts, 60))
        self.attempts += 1
        spread = 1.0 + self.jitter * (2.0 * self._rand() - 1.0)
        return min(self.maximum, base * spread)

    def reset(self) -> None:
        self.attempts = 0


class RepeatLimiter:
    """Says whether to log a message again: a new text always, the same one once per `every` s.

    `suppressed` counts the lines held back since the last one let through.
    """

    def __init__(self, every: float, clock: Callable[[], float]) -> None:
        self.every = every
        self._clock = clock
        self._last_text: str | None = None
        self._last_time = 0.0
        self.suppressed = 0

    def allow(self, text: str) -> bool:
        now = self._clock()
        if text != self._last_text or now - self._last_time >= self.every:
            self._last_text = text
            self._last_time = now
            return True
        self.suppressed += 1
        return False

    def take_suppressed(self) -> int:
        count, self.suppressed = self.suppressed, 0
        return count

    def reset(self) -> None:
        self._last_text = None
        self.suppressed = 0
