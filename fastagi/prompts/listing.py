"""`ivr prompts list`: what each prompt sounds like now, where it came from, and if it is stale."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from fastagi.config import ServerSettings
from fastagi.prompts.audio import wav_duration
from fastagi.prompts.build import RECORDED, Manifest, plan_jobs
from fastagi.prompts.catalogue import Catalogue
from fastagi.prompts.engines import engines_for

__all__ = ["PromptStatus", "prompt_statuses"]


@dataclass(frozen=True)
class PromptStatus:
    """One prompt in one language.

    `state`: `ok` (built from what the catalogue says now), `stale` (the
    text, voice or recording changed since), `missing` (never built),
    `dynamic` (made during calls), `no text` (nothing for this language),
    `not built` (sounds_dir is unset).
    """

    prompt_id: str
    language: str
    source: str
    duration: float
    state: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def prompt_statuses(catalogue: Catalogue, settings: ServerSettings) -> list[PromptStatus]:
    """Every prompt id of the catalogue in every language, sorted by id."""
    sounds_dir = settings.sounds_dir
    engines = [engine.name for engine in engines_for(settings.tts_engine)]
    planned = (
        []
        if sounds_dir is None
        else plan_jobs(
            catalogue, settings.prompts_dir, sounds_dir, engines, wideband=settings.wideband_prompts
        )
    )
    jobs = {(job.prompt_id, job.language): job for job in planned}
    manifest = Manifest.load(sounds_dir) if sounds_dir is not None else None
    rows = []
    for prompt_id in sorted(catalogue.texts):
        for language in catalogue.languages:
            job = jobs.get((prompt_id, language))
            text = catalogue.text(prompt_id, language)
            if job is None or manifest is None:
                if text is not None and text.is_dynamic:
                    state, source = "dynamic", "tts during the call"
                elif manifest is None and text is not None:
                    state, source = "not built", "sounds_dir unset"
                else:
                    state, source = "no text", "-"
                rows.append(PromptStatus(prompt_id, language, source, 0.0, state))
                continue
            entry = manifest.entries.get(job.key, {})
            source = RECORDED if job.recording is not None else str(entry.get("source", "-"))
            if not job.target.is_file():
                state, duration = "missing", 0.0
            else:
                current = manifest.is_current(job, wideband=settings.wideband_prompts)
                state = "ok" if current else "stale"
                duration = wav_duration(job.target)
                if not current and job.recording is None:
                    source = f"{entry.get('source', '?')} (old)"
            rows.append(PromptStatus(prompt_id, language, source, duration, state))
    return rows
