"""Segment rules: which group a caller is in, from config/segments.yaml.

    rules = SegmentRules.load("config/segments.yaml")   # or MenuError, file:line
    match = rules.classify(profile, now)                  # SegmentMatch
    match.segment, match.menu, match.reasons              # "vip", "vip", ("tag 'vip' present",)

Rules are tried in order and the first whose condition holds wins; when none
does the caller is in segment "default". Conditions are the safe vocabulary
of `fastagi.callers.conditions` (see docs/segments.md). `windows()` tells the
caller directory which `called` windows to count, so it counts only those.

When the file is absent, `default_rules()` gives a built-in set
(`SegmentRules.load_or_default` does the choosing).

`fastagi.menus` is imported inside functions only, as in `condition_parser`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from fastagi.callers.condition_parser import (
    SEGMENT_NAME_PATTERN,
    collect_condition,
    parse_condition,
)
from fastagi.callers.conditions import Condition, EvalContext
from fastagi.callers.profile import CallerProfile
from fastagi.timezones import zone_from_name

if TYPE_CHECKING:
    from fastagi.menus._yaml import PathKey, YamlDocument
    from fastagi.menus.problems import Problem, Severity

__all__ = [
    "DEFAULT_RULES_YAML",
    "DEFAULT_SEGMENT",
    "DEFAULT_SEGMENTS_PATH",
    "Condition",
    "EvalContext",
    "SegmentMatch",
    "SegmentRule",
    "SegmentRules",
    "check_segment_menus",
    "default_rules",
    "parse_condition",
]

#: The segment of a caller no rule matched.
DEFAULT_SEGMENT = "default"
#: Where the server looks for the rules, relative to the working directory.
DEFAULT_SEGMENTS_PATH = Path("config/segments.yaml")

#: The rules used when config/segments.yaml is absent (shown in docs/segments.md).
DEFAULT_RULES_YAML = """\
segments:
  - name: blacklisted
    when: {has_tag: blacklist}
  - name: vip
    when: {has_tag: vip}
  - name: debtor
    when: {field: balance, lt: 0}
  - name: has_open_ticket
    when: {has_open_ticket: true}
  - name: new
    when: {is_new: true}
  - name: regular
    when: {always: true}
