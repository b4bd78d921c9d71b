"""The prompt catalogue: prompt ids with a text per language, read from YAML.

    catalogue = load_catalogue("prompts/catalogue.yaml")   # or MenuError
    catalogue.text("main-greeting", "ru")

Menus play catalogue prompts as `<folder>/<id>` (`ivr/main-greeting`); the
build turns each text into `<sounds>/<language>/<folder>/<id>.wav`. A text
with caller data (`Hello, {caller.first_name}!`) is a dynamic prompt: it is
synthesised during the call (fastagi.prompts.dynamic), never built ahead.
Every problem is reported with the catalogue's file:line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Final

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from fastagi.prompts.spoken import CURRENCIES, KINDS

__all__ = [
    "DEFAULT_CATALOGUE_PATH",
    "ENGINES",
    "PLACEHOLDER",
    "Catalogue",
    "PromptText",
    "load_catalogue",
    "parse_catalogue",
    "placeholders",
]

DEFAULT_CATALOGUE_PATH: Final = Path("prompts/catalogue.yaml")

#: The text-to-speech engines, by the name the config uses.
ENGINES: Final = ("gtts", "espeak-ng")

#: Voices when the catalogue names none: language -> engine -> voice.
_DEFAULT_VOICES: Final[Mapping[str, Mapping[str, str]]] = {
    "en": {"espeak-ng": "en-us", "gtts": "en"},
    "ru": {"espeak-ng": "ru", "gtts": "ru"},
    "de": {"espeak-ng": "de", "gtts": "de"},
    "fr": {"espeak-ng": "fr-fr", "gtts": "fr"},
    "es": {"espeak-ng": "es", "gtts": "es"},
    "it": {"espeak-ng": "it", "gtts": "it"},
    "uk": {"espeak-ng": "uk", "gtts": "uk"},
    "kk": {"espeak-ng": "kk", "gtts": "kk"},
    "tr": {"espeak-ng": "tr", "gtts": "tr"},
    "pl": {"espeak-ng": "pl", "gtts": "pl"},
}

#: `{caller.first_name}`, `{caller.balance:amount}` or `{segment}` in a text.
PLACEHOLDER = re.compile(r"\{(caller\.[a-z0-9_]{1,40}|segment)(?::([a-z]+))?\}")
_ANY_BRACE = re.compile(r"[{}]")

Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]
PromptId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,79}$")]
Voice = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_+.-]{1,40}$")]


def placeholders(text: str) -> list[tuple[str, str]]:
    """The (variable, kind) pairs of a text, kind "" for plain substitution.

    `{caller.balance:amount}` -> ('caller.balance', 'amount').
    """
    return [(match.group(1), match.group(2) or "") for match in PLACEHOLDER.finditer(text)]


def _check_text(text: str) -> str:
    text = text.strip()
    if not text:
        raise ValueError("the text is empty: write what the caller hears, or delete the language")
    if len(text) > 2000:
        raise ValueError("the text is longer than 2000 characters: split the prompt")
    for variable, kind in placeholders(text):
        if kind and kind not in KINDS:
            kinds = ", ".join(sorted(KINDS))
            raise ValueError(f"{{{variable}:{kind}}}: unknown kind {kind!r}; use one of {kinds}")
    if _ANY_BRACE.search(PLACEHOLDER.sub("", text)):
        raise ValueError(
            "braces are only for caller data: {caller.<field>}, {caller.<field>:<kind>} or"
            " {segment}"
        )
    return text


#: What the caller hears: checked, surrounding whitespace dropped.
Text = Annotated[str, AfterValidator(_check_text)]


class PromptText(BaseModel):
    """One language of a prompt: its text and, optionally, a voice of its own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: Text
    voice: Voice | None = Field(None, description="Engine voice for this text only.")

    @property
    def is_dynamic(self) -> bool:
        """Whether the text holds caller data (synthesised during the call)."""
        return bool(PLACEHOLDER.search(self.text))


def _as_prompt_text(value: object) -> object:
    # `en: "Hello"` is short for `en: {text: "Hello"}`: one model, so a bad text
    # is one problem (not one per union member, under pydantic's member names).
    if isinstance(value, str):
        return {"text": value}
    if not isinstance(value, Mapping):
        raise ValueError("write the text, or a mapping with 'text:' (and 'voice:')")
    return value


#: A language's entry in `prompts:`: a text, or a mapping with `text:` and `voice:`.
PromptEntry = Annotated[PromptText, BeforeValidator(_as_prompt_text)]


class _CatalogueFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    folder: str = Field("ivr", pattern=r"^[a-z0-9_-]{1,40}(/[a-z0-9_-]{1,40}){0,3}$")
    languages: tuple[Language, ...] = Field(("en",), min_length=1)
    voices: dict[Language, dict[str, Voice]] = Field(default_factory=dict)
    currency: str = "RUB"
    prompts: dict[PromptId, dict[Language, PromptEntry]]


