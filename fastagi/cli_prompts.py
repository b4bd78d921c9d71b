"""`ivr prompts ...`: build the prompt catalogue into telephony audio, and list it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from fastagi.cli_settings import cli_settings, config_option
from fastagi.config import ServerSettings
from fastagi.prompts.build import PromptJob
from fastagi.prompts.catalogue import Catalogue

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar

__all__ = ["prompts"]


def _catalogue(settings: ServerSettings) -> Catalogue:
    from fastagi.menus import MenuError
    from fastagi.prompts.service import catalogue_path, load_settings_catalogue

    try:
        catalogue = load_settings_catalogue(settings)
    except MenuError as exc:
        raise click.ClickException(f"the prompt catalogue has errors:\n{exc}") from exc
    if catalogue is None:
        raise click.ClickException(
            f"no prompt catalogue at {catalogue_path(settings)} (set prompts_dir in the config)"
        )
    return catalogue


@click.group(name="prompts")
def prompts() -> None:
    """The prompt catalogue (prompts/catalogue.yaml) and its audio."""


@prompts.command()
@config_option
@click.option(
    "--engine",
    type=click.Choice(["auto", "gtts", "espeak-ng"]),
    help="Text-to-speech engine (default: the config's tts_engine, auto = gTTS then espeak-ng).",
)
@click.option("--force", is_flag=True, help="Rebuild every prompt, changed or not.")
@click.option(
    "--retry-fallbacks",
    is_flag=True,
    help="Rebuild prompts the offline engine made because the online one failed.",
)
def build(config: Path | None, engine: str | None, force: bool, retry_fallbacks: bool) -> None:
    """Render every changed prompt to 8 kHz mono 16-bit WAV in sounds_dir.

    A prompt is rebuilt when its text, language or voice changed (or its
    recording in prompts/<language>/); a failed prompt is reported with its
    id and reason and the others are still built. Exits 1 when any failed.
    """
    from fastagi.prompts.service import build_from_settings, summary

    settings = cli_settings(config)
    if settings.sounds_dir is None:
        raise click.ClickException("sounds_dir is not set in the config: nowhere to build to")
    catalogue = _catalogue(settings)
    failures: list[str] = []
    bars: list[ProgressBar[int]] = []

    def start(count: int) -> None:  # the count is known once digests are compared
        if count:
            bars.append(click.progressbar(length=count, label="building prompts", file=sys.stderr))
            bars[0].__enter__()

    def done(job: PromptJob, error: str | None) -> None:
        bars[0].update(1)

    try:
        result = build_from_settings(
            settings,
            catalogue,
            engine=engine,  # type: ignore[arg-type]  # click.Choice checked it
            force=force,
            retry_fallbacks=retry_fallbacks,
            on_start=start,
            on_done=done,
        )
    finally:
        for bar in bars:
            bar.__exit__(None, None, None)
    for job, source in sorted(result.built, key=lambda item: item[0].key):
        click.echo(f"built {job.key}.wav  [{source}]")
    for job, reason in sorted(result.failed, key=lambda item: item[0].key):
        failures.append(f"FAILED {job.prompt_id} [{job.language}]: {reason}")
    for line in failures:
        click.echo(line, err=True)
    for engine_name, reason in sorted(result.engine_failures.items()):
        if any(engine_name in source for _, source in result.built):
            click.echo(f"note: {reason}", err=True)
    click.echo(f"{summary(result)} -> {settings.sounds_dir}")
    if failures:
        sys.exit(1)


@prompts.command(name="list")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
def list_command(config: Path | None, as_json: bool) -> None:
    """Each prompt: id, language, source (recorded / TTS engine / dynamic), duration, stale."""
    from fastagi.prompts.listing import prompt_statuses

    settings = cli_settings(config)
    catalogue = _catalogue(settings)
    rows = prompt_statuses(catalogue, settings)
    if as_json:
        for row in rows:
            click.echo(json.dumps(row.as_dict(), ensure_ascii=False))
        return
    click.echo(f"{'ID':28} {'LANG':4} {'SOURCE':32} {'SECONDS':>7}  STATE")
    for row in rows:
        seconds = f"{row.duration:.2f}" if row.duration else "-"
        click.echo(f"{row.prompt_id:28} {row.language:4} {row.source:32} {seconds:>7}  {row.state}")
    stale = sum(1 for row in rows if row.state in ("stale", "missing"))
    if stale:
        click.echo(f"{stale} prompt file(s) to build: ivr prompts build", err=True)
