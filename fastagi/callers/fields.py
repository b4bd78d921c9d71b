"""Validation of profile fields written by admins, imports and integrations.

`clean_fields` turns a mapping of field -> text into what to HSET and what to
HDEL (an empty value removes the field), or raises `InvalidField` naming the
field and the rule it broke. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from fastagi.callers.profile import EDITABLE_FIELDS, SYSTEM_FIELDS

__all__ = [
    "LANGUAGES",
    "MAX_NAME_LENGTH",
    "MAX_VALUE_LENGTH",
    "InvalidField",
    "clean_fields",
    "clean_text",
    "is_custom_field_name",
    "normalize_tags",
]

#: Languages a caller may be served in (ISO 639-1).
LANGUAGES = frozenset(
    {"ar", "be", "de", "en", "es", "fr", "he", "hy", "it", "ka", "kk", "ky", "lv", "lt", "pl"}
    | {"pt", "ro", "ru", "tg", "tr", "uk", "uz", "zh"}
)
MAX_VALUE_LENGTH = 1000
MAX_NAME_LENGTH = 100

_CUSTOM_NAME = re.compile(r"[a-z0-9_]{1,40}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TAG = re.compile(r"[a-z0-9_-]{1,40}")
_TAG_SPLIT = re.compile(r"[,;\s]+")
# An extension (or a number) a call may be transferred to: no dial-string syntax.
_EXTENSION = re.compile(r"\+?[A-Za-z0-9_.-]{1,40}")
# The same rule as fastagi.menus.target.MENU_NAME_PATTERN.
_MENU = re.compile(r"[a-z0-9_-]{1,64}")
_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}")
_EMAIL_LABEL = re.compile(r"[^\W_](?:[\w-]{0,61}[^\W_])?")


class InvalidField(ValueError):
    """A profile field name or value broke a rule (the message names the field)."""


def is_custom_field_name(name: str) -> bool:
    return _CUSTOM_NAME.fullmatch(name) is not None and name not in SYSTEM_FIELDS


def clean_text(name: str, value: str, *, limit: int = MAX_VALUE_LENGTH) -> str:
    """`value` stripped; raise InvalidField if too long or with control characters."""
    text = value.strip()
    if len(text) > limit:
        raise InvalidField(f"{name}: longer than {limit} characters ({len(text)})")
    if _CONTROL.search(text):
        raise InvalidField(f"{name}: contains a line break or another control character")
    return text


def normalize_tags(value: str) -> str:
    """`"VIP; wholesale,vip"` -> `"vip,wholesale"`: lower case, no repeats, sorted."""
    tags = sorted({t.lower() for t in _TAG_SPLIT.split(value) if t})
    for tag in tags:
        if not _TAG.fullmatch(tag):
            raise InvalidField(
                f"tags: {tag[:40]!r} may use only letters, digits, '_' and '-' (max 40)"
            )
    return ",".join(tags)


def _email(value: str) -> str:
    local, at, domain = value.rpartition("@")
    labels = domain.split(".")
    if (
        not at
        or len(value) > 254
        or not _EMAIL_LOCAL.fullmatch(local)
        or local.startswith(".")
        or local.endswith(".")
        or ".." in local
        or len(labels) < 2
        or not all(_EMAIL_LABEL.fullmatch(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise InvalidField(f"email: {value[:80]!r} is not an email address")
    return f"{local}@{domain.lower()}"


def _clean_value(name: str, raw: object) -> str:
    if not isinstance(raw, str):
        raise InvalidField(f"{name}: the value must be text, not {type(raw).__name__}")
    limit = MAX_NAME_LENGTH if name in ("first_name", "last_name") else MAX_VALUE_LENGTH
    value = clean_text(name, raw, limit=limit)
    if not value:
        return ""
    if name == "language":
        value = value.lower()
        if value not in LANGUAGES:
            raise InvalidField(
                f"language: {value[:20]!r} is not one of {', '.join(sorted(LANGUAGES))}"
            )
    elif name == "tags":
        value = normalize_tags(value)
    elif name == "email":
        value = _email(value)
    elif name == "manager":
        if not _EXTENSION.fullmatch(value):
            raise InvalidField(
                f"manager: {value[:40]!r} must be an extension "
                "(letters, digits, '_', '.', '-'; max 40)"
            )
    elif name == "menu":
        value = value.lower()
        if not _MENU.fullmatch(value):
            raise InvalidField(
                f"menu: {value[:64]!r} is not a menu name "
                "(lowercase letters, digits, '_' and '-'; max 64)"
            )
    return value


def clean_fields(fields: Mapping[str, object]) -> tuple[dict[str, str], tuple[str, ...]]:
    """Validate profile fields; return (fields to set, field names to delete).

    Known fields (`EDITABLE_FIELDS`) get their own rules: `language` from
    `LANGUAGES`, `tags` normalised, `email` checked, `manager` an extension,
    `menu` a menu name. Any other name is a custom field: `[a-z0-9_]{1,40}`.
    Every value is text of at most 1000 characters (names: 100) without line
    breaks or control characters; an empty value deletes the field. The
    fields the directory keeps itself (`SYSTEM_FIELDS`) are refused.
    """
    to_set: dict[str, str] = {}
    to_delete: list[str] = []
    for name, raw in fields.items():
        if name in SYSTEM_FIELDS:
            raise InvalidField(f"{name}: kept by the directory itself, it cannot be set")
        if name not in EDITABLE_FIELDS and not is_custom_field_name(name):
            raise InvalidField(
                f"{name[:40]!r}: a custom field name may use only lowercase letters, "
                "digits and '_' (max 40)"
            )
        value = _clean_value(name, raw)
        if value:
            to_set[name] = value
        else:
            to_delete.append(name)
    return to_set, tuple(to_delete)
