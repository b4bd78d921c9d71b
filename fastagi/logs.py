"""Structured logs: every record carries the call's `uniqueid` (or "-")."""

from __future__ import annotations

import json
import logging
import sys
import time

__all__ = ["configure_logging"]

_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(uniqueid)s] %(message)s"


class _CallContext(logging.Filter):
    """Gives records from outside a call a uniqueid of "-" so formats never fail."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "uniqueid"):
            record.uniqueid = "-"
        return True


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
    handler.setFormatter(JSONFormatter() if fmt == "json" else logging.Formatter(_TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
