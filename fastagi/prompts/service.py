"""Prompts for a running server, from its settings: catalogue, build on start, dynamic prompts.

catalogue = load_settings_catalogue(settings)      # None when there is none
result = build_from_settings(settings, catalogue)   # what `ivr prompts build` does
dynamic = dynamic_from_settings(settings, catalogue)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from fastagi.config import ServerSettings
from fastagi.prompts.build import BuildResult, PromptJob, build_prompts
from fastagi.prompts.catalogue import Catalogue, load_catalogue
from fastagi.prompts.dynamic import DynamicPrompts
from fastagi.prompts.engines import EngineChoice, Synthesiser, engines_for

__all__ = [
    "build_from_settings",
    "catalogue_path",
    "dynamic_from_settings",
    "load_settings_catalogue",
    "summary",
    "synthesiser_for",
]

log = logging.getLogger("fastagi.prompts")

CATALOGUE_NAME = "catalogue.yaml"


def catalogue_path(settings: ServerSettings) -> Path:
    return settings.prompts_dir / CATALOGUE_NAME


def load_settings_catalogue(settings: ServerSettings) -> Catalogue | None:
    """The catalogue under settings.prompts_dir; None when there is no catalogue file.

    Raises MenuError (file:line) when the file is invalid.
    """
    path = catalogue_path(settings)
    return load_catalogue(path) if path.is_file() else None


def synthesiser_for(settings: ServerSettings, engine: EngineChoice | None = None) -> Synthesiser:
    return Synthesiser(engines_for(engine or settings.tts_engine, settings.gtts_timeout))


def build_from_settings(
    settings: ServerSettings,
    catalogue: Catalogue,
    *,
    engine: EngineChoice | None = None,
    force: bool = False,
    retry_fallbacks: bool = False,
    on_start: Callable[[int], None] | None = None,
    on_done: Callable[[PromptJob, str | None], None] | None = None,
) -> BuildResult:
    """Build the catalogue into settings.sounds_dir (ValueError when sounds_dir is unset)."""
    if settings.sounds_dir is None:
        raise ValueError("sounds_dir is not set: there is nowhere to build the prompts")
    return build_prompts(
        catalogue,
        settings.prompts_dir,
        settings.sounds_dir,
        synthesiser_for(settings, engine),
        force=force,
        retry_fallbacks=retry_fallbacks,
        wideband=settings.wideband_prompts,
        on_start=on_start,
        on_done=on_done,
    )


def summary(result: BuildResult) -> str:
    """`built 3 (espeak-ng 3), unchanged 55, failed 0` - one line for logs and the CLI."""
    sources: dict[str, int] = {}
    for _, source in result.built:
        sources[source] = sources.get(source, 0) + 1
    made = ", ".join(f"{name} {count}" for name, count in sorted(sources.items()))
    text = f"built {len(result.built)}" + (f" ({made})" if made else "")
    text += f", unchanged {len(result.unchanged)}, failed {len(result.failed)}"
    if result.removed:
        text += f", removed {len(result.removed)}"
    return text


def dynamic_from_settings(
    settings: ServerSettings, catalogue: Catalogue | None
) -> DynamicPrompts | None:
    """The server's prompt source: dynamic prompts, and URLs when `sounds_url` is set.

    None when there is nothing for it to do (no catalogue or sounds_dir, no
    dynamic prompt and no URL).
    """
    if catalogue is None or settings.sounds_dir is None:
        return None
    if not catalogue.dynamic_names() and settings.sounds_url is None:
        return None
    return DynamicPrompts(
        catalogue,
        synthesiser_for(settings),
        settings.sounds_dir,
        budget=settings.dynamic_prompt_budget,
        workers=settings.dynamic_prompt_workers,
        sounds_url=settings.sounds_url,
    )
