"""config/callbacks.yaml: the rules for calling back lost calls, and its loader.

    rules = load_callback_rules("config/callbacks.yaml")        # or MenuError, file:line
    rules = load_callback_rules(path, hours=load_hours(...))    # also checks `calendar`

Every key has a default that follows the contact centre's rules (a first
attempt within the hour, one a day, three at most, then one email), so an
empty file - or no file, `CallbackRules()` - is a working configuration.
The file is read with the menus' safe YAML reader; every problem is reported
with file:line, all of them at once.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)

if TYPE_CHECKING:
    from fastagi.hours import HoursConfig
    from fastagi.menus._yaml import YamlDocument
    from fastagi.menus.model import MenuSource
    from fastagi.menus.problems import Problem

__all__ = [
    "DEFAULT_CALLBACKS_PATH",
    "EMAIL_PLACEHOLDERS",
    "LOST_REASONS",
    "CallbackRules",
    "DialSettings",
    "EmailRules",
    "LostReason",
    "SmtpSettings",
    "load_callback_rules",
    "parse_callback_rules",
    "parse_duration",
]

#: Where the server looks for the rules, relative to the working directory.
DEFAULT_CALLBACKS_PATH: Final = Path("config/callbacks.yaml")

#: Why a call needs a callback (see fastagi.callbacks.lost).
LostReason = Literal[
    "ivr_hangup", "queue_abandon", "queue_timeout", "queue_unavailable", "after_hours", "requested"
]
LOST_REASONS: Final[tuple[LostReason, ...]] = get_args(LostReason)

#: What the email's subject and body may say, in braces.
EMAIL_PLACEHOLDERS: Final = frozenset(
    {"first_name", "last_name", "greeting", "centre_number", "call_time", "number", "attempts"}
)

_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"(?:(\d+)\s*([smhd])\s*)+")
_DURATION_PART = re.compile(r"(\d+)\s*([smhd])")
_LANGUAGE = re.compile(r"[a-z]{2,3}")
_FALLBACK_LANGUAGE: Final = "en"


def parse_duration(value: object) -> int:
    """Seconds from `3600`, `"3600"`, `"90s"`, `"15m"`, `"4h"`, `"1d"` or `"1h30m"`."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text.isdigit():
            return int(text)
        if _DURATION.fullmatch(text):
            return sum(int(n) * _UNITS[unit] for n, unit in _DURATION_PART.findall(text))
    raise ValueError(f"a duration is seconds or text such as 90s, 15m, 4h, 1d; got {value!r}")


#: Seconds, written as a number or with a unit (15m, 4h, 1d).
Duration = Annotated[int, BeforeValidator(parse_duration), Field(ge=0, le=30 * 86400)]


def _template_names(text: str) -> list[str]:
    """The placeholder names of a `str.format` template; ValueError for bad braces."""
    names: list[str] = []
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError:
        raise ValueError("a brace is not closed; write {{ and }} for literal braces") from None
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if not name or spec or conversion:
            raise ValueError(
                "placeholders are plain names in braces, such as {first_name};"
                " write {{ and }} for literal braces"
            )
        names.append(name)
    return names


def _check_template(text: str) -> str:
    if not text.strip():
        raise ValueError("the text is empty")
    unknown = sorted(set(_template_names(text)) - EMAIL_PLACEHOLDERS)
    if unknown:
        from fastagi.menus._validation import did_you_mean

        hint = did_you_mean(unknown[0], EMAIL_PLACEHOLDERS)
        known = ", ".join("{" + name + "}" for name in sorted(EMAIL_PLACEHOLDERS))
        raise ValueError(
            f"unknown placeholder {{{unknown[0]}}}; " + (hint or f"placeholders are {known}")
        )
    return text


def _one_line(text: str) -> str:
    if "\n" in text.strip() or "\r" in text:
        raise ValueError("a subject is one line")
    return text.strip()


Template = Annotated[str, AfterValidator(_check_template)]
SubjectTemplate = Annotated[str, AfterValidator(_one_line), AfterValidator(_check_template)]


def _language(value: str) -> str:
    if not _LANGUAGE.fullmatch(value):
        raise ValueError(f"{value!r} is not a language code such as en or ru")
    return value


