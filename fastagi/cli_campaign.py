"""`ivr campaign ...`: outbound campaigns from the command line (docs/campaigns.md)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TypeVar

import click
from redis.exceptions import RedisError

from fastagi.callers.directory import CallerDirectory
from fastagi.callers.segments import SegmentRules
from fastagi.campaigns import (
    DNC_SEGMENT,
    CampaignFileError,
    CampaignStatus,
    CampaignStore,
    DoNotCall,
    FileLoad,
    References,
    Status,
    UnknownCampaign,
    load_file,
)
from fastagi.cli_callers import load_rules
from fastagi.cli_settings import cli_settings, config_option
from fastagi.config import ServerSettings
from fastagi.storage import open_async_client, redis_url
from fastagi.timezones import zone_from_name

__all__ = ["campaign"]

T = TypeVar("T")

#: Column titles of the status table, per status.
_TITLES: Mapping[Status, str] = {
    "done": "done",
    "pending": "pending",
    "dialling": "in progress",
    "failed": "failed",
    "expired": "expired",
    "dnc": "dnc",
}
_ORDER: tuple[Status, ...] = ("done", "pending", "dialling", "failed", "expired", "dnc")


def _run(
    settings: ServerSettings,
    work: Callable[[CampaignStore], Awaitable[T]],
    rules: SegmentRules | None = None,
) -> T:
    async def main(url: str) -> T:
        # Admin commands are not on a call's clock: a generous timeout.
        client = open_async_client(url, timeout=5.0)
        try:
            dnc = None
            if rules is not None:
                directory = CallerDirectory(
                    client, prefix=settings.redis_prefix, region=settings.default_region
                )
                dnc = DoNotCall(directory, rules)
            return await work(CampaignStore(client, settings.redis_prefix, dnc=dnc))
        finally:
            await client.aclose()

    with redis_url(settings.redis_url, settings.state_dir) as url:
        try:
            return asyncio.run(main(url))
        except UnknownCampaign as exc:
            raise click.ClickException(str(exc)) from exc
        except RedisError as exc:
            raise click.ClickException(f"Redis: {exc}") from exc


def _references(settings: ServerSettings) -> tuple[References, list[str]]:
    """The menus and catalogue prompts a campaign may name, and notes on what was not checked."""
    from fastagi.menus import MenuError
    from fastagi.menus.loader import load_menus
    from fastagi.prompts.catalogue import load_catalogue

    notes: list[str] = []
    menus: frozenset[str] | None = None
    try:
        menus = frozenset(load_menus(settings.menus_dir))
    except (MenuError, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        notes.append(f"menus not checked: {settings.menus_dir}: {first}")
    folder: str | None = None
    prompts: frozenset[str] = frozenset()
    catalogue_file = settings.prompts_dir / "catalogue.yaml"
    if catalogue_file.exists():
        try:
            catalogue = load_catalogue(catalogue_file)
        except (MenuError, OSError) as exc:
            notes.append(f"voices not checked: {catalogue_file}: {str(exc).splitlines()[0]}")
        else:
            folder = catalogue.folder
            prompts = frozenset(catalogue.sound_name(p) for p in catalogue.texts)
    return References(menus=menus, catalogue_folder=folder, prompts=prompts), notes


@click.group(name="campaign")
def campaign() -> None:
    """Outbound campaigns: load numbers from a file, follow progress, pause and resume."""


@campaign.command(name="load")
@config_option
@click.option(
    "--name",
    default=None,
    help="Campaign name (default: from the file name). Loading into an existing"
    " campaign adds only the numbers it does not have yet.",
)
@click.option(
    "--timezone",
    "timezone_name",
    default=None,
    help="The centre's time zone for event dates (default: the segments file's timezone).",
)
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
def load_command(
    config: Path | None, name: str | None, timezone_name: str | None, file: Path
) -> None:
    """Load a campaign CSV: bad rows are reported with their line and skipped.

    Exits 1 when a row was skipped as bad (the others are loaded all the same).
    """
    settings = cli_settings(config)
    rules = load_rules(settings)
    zone: tzinfo = rules.timezone
    if timezone_name:
        try:
            zone = zone_from_name(timezone_name)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--timezone") from exc
    references, notes = _references(settings)

    async def work(store: CampaignStore) -> FileLoad:
        return await load_file(
            store,
            file,
            name=name,
            region=settings.default_region,
            zone=zone,
            now=datetime.now(UTC),
            references=references,
        )

    try:
        result = _run(settings, work, rules)
    except (CampaignFileError, ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    for note in notes:
        click.echo(f"note: {note}", err=True)
    if rules.rule(DNC_SEGMENT) is None:
        click.echo(
            f"note: the segment rules have no {DNC_SEGMENT!r} segment: nobody is dnc", err=True
        )
    found = [(row, "skipped") for row in result.parsed.skipped]
    found += [(row, "warning") for row in result.warnings]
    for row, kind in sorted(found, key=lambda item: item[0].line):
        click.echo(f"{file}:{row.line}: {kind}: {row.message}", err=True)
    report = result.report
    made = "created" if report.created else "updated"
    click.echo(
        f"campaign {report.campaign} {made}: added {report.added},"
        f" already loaded {report.already_loaded}, skipped {len(result.parsed.skipped)} bad"
        f" and {len(result.parsed.duplicates)} duplicate row(s)"
    )
    if result.parsed.skipped:
        sys.exit(1)


def _table(status: CampaignStatus) -> list[str]:
    heads = ["priority", "total", *(_TITLES[s] for s in _ORDER)]
    rows: list[list[str]] = []
    for priority, counts in status.by_priority.items():
        rows.append([str(priority), str(sum(counts.values())), *(str(counts[s]) for s in _ORDER)])
    rows.append(["all", str(status.total), *(str(status.counts[s]) for s in _ORDER)])
    widths = [max(len(head), *(len(row[i]) for row in rows)) for i, head in enumerate(heads)]
    return [
        "  ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True))
        for line in [heads, *rows]
    ]


def _show(status: CampaignStatus) -> None:
    source = f" from {status.file}" if status.file else ""
    click.echo(
        f"campaign {status.name} ({status.state}): {status.total} entries{source},"
        f" created {status.created}"
    )
    for line in _table(status):
        click.echo(f"  {line}")
    if status.waiting or status.retry_later:
        click.echo(
            f"  of the pending: {status.waiting} wait for their event window,"
            f" {status.retry_later} for a retry"
        )
    if status.finished:
        click.echo("  finished: nothing left to dial")


@campaign.command(name="status")
@config_option
@click.argument("name", required=False)
def status_command(config: Path | None, name: str | None) -> None:
    """Progress of a campaign (or of all): done, pending, in progress, failed, expired, dnc."""
    settings = cli_settings(config)

    async def work(store: CampaignStore) -> list[CampaignStatus]:
        if name is None:
            return await store.list_campaigns()
        return [await store.status(name)]

    try:
        found = _run(settings, work)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    if not found:
        click.echo("no campaigns")
    for index, status in enumerate(found):
        if index:
            click.echo("")
        _show(status)


@campaign.command(name="list")
@config_option
def list_command(config: Path | None) -> None:
    """Every campaign: state, progress, when created, from which file."""
    settings = cli_settings(config)
    found = _run(settings, lambda store: store.list_campaigns())
    if not found:
        click.echo("no campaigns")
        return
    rows = [["name", "state", "done", "pending", "total", "created", "file"]]
    for status in found:
        rows.append(
            [
                status.name,
                status.state,
                str(status.counts["done"]),
                str(status.counts["pending"] + status.counts["dialling"]),
                str(status.total),
                status.created,
                status.file,
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def _set_state(config: Path | None, name: str, pause: bool) -> None:
    settings = cli_settings(config)

    async def work(store: CampaignStore) -> None:
        await (store.pause(name) if pause else store.resume(name))

    try:
        _run(settings, work)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"campaign {name} {'paused' if pause else 'running'}")


@campaign.command(name="pause")
@config_option
@click.argument("name")
def pause_command(config: Path | None, name: str) -> None:
    """Stop dialling a campaign's entries (calls in progress finish)."""
    _set_state(config, name, pause=True)


@campaign.command(name="resume")
@config_option
@click.argument("name")
def resume_command(config: Path | None, name: str) -> None:
    """Dial a paused campaign's entries again."""
    _set_state(config, name, pause=False)
