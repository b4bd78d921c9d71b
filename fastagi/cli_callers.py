"""`ivr callers ...`: the caller directory from the command line."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from fastagi.callers import CallerDirectory, InvalidField, InvalidNumber, normalize
from fastagi.callers.importer import ImportFileError, export_callers, import_callers
from fastagi.callers.segments import SegmentRules, default_rules
from fastagi.cli_settings import cli_settings, config_option
from fastagi.config import ServerSettings
from fastagi.storage import open_async_client, redis_url

__all__ = ["callers", "load_rules", "open_directory"]

T = TypeVar("T")


def load_rules(settings: ServerSettings) -> SegmentRules:
    """The segment rules from settings.segments_file, or the built-in ones when absent."""
    from fastagi.menus import MenuError

    if not settings.segments_file.exists():
        return default_rules()
    try:
        return SegmentRules.load(settings.segments_file)
    except MenuError as exc:
        raise click.ClickException(str(exc)) from exc


@asynccontextmanager
async def open_directory(url: str, settings: ServerSettings) -> AsyncIterator[CallerDirectory]:
    # Admin commands are not on a call's clock: a generous timeout.
    client = open_async_client(url, timeout=5.0)
    try:
        yield CallerDirectory(client, prefix=settings.redis_prefix, region=settings.default_region)
    finally:
        await client.aclose()


def _run(settings: ServerSettings, work: Callable[[CallerDirectory], Awaitable[T]]) -> T:
    async def main(url: str) -> T:
        async with open_directory(url, settings) as directory:
            return await work(directory)

    with redis_url(settings.redis_url, settings.state_dir) as url:
        return asyncio.run(main(url))


def _number(raw: str, settings: ServerSettings) -> str:
    try:
        return normalize(raw, settings.default_region)
    except InvalidNumber as exc:
        raise click.ClickException(str(exc)) from exc


@click.group()
def callers() -> None:
    """The caller directory in Redis: import, export, edit, explain segments."""


@callers.command(name="import")
@config_option
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
def import_command(config: Path | None, file: Path) -> None:
    """Upsert callers from a .csv or .jsonl file; bad rows are reported and skipped.

    Exits 1 when any row was skipped (the others are imported all the same).
    """
    settings = cli_settings(config)

    async def work(directory: CallerDirectory) -> Any:
        return await import_callers(directory, file, region=settings.default_region)

    try:
        report = _run(settings, work)
    except ImportFileError as exc:
        raise click.ClickException(str(exc)) from exc
    for row in report.skipped:
        click.echo(f"{file}:{row.line}: skipped: {row.message}", err=True)
    if report.ignored_columns:
        click.echo(f"ignored columns: {', '.join(report.ignored_columns)}", err=True)
    click.echo(f"imported {report.imported}, skipped {len(report.skipped)}")
    if report.skipped:
        sys.exit(1)


@callers.command(name="export")
@config_option
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), default=None)
def export_command(config: Path | None, fmt: str, output: Path | None) -> None:
    """Write every caller as CSV (spreadsheet-safe) or JSON lines, to a file or stdout."""
    settings = cli_settings(config)

    async def work(directory: CallerDirectory) -> int:
        if output is None:
            return await export_callers(directory, sys.stdout, fmt=fmt)
        with output.open("w", encoding="utf-8", newline="") as out:
            return await export_callers(directory, out, fmt=fmt)

    count = _run(settings, work)
    click.echo(f"exported {count} caller(s)", err=True)


@callers.command(name="set")
@config_option
@click.argument("number")
@click.argument("assignments", nargs=-1, required=True)
def set_command(config: Path | None, number: str, assignments: tuple[str, ...]) -> None:
    """Set profile fields: ivr callers set +79161234567 first_name=Ivan tags=vip (empty deletes)."""
    settings = cli_settings(config)
    e164 = _number(number, settings)
    fields: dict[str, str] = {}
    for item in assignments:
        key, sep, value = item.partition("=")
        if not sep:
            raise click.ClickException(f"expected key=value, got {item!r}")
        fields[key.strip()] = value

    async def work(directory: CallerDirectory) -> None:
        await directory.upsert(e164, fields)

    try:
        _run(settings, work)
    except InvalidField as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{e164}: updated {', '.join(sorted(fields))}")


@callers.command(name="show")
@config_option
@click.argument("number")
def show_command(config: Path | None, number: str) -> None:
    """Profile, segment (and the rule that chose it), open tickets and the last calls."""
    settings = cli_settings(config)
    e164 = _number(number, settings)
    rules = load_rules(settings)

    async def work(directory: CallerDirectory) -> tuple[Any, ...]:
        profile = await directory.get(e164, windows=rules.windows())
        tickets = await directory.tickets(e164, open_only=True)
        history = await directory.history(e164, limit=10)
        return profile, tickets, history

    profile, tickets, history = _run(settings, work)
    if profile is None:
        raise click.ClickException(f"{e164} is not in the directory")
    match = rules.classify(profile, datetime.now(UTC))
    click.echo(f"caller {e164}")
    for key, value in sorted(profile.fields.items()):
        click.echo(f"  {key}: {value}")
    rule = "" if match.rule_index is None else f" (rule {match.rule_index + 1})"
    click.echo(f"segment: {match.segment}{rule}: {'; '.join(match.reasons) or 'no rule matched'}")
    click.echo(f"open tickets: {len(tickets)}")
    for ticket in tickets:
        agent = f", agent {ticket.agent}" if ticket.agent else ""
        updated = f"(updated {ticket.updated})"
        click.echo(f"  #{ticket.id} [{ticket.status}] {ticket.subject}{agent} {updated}")
    click.echo(f"last calls: {len(history)}")
    for entry in history:
        fields = ", ".join(f"{k}={v}" for k, v in entry.items() if k not in ("id", "when"))
        click.echo(f"  {entry.get('when', '?')}  {fields}")


@callers.command(name="segment")
@config_option
@click.argument("number")
def segment_command(config: Path | None, number: str) -> None:
    """Explain the segment rules for a caller: each rule in order, matched or not, and why."""
    settings = cli_settings(config)
    e164 = _number(number, settings)
    rules = load_rules(settings)

    async def work(directory: CallerDirectory) -> Any:
        return await directory.get(e164, windows=rules.windows())

    profile = _run(settings, work)
    if profile is None:
        raise click.ClickException(f"{e164} is not in the directory")
    now = datetime.now(UTC)
    chosen = rules.classify(profile, now)
    for name, matched, why in rules.explain(profile, now):
        mark = "->" if matched and name == chosen.segment else ("yes" if matched else "no ")
        click.echo(f"{mark:>3} {name}: {why}")
    click.echo(f"segment: {chosen.segment}")


@callers.command(name="seed-demo")
@config_option
def seed_demo_command(config: Path | None) -> None:
    """Load the demo's callers (ivr_menus/callers.csv) and their ticket."""
    from fastagi.callers.demo import seed_demo

    settings = cli_settings(config)

    async def work(directory: CallerDirectory) -> Any:
        return await seed_demo(directory, settings.menus_dir)

    try:
        report = _run(settings, work)
    except (OSError, ImportFileError) as exc:
        raise click.ClickException(f"cannot load the demo callers: {exc}") from exc
    click.echo(f"demo callers loaded: {report.imported}")
