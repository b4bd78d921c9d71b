"""The Redis keys of callback requests, built in one place (see docs/callbacks.md).

Request keys embed only a numeric id, and the per-number key an E.164
number checked again here, so nothing a caller sends can shape a key.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastagi.callers.keys import DEFAULT_PREFIX, Keys

__all__ = ["CallbackKeys"]


@dataclass(frozen=True, slots=True)
class CallbackKeys:
    """The callback keys under one prefix (default `ivr:`); see docs/callbacks.md."""

    prefix: str = DEFAULT_PREFIX

    def __post_init__(self) -> None:
        Keys(self.prefix)  # checks the prefix

    @property
    def callers(self) -> Keys:
        return Keys(self.prefix)

    def intake(self) -> str:
        """Stream: lost calls and requested callbacks waiting to be worked."""
        return self.callers.callbacks()

    def request(self, request_id: int) -> str:
        """Hash: one request."""
        return f"{self.request_prefix()}{request_id}"

    def request_prefix(self) -> str:
        return f"{self.prefix}callback:"

    def seq(self) -> str:
        """String (INCR): the last request id handed out."""
        return f"{self.prefix}callback:seq"

    def open(self) -> str:
        """Hash: E.164 number -> id of its open request."""
        return f"{self.prefix}callbacks:open"

    def due(self) -> str:
        """Sorted set: open request ids scored by when they are looked at next."""
        return f"{self.prefix}callbacks:due"

    def all(self) -> str:
        """Sorted set: every request id kept, scored by its first lost call."""
        return f"{self.prefix}callbacks:all"

    def reached(self, e164: str) -> str:
        """String: `<unix time>|<local day>` the number last reached an agent."""
        self.callers.caller(e164)  # checks the number
        return f"{self.prefix}callbacks:reached:{e164}"
