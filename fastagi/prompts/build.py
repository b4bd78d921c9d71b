"""`ivr prompts build`: the catalogue's prompts as telephony audio, rebuilt only when changed.

Each (prompt, language) is a job whose digest covers everything that shapes
the sound: the text, the voices and engines that may speak it, or the bytes
of a studio recording dropped at `prompts/<language>/<id>.<ext>` (which wins
over text-to-speech), and the pipeline version. The manifest in the sounds
directory keeps the digest each file was made from; a job whose digest and
file are both there is skipped, so a build with nothing changed only reads.

Failures are per prompt: a failed job is reported with its id and reason and
the others are still built; the file it would replace stays as it was.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from fastagi.prompts.audio import AudioError, atomic_path, to_telephony
from fastagi.prompts.catalogue import Catalogue, PromptText
from fastagi.prompts.engines import Synthesiser, SynthesisError

__all__ = [
    "RECORDING_SUFFIXES",
    "BuildResult",
    "Manifest",
    "PromptJob",
    "build_prompts",
    "plan_jobs",
]

log = logging.getLogger("fastagi.prompts")

#: Bump when the conversion changes, so every prompt is remade once.
PIPELINE_VERSION: Final = 1
MANIFEST_NAME: Final = ".manifest.json"
#: Studio recordings sox can read, in the order they are looked for.
RECORDING_SUFFIXES: Final = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".au")
RECORDED: Final = "recorded"


@dataclass(frozen=True)
class PromptJob:
    """One file to make: a prompt in one language, from its text or a recording."""

    prompt_id: str
    language: str
    text: PromptText | None
    recording: Path | None
    target: Path
    digest: str
    #: The manifest key: the file's path under the sounds directory, no suffix
    #: (`en/ivr/main-greeting`; the folder may have several parts).
    key: str


def recording_of(prompts_dir: Path, language: str, prompt_id: str) -> Path | None:
    """The studio recording of a prompt, if one was dropped into prompts/<language>/."""
    for suffix in RECORDING_SUFFIXES:
        candidate = prompts_dir / language / f"{prompt_id}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def _digest(parts: Mapping[str, object]) -> str:
    payload = json.dumps({"pipeline": PIPELINE_VERSION, **parts}, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def plan_jobs(
    catalogue: Catalogue,
    prompts_dir: Path,
    sounds_dir: Path,
    engine_names: Iterable[str],
    *,
    wideband: bool = False,
) -> list[PromptJob]:
    """Every file the catalogue makes: fixed texts and recordings, in every language.

    Dynamic texts (with caller data) are made during calls, not here; a
    recording still replaces one (then it is fixed).
    """
    engines = list(engine_names)
    jobs: list[PromptJob] = []
    for prompt_id in sorted(catalogue.texts):
        for language in catalogue.languages:
            text = catalogue.text(prompt_id, language)
            recording = recording_of(prompts_dir, language, prompt_id)
            target = sounds_dir / language / catalogue.folder / f"{prompt_id}.wav"
            if recording is not None:
                parts: dict[str, object] = {"recording": _file_digest(recording)}
                text = None
            elif text is not None and not text.is_dynamic:
                voices = {engine: catalogue.voice(language, engine, text) for engine in engines}
                parts = {"text": text.text, "language": language, "voices": voices}
            else:
                continue
            parts["wideband"] = wideband
            key = f"{language}/{catalogue.folder}/{prompt_id}"
            jobs.append(
                PromptJob(prompt_id, language, text, recording, target, _digest(parts), key)
            )
    return jobs


@dataclass
class Manifest:
    """What each built file was made from: digest, source, duration, when."""

    path: Path
    entries: dict[str, dict[str, object]] = field(default_factory=dict)

    @classmethod
    def load(cls, sounds_dir: Path) -> Manifest:
        path = sounds_dir / MANIFEST_NAME
        try:
            data = json.loads(path.read_text("utf-8"))
        except FileNotFoundError:
            return cls(path)
        except (OSError, ValueError) as exc:
            log.warning("prompt manifest %s unreadable (%s): every prompt is rebuilt", path, exc)
            return cls(path)
        entries = data.get("prompts") if isinstance(data, dict) else None
        if not isinstance(entries, dict):
            return cls(path)
        # an entry of another shape is as good as none: that prompt is rebuilt
        return cls(path, {k: v for k, v in entries.items() if isinstance(v, dict)})

    def save(self) -> None:
        with atomic_path(self.path) as temporary:
            temporary.write_text(
                json.dumps({"prompts": self.entries}, indent=1, sort_keys=True), "utf-8"
            )

    def is_current(self, job: PromptJob, *, wideband: bool = False) -> bool:
        entry = self.entries.get(job.key)
        if entry is None or entry.get("digest") != job.digest or not job.target.is_file():
            return False
        return not wideband or job.target.with_suffix(".sln16").is_file()

    def record(self, job: PromptJob, source: str, duration: float) -> None:
        self.entries[job.key] = {
            "digest": job.digest,
            "source": source,
            "duration": round(duration, 3),
            "built": datetime.now(UTC).isoformat(timespec="seconds"),
        }


@dataclass
class BuildResult:
    """What a build did: files made (with their source), left alone, failed, removed."""

    built: list[tuple[PromptJob, str]] = field(default_factory=list)
    unchanged: list[PromptJob] = field(default_factory=list)
    failed: list[tuple[PromptJob, str]] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    #: Why an engine failed during the build, when another one spoke instead.
    engine_failures: dict[str, str] = field(default_factory=dict)


def _make(
    job: PromptJob, catalogue: Catalogue, synthesiser: Synthesiser, wideband: bool
) -> tuple[str, float]:
    if job.recording is not None:
        made = RECORDED, to_telephony(job.recording, job.target, wideband=wideband)
    else:
        assert job.text is not None
        text = job.text
        synthesis = synthesiser.synthesise(
            text.text,
            lambda engine: catalogue.voice(job.language, engine, text),
            job.target,
            wideband=wideband,
        )
        made = synthesis.source, synthesis.duration
    if not wideband:
        # A wideband file from an earlier build says the old text: Asterisk
        # would still play it to wideband calls.
        job.target.with_suffix(".sln16").unlink(missing_ok=True)
    return made


def _remove_obsolete(manifest: Manifest, jobs: list[PromptJob], sounds_dir: Path) -> list[str]:
    """Delete the files this build made once whose prompt is gone from the catalogue."""
    wanted = {job.key for job in jobs}
    removed = []
    for key in sorted(set(manifest.entries) - wanted):
        for suffix in (".wav", ".sln16"):
            (sounds_dir / f"{key}{suffix}").unlink(missing_ok=True)
        del manifest.entries[key]
        removed.append(key)
    return removed


def build_prompts(
    catalogue: Catalogue,
    prompts_dir: Path,
    sounds_dir: Path,
    synthesiser: Synthesiser,
    *,
    force: bool = False,
    retry_fallbacks: bool = False,
    wideband: bool = False,
    workers: int = 2,
    on_start: Callable[[int], None] | None = None,
    on_done: Callable[[PromptJob, str | None], None] | None = None,
) -> BuildResult:
    """Build every prompt whose digest changed (all of them with `force`).

    `retry_fallbacks` also remakes files an engine made after the preferred
    one failed (for when the network is back). `on_done(job, error)` is
    called as each job ends (error None on success) and `on_start(count)`
    before the first: the progress bar.
    """
    engine_names = [engine.name for engine in synthesiser.engines]
    jobs = plan_jobs(catalogue, prompts_dir, sounds_dir, engine_names, wideband=wideband)
    manifest = Manifest.load(sounds_dir)
    result = BuildResult()
    pending: list[PromptJob] = []
    for job in jobs:
        source = str(manifest.entries.get(job.key, {}).get("source", ""))
        fell_back = retry_fallbacks and "failed)" in source
        if not force and not fell_back and manifest.is_current(job, wideband=wideband):
            result.unchanged.append(job)
        else:
            pending.append(job)
    result.removed = _remove_obsolete(manifest, jobs, sounds_dir)
    if on_start is not None:
        on_start(len(pending))
    try:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures: dict[Future[tuple[str, float]], PromptJob] = {
                pool.submit(_make, job, catalogue, synthesiser, wideband): job for job in pending
            }
            for future in as_completed(futures):
                job = futures[future]
                try:
                    source, duration = future.result()
                except (SynthesisError, AudioError, OSError) as exc:
                    result.failed.append((job, str(exc)))
                    error: str | None = str(exc)
                else:
                    manifest.record(job, source, duration)
                    result.built.append((job, source))
                    error = None
                if on_done is not None:
                    on_done(job, error)
    finally:
        result.engine_failures = dict(synthesiser.last_failure)
        if pending or result.removed:
            os.makedirs(sounds_dir, exist_ok=True)
            manifest.save()
    return result
