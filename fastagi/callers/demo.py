"""Seed data for the demo call centre: callers of every segment and one open ticket."""

from __future__ import annotations

from pathlib import Path

from fastagi.callers.directory import CallerDirectory
from fastagi.callers.importer import ImportReport, import_callers

__all__ = ["DEMO_TICKET", "seed_demo"]

#: The demo caller with an open request (segment has_open_ticket), and its subject.
DEMO_TICKET = ("+79161000004", "Order 1042 has not arrived")


async def seed_demo(directory: CallerDirectory, menus_dir: Path) -> ImportReport:
    """Import `<menus_dir>/callers.csv` and open the demo ticket unless one is open.

    Safe to run again: profiles are upserted and no second ticket is opened.
    Returns the import report (raises as `import_callers` does).
    """
    report = await import_callers(directory, menus_dir / "callers.csv", region="RU")
    number, subject = DEMO_TICKET
    if await directory.latest_open_ticket(number) is None:
        await directory.open_ticket(number, subject, agent="203")
    return report
