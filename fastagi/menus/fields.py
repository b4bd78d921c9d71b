"""Validated value types shared by the menu and scenario models.

Each is an `Annotated` type: the check raises ValueError with a message an
admin can act on, and the JSON schema carries the same rule for editors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Final, Literal

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema

from fastagi.menus.target import (
    MENU_NAME_PATTERN,
    NODE_ID_PATTERN,
    check_menu_name,
    check_node_id,
)

__all__ = [
    "OPTION_KEY_PATTERN",
    "RESERVED_RESULTS",
    "Count",
    "DigitString",
    "DirectDial",
    "Language",
    "MaxDigits",
    "MenuName",
    "NodeId",
    "OptionKey",
    "PromptName",
    "PromptPrefix",
    "PromptSuffixes",
    "ResultName",
    "Seconds",
    "Terminator",
    "VariableName",
    "VariableValue",
    "number_to_text",
]

OPTION_KEY_PATTERN = r"^[0-9*#]{1,32}$"
PROMPT_PATTERN = r"^/?[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$"
VARIABLE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,79}(\([A-Za-z0-9_,./:-]{0,80}\))?$"
RESULT_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"
LANGUAGE_PATTERN = r"^[a-z]{2,3}([_-][A-Za-z0-9]{2,8})?$"
DIGITS_PATTERN = r"^[0-9*#]{1,64}$"

#: Outcome kinds; a `return` node may not use them as its result.
RESERVED_RESULTS: Final = frozenset({"hangup", "caller_hangup", "error", "max_steps"})

AUDIO_EXTENSIONS = (".wav", ".gsm", ".ulaw", ".alaw", ".sln", ".sln16", ".g722", ".mp3", ".ogg")


def number_to_text(value: object) -> object:
    """Let Python callers pass 1 where text is expected; YAML already gives text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def pattern_check(pattern: str, what: str, allowed: str) -> AfterValidator:
    """A validator: the value must match `pattern`; the error names `what` and what is `allowed`."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"{what} {value!r} is not valid: {allowed}")
        return value

    return AfterValidator(check)


#: `{caller.first_name}` or `{segment}` inside a prompt name (see check_prompt).
PLACEHOLDER = re.compile(r"\{(caller\.[a-z0-9_]{1,40}|segment)\}")
#: What editors check: prompt names, with placeholders and `|` alternatives.
PROMPT_REF_PATTERN = r"^[A-Za-z0-9_./{}|-]+$"


def check_prompt(value: str) -> str:
    """A sound file name, or alternatives `a|b|c` of which the first that fills wins.

    Alternatives may hold placeholders (`names/{caller.first_name}`); the last
    one must not, so that a caller whose data is missing still hears a prompt.
    """
    if len(value) > 200:
        raise ValueError(f"prompt {value[:40]!r}... is longer than 200 characters")
    alternatives = value.split("|")
    for alternative in alternatives:
        _check_prompt_name(PLACEHOLDER.sub("x", alternative), alternative)
    if PLACEHOLDER.search(alternatives[-1]):
        raise ValueError(
            f"prompt {value!r}: the last alternative has a placeholder; end with a generic"
            f" prompt for callers whose data is missing, e.g. '{value}|ivr/hello'"
        )
    return value


def _check_prompt_name(value: str, shown: str) -> None:
    if "{" in value or "}" in value:
        raise ValueError(f"prompt {shown!r}: placeholders are {{caller.<field>}} or {{segment}}")
    if not re.fullmatch(PROMPT_PATTERN, value):
        raise ValueError(
            f"prompt {shown!r} is not a sound file name: use letters, digits, '_', '-', '.'"
            " and '/' between directories, e.g. 'ivr/main-greeting'"
        )
    if value.lower().endswith(AUDIO_EXTENSIONS):
        raise ValueError(
            f"prompt {shown!r}: leave out the file extension (Asterisk picks the best format)"
        )


def _check_direct_dial(value: str) -> str:
    if len(value) > 200:
        raise ValueError("direct_dial pattern is longer than 200 characters")
    try:
        compiled = re.compile(value)
    except re.error as exc:
        raise ValueError(f"direct_dial is not a valid regular expression: {exc}") from None
    if compiled.fullmatch(""):
        raise ValueError(f"direct_dial {value!r} matches an empty entry")
    return value


def _check_result(value: str) -> str:
    if not re.fullmatch(RESULT_PATTERN, value):
        raise ValueError(
            f"result {value!r} must start with a letter and use letters, digits, '_', '-'"
            " (all-digit results are reserved for direct-dial extensions)"
        )
    if value in RESERVED_RESULTS:
        raise ValueError(f"result {value!r} is reserved (outcome kinds: hangup, error, ...)")
    return value


def _check_value(value: str) -> str:
    if any(ch in value for ch in "\r\n\0"):
        raise ValueError("a variable value may not contain a line break")
    return value


Seconds = Annotated[float, Field(gt=0, le=60)]
Count = Annotated[int, Field(ge=1, le=10)]
MaxDigits = Annotated[int, Field(ge=1, le=32)]
Terminator = Literal["#", "*"]

MenuName = Annotated[
    str,
    AfterValidator(check_menu_name),
    WithJsonSchema({"type": "string", "pattern": MENU_NAME_PATTERN}),
]
NodeId = Annotated[
    str,
    AfterValidator(check_node_id),
    WithJsonSchema({"type": "string", "pattern": NODE_ID_PATTERN}),
]
PromptName = Annotated[
    str,
    AfterValidator(check_prompt),
    WithJsonSchema({"type": "string", "pattern": PROMPT_REF_PATTERN, "maxLength": 200}),
]


@dataclass(frozen=True)
class PromptSuffixes:
    """Marks a prompt field that is a prefix: the played files are prefix + each suffix."""

    suffixes: tuple[str, ...]


#: A prompt name the engine completes at play time (`ivr/ticket-status-` + status).
PromptPrefix = Annotated[PromptName, PromptSuffixes(("open", "in_progress", "waiting"))]
OptionKey = Annotated[
    str,
    BeforeValidator(number_to_text),
    pattern_check(OPTION_KEY_PATTERN, "option", "use 1 to 32 of the keys 0-9, * and #"),
    WithJsonSchema({"type": "string", "pattern": OPTION_KEY_PATTERN}),
]
DigitString = Annotated[
    str,
    BeforeValidator(number_to_text),
    pattern_check(DIGITS_PATTERN, "digits", "use 1 to 64 of 0-9, * and #"),
    WithJsonSchema({"type": "string", "pattern": DIGITS_PATTERN}),
]
VariableName = Annotated[
    str,
    pattern_check(
        VARIABLE_PATTERN,
        "variable name",
        "use NAME or FUNCTION(argument) with letters, digits and '_' (e.g. CHANNEL(language))",
    ),
    WithJsonSchema({"type": "string", "pattern": VARIABLE_PATTERN}),
]
VariableValue = Annotated[
    str,
    BeforeValidator(number_to_text),
    Field(max_length=1024),
    AfterValidator(_check_value),
]
ResultName = Annotated[
    str,
    AfterValidator(_check_result),
    WithJsonSchema({"type": "string", "pattern": RESULT_PATTERN}),
]
Language = Annotated[
    str,
    pattern_check(LANGUAGE_PATTERN, "language", "use a code such as en, ru or pt_BR"),
    WithJsonSchema({"type": "string", "pattern": LANGUAGE_PATTERN}),
]
DirectDial = Annotated[
    str,
    AfterValidator(_check_direct_dial),
    WithJsonSchema({"type": "string", "format": "regex", "maxLength": 200}),
]
