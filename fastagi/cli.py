"""`ivr`: the command line of the IVR server (serve, validate, simulate, test, reload, bench)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from fastagi.config import ConfigError, ServerSettings, load_settings

__all__ = ["main"]

DEMO_CALLER = "+79161234567"


def _settings(config: Path | None, **overrides: Any) -> ServerSettings:
    try:
        return load_settings(config, overrides=overrides)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


config_option = click.option(
    "--config",
    "config",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Settings file (default: $IVR_CONFIG or config/server.yaml when present).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="fastagi-ivr")
def main() -> None:
    """A personalised IVR for Asterisk, driven by a FastAGI server and YAML menus."""


@main.command()
@config_option
@click.option("--host", help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, help="FastAGI port (default 4573).")
@click.option("--max-calls", type=int, help="Concurrent calls before new ones get BUSY.")
@click.option("--menus", "menus_dir", type=click.Path(path_type=Path), help="Menu directory.")
@click.option("--log-format", type=click.Choice(["text", "json"]), help="Log format.")
def serve(
    config: Path | None,
    host: str | None,
    port: int | None,
    max_calls: int | None,
    menus_dir: Path | None,
    log_format: str | None,
) -> None:
    """Run the FastAGI server until SIGTERM/Ctrl-C (calls in progress may finish first)."""
    settings = _settings(
        config, host=host, port=port, max_calls=max_calls, menus_dir=menus_dir,
        log_format=log_format,
    )  # fmt: skip
    from fastagi.server.runner import run_forever

    sys.exit(run_forever(settings))


def _control(config: Path | None, command: str) -> None:
    from fastagi.server.control import ControlError, control_socket_path, send_control

    settings = _settings(config)
    path = control_socket_path(settings.state_dir, settings.port)
    try:
        answer = send_control(path, command)
    except ControlError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(answer, indent=2))
    if not answer.get("ok"):
        sys.exit(1)


@main.command()
@config_option
def reload(config: Path | None) -> None:
    """Validate the menus again and switch the running server to them (calls keep theirs)."""
    _control(config, "reload")


@main.command()
@config_option
def rollback(config: Path | None) -> None:
    """Switch the running server back to the menus it ran before the last reload."""
    _control(config, "rollback")


@main.command()
@config_option
def status(config: Path | None) -> None:
    """Show the running server's calls, limits and menu version."""
    _control(config, "status")
