"""Loading config/hours.yaml; every problem comes back with file:line.

    hours = load_hours("config/hours.yaml")   # HoursConfig, or MenuError

The file is read with the menus' safe YAML reader (size and alias limits,
duplicate keys, positions of every value), validated by the models, then
checked across keys (a weekday given twice, a night shift running into the
next day's hours). All problems are collected and raised together.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Final

from pydantic import ValidationError

from fastagi.hours.model import (
    CALENDAR_NAMES,
    FROM_FILE,
    Calendar,
    HoursConfig,
    calendar_issues,
)

if TYPE_CHECKING:
    from fastagi.menus._yaml import PathKey, YamlDocument
    from fastagi.menus.problems import Problem

__all__ = ["DEFAULT_HOURS_PATH", "load_hours", "parse_hours"]

#: Where the server looks for the calendars, relative to the working directory.
DEFAULT_HOURS_PATH: Final = Path("config/hours.yaml")


def load_hours(path: str | Path = DEFAULT_HOURS_PATH, display: str | None = None) -> HoursConfig:
    """Read an hours file; raise `MenuError` listing every problem with file:line.

    `display` is the file name used in problems (default: `path`).
    """
    from fastagi.menus._yaml import read_yaml

    return _from_document(read_yaml(Path(path), display))


def parse_hours(text: str | bytes, file: str = "hours.yaml") -> HoursConfig:
    """Like `load_hours`, from the text of a file; `file` is the name used in problems."""
    from fastagi.menus._yaml import parse_yaml

    raw = text.encode("utf-8") if isinstance(text, str) else text
    return _from_document(parse_yaml(raw, file))


def _from_document(doc: YamlDocument) -> HoursConfig:
    from fastagi.menus._validation import validation_problems
    from fastagi.menus.model import MenuSource
    from fastagi.menus.problems import MenuError, Problem

    data = doc.data
    if not isinstance(data, Mapping):
        raise MenuError(
            [
                Problem(
                    doc.file,
                    1,
                    1,
                    "",
                    "an hours file must be a mapping with 'calendars:' and 'default:'",
                    code="not-a-mapping",
                )
            ]
        )
    raw_calendars = data.get("calendars")
    names = [str(name) for name in raw_calendars] if isinstance(raw_calendars, Mapping) else None
    context: dict[str, object] = {FROM_FILE: True, CALENDAR_NAMES: names}
    problems: list[Problem] = []
    config: HoursConfig | None = None
    try:
        config = HoursConfig.model_validate(data, context=context)
    except ValidationError as exc:
        problems.extend(_fix_paths(validation_problems(exc, doc, HoursConfig), doc))

    source = MenuSource(file=doc.file, positions=doc.positions)
    if isinstance(raw_calendars, Mapping):
        for name, raw in raw_calendars.items():
            calendar = _calendar(config, str(name), raw, context)
            if calendar is None:
                continue
            for issue in calendar_issues(calendar):
                hint = ""
                if issue.other is not None:
                    line = _line(doc, ("calendars", str(name), *issue.other))
                    hint = f"{issue.other[-1]!s} is on line {line}" if line else ""
                problems.append(
                    source.problem(
                        ("calendars", str(name), *issue.path),
                        issue.message,
                        hint=hint,
                        code="hours-clash",
                        at_key=True,
                    )
                )
    if problems or config is None:
        raise MenuError(problems)
    return config


def _calendar(
    config: HoursConfig | None, name: str, raw: object, context: dict[str, object]
) -> Calendar | None:
    """The validated calendar `name`, validating it alone when the whole file failed.

    When the calendar itself is invalid, its valid weekdays are taken alone:
    the checks across keys look at the week only.
    """
    if config is not None:
        return config.calendars.get(name)
    try:
        return Calendar.model_validate(raw, context=context)
    except ValidationError:
        pass  # its problems are reported already
    week = raw.get("week") if isinstance(raw, Mapping) else None
    if not isinstance(week, Mapping):
        return None
    valid: dict[object, object] = {}
    for key, value in week.items():
        try:
            Calendar.model_validate({"timezone": "UTC", "week": {key: value}}, context=context)
        except ValidationError:
            continue
        valid[key] = value
    try:
        return Calendar.model_validate({"timezone": "UTC", "week": valid}, context=context)
    except ValidationError:
        return None


def _line(doc: YamlDocument, path: PathKey) -> int | None:
    position = doc.positions.get(path)
    if position is None:
        return None
    return position.key_line or position.line


def _fix_paths(problems: list[Problem], doc: YamlDocument) -> list[Problem]:
    """Point at what the admin wrote, not at the list the models made of it.

    `mon: 09:00-18:00` is read as a list of one interval and a special day's
    bare hours as `{hours: ...}`; a problem found there would otherwise read
    `week.mon[0]` or `special_days.2026-12-30.hours`.
    """
    from fastagi.menus.problems import render_key_path

    written: dict[str, PathKey] = {}
    calendars = doc.data.get("calendars") if isinstance(doc.data, Mapping) else None
    if not isinstance(calendars, Mapping):
        return problems
    for name, calendar in calendars.items():
        if not isinstance(calendar, Mapping):
            continue
        base: PathKey = ("calendars", str(name))
        week = calendar.get("week")
        if isinstance(week, Mapping):
            for key, value in week.items():
                path = (*base, "week", str(key))
                if not isinstance(value, list):
                    written[render_key_path((*path, 0))] = path
        special = calendar.get("special_days")
        if isinstance(special, Mapping):
            for key, value in special.items():
                path = (*base, "special_days", str(key))
                if isinstance(value, Mapping):
                    continue
                written[render_key_path((*path, "hours"))] = path
                if isinstance(value, list):
                    for index in range(len(value)):
                        written[render_key_path((*path, "hours", index))] = (*path, index)
                else:
                    written[render_key_path((*path, "hours", 0))] = path
    fixed: list[Problem] = []
    for problem in problems:
        where = written.get(problem.key_path)
        if where is not None:
            position = doc.positions.get(where)
            problem = replace(
                problem,
                key_path=render_key_path(where),
                line=position.line if position else problem.line,
                column=position.column if position else problem.column,
            )
        fixed.append(problem)
    return fixed
