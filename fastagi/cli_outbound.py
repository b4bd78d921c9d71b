"""`ivr broadcast` and `ivr callbacks ...`: outbound calls from the command line."""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import click

from fastagi.ami import AmiClient, AmiError
from fastagi.config import ConfigError, ServerSettings, load_settings

__all__ = ["broadcast", "connect_ami"]

T = TypeVar("T")

_config_option = click.option(
    "--config", type=click.Path(path_type=Path, dir_okay=False), help="Settings file."
)


def _settings(config: Path | None) -> ServerSettings:
    try:
        return load_settings(config)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


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
@_config_option
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

    settings = _settings(config)
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
