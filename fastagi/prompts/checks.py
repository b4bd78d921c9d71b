"""`ivr validate` for prompts: the menus against the catalogue, and the catalogue against the build.

A prompt a menu names under the catalogue's folder (`ivr/...`) must be in the
catalogue, with a text or a recording in every catalogue language (a caller's
own language may be any of them), and - when the sounds directory is given -
built. A dynamic prompt may not be the last alternative of a reference: when
its synthesis is late the caller must hear something. Catalogue prompts no
menu plays are reported as warnings. Names outside the folder are Asterisk's
own sounds and are not checked here.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from fastagi.menus._validation import did_you_mean
from fastagi.menus.model import MenuSet
from fastagi.menus.problems import Problem
from fastagi.menus.prompt_files import PromptUse, prompt_uses
from fastagi.prompts.build import MANIFEST_NAME, RECORDING_SUFFIXES, recording_of
from fastagi.prompts.catalogue import Catalogue

__all__ = ["catalogue_problems"]


def _use_problems(
    menus: MenuSet,
    catalogue: Catalogue,
    use: PromptUse,
    prompt_id: str,
    prompts_dir: Path,
    sounds_dir: Path | None,
) -> list[Problem]:
    source = menus.source(use.menu)
    problems = []
    dynamic = catalogue.is_dynamic(prompt_id)
    if dynamic and use.generic:
        problems.append(
            source.problem(
                use.key_path,
                f"{use.name!r} is made during the call and may be late or impossible"
                " (no name on file): it needs a generic prompt after it",
                hint=f"e.g. '{use.name}|{catalogue.folder}/<generic-prompt>'",
                code="dynamic-prompt-last",
            )
        )
    for language in catalogue.languages:
        recording = recording_of(prompts_dir, language, prompt_id)
        text = catalogue.text(prompt_id, language)
        if text is None and recording is None:
            where = f"{catalogue.file}:{catalogue.line_of(prompt_id)}"
            problems.append(
                source.problem(
                    use.key_path,
                    f"prompt {use.name!r} has no {language!r} text ({where}) and no recording"
                    f" in {prompts_dir / language}",
                    hint=f"callers whose language is {language!r} would hear nothing",
                    code="missing-prompt-language",
                )
            )
        elif sounds_dir is not None and (recording is not None or not text or not text.is_dynamic):
            built = sounds_dir / language / catalogue.folder / f"{prompt_id}.wav"
            if not built.is_file():
                problems.append(
                    source.problem(
                        use.key_path,
                        f"prompt {use.name!r} is not built for {language!r} ({built})",
                        hint="run: ivr prompts build",
                        code="missing-prompt",
                    )
                )
    return problems


def catalogue_problems(
    menus: MenuSet,
    catalogue: Catalogue,
    prompts_dir: Path,
    sounds_dir: Path | None,
    also_used: Iterable[str] = (),
) -> list[Problem]:
    """Every prompt problem of the menus against `catalogue` (and the build in `sounds_dir`).

    `also_used`: sound names played from elsewhere (campaign files' voices),
    so their prompts are not reported as unused.
    """
    prefix = f"{catalogue.folder}/"
    if sounds_dir is not None and not (sounds_dir / MANIFEST_NAME).is_file():
        # Nothing was ever built: one problem, not one per prompt.
        problems = [
            Problem(
                catalogue.file,
                None,
                None,
                "",
                f"the prompts are not built ({sounds_dir} has none)",
                hint="run: ivr prompts build",
                code="missing-prompt",
            )
        ]
        sounds_dir = None
    else:
        problems = []
    used: set[str] = set()
    seen: set[tuple[str, str, bool]] = set()
    for use in prompt_uses(menus):
        if not use.name.startswith(prefix):
            continue
        prompt_id = use.name[len(prefix) :]
        used.add(prompt_id)
        if prompt_id not in catalogue.texts:
            problems.append(
                menus.source(use.menu).problem(
                    use.key_path,
                    f"prompt {use.name!r} is not in the catalogue {catalogue.file}",
                    hint=did_you_mean(prompt_id, set(catalogue.texts)) or "add it there",
                    code="unknown-prompt",
                )
            )
            continue
        if (use.menu, use.name, use.generic) in seen:
            continue  # one report per menu and prompt is enough
        seen.add((use.menu, use.name, use.generic))
        problems += _use_problems(menus, catalogue, use, prompt_id, prompts_dir, sounds_dir)
    prefix_len = len(prefix)
    used.update(name[prefix_len:] for name in also_used if name.startswith(prefix))
    for prompt_id in sorted(set(catalogue.texts) - used):
        problems.append(
            Problem(
                catalogue.file,
                catalogue.line_of(prompt_id),
                None,
                f"prompts.{prompt_id}",
                "no menu plays this prompt",
                hint="delete it, or use it in a menu",
                severity="warning",
                code="unused-prompt",
            )
        )
    problems += _stray_recordings(catalogue, prompts_dir)
    return problems


def _stray_recordings(catalogue: Catalogue, prompts_dir: Path) -> list[Problem]:
    """Recordings whose name is no prompt id (a typo means the TTS one still plays)."""
    problems = []
    for language in catalogue.languages:
        folder = prompts_dir / language
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix in RECORDING_SUFFIXES and path.stem not in catalogue.texts:
                problems.append(
                    Problem(
                        str(path),
                        None,
                        None,
                        "",
                        f"recording {path.name!r} matches no prompt id of {catalogue.file}",
                        hint=did_you_mean(path.stem, set(catalogue.texts)) or "rename it",
                        severity="warning",
                        code="unknown-recording",
                    )
                )
    return problems
