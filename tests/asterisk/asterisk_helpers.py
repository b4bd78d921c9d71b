"""Helpers shared by the Asterisk config tests (imported by bare name)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

__all__ = ["WriteFile"]

#: The `write` fixture: write("asterisk-conf/queues.conf", text) -> path.
WriteFile = Callable[[str, str], Path]