"""

_TOP_KEYS = ("default_region", "timezone", "segments")
_RULE_KEYS = ("name", "when", "menu", "description")
_SEGMENT_NAME = re.compile(SEGMENT_NAME_PATTERN)
_REGION = re.compile(r"[A-Za-z]{2}")


@dataclass(frozen=True)
class SegmentRule:
    """One rule: a caller for whom `condition` holds is in segment `name`.

    `menu` is the menu this segment's callers get (None: the menu routes or
    the default menu decide). `line` is the rule's line in its file (None for
    rules built in Python); `menu_line` the line of its `menu:` key.
    """

    name: str
    condition: Condition
    menu: str | None = None
    line: int | None = None
    description: str = ""
    menu_line: int | None = field(default=None, compare=False)


class SegmentMatch(NamedTuple):
    """The outcome of `classify`.

    `rule_index` is the position of the rule that matched in `rules`, or None
    when no rule did (segment "default", menu None). `reasons` are the facts
    that made the rule's condition true, in words. A named tuple: made on
    every call, and a frozen dataclass cost five times as much to make.
    """

    segment: str
    rule_index: int | None
    menu: str | None
    reasons: tuple[str, ...]


class SegmentRules:
    """The ordered rules of one file (or the built-in ones); immutable.

    `timezone` is the zone `time_of_day` and `weekday` are evaluated in;
    `default_region` is the region the caller directory assumes for numbers
    without a country code (None: the directory's own default); `warnings`
    are the non-fatal problems found when loading.
    """

    __slots__ = ("_by_name", "default_region", "rules", "source", "timezone", "warnings")

    def __init__(
        self,
        rules: Iterable[SegmentRule],
        *,
        timezone: tzinfo = UTC,
        default_region: str | None = None,
        source: str = "<built-in>",
        warnings: Iterable[Problem] = (),
    ) -> None:
        self.rules: tuple[SegmentRule, ...] = tuple(rules)
        by_name: dict[str, int] = {}
        for index, rule in enumerate(self.rules):
            if rule.name in by_name or rule.name == DEFAULT_SEGMENT:
                raise ValueError(f"segment name {rule.name!r} is given twice or reserved")
            by_name[rule.name] = index
        self._by_name: Mapping[str, int] = by_name
        self.timezone: tzinfo = timezone
        self.default_region = default_region
        self.source = source
        self.warnings: tuple[Problem, ...] = tuple(warnings)

    # -- loading ----------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path, display: str | None = None) -> SegmentRules:
        """Read a rules file; raise `MenuError` listing every problem with file:line.

        The error carries the warnings found as well; a file with warnings
        only loads, and they are kept in `warnings`.
        """
        from fastagi.menus._yaml import read_yaml

        file = display if display is not None else str(path)
        with _reader_errors_located(file, lambda: Path(path).read_bytes()):
            doc = read_yaml(Path(path), display)
        return cls._from_document(doc)

    @classmethod
    def parse(cls, text: str | bytes, file: str = "segments.yaml") -> SegmentRules:
        """Like `load`, from the text of a file; `file` is the name used in problems."""
        from fastagi.menus._yaml import parse_yaml

        raw = text.encode("utf-8") if isinstance(text, str) else text
        with _reader_errors_located(file, lambda: raw):
            doc = parse_yaml(raw, file)
        return cls._from_document(doc)

    @classmethod
    def load_or_default(cls, path: str | Path = DEFAULT_SEGMENTS_PATH) -> SegmentRules:
        """The rules in `path`, or `default_rules()` when there is no such file."""
        if not Path(path).exists():
            return default_rules()
        return cls.load(path)

    @classmethod
    def _from_document(cls, doc: YamlDocument) -> SegmentRules:
        from fastagi.menus.problems import MenuError

        reader = _Reader(doc)
        rules = reader.read()
        if rules is None or any(p.is_error for p in reader.problems):
            raise MenuError(reader.problems)
        return rules

    # -- queries ----------------------------------------------------------

    def __iter__(self) -> Iterator[SegmentRule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def __repr__(self) -> str:
        names = ", ".join(rule.name for rule in self.rules)
        return f"SegmentRules({self.source!r}, [{names}], timezone={self.timezone_name!r})"

    @property
    def names(self) -> tuple[str, ...]:
        """Every segment a caller can be in: the rules' names, then "default"."""
        return (*(rule.name for rule in self.rules), DEFAULT_SEGMENT)

    @property
    def timezone_name(self) -> str:
        return str(self.timezone)

    def rule(self, name: str) -> SegmentRule | None:
        index = self._by_name.get(name)
        return None if index is None else self.rules[index]

    def windows(self) -> frozenset[int]:
        """Every `days` window a `called` condition uses: what the directory must count."""
        found: frozenset[int] = frozenset()
        for rule in self.rules:
            found |= rule.condition.windows()
        return found

    def classify(self, profile: CallerProfile, now: datetime) -> SegmentMatch:
        """The first rule whose condition holds for this caller at `now` (naive = UTC)."""
        ctx = EvalContext(profile, now)
        for index, rule in enumerate(self.rules):
            if rule.condition.evaluate(ctx):
                return SegmentMatch(rule.name, index, rule.menu, rule.condition.reasons(ctx))
        return SegmentMatch(DEFAULT_SEGMENT, None, None, ("no rule matched",))

    def explain(self, profile: CallerProfile, now: datetime) -> list[tuple[str, bool, str]]:
        """Every rule in order: (name, whether it holds, why), for `ivr callers segment`.

        Rules after the first that holds are evaluated too; `classify` picks the first.
        """
        ctx = EvalContext(profile, now)
        return [
            (rule.name, rule.condition.evaluate(ctx), rule.condition.explain(ctx))
            for rule in self.rules
        ]


@contextmanager
def _reader_errors_located(file: str, raw: Callable[[], bytes]) -> Iterator[None]:
    """Turn a YAML error that escapes `parse_yaml` into a `MenuError` with file:line.

    PyYAML checks for control characters when its loader is created, before
    the guarded parse; `parse_yaml` lets that `ReaderError` through.
    """
    import yaml

    from fastagi.menus._yaml import _syntax_problem
    from fastagi.menus.problems import MenuError

    try:
        yield
    except yaml.YAMLError as exc:
        text = raw().decode("utf-8-sig", errors="replace")
        raise MenuError([_syntax_problem(file, exc, text)]) from None


class _Reader:
    """Turns a parsed YAML document into `SegmentRules`, collecting problems."""

    def __init__(self, doc: YamlDocument) -> None:
        self.doc = doc
        self.problems: list[Problem] = []

    def problem(
        self,
        path: PathKey,
        message: str,
        hint: str = "",
        *,
        code: str = "invalid-value",
        at_key: bool = False,
        severity: Severity = "error",
    ) -> None:
        from fastagi.menus.model import MenuSource

        source = MenuSource(file=self.doc.file, positions=self.doc.positions)
        self.problems.append(
            source.problem(path, message, hint=hint, severity=severity, code=code, at_key=at_key)
        )

    def line(self, path: PathKey, *, at_key: bool = False) -> int | None:
        position = self.doc.positions.get(path)
        if position is None:
            return None
        return position.key_line if at_key and position.key_line else position.line

    def unknown_keys(
        self, data: Mapping[object, object], allowed: tuple[str, ...], path: PathKey
    ) -> None:
        from fastagi.menus._validation import did_you_mean

        for key in (str(k) for k in data):
            if key not in allowed:
                hint = did_you_mean(key, allowed) or "keys: " + ", ".join(allowed)
                self.problem(
                    (*path, key), f"unknown key {key!r}", hint, code="unknown-key", at_key=True
                )

    def read(self) -> SegmentRules | None:
        data = self.doc.data
        if not isinstance(data, Mapping):
            self.problem(
                (),
                "a segments file must be a mapping with a 'segments:' list",
                code="not-a-mapping",
            )
            return None
        self.unknown_keys(data, _TOP_KEYS, ())
        zone = self.timezone(data.get("timezone"))
        region = self.region(data.get("default_region"))
        if "segments" not in data:
            self.problem((), "missing required key 'segments'", code="missing-key")
            return None
        items = data["segments"]
        if items is None:
            items = []
        if not isinstance(items, list):
            self.problem(
                ("segments",),
                "segments must be a list of rules (- name: ..., when: ...)",
                code="condition-shape",
            )
            return None
        rules = self.rules(items, zone)
        if not items:
            self.problem(
                ("segments",),
                "no rules: every caller is in segment 'default'",
                code="no-rules",
                at_key=True,
                severity="warning",
            )
        if any(p.is_error for p in self.problems):
            return None
        return SegmentRules(
            rules,
            timezone=zone,
            default_region=region,
            source=self.doc.file,
            warnings=self.problems,
        )

    def timezone(self, value: object) -> tzinfo:
        if value is None:
            return UTC
        if isinstance(value, str):
            try:
                return zone_from_name(value.strip())
            except ValueError as exc:
                self.problem(("timezone",), str(exc), code="bad-timezone")
                return UTC
        self.problem(
            ("timezone",), "timezone must be a name such as Europe/Moscow", code="bad-timezone"
        )
        return UTC

    def region(self, value: object) -> str | None:
        if value is None:
            return None
        if isinstance(value, str) and _REGION.fullmatch(value.strip()):
            return value.strip().upper()
        self.problem(
            ("default_region",),
            f"default_region must be a two-letter country code such as RU, got {value!r}",
            code="bad-region",
        )
        return None

    def rules(self, items: list[object], zone: tzinfo) -> list[SegmentRule]:
        rules: list[SegmentRule] = []
        first_line: dict[str, int | None] = {}
        catch_all: SegmentRule | None = None
        for index, item in enumerate(items):
            path: PathKey = ("segments", index)
            if not isinstance(item, Mapping):
                self.problem(
                    path,
                    "a rule must be a mapping with name: and when:",
                    "for example: - {name: vip, when: {has_tag: vip}, menu: vip}",
                    code="condition-shape",
                )
                continue
            self.unknown_keys(item, _RULE_KEYS, path)
            name = self.name(item, path, first_line)
            menu = self.menu(item.get("menu"), (*path, "menu"))
            description = item.get("description")
            if description is not None and not isinstance(description, str):
                self.problem((*path, "description"), "description must be text")
            if "when" not in item:
                self.problem(
                    path,
                    "missing required key 'when'",
                    "for a rule that takes everyone left write when: {always: true}",
                    code="missing-key",
                )
                continue
            condition = collect_condition(
                item["when"], self.doc, (*path, "when"), self.problems, timezone=zone
            )
            if name is None or condition is None:
                continue
            rule = SegmentRule(
                name,
                condition,
                menu,
                self.line(path),
                description if isinstance(description, str) else "",
                menu_line=self.line((*path, "menu")),
            )
            if catch_all is not None:
                self.problem(
                    (*path, "name"),
                    f"rule {name!r} is never reached: rule {catch_all.name!r}"
                    f" (line {catch_all.line}) matches every caller",
                    "move the catch-all rule to the end",
                    code="unreachable",
                    at_key=True,
                    severity="warning",
                )
            elif condition.is_always:
                catch_all = rule
            rules.append(rule)
        return rules

    def name(
        self, item: Mapping[object, object], path: PathKey, first_line: dict[str, int | None]
    ) -> str | None:
        name_path = (*path, "name")
        value = item.get("name")
        if value is None:
            self.problem(path, "missing required key 'name'", code="missing-key")
            return None
        if not isinstance(value, str) or not _SEGMENT_NAME.fullmatch(value):
            self.problem(
                name_path,
                f"segment name {value!r} may use only lowercase letters, digits, '_' and '-'"
                " (at most 64)",
            )
            return None
        if value == DEFAULT_SEGMENT:
            self.problem(
                name_path,
                f"{DEFAULT_SEGMENT!r} is the segment of callers no rule matches",
                "give this rule another name, e.g. 'regular'",
                code="reserved-name",
            )
            return None
        if value in first_line:
            self.problem(
                name_path,
                f"segment {value!r} is defined twice",
                f"first on line {first_line[value]}; segment names must be unique",
                code="duplicate-segment",
            )
            return None
        first_line[value] = self.line(name_path)
        return value

    def menu(self, value: object, path: PathKey) -> str | None:
        from fastagi.menus.target import check_menu_name

        if value is None:
            return None
        if not isinstance(value, str):
            self.problem(path, f"menu must be a menu name, got {value!r}")
            return None
        try:
            return check_menu_name(value.strip())
        except ValueError as exc:
            self.problem(path, str(exc))
            return None


@lru_cache(maxsize=1)
def default_rules() -> SegmentRules:
    """The built-in rules (`DEFAULT_RULES_YAML`): used when config/segments.yaml is absent."""
    return SegmentRules.parse(DEFAULT_RULES_YAML, "<built-in segment rules>")


def check_segment_menus(rules: SegmentRules, menu_names: Iterable[str]) -> list[Problem]:
    """A problem for each rule naming a menu that does not exist (for `ivr validate`)."""
    from fastagi.menus._validation import did_you_mean
    from fastagi.menus.problems import Problem

    known = frozenset(menu_names)
    problems: list[Problem] = []
    for index, rule in enumerate(rules.rules):
        if rule.menu is None or rule.menu in known:
            continue
        hint = did_you_mean(rule.menu, known) or (
            "menus: " + ", ".join(sorted(known)) if known else "no menus are loaded"
        )
        problems.append(
            Problem(
                rules.source,
                rule.menu_line if rule.menu_line is not None else rule.line,
                None,
                f"segments[{index}].menu",
                f"segment {rule.name!r} names menu {rule.menu!r}, which does not exist",
                hint,
                code="unknown-menu",
            )
        )
    return problems