Language = Annotated[str, AfterValidator(_language)]


def _with_fallback(texts: Mapping[str, str]) -> Mapping[str, str]:
    if _FALLBACK_LANGUAGE not in texts:
        raise ValueError(f"give an '{_FALLBACK_LANGUAGE}' text: callers in other languages get it")
    return texts


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


_DEFAULT_SUBJECT: Final = {
    "en": "You missed an important call",
    "ru": "Вы пропустили важный звонок",
}
_DEFAULT_GREETING: Final = {"en": "Hello, {first_name}!", "ru": "Здравствуйте, {first_name}!"}
_DEFAULT_GREETING_NO_NAME: Final = {"en": "Hello!", "ru": "Здравствуйте!"}
_DEFAULT_BODY: Final = {
    "en": (
        "{greeting}\n\n"
        "You called us on {call_time} and we could not talk then. We have tried to"
        " call you back since, but could not reach you.\n\n"
        "Please reply to this letter and tell us when we can reach you, or call us"
        " back on {centre_number}.\n"
    ),
    "ru": (
        "{greeting}\n\n"
        "Вы звонили нам {call_time}, и тогда мы не смогли поговорить. С тех пор мы"
        " пытались вам перезвонить, но не смогли дозвониться.\n\n"
        "Пожалуйста, ответьте на это письмо и напишите, когда вам удобно принять"
        " звонок, или перезвоните нам по номеру {centre_number}.\n"
    ),
}


class EmailRules(_Frozen):
    """The one letter sent after the last failed attempt, when the caller's email is known."""

    enabled: bool = Field(True, description="Send the letter at all.")
    sender: str = Field(
        "Contact centre <callbacks@localhost>",
        alias="from",
        min_length=3,
        description="The From header.",
    )
    subject: Annotated[Mapping[Language, SubjectTemplate], AfterValidator(_with_fallback)] = Field(
        default_factory=lambda: dict(_DEFAULT_SUBJECT), description="Language -> subject."
    )
    body: Annotated[Mapping[Language, Template], AfterValidator(_with_fallback)] = Field(
        default_factory=lambda: dict(_DEFAULT_BODY), description="Language -> plain-text body."
    )
    greeting: Annotated[Mapping[Language, Template], AfterValidator(_with_fallback)] = Field(
        default_factory=lambda: dict(_DEFAULT_GREETING),
        description="Language -> the {greeting} when the caller's first name is known.",
    )
    greeting_no_name: Annotated[Mapping[Language, Template], AfterValidator(_with_fallback)] = (
        Field(
            default_factory=lambda: dict(_DEFAULT_GREETING_NO_NAME),
            description="Language -> the {greeting} when it is not.",
        )
    )
    retry_every: Duration = Field(900, description="Wait after an SMTP failure before retrying.")
    max_tries: int = Field(12, ge=1, le=100, description="SMTP tries before giving up.")

    @model_validator(mode="after")
    def _sender_is_one_line(self) -> EmailRules:
        if any(ch in self.sender for ch in "\r\n") or "@" not in self.sender:
            raise ValueError(
                f"from: {self.sender!r} is not an address such as callbacks@example.com"
            )
        return self

    @model_validator(mode="after")
    def _languages_match(self) -> EmailRules:
        missing = sorted(set(self.subject) ^ set(self.body))
        if missing:
            raise ValueError(
                f"language {missing[0]!r} has a subject or a body but not both;"
                " give both, or neither"
            )
        return self


