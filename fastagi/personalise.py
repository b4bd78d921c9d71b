"""Personalisation, pure: which menu a caller gets, and caller data in prompts.

No I/O here: the server looks the caller up (fastagi.callers) and hands the
result to these functions, and `ivr menu show --caller` uses the same ones,
so what an admin is shown is what a caller gets.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from typing import Literal, NamedTuple

from fastagi.callers.profile import CallerProfile
from fastagi.callers.segments import SegmentMatch

__all__ = [
    "PATH_SAFE",
    "TEXT_SAFE",
    "CallerVariables",
    "MenuChoice",
    "caller_variables",
    "choose_menu",
    "render",
    "render_first",
]

Layer = Literal["personal", "segment", "default"]


class MenuChoice(NamedTuple):
    """The menu a call runs and the layer it came from (made on every call: a named tuple)."""

    menu: str
    layer: Layer
    reason: str


def choose_menu(
    requested: str, profile: CallerProfile, segment: SegmentMatch, menus: Collection[str]
) -> MenuChoice:
    """Personal menu > the segment's menu > the menu the dialplan asked for.

    A personal or segment menu that does not exist (a stale profile field, a
    menu removed by a reload) is skipped, never an error for the caller.
    """
    personal = profile.get("menu")
    if personal and personal in menus:
        return MenuChoice(personal, "personal", f"profile field menu={personal}")
    if segment.menu and segment.menu in menus:
        return MenuChoice(segment.menu, "segment", f"segment {segment.segment}")
    return MenuChoice(requested, "default", "the menu the dialplan named")


#: Values that may be put into a sound file name: no path separators, no dots.
PATH_SAFE = re.compile(r"[A-Za-z0-9_-]{1,64}")
#: Values that may be put into a variable or spoken: one short line of text.
TEXT_SAFE = re.compile(r"[\w .,@+()'-]{1,128}")

_PLACEHOLDER = re.compile(r"\{([a-z_]+(?:\.[a-z0-9_]+)?)\}")


class CallerVariables(Mapping[str, str]):
    """`caller.<field>` for every non-empty profile field, plus caller.number and segment.

    Read from the profile when asked: a call looks up one or two of them, so
    making a dict of them all on every call was wasted.
    """

    __slots__ = ("_profile", "_segment")

    def __init__(self, profile: CallerProfile, segment: str) -> None:
        self._profile = profile
        self._segment = segment

    def __getitem__(self, name: str) -> str:
        if name == "segment":
            return self._segment
        if name == "caller.number" and self._profile.number:
            return self._profile.number
        if name.startswith("caller."):
            value = self._profile.fields.get(name[len("caller.") :])
            if value:
                return value
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        profile = self._profile
        names = [f"caller.{name}" for name, value in profile.fields.items() if value]
        if profile.number and "caller.number" not in names:
            names.append("caller.number")
        names.append("segment")
        return iter(names)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def caller_variables(profile: CallerProfile, segment: SegmentMatch) -> Mapping[str, str]:
    """`caller.<field>` for every profile field, plus caller.number and segment."""
    return CallerVariables(profile, segment.segment)


def render(template: str, variables: Mapping[str, str], safe: re.Pattern[str]) -> str | None:
    """Fill `{caller.first_name}`-style placeholders; None when one cannot be filled.

    A placeholder is unfillable when the variable is missing, empty, or not
    entirely made of characters `safe` allows - caller data is never trusted
    into a file name or a command. The caller of `render` then plays the
    generic alternative.
    """
    missing = False

    def fill(match: re.Match[str]) -> str:
        nonlocal missing
        value = variables.get(match.group(1), "")
        if not value or not safe.fullmatch(value):
            missing = True
            return ""
        return value

    text = _PLACEHOLDER.sub(fill, template)
    return None if missing else text


def render_first(template: str, variables: Mapping[str, str], safe: re.Pattern[str]) -> str:
    """The first of the `|`-separated alternatives that `render` can fill.

    The last alternative is the generic one: when even it cannot be filled
    it is returned as written (the menu loader requires it to have no
    placeholder, so that does not happen with validated menus).
    """
    *candidates, generic = template.split("|")
    for candidate in candidates:
        filled = render(candidate, variables, safe)
        if filled is not None:
            return filled
    return render(generic, variables, safe) or generic