@dataclass(frozen=True)
class Catalogue:
    """Prompt texts by id and language, with where each came from."""

    file: str
    folder: str
    languages: tuple[str, ...]
    currency: str
    texts: Mapping[str, Mapping[str, PromptText]]
    voices: Mapping[str, Mapping[str, str]]
    positions: Mapping[tuple[str | int, ...], object]

    def text(self, prompt_id: str, language: str) -> PromptText | None:
        return self.texts.get(prompt_id, {}).get(language)

    def voice(self, language: str, engine: str, text: PromptText | None = None) -> str:
        """The voice `engine` speaks `language` with (a text's own voice first)."""
        if text is not None and text.voice:
            return text.voice
        return self.voices[language][engine]

    def prompt_id(self, sound_name: str) -> str | None:
        """`ivr/main-greeting` -> `main-greeting` when it is this catalogue's; else None."""
        head, _, prompt_id = sound_name.rpartition("/")
        return prompt_id if head == self.folder and prompt_id in self.texts else None

    def sound_name(self, prompt_id: str) -> str:
        return f"{self.folder}/{prompt_id}"

    def dynamic_names(self) -> frozenset[str]:
        """The sound names (`ivr/vip-hello`) of the prompts made during calls."""
        return frozenset(self.sound_name(p) for p in self.texts if self.is_dynamic(p))

    def is_dynamic(self, prompt_id: str) -> bool:
        return any(text.is_dynamic for text in self.texts.get(prompt_id, {}).values())

    def line_of(self, prompt_id: str, language: str | None = None) -> int | None:
        from fastagi.menus._yaml import locate

        path: tuple[str, ...] = ("prompts", prompt_id)
        if language:
            path = (*path, language)
        line, _ = locate(self.positions, path, at_key=True)  # type: ignore[arg-type]
        return line


def load_catalogue(path: str | Path = DEFAULT_CATALOGUE_PATH) -> Catalogue:
    """Read a catalogue file; raise `MenuError` with every problem at file:line."""
    from fastagi.menus._yaml import read_yaml

    return _from_document(read_yaml(Path(path)))


def parse_catalogue(text: str, file: str = "catalogue.yaml") -> Catalogue:
    """Like `load_catalogue`, from the text of a file."""
    from fastagi.menus._yaml import parse_yaml

    return _from_document(parse_yaml(text.encode("utf-8"), file))


def _from_document(doc: object) -> Catalogue:
    from fastagi.menus._validation import validation_problems
    from fastagi.menus._yaml import YamlDocument
    from fastagi.menus.model import MenuSource
    from fastagi.menus.problems import MenuError

    assert isinstance(doc, YamlDocument)
    source = MenuSource(file=doc.file, positions=doc.positions)
    if not isinstance(doc.data, Mapping):
        raise MenuError([source.problem((), "a catalogue is a mapping with 'prompts:'")])
    try:
        parsed = _CatalogueFile.model_validate(doc.data)
    except ValidationError as exc:
        raise MenuError(validation_problems(exc, doc, _CatalogueFile)) from None
    problems = []
    voices: dict[str, dict[str, str]] = {}
    for language in parsed.languages:
        known = {**_DEFAULT_VOICES.get(language, {}), **parsed.voices.get(language, {})}
        missing = [engine for engine in ENGINES if engine not in known]
        if missing:
            problems.append(
                source.problem(
                    ("languages",),
                    f"unknown language {language!r}: no {' or '.join(missing)} voice for it",
                    hint=f"add voices: {{{language}: {{espeak-ng: <voice>, gtts: <lang>}}}}",
                    code="unknown-language",
                )
            )
        voices[language] = known
    for language, engines in parsed.voices.items():
        if language not in parsed.languages:
            problems.append(
                source.problem(
                    ("voices", language),
                    f"voices for {language!r}, which is not in languages: {list(parsed.languages)}",
                    hint="add it to languages, or remove its voices",
                    code="unknown-language",
                    at_key=True,
                )
            )
        unknown = sorted(set(engines) - set(ENGINES))
        if unknown:
            problems.append(
                source.problem(
                    ("voices", language, unknown[0]),
                    f"unknown engine {unknown[0]!r}",
                    hint=f"engines are {', '.join(ENGINES)}",
                    code="unknown-engine",
                )
            )
    if parsed.currency not in CURRENCIES:
        problems.append(
            source.problem(
                ("currency",),
                f"unknown currency {parsed.currency!r}",
                hint=f"use one of {', '.join(sorted(CURRENCIES))}",
            )
        )
    texts: dict[str, dict[str, PromptText]] = {}
    for prompt_id, by_language in parsed.prompts.items():
        texts[prompt_id] = {}
        for language, value in by_language.items():
            if language not in parsed.languages:
                problems.append(
                    source.problem(
                        ("prompts", prompt_id, language),
                        f"language {language!r} is not in languages: {list(parsed.languages)}",
                        hint="add it to languages, or fix the code",
                        code="unknown-language",
                        at_key=True,
                    )
                )
                continue
            texts[prompt_id][language] = value
    if problems:
        raise MenuError(problems)
    return Catalogue(
        file=doc.file,
        folder=parsed.folder,
        languages=parsed.languages,
        currency=parsed.currency,
        texts=texts,
        voices=voices,
        positions=doc.positions,
    )
