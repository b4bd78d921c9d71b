"""extensions.conf, parsed as Asterisk's config loader and pbx_config read it.

`Dialplan.load` reads a file and its ``#include``s (paths relative to the directory
of the top file, as Asterisk resolves them relative to /etc/asterisk; globs and
``#tryinclude`` work); `Dialplan.parse` reads text. Understood:

- ``[context]`` sections; ``[general]`` is ignored, ``[globals]`` holds ``NAME=value``
  (a value may use earlier globals: ``${NAME}`` is expanded at load, as pbx_config does);
- ``exten => name,priority[(label)],App(data)`` and ``same => priority[(label)],App(data)``
  with a number, ``n`` (previous + 1), ``s`` (same as previous), an optional ``+N``;
  ``hint`` lines are skipped; ``include => context[,timespec]``; ``ignorepat`` is ignored;
- comments: ``;`` to the end of the line (``\\;`` is a literal semicolon), ``;-- --;`` blocks;
- patterns ``_`` + ``X`` (0-9), ``Z`` (1-9), ``N`` (2-9), ``[1-3a]``, ``.`` (one or
  more of anything), ``!`` (zero or more); ``-`` is ignored in patterns.

Lookups follow pbx_find_extension: in a context, a literal extension first, then
matching patterns from the most specific (fewest possible characters at the first
position where they differ); then the included contexts in order, depth first.
A priority that the best match lacks is looked for in the next match.

Everything else (``exten/callerid``, ``switch =>``, context templates, ``#exec``,
unknown directives, a duplicate priority or label) is a `DialplanError` naming
``file:line``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from fastagi.testing._expr import substitute
from fastagi.testing._timing import TimeSpec

__all__ = ["Context", "Dialplan", "DialplanError", "Extension", "Include", "Priority"]

_ANY = 1000  # specificity weight of "." ...
_ANY_OR_NONE = 1001  # ... and of "!": less specific than any character class


class DialplanError(Exception):
    """A dialplan that cannot be loaded (the message starts with ``file:line:``) or run."""


@dataclass(frozen=True)
class Priority:
    """One step of an extension: ``App(data)`` at ``number``, maybe labelled."""

    number: int
    app: str
    data: str
    label: str | None
    source: str


@dataclass(frozen=True)
class Include:
    """``include => context[,timespec]``: searched after the including context's own extensions."""

    context: str
    timing: TimeSpec | None
    source: str


def _compile(pattern: str, source: str) -> tuple[re.Pattern[str], tuple[tuple[int, int], ...]]:
    """A pattern's regex and its specificity key (per position: choices, lowest choice)."""
    parts: list[str] = []
    weights: list[tuple[int, int]] = []
    body, i = pattern[1:], 0
    classes = {"x": "0123456789", "z": "123456789", "n": "23456789"}
    while i < len(body):
        char = body[i]
        choices: str | None = None
        if char.lower() in classes:
            choices = classes[char.lower()]
        elif char == "[":
            end = body.find("]", i)
            if end < 0:
                raise DialplanError(f"{source}: pattern {pattern!r} has '[' without ']'")
            choices = _expand_class(body[i + 1 : end])
            i = end
        elif char in ".!":
            parts.append(".+" if char == "." else ".*")
            weights.append((_ANY if char == "." else _ANY_OR_NONE, 0))
            break  # Asterisk: "." and "!" match the rest, whatever follows them
        elif char == "-":
            i += 1
            continue
        else:
            choices = char
        if choices is not None:
            parts.append("[" + re.escape(choices) + "]" if len(choices) > 1 else re.escape(choices))
            weights.append((len(choices), min(map(ord, choices)) if choices else 0))
        i += 1
    return re.compile("".join(parts), re.DOTALL), tuple(weights)


def _expand_class(text: str) -> str:
    chars: list[str] = []
    i = 0
    while i < len(text):
        if i + 2 < len(text) and text[i + 1] == "-":
            chars.extend(chr(c) for c in range(ord(text[i]), ord(text[i + 2]) + 1))
            i += 3
        else:
            chars.append(text[i])
            i += 1
    return "".join(sorted(set(chars)))


@dataclass
class Extension:
    """An extension (literal name or ``_pattern``) and its priorities and labels."""

    name: str
    source: str
    priorities: dict[int, Priority] = field(default_factory=dict)
    labels: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._regex: re.Pattern[str] | None = None
        self.specificity: tuple[tuple[int, int], ...] = ()
        if self.is_pattern:
            self._regex, self.specificity = _compile(self.name, self.source)

    @property
    def is_pattern(self) -> bool:
        return self.name.startswith("_")

    def matches(self, exten: str) -> bool:
        """Whether the dialled ``exten`` is this extension (literal) or matches it (pattern)."""
        if self._regex is None:
            return exten == self.name
        return self._regex.fullmatch(exten) is not None


