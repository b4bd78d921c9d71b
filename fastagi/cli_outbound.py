"""`ivr broadcast` and `ivr callbacks ...`: outbound calls from the command line."""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import click

from fastagi.ami import AmiClient, AmiError
from fastagi.callbacks.request import CallbackRequest
from fastagi.callbacks.store import CallbackStore
from fastagi.cli_settings import cli_settings, config_option
from fastagi.config import ServerSettings

__all__ = ["broadcast", "callbacks", "connect_ami"]

T = TypeVar("T")


def connect_ami(settings: ServerSettings) -> AmiClient:
    """An AMI client for the settings (not started); ClickException when none is configured."""
    if settings.ami_host is None or not settings.ami_secret:
        raise click.ClickException(
            "no manager interface configured: set ami_host and ami_secret (or IVR_AMI_SECRET)"
            " in config/server.yaml - docs/ami.md"
        )
    return AmiClient(
        settings.ami_host,
        settings.ami_port,
        settings.ami_username,
        settings.ami_secret,
        auth=settings.ami_auth,
        ping_interval=0,
    )


def _with_ami(settings: ServerSettings, work: Callable[[AmiClient], Awaitable[T]]) -> T:
    from fastagi.server.reactor import run_on_reactor_loop

    client = connect_ami(settings)

    async def main() -> T:
        try:
            await client.start(timeout=10)
            return await work(client)
        finally:
            await client.close()

    try:
        return run_on_reactor_loop(main())
    except AmiError as exc:
        raise click.ClickException(f"manager interface: {exc}") from exc


@click.command()
@config_option
@click.argument("group")
@click.argument("alert")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def broadcast(config: Path | None, group: str, alert: str, as_json: bool) -> None:
    """Page every phone of GROUP (config/broadcast.yaml) at once with the sound file ALERT.

    The phones answer by themselves (intercom) and hear ALERT; the report
    lists which phones took it. Exits 1 when none did.
    """
    from fastagi.menus import MenuError
    from fastagi.outbound.broadcast import Broadcaster, BroadcastReport, load_broadcast_config

    settings = cli_settings(config)
    try:
        groups = load_broadcast_config(settings.broadcast_file)
    except MenuError as exc:
        raise click.ClickException(str(exc)) from exc
    if group not in groups.groups:
        known = ", ".join(sorted(groups.groups)) or "none"
        raise click.ClickException(
            f"no paging group {group!r} in {settings.broadcast_file} ({known})"
        )

    async def page(client: AmiClient) -> BroadcastReport:
        try:
            return await Broadcaster(client, groups).broadcast(group, alert)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc

    report = _with_ami(settings, page)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        for device, result in report.phones.items():
            click.echo(f"{device:20} {result}")
        click.echo(f"{len(report.answered)} of {len(report.phones)} phones took the page")
    if report.error:
        click.echo(f"error: {report.error}", err=True)
    if not report.answered:
        sys.exit(1)


def _with_store(settings: ServerSettings, work: Callable[[CallbackStore], Awaitable[T]]) -> T:
    """Run `work` with the callback store of the settings (Redis as `ivr serve` uses it)."""
    import asyncio

    from fastagi.callbacks.rules import CallbackRules, load_callback_rules
    from fastagi.callers.segments import SegmentRules
    from fastagi.hours.loader import load_hours
    from fastagi.menus import MenuError
    from fastagi.storage import open_async_client, redis_url

    try:
        if not settings.hours_file.is_file():
            raise click.ClickException(f"no {settings.hours_file}: callbacks need business hours")
        hours = load_hours(settings.hours_file)
        rules = (
            load_callback_rules(settings.callbacks_file, hours=hours)
            if settings.callbacks_file.is_file()
            else CallbackRules()
        )
        region = SegmentRules.load_or_default(settings.segments_file).default_region
    except MenuError as exc:
        raise click.ClickException(str(exc)) from exc

    async def main(url: str) -> T:
        client = open_async_client(url, timeout=5.0)
        try:
            store = CallbackStore.for_rules(
                client, rules, hours, prefix=settings.redis_prefix,
                region=region or settings.default_region,
            )  # fmt: skip
            return await work(store)
        finally:
            await client.aclose()

    with redis_url(settings.redis_url, settings.state_dir) as url:
        return asyncio.run(main(url))


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone().strftime("%Y-%m-%d %H:%M")


def _row(request: CallbackRequest) -> dict[str, object]:
    return {
        "id": request.id,
        "number": request.number,
        "status": request.status,
        "reasons": list(request.reasons),
        "calls": request.calls,
        "attempts": [{"at": a.at.isoformat(), "outcome": a.outcome} for a in request.attempts],
        "next_at": request.next_at.isoformat() if request.next_at and request.is_open else None,
        "email": request.email_state,
        "closed": request.closed_reason,
        "first_call": request.first_call.isoformat(),
    }


@click.group(name="callbacks")
def callbacks() -> None:
    """Callback requests of missed calls: list them, retry one, cancel one."""


@callbacks.command(name="list")
@config_option
@click.option("--status", type=click.Choice(["open", "closed"]), default=None, help="Only these.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_callbacks(config: Path | None, status: str | None, as_json: bool) -> None:
    """Every request, newest first: number, why, attempts and their outcomes, what is next.

    Lost calls the server filed but no scheduler has taken in yet are taken
    in first (the same exactly-once intake `ivr serve` runs), so none is hidden.
    """

    async def work(store: CallbackStore) -> list[CallbackRequest]:
        await store.intake("ivr-cli", count=1000)
        return await store.list_requests(status)  # type: ignore[arg-type]

    requests = _with_store(cli_settings(config), work)
    if as_json:
        for request in requests:
            click.echo(json.dumps(_row(request), ensure_ascii=False))
        return
    click.echo(
        f"{'ID':>5}  {'NUMBER':16} {'STATUS':8} {'REASONS':26} {'ATTEMPTS':24} NEXT / CLOSED"
    )
    for request in requests:
        tried = ",".join(a.outcome for a in request.attempts) or "-"
        after = (
            _when(request.next_at)
            if request.is_open
            else f"{request.closed_reason} {_when(request.closed_at)}"
        )
        cells = (request.id, request.number, request.status, ",".join(request.reasons), tried)
        click.echo("{:>5}  {:16} {:8} {:26} {:24} ".format(*cells) + after)
    click.echo(f"{len(requests)} request(s)")


@callbacks.command()
@config_option
@click.argument("request_id")
def retry(config: Path | None, request_id: str) -> None:
    """Call REQUEST_ID back again (reopens a closed one; hours and once-a-day still apply)."""
    from fastagi.callbacks.store import RequestConflict, RequestNotFound

    async def work(store: CallbackStore) -> CallbackRequest:
        try:
            return await store.retry(request_id)
        except (RequestNotFound, RequestConflict, ValueError) as exc:
            raise click.ClickException(str(exc)) from exc

    request = _with_store(cli_settings(config), work)
    click.echo(f"request {request.id} for {request.number} is open again")


@callbacks.command()
@config_option
@click.argument("request_id")
def cancel(config: Path | None, request_id: str) -> None:
    """Stop calling REQUEST_ID back (closed as cancelled)."""
    from fastagi.callbacks.store import RequestNotFound

    async def work(store: CallbackStore) -> bool:
        try:
            return await store.cancel(request_id)
        except (RequestNotFound, ValueError) as exc:
            raise click.ClickException(str(exc)) from exc

    if _with_store(cli_settings(config), work):
        click.echo(f"request {request_id} cancelled")
    else:
        click.echo(f"request {request_id} was closed already")
