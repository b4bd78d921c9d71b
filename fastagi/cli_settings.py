"""What every `ivr` command shares: the `--config` option and the settings it names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from fastagi.config import ConfigError, ServerSettings, load_settings

__all__ = ["cli_settings", "config_option"]

config_option = click.option(
    "--config",
    "config",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Settings file (default: $IVR_CONFIG or config/server.yaml when present).",
)


def cli_settings(config: Path | None, **overrides: Any) -> ServerSettings:
    """The settings for a command; a bad file or value is a clear error, not a traceback."""
    try:
        return load_settings(config, overrides=overrides)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