@dataclass
class Context:
    """A ``[context]``: extensions by name, in file order, and its includes."""

    name: str
    source: str
    extensions: dict[str, Extension] = field(default_factory=dict)
    includes: list[Include] = field(default_factory=list)

    def matching(self, exten: str) -> list[Extension]:
        """This context's own extensions matching ``exten``, best first."""
        found = self.extensions.get(exten)
        literal = [found] if found is not None and not found.is_pattern else []
        patterns = [e for e in self.extensions.values() if e.is_pattern and e.matches(exten)]
        return literal + sorted(patterns, key=lambda e: e.specificity)


@dataclass
class Dialplan:
    """A parsed dialplan: contexts by name, the ``[globals]``, and the files read."""

    contexts: dict[str, Context] = field(default_factory=dict)
    globals: dict[str, str] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)

    @classmethod
    def load(cls, path: str | Path) -> Dialplan:
        """Read ``path`` (extensions.conf) and everything it includes."""
        top = Path(path)
        try:
            text = top.read_text(encoding="utf-8")
        except OSError as exc:
            raise DialplanError(f"{top}: cannot read: {exc.strerror}") from None
        return cls.parse(text, str(top), directory=top.parent)

    @classmethod
    def parse(
        cls, text: str, name: str = "extensions.conf", *, directory: Path | None = None
    ) -> Dialplan:
        """Parse dialplan ``text``; ``name`` appears in errors, ``#include`` paths are
        relative to ``directory`` (default: the directory part of ``name``)."""
        plan = cls()
        base = directory if directory is not None else Path(name).parent
        _Loader(plan, base).feed(text, name, ())
        return plan

    # -- lookups ---------------------------------------------------------------------

    def candidates(
        self, context: str, exten: str, now: datetime | None = None
    ) -> Iterator[Extension]:
        """Extensions matching ``exten`` from ``context`` and its includes, in search order.

        A timed include counts only when ``now`` falls in its spec (``now`` None: always).
        """
        yield from self._search(context, exten, now, set())

    def _search(
        self, context: str, exten: str, now: datetime | None, seen: set[str]
    ) -> Iterator[Extension]:
        ctx = self.contexts.get(context)
        if ctx is None or context in seen:
            return
        seen.add(context)
        yield from ctx.matching(exten)
        for include in ctx.includes:
            if include.timing is None or now is None or include.timing.matches(now):
                yield from self._search(include.context, exten, now, seen)

    def find(
        self, context: str, exten: str, priority: int, now: datetime | None = None
    ) -> Priority | None:
        """The step run at ``context,exten,priority``, or None if the dialplan has none."""
        for extension in self.candidates(context, exten, now):
            step = extension.priorities.get(priority)
            if step is not None:
                return step
        return None

    def find_label(
        self, context: str, exten: str, label: str, now: datetime | None = None
    ) -> int | None:
        """The priority labelled ``label`` for ``exten`` in ``context``, or None."""
        for extension in self.candidates(context, exten, now):
            if label in extension.labels:
                return extension.labels[label]
        return None

    def exists(self, context: str, exten: str, now: datetime | None = None) -> bool:
        """Whether ``exten`` exists in ``context`` (has a priority 1), as ast_exists_extension."""
        return self.find(context, exten, 1, now) is not None


