"""The dialplan of extensions.conf: contexts, extensions, priorities, labels, globals, AGI calls.

Built from the sections `read_conf` returns (includes already followed):
`exten => name,prio,App(args)`, `same => prio,App(args)`, `n`/`s`/`n+2`
priorities, `n(label)` labels, `include => other` and the `[globals]`
variables. The `[general]` section holds options, not a context.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fastagi.asterisk.conffile import ConfSection, Source
from fastagi.asterisk.patterns import PatternError, extension_matches, pattern_regex

__all__ = [
    "AgiTarget",
    "Dialplan",
    "DialplanContext",
    "DialplanIssue",
    "Extension",
    "Priority",
    "build_dialplan",
    "substitute_globals",
]

_PRIORITY = re.compile(r"^(?P<base>\d+|n|s|hint)(?:\+(?P<plus>\d+))?(?:\((?P<label>[^()]*)\))?$")
_VARIABLE = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
# AGI, EAGI and DeadAGI (older name) all take the script or agi:// URL first.
_AGI_APP = re.compile(r"(?<![A-Za-z0-9_])(?:E|Dead)?AGI\s*\(", re.IGNORECASE)


@dataclass(frozen=True)
class Priority:
    number: int
    label: str | None
    application: str
    source: Source


@dataclass
class Extension:
    """An extension name (literal or `_pattern`) in one context and its priorities."""

    name: str
    source: Source
    priorities: dict[int, Priority] = field(default_factory=dict)
    labels: dict[str, int] = field(default_factory=dict)
    has_hint: bool = False

    def matches(self, number: str) -> bool:
        return extension_matches(self.name, number)

    def has_priority(self, priority: str) -> bool:
        """`priority` is a number or a label of this extension."""
        if priority.isdigit():
            return int(priority) in self.priorities
        return priority in self.labels


@dataclass
class DialplanContext:
    name: str
    source: Source
    extensions: dict[str, Extension] = field(default_factory=dict)
    includes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AgiTarget:
    """The first argument of an AGI() call: as written and with the globals substituted."""

    written: str
    address: str
    context: str
    extension: str
    priority: int
    source: Source
    # Global variables the address used, with where each is set (for hints).
    globals_used: tuple[tuple[str, Source], ...] = ()


@dataclass(frozen=True)
class DialplanIssue:
    """A dialplan line Asterisk would reject or ignore."""

    message: str
    source: Source


@dataclass
class Dialplan:
    contexts: dict[str, DialplanContext] = field(default_factory=dict)
    globals: dict[str, str] = field(default_factory=dict)
    global_sources: dict[str, Source] = field(default_factory=dict)
    agi_targets: list[AgiTarget] = field(default_factory=list)
    issues: list[DialplanIssue] = field(default_factory=list)

    def reachable_contexts(self, name: str) -> list[DialplanContext]:
        """`name` then every context it includes, depth first, each once."""
        seen: list[str] = []
        pending = [name]
        while pending:
            current = pending.pop(0)
            if current in seen or current not in self.contexts:
                continue
            seen.append(current)
            pending[:0] = self.contexts[current].includes
        return [self.contexts[c] for c in seen]

    def find_extensions(self, context: str, number: str) -> list[Extension]:
        """Extensions of `context` (and what it includes) that match `number`."""
        found: list[Extension] = []
        for ctx in self.reachable_contexts(context):
            found += [e for e in ctx.extensions.values() if e.matches(number)]
        return found


def substitute_globals(text: str, variables: dict[str, str]) -> tuple[str, list[str]]:
    """`text` with `${NAME}` of known globals replaced (nested ones too) and the names used."""
    used: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name = match[1]
        if name not in variables:
            return match[0]
        if name not in used:
            used.append(name)
        return variables[name]

    for _ in range(10):  # a global may use another; ten levels stops a loop
        new = _VARIABLE.sub(replace, text)
        if new == text:
            break
        text = new
    return text, used


def build_dialplan(sections: list[ConfSection]) -> Dialplan:
    plan = Dialplan()
    for section in sections:
        if section.is_template or section.name == "general":
            continue
        if section.name == "globals":
            for entry in section.entries:
                plan.globals[entry.key] = entry.value
                plan.global_sources[entry.key] = entry.source
            continue
        _add_context(plan, section)
    for ctx in plan.contexts.values():
        for ext in ctx.extensions.values():
            for prio in ext.priorities.values():
                _collect_agi(plan, ctx.name, ext.name, prio)
    return plan


def _add_context(plan: Dialplan, section: ConfSection) -> None:
    # A context written twice (or in two files) is one context, as in Asterisk.
    ctx = plan.contexts.setdefault(section.name, DialplanContext(section.name, section.source))
    current: Extension | None = None
    last_priority = 0
    for entry in section.entries:
        key = entry.key.lower()
        if key == "include":
            name = re.split(r"[,|]", entry.value, maxsplit=1)[0].strip()
            if name:
                ctx.includes.append(name)
            continue
        if key not in ("exten", "same"):
            continue  # switch, ignorepat and stray options do not define extensions
        if key == "exten":
            name, _, rest = entry.value.partition(",")
            name = name.strip()
            if not name or not rest:
                plan.issues.append(
                    DialplanIssue(f"'exten => {entry.value}' needs name,priority,app", entry.source)
                )
                continue
            try:
                if name.startswith("_"):
                    pattern_regex(name)
            except PatternError as exc:
                plan.issues.append(DialplanIssue(str(exc), entry.source))
                continue
            current = ctx.extensions.setdefault(name, Extension(name, entry.source))
        else:
            rest = entry.value
            if current is None:
                plan.issues.append(
                    DialplanIssue("'same =>' with no 'exten =>' before it", entry.source)
                )
                continue
        prio_text, _, application = rest.partition(",")
        parsed = _priority(prio_text.strip(), last_priority)
        if parsed is None:
            plan.issues.append(
                DialplanIssue(
                    f"bad priority {prio_text.strip()!r} in context [{ctx.name}]", entry.source
                )
            )
            continue
        number, label = parsed
        if number == 0:  # `hint`: a device state mapping, not a step of the call
            current.has_hint = True
            continue
        if number in current.priorities:
            plan.issues.append(
                DialplanIssue(
                    f"extension {current.name!r} in [{ctx.name}] has priority {number} twice"
                    f" (first at {current.priorities[number].source})",
                    entry.source,
                )
            )
            continue
        last_priority = number
        current.priorities[number] = Priority(number, label, application.strip(), entry.source)
        if label:
            current.labels[label] = number


def _priority(text: str, last: int) -> tuple[int, str | None] | None:
    """(number, label) for `1`, `n`, `s`, `n+2`, `n(label)`; 0 for `hint`; None when invalid."""
    match = _PRIORITY.match(text)
    if match is None:
        return None
    base = match["base"]
    if base == "hint":
        return 0, None
    if base == "n":
        number = last + 1
    elif base == "s":
        number = last
    else:
        number = int(base)
    number += int(match["plus"] or 0)
    if number < 1:
        return None
    label = (match["label"] or "").strip() or None
    return number, label


def _collect_agi(plan: Dialplan, context: str, exten: str, prio: Priority) -> None:
    for match in _AGI_APP.finditer(prio.application):
        written = _first_argument(prio.application, match.end())
        address, used = substitute_globals(written, plan.globals)
        plan.agi_targets.append(
            AgiTarget(
                written=written,
                address=address,
                context=context,
                extension=exten,
                priority=prio.number,
                source=prio.source,
                globals_used=tuple((name, plan.global_sources[name]) for name in used),
            )
        )


def _first_argument(text: str, start: int) -> str:
    """The text from `start` up to the first `,` or `)` not inside parentheses or braces."""
    depth = 0
    for index in range(start, len(text)):
        char = text[index]
        if char in "({[":
            depth += 1
        elif char in ")}]":
            if depth == 0:
                return text[start:index].strip()
            depth -= 1
        elif char == "," and depth == 0:
            return text[start:index].strip()
    return text[start:].strip()