class SmtpSettings(_Frozen):
    """The mail server the letter goes through."""

    host: str = Field("localhost", min_length=1, description="SMTP server name or address.")
    port: int | None = Field(
        None, ge=1, le=65535, description="None: 465 with ssl, 587 with starttls, else 25."
    )
    username: str | None = Field(None, description="Log in with this name (None: no login).")
    password: SecretStr | None = Field(None, description="The password, if written here.")
    password_env: str | None = Field(
        None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="Read the password from this variable.",
    )
    starttls: bool = Field(False, description="Upgrade the connection with STARTTLS.")
    ssl: bool = Field(False, description="Connect over TLS from the start (port 465).")
    ca_file: str | None = Field(None, description="CA certificates to trust (None: the system's).")
    timeout: float = Field(30.0, gt=0, le=600, description="Seconds per network operation.")

    @model_validator(mode="after")
    def _consistent(self) -> SmtpSettings:
        if self.ssl and self.starttls:
            raise ValueError("ssl and starttls exclude each other: pick one")
        if self.password is not None and self.password_env is not None:
            raise ValueError("give password or password_env, not both")
        if self.username is None and (self.password is not None or self.password_env):
            raise ValueError("a password needs a username")
        return self

    @property
    def effective_port(self) -> int:
        if self.port is not None:
            return self.port
        return 465 if self.ssl else 587 if self.starttls else 25


def _channel(value: str) -> str:
    names = _template_names(value)
    if not {"number", "digits"} & set(names) or set(names) - {"number", "digits"}:
        raise ValueError(
            "the channel names the number to call as {number} (E.164) or {digits}"
            " (without the +), e.g. PJSIP/{number}@trunk-main"
        )
    return value


class DialSettings(_Frozen):
    """How the dialer places a callback (read by the AMI dialer)."""

    connect: Literal["client_first", "agent_first"] = Field(
        "agent_first",
        description="agent_first: an agent of `queue` is reached first, then the client is"
        " dialled; client_first: the client is dialled and, when they answer, joins `queue`.",
    )
    queue: str = Field("support", pattern=r"^[A-Za-z0-9_.-]{1,80}$")
    channel: Annotated[str, AfterValidator(_channel)] = Field(
        "PJSIP/{number}@trunk-main", description="The dial string of the client's number."
    )
    caller_id: str | None = Field(
        None, max_length=40, description="Caller ID shown to the client (None: centre_number)."
    )
    ring_timeout: Duration = Field(30, description="Seconds to ring the client.")
    max_concurrent: int = Field(2, ge=1, le=1000, description="Callbacks in progress at once.")
    calls_per_second: float = Field(1.0, gt=0, le=100, description="Callbacks started per second.")


def _known_reasons(value: tuple[str, ...]) -> tuple[str, ...]:
    for reason in value:
        if reason not in LOST_REASONS:
            from fastagi.menus._validation import did_you_mean

            hint = did_you_mean(reason, LOST_REASONS) or "reasons: " + ", ".join(LOST_REASONS)
            raise ValueError(f"unknown reason {reason!r}; {hint}")
    if len(set(value)) != len(value):
        raise ValueError("a reason is listed twice")
    return value


class CallbackRules(_Frozen):
    """Everything config/callbacks.yaml says; the defaults are the centre's rules."""

    enabled: bool = Field(True, description="Turn lost calls into callback requests at all.")
    calendar: str | None = Field(
        None, description="The config/hours.yaml calendar callbacks keep to (None: its default)."
    )
    lost_calls: Annotated[tuple[str, ...], AfterValidator(_known_reasons)] = Field(
        LOST_REASONS, description="Which lost calls become requests."
    )
    ignore_shorter_than: Duration = Field(
        5, description="An IVR hang-up or after-hours call shorter than this is a misdial."
    )
    first_attempt_after: Duration = Field(
        300, description="The first attempt waits this long after the call."
    )
    first_attempt_within: Duration = Field(
        3600, description="The first attempt is placed within this long of the call."
    )
    opening_spread: Duration = Field(
        900, description="Attempts that wait for the centre to open are spread over this long."
    )
    attempts_per_day: int = Field(1, ge=1, le=24, description="Attempts per calendar day.")
    max_attempts: int = Field(3, ge=1, le=20, description="Attempts before giving up.")
    min_gap: Duration = Field(4 * 3600, description="At least this long between attempts.")
    keep_closed_days: int = Field(90, ge=1, le=3650, description="Closed requests kept for this.")
    centre_number: str = Field(
        "", max_length=40, description="The number clients call, said in the email."
    )
    dial: DialSettings = Field(default_factory=DialSettings)
    email: EmailRules = Field(default_factory=EmailRules)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)

    @model_validator(mode="after")
    def _first_attempt(self) -> CallbackRules:
        if self.first_attempt_within <= 0:
            raise ValueError("first_attempt_within must be more than 0")
        for name in ("first_attempt_after", "opening_spread"):
            if getattr(self, name) >= self.first_attempt_within:
                raise ValueError(
                    f"{name} ({getattr(self, name)} s) must be shorter than"
                    f" first_attempt_within ({self.first_attempt_within} s)"
                )
        return self

    @property
    def caller_id(self) -> str:
        """The caller ID of callbacks: dial.caller_id, else the centre's number."""
        return self.dial.caller_id or self.centre_number


