"""Which sound files the menus play, and whether a sounds directory has them.

Every prompt field of every node (and of a file's `defaults`) is found from
the models themselves - any field typed `PromptName` - so a new node type
needs nothing here. Alternatives with caller data (`names/{caller.first_name}`)
are only known during a call; the fixed ones, such as the generic last
alternative, are checked.
"""

from __future__ import annotations

import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from fastagi.menus._yaml import PathKey
from fastagi.menus.fields import AUDIO_EXTENSIONS, PLACEHOLDER, PromptSuffixes, check_prompt
from fastagi.menus.model import MenuSet
from fastagi.menus.problems import Problem

__all__ = ["PromptUse", "missing_prompt_files", "prompt_uses"]

#: The language a menu without `language:` plays in (Asterisk's default).
DEFAULT_LANGUAGE = "en"


@dataclass(frozen=True)
class PromptUse:
    """One sound file a menu may play, and the YAML key that names it."""

    menu: str
    key_path: PathKey
    name: str
    #: Whether it is the last alternative of its reference (the generic one).
    generic: bool = True


def _is_prompt(annotation: Any, metadata: list[Any]) -> bool:
    """Whether a field's type is (or holds) `PromptName`."""
    if any(getattr(item, "func", None) is check_prompt for item in metadata):
        return True
    if typing.get_origin(annotation) is typing.Annotated:
        return _is_prompt(typing.get_args(annotation)[0], list(annotation.__metadata__))
    return any(_is_prompt(arg, []) for arg in typing.get_args(annotation))


def _fixed_names(reference: str) -> Iterator[tuple[str, bool]]:
    """Each alternative without caller data, and whether it is the last (generic) one."""
    alternatives = reference.split("|")
    last = len(alternatives) - 1
    return (
        (alt, index == last)
        for index, alt in enumerate(alternatives)
        if not PLACEHOLDER.search(alt)
    )


def _suffixes(metadata: list[Any]) -> tuple[str, ...]:
    """("",) for a plain prompt field; the suffixes of a `PromptPrefix` field."""
    for item in metadata:
        if isinstance(item, PromptSuffixes):
            return item.suffixes
    return ("",)


def _prompts_of(model: BaseModel, prefix: PathKey) -> Iterator[tuple[PathKey, str, bool]]:
    for field_name, info in type(model).model_fields.items():
        if not _is_prompt(info.annotation, list(info.metadata)):
            continue
        suffixes = _suffixes(list(info.metadata))
        value = getattr(model, field_name)
        references = [value] if isinstance(value, str) else list(value or ())
        for index, reference in enumerate(references):
            key: PathKey = (
                (*prefix, field_name) if isinstance(value, str) else (*prefix, field_name, index)
            )
            for name, generic in _fixed_names(reference):
                for suffix in suffixes:
                    yield key, name + suffix, generic


def prompt_uses(menus: MenuSet) -> list[PromptUse]:
    """Every fixed sound file the menus name, defaults included."""
    found: list[PromptUse] = []
    for name, menu in sorted(menus.items()):
        for key, prompt, generic in _prompts_of(menu.defaults, ("defaults",)):
            found.append(PromptUse(name, key, prompt, generic))
        for node_id, node in menu.nodes.items():
            for key, prompt, generic in _prompts_of(node, ("nodes", node_id)):
                found.append(PromptUse(name, key, prompt, generic))
    return found


def _exists(sounds_dir: Path, language: str, name: str) -> bool:
    # Asterisk looks in sounds/<language>/ first, then in sounds/ itself
    return any(
        (folder / f"{name}{extension}").is_file()
        for folder in (sounds_dir / language, sounds_dir)
        for extension in AUDIO_EXTENSIONS
    )


def missing_prompt_files(menus: MenuSet, sounds_dir: Path) -> list[Problem]:
    """A problem (file:line of the YAML key) for each sound file `sounds_dir` lacks."""
    problems = []
    for use in prompt_uses(menus):
        language = menus[use.menu].language or DEFAULT_LANGUAGE
        if not _exists(sounds_dir, language, use.name):
            problems.append(
                menus.source(use.menu).problem(
                    use.key_path,
                    f"sound file {use.name!r} is not in {sounds_dir / language}",
                    hint="record it, or build it from the prompt texts",
                    code="missing-prompt",
                )
            )
    return problems