class _Loader:
    """Feeds config lines (comments removed, includes expanded) into a Dialplan."""

    def __init__(self, plan: Dialplan, base: Path) -> None:
        self.plan = plan
        self.base = base
        self.section: str | None = None
        self.last_exten: str | None = None
        self.last_priority = 0
        self.block_depth = 0  # ;-- block comments, which may span lines and nest

    def feed(self, text: str, name: str, including: tuple[str, ...]) -> None:
        for number, raw in enumerate(text.splitlines(), start=1):
            source = f"{name}:{number}"
            line = self._strip_comment(raw).strip()
            if not line:
                continue
            if line.startswith("#"):
                self._directive(line, source, (*including, name))
            elif line.startswith("["):
                self._section(line, source)
            else:
                self._entry(line, source)

    def _strip_comment(self, line: str) -> str:
        out: list[str] = []
        i = 0
        while i < len(line):
            if self.block_depth:
                if line.startswith("--;", i):
                    self.block_depth -= 1
                    i += 3
                elif line.startswith(";--", i):
                    self.block_depth += 1
                    i += 3
                else:
                    i += 1
                continue
            char = line[i]
            if char == "\\" and line.startswith(";", i + 1):
                out.append(";")
                i += 2
                continue
            if char == ";":
                if line.startswith(";--", i):
                    self.block_depth += 1
                    i += 3
                    continue
                break
            out.append(char)
            i += 1
        return "".join(out)

    # -- directives and sections ---------------------------------------------------------

    def _directive(self, line: str, source: str, including: tuple[str, ...]) -> None:
        word, _, argument = line[1:].partition(" ")
        word = word.strip().lower()
        target = argument.strip().strip('"<>').strip()
        if word not in ("include", "tryinclude"):
            raise DialplanError(f"{source}: #{word} is not supported")
        if not target:
            raise DialplanError(f"{source}: #{word} needs a file name")
        path = Path(target) if Path(target).is_absolute() else self.base / target
        if any(c in target for c in "*?["):
            paths = sorted(path.parent.glob(path.name))
        else:
            paths = [path] if path.exists() else []
        if not paths and word == "include":
            raise DialplanError(f"{source}: #include {target!r}: no such file ({path})")
        for found in paths:
            label = str(found)
            if found.resolve() in {Path(name).resolve() for name in including}:
                raise DialplanError(f"{source}: #include {target!r} includes itself")
            try:
                text = found.read_text(encoding="utf-8")
            except OSError as exc:
                raise DialplanError(f"{source}: #include {target!r}: {exc.strerror}") from None
            self.plan.files.append(found)
            self.feed(text, label, including)

    def _section(self, line: str, source: str) -> None:
        end = line.find("]")
        if end < 0:
            raise DialplanError(f"{source}: '[' without ']'")
        name = line[1:end].strip()
        options = line[end + 1 :].strip()
        if not name:
            raise DialplanError(f"{source}: empty context name")
        if options and options != "(+)":
            raise DialplanError(f"{source}: context options {options} are not supported")
        self.section = name
        self.last_exten = None
        self.last_priority = 0
        if name.lower() not in ("general", "globals") and name not in self.plan.contexts:
            self.plan.contexts[name] = Context(name, source)

    def _entry(self, line: str, source: str) -> None:
        key, sep, value = line.partition("=")
        if not sep:
            raise DialplanError(f"{source}: expected 'name => value', got {line!r}")
        key, value = key.strip(), value.removeprefix(">").strip()
        if self.section is None:
            raise DialplanError(f"{source}: {key!r} outside any [context]")
        lowered = self.section.lower()
        if lowered == "general":
            return
        if lowered == "globals":
            self.plan.globals[key] = substitute(value, self.plan.globals.get)
            return
        context = self.plan.contexts[self.section]
        directive = key.lower()
        if directive in ("exten", "same"):
            self._extension(context, directive, value, source)
        elif directive == "include":
            name, _, spec = value.partition(",")
            timing = TimeSpec.parse(spec) if spec.strip() else None
            context.includes.append(Include(name.strip(), timing, source))
        elif directive == "ignorepat":
            return  # only matters to phones dialling with overlap
        else:
            raise DialplanError(f"{source}: {key!r} is not supported in a context")

    # -- extensions ----------------------------------------------------------------------

    def _extension(self, context: Context, directive: str, value: str, source: str) -> None:
        if directive == "exten":
            name, sep, rest = value.partition(",")
            name = substitute(name.strip(), self.plan.globals.get)
            if not sep or not name:
                raise DialplanError(f"{source}: exten needs 'name,priority,Application(...)'")
            if "/" in name:
                raise DialplanError(f"{source}: caller ID matching ({name}) is not supported")
        else:
            if self.last_exten is None:
                raise DialplanError(f"{source}: 'same =>' without an 'exten =>' before it")
            name, rest = self.last_exten, value
        priority_text, _, app_text = rest.partition(",")
        priority_text, label = self._label(priority_text.strip(), source)
        if priority_text.lower() == "hint":
            self.last_exten = name
            return
        number = self._priority(priority_text, source)
        app, data = self._application(app_text.strip(), source)
        extension = context.extensions.get(name)
        if extension is None:
            extension = context.extensions[name] = Extension(name, source)
        if number in extension.priorities:
            first = extension.priorities[number].source
            raise DialplanError(f"{source}: {name} priority {number} already defined at {first}")
        if label is not None:
            if label in extension.labels:
                raise DialplanError(f"{source}: {name} label {label!r} already defined")
            extension.labels[label] = number
        extension.priorities[number] = Priority(number, app, data, label, source)
        self.last_exten = name
        self.last_priority = number

    @staticmethod
    def _label(text: str, source: str) -> tuple[str, str | None]:
        base, sep, rest = text.partition("(")
        if not sep:
            return text, None
        if not rest.endswith(")") or not rest[:-1].strip():
            raise DialplanError(f"{source}: bad priority label {text!r}")
        return base.strip(), rest[:-1].strip()

    def _priority(self, text: str, source: str) -> int:
        base, _, offset_text = text.partition("+")
        base = base.strip().lower()
        try:
            offset = int(offset_text) if offset_text else 0
        except ValueError:
            raise DialplanError(f"{source}: bad priority {text!r}") from None
        if base in ("n", "next", "s", "same"):
            if self.last_priority == 0:
                raise DialplanError(f"{source}: priority {base!r} needs a priority before it")
            number = self.last_priority + (1 if base in ("n", "next") else 0)
        elif base.isdigit():
            number = int(base)
        else:
            raise DialplanError(f"{source}: bad priority {text!r}")
        number += offset
        if number < 1:
            raise DialplanError(f"{source}: priority must be at least 1, got {text!r}")
        return number

    @staticmethod
    def _application(text: str, source: str) -> tuple[str, str]:
        if not text:
            raise DialplanError(f"{source}: no application")
        name, sep, rest = text.partition("(")
        name = name.strip()
        if not name:
            raise DialplanError(f"{source}: no application name in {text!r}")
        if not sep:
            return name, ""
        end = rest.rfind(")")
        if end < 0:
            raise DialplanError(f"{source}: {name}(...) has no closing ')'")
        return name, rest[:end]