# -- loading -------------------------------------------------------------------

#: Cross-key checks of `CallbackRules`, and the key each one is reported at.
_CROSS_KEY_AT: Final[Mapping[str, tuple[str, ...]]] = {
    "first_attempt_after": ("first_attempt_after",),
    "opening_spread": ("opening_spread",),
    "first_attempt_within must": ("first_attempt_within",),
}


def load_callback_rules(
    path: str | Path = DEFAULT_CALLBACKS_PATH,
    *,
    hours: HoursConfig | None = None,
    display: str | None = None,
) -> CallbackRules:
    """Read a callbacks file; raise `MenuError` with every problem at file:line.

    With `hours`, `calendar` must name one of its calendars. `display` is the
    file name used in problems (default: `path`).
    """
    from fastagi.menus._yaml import read_yaml

    return _from_document(_or_empty(lambda: read_yaml(Path(path), display)), hours)


def parse_callback_rules(
    text: str | bytes, file: str = "callbacks.yaml", *, hours: HoursConfig | None = None
) -> CallbackRules:
    """Like `load_callback_rules`, from the text of a file."""
    from fastagi.menus._yaml import parse_yaml

    raw = text.encode("utf-8") if isinstance(text, str) else text
    return _from_document(_or_empty(lambda: parse_yaml(raw, file)), hours)


def _or_empty(read: Callable[[], YamlDocument]) -> YamlDocument | None:
    """The document, or None for a file with nothing in it (only comments): all defaults."""
    from fastagi.menus.problems import MenuError

    try:
        return read()
    except MenuError as exc:
        if [problem.code for problem in exc.problems] == ["empty"]:
            return None
        raise


def _from_document(doc: YamlDocument | None, hours: HoursConfig | None) -> CallbackRules:
    from fastagi.menus._validation import validation_problems
    from fastagi.menus.model import MenuSource
    from fastagi.menus.problems import MenuError

    if doc is None:
        return CallbackRules()  # `calendar` is the default one

    source = MenuSource(file=doc.file, positions=doc.positions)
    data: Any = doc.data
    if not isinstance(data, Mapping):
        raise MenuError(
            [source.problem((), "a callbacks file is a mapping of keys (max_attempts: 3 ...)")]
        )
    problems: list[Problem] = []
    rules: CallbackRules | None = None
    try:
        rules = CallbackRules.model_validate(data)
    except ValidationError as exc:
        for problem in validation_problems(exc, doc, CallbackRules):
            problems.append(_at_named_key(problem, source))
    calendar = rules.calendar if rules is not None else None
    if hours is not None and calendar is not None and calendar not in hours.calendars:
        from fastagi.menus._validation import did_you_mean

        names = list(hours.calendars)
        hint = did_you_mean(calendar, names) or "calendars: " + ", ".join(names)
        problems.append(
            source.problem(
                ("calendar",),
                f"unknown calendar {calendar!r} (config/hours.yaml)",
                hint=hint,
                code="unknown-calendar",
            )
        )
    if problems or rules is None:
        raise MenuError(problems)
    return rules


def _at_named_key(problem: Problem, source: MenuSource) -> Problem:
    """A check across keys is raised on the whole file: point at the key it names."""
    from dataclasses import replace

    if problem.key_path:
        return problem
    for start, path in _CROSS_KEY_AT.items():
        if problem.message.startswith(start):
            line, column = source.locate(path, at_key=True)
            if line is None:
                return problem
            return replace(problem, line=line, column=column, key_path=".".join(path))
    return problem
