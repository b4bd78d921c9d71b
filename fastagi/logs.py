"""Structured logs: every record carries the call's `uniqueid` (or "-")."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable

__all__ = ["BurstWarning", "configure_logging"]

_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(uniqueid)s] %(message)s"


class _CallContext(logging.Filter):
    """Gives records from outside a call a uniqueid of "-" so formats never fail."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "uniqueid"):
            record.uniqueid = "-"
        return True


#: Control characters in a text log message, shown escaped: a caller-supplied value
#: with a newline must not forge a second log line.
_ESCAPED = {code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F)} | {
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    ord("\t"): "\\t",
}


class _OneLineFormatter(logging.Formatter):
    """The text format, with every message on one line (tracebacks still follow it)."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = record.message.translate(_ESCAPED)
        return super().formatMessage(record)


class JSONFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, uniqueid, message (+ exception)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "uniqueid": getattr(record, "uniqueid", "-"),
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(fmt: str = "text", level: str = "INFO") -> None:
    """Send all logs (ours and Twisted's) to stderr in the chosen format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_CallContext())
    handler.setFormatter(JSONFormatter() if fmt == "json" else _OneLineFormatter(_TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


class BurstWarning:
    """A warning that can repeat thousands of times a second (a flood of refused calls).

    The first occurrence is logged; then at most one line per `every` seconds,
    saying how many were not logged since. Counters elsewhere (metrics,
    `ivr status`) keep the exact totals; the log stays readable and cheap.
    """

    def __init__(
        self, logger: logging.Logger, *, every: float = 10.0, clock: Callable[[], float]
    ) -> None:
        self._logger = logger
        self._every = every
        self._clock = clock
        self._next_at = float("-inf")
        self._unlogged = 0

    def warn(self, message: str, *args: object, extra: dict[str, object] | None = None) -> None:
        now = self._clock()
        if now < self._next_at:
            self._unlogged += 1
            return
        if self._unlogged:
            message += f" ({self._unlogged} more like it in the last {self._every:g} s not logged)"
        self._logger.warning(message, *args, extra=extra)
        self._next_at = now + self._every
        self._unlogged = 0
