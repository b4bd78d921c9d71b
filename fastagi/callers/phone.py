"""Phone numbers: caller IDs and admin input to E.164, withheld caller IDs.

A caller ID is chosen by whoever places the call, so it is untrusted text.
`normalize` accepts only the characters a dialled number is written with,
parses it with `phonenumbers` in a default region and returns the E.164 form
(`+` and ASCII digits only) - the one form that ever reaches a Redis key.
"""

from __future__ import annotations

import functools
import re

import phonenumbers

__all__ = [
    "MAX_RAW_LENGTH",
    "InvalidNumber",
    "check_region",
    "is_anonymous",
    "is_e164",
    "normalize",
]

#: Longer input is rejected before parsing: a written number is never this long.
MAX_RAW_LENGTH = 40

#: What Asterisk and carriers put in the caller ID when the number is withheld.
_WITHHELD = frozenset(
    {"unknown", "anonymous", "restricted", "private", "withheld", "unavailable", "blocked"}
)
# Digits, a leading plus, and the separators people write numbers with. No
# letters (vanity numbers, "ext."), no control characters, no glob characters.
_WRITTEN = re.compile(r"\+?[0-9 ()./-]+")
_DIGIT = re.compile(r"[0-9]")
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")


class InvalidNumber(ValueError):
    """The text is not a valid phone number (the message says why)."""


def _shown(raw: str) -> str:
    """The input as it may appear in a message: short, quoted, no raw control characters."""
    return repr(raw[:MAX_RAW_LENGTH] + ("..." if len(raw) > MAX_RAW_LENGTH else ""))


def is_anonymous(raw: str) -> bool:
    """True for a withheld caller ID: empty, `unknown`, `anonymous`, `0`, no digits at all...

    Such a caller has no number to be identified by; they must never share a
    profile (there is no `caller:anonymous` key).
    """
    text = raw.strip()
    if not text or text.lower() in _WITHHELD:
        return True
    digits = _DIGIT.findall(text)
    return not digits or all(d == "0" for d in digits)


def is_e164(number: str) -> bool:
    """True when `number` is already in the E.164 form `normalize` returns."""
    return _E164.fullmatch(number) is not None


def check_region(region: str) -> str:
    """Return `region` upper-cased if `phonenumbers` knows it; else raise ValueError."""
    code = region.upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown phone region {region!r}: use an ISO 3166 code such as RU or GB")
    return code


def normalize(raw: str, region: str = "RU") -> str:
    """Return `raw` as an E.164 number (`+79161234567`).

    Results are remembered (the same callers call again, and parsing with the
    numbering-plan data is a tenth of a call's CPU); errors are not.

    National forms are read in `region` (ISO 3166 code): with region "RU",
    `8 916 123-45-67`, `+7 916 1234567`, `79161234567` and `(916) 123-45-67`
    all give `+79161234567`. Raises `InvalidNumber` when the text is not a
    number that is valid in the numbering plan (by the `phonenumbers`
    metadata): letters, control characters, too short or long, an unknown
    country code, an unassigned range.
    """
    return _normalize(raw, region)


@functools.lru_cache(maxsize=65536)
def _normalize(raw: str, region: str) -> str:
    if len(raw) > MAX_RAW_LENGTH:
        raise InvalidNumber(
            f"not a phone number: {_shown(raw)} is over {MAX_RAW_LENGTH} characters"
        )
    text = raw.strip()
    if not text:
        raise InvalidNumber("not a phone number: empty")
    if not _WRITTEN.fullmatch(text):
        raise InvalidNumber(
            f"not a phone number: {_shown(raw)} may contain only digits, a leading '+', "
            "spaces and ( ) - . /"
        )
    if not _DIGIT.search(text):
        raise InvalidNumber(f"not a phone number: {_shown(raw)} has no digits")
    try:
        parsed = phonenumbers.parse(text, region.upper())
    except phonenumbers.NumberParseException as exc:
        message = re.sub(r"^\(\d+\)\s*", "", str(exc)).rstrip(".")
        raise InvalidNumber(f"not a phone number: {_shown(raw)}: {message}") from None
    if not phonenumbers.is_valid_number(parsed):
        reason = phonenumbers.is_possible_number_with_reason(parsed)
        why = {
            phonenumbers.ValidationResult.TOO_SHORT: "too short",
            phonenumbers.ValidationResult.TOO_LONG: "too long",
            phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "unknown country code",
            phonenumbers.ValidationResult.INVALID_LENGTH: "wrong number of digits",
        }.get(reason, "not an assigned number range")
        raise InvalidNumber(f"not a phone number: {_shown(raw)} ({why} for +{parsed.country_code})")
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if not is_e164(e164):  # pragma: no cover - phonenumbers always formats E.164 so
        raise InvalidNumber(f"not a phone number: {_shown(raw)}")
    return e164
